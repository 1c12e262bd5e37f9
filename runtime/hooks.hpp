// runtime-spec's hooks as the verbs run them: each given the container's
// state on stdin. Those of creation fail the create, as runc makes them;
// poststart's and poststop's failures are warnings.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/oci_spec.hpp"
#include "runtime/status.hpp"

namespace rusty::runtime {

// The state a hook reads: runtime-spec's, without runc's extras.
std::string hook_state(const std::string& id, Status status, pid_t pid, const std::string& bundle,
                       const std::map<std::string, std::string>& annotations);

// Runs the hooks of one moment ("prestart", …); throws at the first that
// fails: "<moment> <what went wrong>".
void run_hooks(const std::vector<oci::Hook>& hooks, const char* moment, const std::string& state);

// Runs every hook of one moment, passing each failure to `warn`.
void run_hooks_warning(const std::vector<oci::Hook>& hooks, const char* moment, const std::string& state,
                       const std::function<void(const std::string&)>& warn);

// createContainer hooks run in the container's mount namespace, before
// pivot_root: from a child that joined the init's.
void run_in_mount_ns(const std::vector<oci::Hook>& hooks, int init_pidfd, const std::string& state);

}  // namespace rusty::runtime
