// The container's init before execve: runs in the child that clone3 made,
// already inside its new namespaces. Sets up the root filesystem, /proc,
// /dev, /sys, hostname, user and security settings, then execs the command.
//
// Any failure is written to `setup_error_fd` as a SetupFailure naming the
// step and path, and the child exits; nothing here throws or returns.
#pragma once

#include <sys/types.h>

#include "lifecycle/messages.hpp"

namespace rusty::lifecycle {

struct InitFds {
    int stdout_fd = -1;
    int stderr_fd = -1;
    int setup_error_fd = -1;  // O_CLOEXEC write end; closed by execve
};

[[noreturn]] void run_container_init(const SpawnRequest& request, const InitFds& fds,
                                     ino_t parent_mount_ns);

}  // namespace rusty::lifecycle
