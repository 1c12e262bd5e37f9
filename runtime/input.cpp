#include "runtime/input.hpp"

#include <unistd.h>

#include "core/file.hpp"
#include "core/oci_spec.hpp"

namespace rusty::runtime {

std::string read_input(const std::string& name) {
    if (name == "-") return read_fd(STDIN_FILENO, "stdin", oci::kMaxConfigFile);
    return read_file(name, oci::kMaxConfigFile);
}

}  // namespace rusty::runtime
