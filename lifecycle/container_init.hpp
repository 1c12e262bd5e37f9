// The container's init before execve: runs in the child that clone3 made,
// already inside its new namespaces. Sets up the root filesystem, /proc,
// /dev, /sys, hostname, user and security settings, then execs the command.
// A process exec'd into a running container takes the same user, security
// and exec steps, after joining the init's namespaces.
//
// Any failure is written to `setup_error_fd` as a SetupFailure naming the
// step and path, and the child exits; nothing here throws or returns.
#pragma once

#include <sys/types.h>

#include <string>

#include "lifecycle/messages.hpp"

namespace rusty::lifecycle {

struct InitFds {
    int stdin_fd = -1;  // -1: /dev/null
    int stdout_fd = -1;
    int stderr_fd = -1;
    int console_fd = -1;      // spec.tty: where the terminal's master goes (see messages.hpp)
    int setup_error_fd = -1;  // O_CLOEXEC write end; closed by execve
    // CLOCK_MONOTONIC ns when the request arrived and clone3 was called, for
    // InitSteps.
    std::int64_t received_ns = 0;
    std::int64_t cloned_ns = 0;
};

// CLOCK_MONOTONIC in ns (the clock of InitSteps).
std::int64_t monotonic_ns();

[[noreturn]] void run_container_init(const SpawnRequest& request, const InitFds& fds,
                                     ino_t parent_mount_ns);

// A pool stub's preparation, in the child the helper made in fresh mount,
// uts, ipc (and network) namespaces: joins request.cgroup_join, makes mounts
// private, brings loopback up. Returns what failed, with errno; empty when
// the stub is ready. The container init a claim makes skips these steps
// (request.from_stub).
std::string prepare_stub(const SpawnRequest& request, ino_t parent_mount_ns);

// For request.exec_argv: runs in a child born in the container's pid
// namespace (when it has one) and cgroup; joins the v1 cgroup_join files and
// the mount, uts, ipc, cgroup (and private network) namespaces of the init
// behind `container_pidfd`, then becomes spec.user and execs exec_argv.
[[noreturn]] void run_exec_in_container(const SpawnRequest& request, const InitFds& fds, int container_pidfd);

}  // namespace rusty::lifecycle
