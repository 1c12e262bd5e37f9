// A container's cgroup at a path its caller chose: an OCI runtime's
// linux.cgroupsPath ("/libpod_parent/libpod-<id>"). Unlike FleetCgroups, the
// parents belong to the caller (podman, containerd): they are made when
// missing and left alone afterwards; only the leaf is ours to remove.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "cgroup/cgroup.hpp"

namespace rusty::cgroup {

// One rule of the device cgroup's allow-list: "c 1:3 rwm", "a *:* rwm".
struct DeviceAccess {
    bool allow = false;
    std::string rule;
};

struct PathCgroups {
    // Makes `path` (absolute) in the v2 hierarchy and in the v1 hierarchies
    // of the controllers `r` needs, plus `extra_v1` (e.g. "devices",
    // "freezer") where v1 has them; on a pure v1 host memory, pids, cpu,
    // cpuacct and freezer always. Enables the v2 controllers `r` needs in
    // every ancestor's cgroup.subtree_control, as runc does. Writes the
    // limits. A leaf that exists already must be empty. Throws rusty::Error.
    static ContainerCgroup create(const Layout& layout, const std::string& path, const Resources& r,
                                  const std::set<std::string>& extra_v1 = {});
    // The cgroup at `path` as it exists now, in every hierarchy that has it.
    static ContainerCgroup open(const Layout& layout, const std::string& path);
    // Rewrites the limits of an existing cgroup (update --resources).
    static void update(const Layout& layout, ContainerCgroup& cg, const Resources& r);
    // The v1 devices controller's rules, in order ("a" denied first by the
    // caller's rules, as runc's default). Returns false when the container
    // has no v1 devices cgroup (v2 needs an eBPF program: not done).
    static bool write_device_rules(const ContainerCgroup& cg, const std::vector<DeviceAccess>& rules);
    // Where each v1 hierarchy of `cg` is, by the mount's name ("memory",
    // "cpu,cpuacct"), plus "unified" for a v2 cgroup in hybrid mode: what a
    // container's /sys/fs/cgroup shows.
    static std::vector<std::pair<std::string, std::filesystem::path>> mount_view(const Layout& layout,
                                                                               const ContainerCgroup& cg);
};

}  // namespace rusty::cgroup
