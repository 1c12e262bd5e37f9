// The messages exchanged by the three processes of a container start:
//
//   supervisor --SpawnRequest (+ stdout, stderr[, v2 cgroup dir] fds)--> helper
//   helper     --SpawnReply   (+ pidfd, setup-error fd)--> supervisor
//   container init --SetupFailure (on the setup-error pipe)--> supervisor
//
// The first two travel over a SOCK_SEQPACKET socketpair, one message each.
// On the setup-error pipe the init writes kExecMarker just before execve,
// and a SetupFailure if a step fails (before or after the marker). A
// successful execve closes the pipe (O_CLOEXEC). So: marker then EOF means
// started; a SetupFailure means failed with a reason; EOF with nothing means
// the init died during setup (killed, or crashed).
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
};

struct SpawnRequest {
    std::uint64_t id = 0;
    ContainerSpec spec;
    RootfsPlan rootfs;
    // v1 cgroup.procs files the init writes "0" to, first thing, before it
    // enters a cgroup namespace of its own. The v2 cgroup comes as a
    // directory fd with the request (clone3 CLONE_INTO_CGROUP).
    std::vector<std::string> cgroup_join;
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
