// Where the host's cgroup hierarchies are, and which controllers each has.
//
// Three shapes exist in the wild:
//   v2      one cgroup2 mount (usually /sys/fs/cgroup) with every controller;
//   v1      one cgroup (v1) mount per controller or group of controllers;
//   hybrid  v1 mounts for the controllers plus a cgroup2 mount (often
//           /sys/fs/cgroup/unified) holding few or no controllers.
// In hybrid mode the v2 hierarchy still gives every container a cgroup of its
// own for placement at birth (CLONE_INTO_CGROUP), cgroup.events, cgroup.kill
// and cgroup.freeze, and each limit goes to the hierarchy that has its
// controller.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace rusty::cgroup {

enum class Mode { V2, V1, Hybrid, None };
std::string_view to_string(Mode mode);

// The controllers rusty uses. "cpu" covers cpu.max/cpu.weight on v2 and
// cpu.cfs_*/cpu.shares on v1; "cpuacct" exists only on v1; "devices" (v1
// only: v2 uses an eBPF program) holds rusty-runtime's device allow-list.
inline constexpr std::string_view kControllers[] = {"memory", "pids", "cpu", "cpuset", "cpuacct", "freezer", "devices"};

enum class Version { None, V1, V2 };

class Layout {
public:
    // Reads /proc/self/mountinfo and the v2 root's cgroup.controllers.
    static Layout detect();
    // From mountinfo text; `v2_controllers` is what the cgroup2 root's
    // cgroup.controllers holds (read by detect(); given by tests).
    static Layout from_mountinfo(std::string_view mountinfo, std::string_view v2_controllers);
    // For tests with a directory tree standing in for cgroupfs.
    static Layout make(std::filesystem::path v2_root, std::set<std::string> v2_controllers,
                       std::map<std::string, std::filesystem::path> v1_roots, bool v1_swap_accounting = true);

    Mode mode() const;
    // The cgroup2 mount point; empty when there is none.
    const std::filesystem::path& v2_root() const { return v2_root_; }
    // Controllers the cgroup2 root offers.
    const std::set<std::string>& v2_controllers() const { return v2_controllers_; }
    // Which hierarchy holds `controller`: v2 if the cgroup2 root has it,
    // else v1 if a v1 hierarchy is mounted for it, else none.
    Version where(std::string_view controller) const;
    // The v1 mount point of `controller` (e.g. /sys/fs/cgroup/cpu,cpuacct).
    std::optional<std::filesystem::path> v1_root(std::string_view controller) const;
    const std::map<std::string, std::filesystem::path>& v1_roots() const { return v1_roots_; }
    // Whether the v1 memory hierarchy accounts swap (memory.memsw.* exist;
    // the kernel's swapaccount=1). False without a v1 memory hierarchy.
    bool v1_swap_accounting() const { return v1_swap_accounting_; }

    // "hybrid (v2 /sys/fs/cgroup/unified: hugetlb; v1: cpu cpuacct memory …)"
    std::string describe() const;

    // Made by make(): a plain directory tree standing in for cgroupfs in
    // tests. Writes there create the interface files that cgroupfs would
    // already have.
    bool stand_in() const { return stand_in_; }

private:
    std::filesystem::path v2_root_;
    std::set<std::string> v2_controllers_;
    std::map<std::string, std::filesystem::path> v1_roots_;  // controller -> mount point
    bool stand_in_ = false;
    bool v1_swap_accounting_ = false;
};

}  // namespace rusty::cgroup
