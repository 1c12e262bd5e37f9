// What a container init needs beyond a SpawnRequest when rusty-runtime
// starts it from an OCI bundle: the whole config.json (mounts, devices,
// rlimits, user ids, sysctl, hooks…) and the fds of the create/start split.
// Only rusty-runtime makes these: it clones the init itself, so this never
// crosses a process boundary as bytes (SpawnRequest::oci is not encoded).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/oci_spec.hpp"

namespace rusty::lifecycle {

struct OciSetup {
    const oci::Spec* spec = nullptr;
    // Namespaces to join, as (CLONE_NEW* flag, open fd of the path), pid
    // and user excepted: the runtime joins the pid namespace itself before
    // clone3, so that the init is born in it.
    std::vector<std::pair<int, int>> join_namespaces;
    // Namespaces the init unshares itself after joining its v1 cgroups
    // (CLONE_NEWCGROUP), so that their root is its own cgroup.
    int unshare_late = 0;
    // O_PATH fd of the exec fifo: the init opens it for writing, which
    // blocks until `start` opens it for reading, then execs. -1: exec at once.
    int exec_fifo_fd = -1;
    // SOCK_SEQPACKET to the runtime: with createRuntime, prestart or
    // createContainer hooks, the init says 'H' once its mounts are done and
    // before pivot_root, and waits for the state JSON (its host pid filled
    // in) that the runtime sends back after running them. -1: no hooks.
    int hook_sync_fd = -1;
    // What `type: cgroup` mounts show: the container's own cgroup directory
    // of each hierarchy, by mount name ("memory", "cpu,cpuacct", "unified";
    // "" for a pure v2 host), bound read-only unless the mount says rw.
    std::vector<std::pair<std::string, std::filesystem::path>> cgroup_view;
    bool no_pivot = false;
};

// The CLONE_NEW* flag of an OCI namespace type.
int clone_flag(oci::NamespaceType type);

// Runs one hook: `state` on its stdin, killed after its timeout. Returns
// what went wrong ("hook /x: exit status 1"), empty on success. Safe in a
// container's init (no threads, no exceptions).
std::string run_hook(const oci::Hook& hook, const std::string& state);

}  // namespace rusty::lifecycle
