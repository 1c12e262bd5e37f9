// What config.json asks of a container's cgroup: where it is, its limits,
// and its device allow-list (create; update takes the limits alone).
#pragma once

#include <string>
#include <vector>

#include "cgroup/path_cgroup.hpp"
#include "core/oci_spec.hpp"
#include "core/spec.hpp"

namespace rusty::runtime {

// Where linux.cgroupsPath puts the container: always an absolute cgroupfs
// path ("/rusty-runtime/<id>" without one).
std::string cgroup_path_for(const oci::Spec& spec, const std::string& id);

// linux.resources as the cgroup layer's limits.
Resources limits_of(const oci::Resources& resources);

// The device cgroup's rules: deny everything, then the spec's own rules,
// then runc's defaults (the nodes every container gets and ptys), then the
// spec's devices. Nothing else opens.
std::vector<cgroup::DeviceAccess> device_rules(const oci::Spec& spec);

}  // namespace rusty::runtime
