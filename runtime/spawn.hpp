// What create and exec share to clone a process into a container: its
// security settings, its terminal, its stdio and the init's setup pipe.
#pragma once

#include <string>

#include "core/fd.hpp"
#include "core/oci_spec.hpp"
#include "lifecycle/container_init.hpp"

namespace rusty::runtime {

// The capabilities, no_new_privileges, masked and read-only paths and
// seccomp program of `process` in `spec`; compiles the seccomp filter.
lifecycle::SecurityPlan security_of(const oci::Spec& spec, const oci::Process& process);

// process.terminal: a connection to --console-socket, where the pty master
// goes (SCM_RIGHTS).
UniqueFd connect_console(const std::string& path);

// A container's stdio is the runtime's own (conmon and the shims hand the
// runtime the pipes or files the container should get).
lifecycle::InitFds inherited_stdio(int console_socket, int setup_error);

// Reads the setup-error pipe: returns once the init said it is ready (or,
// with `wait_exec`, that it exec'd); throws with the init's own words
// otherwise.
void read_story(int fd, bool wait_exec);

}  // namespace rusty::runtime
