// The Runtime object itself; each verb is in a file of its name (create.cpp,
// start.cpp, run.cpp, state.cpp for state and list, kill.cpp, delete.cpp,
// pause.cpp for pause and resume, ps.cpp, update.cpp, exec.cpp,
// features.cpp) over the shared core in container_dir.hpp.
#include "runtime/oci_runtime.hpp"

namespace rusty::runtime {

Runtime::Runtime(std::filesystem::path root, std::function<void(const std::string&)> warn)
    : root_(std::move(root)), warn_(std::move(warn)) {}

const cgroup::Layout& Runtime::layout() {
    if (!layout_) layout_ = cgroup::Layout::detect();
    return *layout_;
}

}  // namespace rusty::runtime
