// Documents a caller hands the runtime by a command-line argument.
#pragma once

#include <string>

namespace rusty::runtime {

// The whole of the file `name`, or of stdin for "-" (exec --process, update
// --resources); bounded as config.json is. Throws rusty::Error naming the
// file and keeping the errno.
std::string read_input(const std::string& name);

}  // namespace rusty::runtime
