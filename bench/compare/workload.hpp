// The one workload every runtime runs — a busybox root directory bound
// writable, /bin/true, pid + mount + uts + ipc namespaces, a network
// namespace unless the network is the host's, a fresh cgroup, and the
// memory and pids limits — written as each runtime takes it: an OCI
// bundle's config.json (crun, runc, rusty-runtime) or a fleet.json
// container entry (rusty-supervisor).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "bench/compare/runtime.hpp"

namespace rusty::bench::compare {

// The bundle template: `crun spec` (or `runc spec`) as it comes, edited
// only where the workload says so.
json oci_template(Context& ctx, const fs::path& spec_tool);

// A bundle's config.json from the template: the namespaces for `network`,
// the limits, and an absolute cgroups path.
json oci_config(const json& tmpl, const std::string& network, bool limits, const std::string& cgroups_path);

// A container entry of the workload, as fleet.json writes it.
json rusty_container(const Context& ctx, const std::string& network, std::vector<std::string> command);

}  // namespace rusty::bench::compare
