// What fleet.json's security fields (cap_add, cap_drop, security_opt) make
// of a container's SecurityPlan.
#pragma once

#include "core/spec.hpp"
#include "lifecycle/messages.hpp"

namespace rusty::lifecycle {

// SecurityPlan::defaults() with:
// - capabilities as Docker computes them: cap_add ALL gives every capability
//   the kernel knows less cap_drop; cap_drop ALL gives only cap_add;
//   otherwise the default set less cap_drop plus cap_add. Bounding,
//   effective and permitted get the result; inheritable and ambient stay
//   empty.
// - no_new_privileges from security_opt.
// - the seccomp program: the built-in profile (for the container's
//   capabilities, see default_seccomp_profile), the file's, or none
//   (unconfined). Compiled once per process and kept: for the built-in
//   profile per set of capabilities that change it, for a file per content.
// Throws rusty::Error when a profile cannot be read or compiled.
SecurityPlan security_for(const ContainerSpec& spec);

// Every capability the running kernel knows (/proc/sys/kernel/cap_last_cap).
std::uint64_t kernel_capabilities();

}  // namespace rusty::lifecycle
