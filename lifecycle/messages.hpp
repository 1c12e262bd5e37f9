// The messages exchanged by the three processes of a container start (or of
// an exec into a running container):
//
//   supervisor --SpawnRequest (+ [stdin,] stdout, stderr[, console socket]
//                              [, v2 cgroup dir][, container init's pidfd]
//                              fds)--> helper
//   helper     --SpawnReply   (+ pidfd, setup-error fd)--> supervisor
//   container init --SetupFailure (on the setup-error pipe)--> supervisor
//   container init --its terminal's master fd (on the console socket, one
//                    SCM_RIGHTS message, before the exec marker)--> supervisor
//
// The first two travel over a SOCK_SEQPACKET socketpair, one message each.
// On the setup-error pipe the init (or the exec'd process) writes
// kExecMarker just before execve, and a SetupFailure if a step fails (before
// or after the marker). A successful execve closes the pipe (O_CLOEXEC). So:
// marker then EOF means started; a SetupFailure means failed with a reason;
// EOF with nothing means it died during setup (killed, or crashed).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/spec.hpp"

namespace rusty::lifecycle {

// Where the container's root filesystem comes from and where it is mounted.
struct RootfsPlan {
    std::filesystem::path lower;   // image or user rootfs directory
    std::filesystem::path upper;   // overlay upper dir; empty: no overlay
    std::filesystem::path work;    // overlay work dir
    std::filesystem::path target;  // mount point that becomes "/"
    bool read_only = false;
    // Host directory holding the supervisor's notify socket, bound read-only
    // at kNotifyDirInContainer; empty: none.
    std::filesystem::path notify_dir;
};

inline constexpr const char* kNotifyDirInContainer = "/dev/rusty";
inline constexpr const char* kNotifySocketInContainer = "/dev/rusty/notify.sock";

struct SpawnRequest {
    std::uint64_t id = 0;
    ContainerSpec spec;
    RootfsPlan rootfs;
    // v1 cgroup.procs files the init writes "0" to, first thing, before it
    // enters a cgroup namespace of its own. The v2 cgroup comes as a
    // directory fd with the request (clone3 CLONE_INTO_CGROUP).
    std::vector<std::string> cgroup_join;
    // The fds that come with the request, in this order: stdin if
    // has_stdin (else the child gets /dev/null), stdout, stderr, the console
    // socket if has_console, the v2 cgroup dir if has_cgroup_fd, the
    // container init's pidfd if exec_argv is set. Said explicitly, not
    // guessed from the count; HelperClient sets them.
    bool has_stdin = false;
    // A new container with a terminal (spec.tty): the init makes a pty in
    // its own /dev/pts, sends the master back on the console socket, and
    // takes the slave as stdin, stdout, stderr, controlling terminal and
    // /dev/console (stdout and stderr given are then unused).
    bool has_console = false;
    bool has_cgroup_fd = false;
    // Non-empty: not a new container but this command run inside the one
    // whose init's pidfd comes with the request, as spec.user, with spec.env
    // and in spec.working_dir (rootfs is unused then).
    std::vector<std::string> exec_argv;
};

// The fds a spawned process starts with; -1 where there is none.
struct StdioFds {
    int stdin_fd = -1;    // -1: /dev/null
    int stdout_fd = -1;
    int stderr_fd = -1;
    int console_fd = -1;  // the console socket (spawn only)
};

struct SpawnReply {
    std::uint64_t id = 0;
    pid_t pid = -1;     // in the supervisor's pid namespace
    int error = 0;      // errno of a failed clone3, 0 on success
    std::string what;   // what failed, with error
};

inline constexpr char kExecMarker = 'E';

// Fixed-size so that one write(2) below PIPE_BUF delivers it whole.
struct SetupFailure {
    std::int32_t sys_errno = 0;  // 0: not a system-call failure
    char what[1020] = {};        // e.g. exec "/bin/nope", pivot_root("/x")
};
static_assert(sizeof(SetupFailure) <= 4096);

// The message as shown to users: `exec "/bin/nope": No such file or directory`.
std::string describe(const SetupFailure& failure);

std::string encode(const SpawnRequest& request);
SpawnRequest decode_spawn_request(std::string_view bytes);
std::string encode(const SpawnReply& reply);
SpawnReply decode_spawn_reply(std::string_view bytes);

}  // namespace rusty::lifecycle
