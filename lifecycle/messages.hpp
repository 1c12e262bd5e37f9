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
//
// A pool stub (stub_pool.hpp) is asked of the helper like an init, with one
// end of a socketpair (and no stdio) as its only fd. On that socket:
//
//   stub       --SpawnReply (id 0; error set if its preparation failed)--> supervisor
//   supervisor --SpawnRequest (+ the fds of a spawn but the cgroup's last)--> stub
//   stub       --SpawnReply (+ pidfd, setup-error fd)--> supervisor
//
// The first says the stub is ready to be claimed; the last is as the
// helper's reply to a spawn, and the stub exits after it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
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

// Immutable bytes shared by every copy: a compiled seccomp program (~15 KB)
// is held by each running container's request, and 500 containers of one
// profile would otherwise hold 500 copies.
class SharedBytes {
public:
    SharedBytes() = default;
    SharedBytes(std::string bytes)  // NOLINT: implicit, as a string
        : bytes_(bytes.empty() ? nullptr : std::make_shared<const std::string>(std::move(bytes))) {}
    const std::string& str() const {
        static const std::string kEmpty;
        return bytes_ ? *bytes_ : kEmpty;
    }
    bool empty() const { return str().empty(); }
    std::size_t size() const { return str().size(); }
    const char* data() const { return str().data(); }
    void clear() { bytes_.reset(); }
    bool operator==(const SharedBytes& other) const { return bytes_ == other.bytes_ || str() == other.str(); }

private:
    std::shared_ptr<const std::string> bytes_;
};

// The privileges and kernel surface a container's processes get, shared by
// both front ends: the supervisor fills it from fleet.json (cap_add,
// cap_drop, security_opt, privileged), rusty-runtime from config.json.
// Applied by the init (and by every process exec'd into the container).
struct SecurityPlan {
    // Capability sets, bit n = capability n (linux/capability.h).
    std::uint64_t cap_bounding = 0;
    std::uint64_t cap_effective = 0;
    std::uint64_t cap_permitted = 0;
    std::uint64_t cap_inheritable = 0;
    std::uint64_t cap_ambient = 0;
    bool no_new_privileges = true;
    // A compiled seccomp program (struct sock_filter[], as
    // seccomp_export_bpf writes it), loaded last before execve; empty: none.
    SharedBytes seccomp_filter;
    unsigned seccomp_flags = 0;  // SECCOMP_FILTER_FLAG_*
    // Paths under the container's root: masked (a file by /dev/null, a
    // directory by an empty read-only tmpfs) and made read-only.
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;

    // What a container gets when nothing says otherwise: runc's default
    // capability set (that of `runc spec`, Docker's less CAP_MKNOD and
    // CAP_NET_RAW… see container_init.cpp), no_new_privs, runc's masked and
    // read-only paths, no seccomp program.
    static SecurityPlan defaults();
    static std::uint64_t default_capabilities();
    bool operator==(const SecurityPlan&) const = default;
};

inline constexpr const char* kNotifyDirInContainer = "/dev/rusty";
inline constexpr const char* kNotifySocketInContainer = "/dev/rusty/notify.sock";

struct OciSetup;

struct SpawnRequest {
    std::uint64_t id = 0;
    ContainerSpec spec;
    RootfsPlan rootfs;
    SecurityPlan security = SecurityPlan::defaults();
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
    // Not a container but a pool stub: its fd is its socket (then the v2
    // cgroup dir if has_cgroup_fd); spec.network and spec.pid give its shape,
    // cgroup_join the v1 cgroups it joins ahead of time.
    bool stub = false;
    // Set by a stub on the request it was claimed with: the mount, uts, ipc
    // (and network) namespaces exist, mounts are private, loopback is up,
    // and the v1 cgroups are joined.
    bool from_stub = false;
    // rusty-runtime only (lifecycle/oci_setup.hpp): the init follows the
    // OCI bundle's config.json instead of the fixed layout of fleet.json.
    // In-process, never encoded.
    const OciSetup* oci = nullptr;
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
// rusty-runtime's create/start split: the init is set up and waits for
// `start` (lifecycle/oci_setup.hpp). Written before the steps record.
inline constexpr char kReadyMarker = 'R';

// The init's clock (CLOCK_MONOTONIC, the supervisor's steady_clock, in ns)
// at each step of its setup. Written with the exec marker, as one record:
// kStepsMarker, InitSteps, kExecMarker. For the start breakdown of bench/
// and the debug log: a few clock reads per start.
struct InitSteps {
    std::int64_t received = 0;     // the helper (or pool stub) has the request
    std::int64_t cloned = 0;       // clone3 called
    std::int64_t started = 0;      // the child's first step
    std::int64_t joined = 0;       // stdio set, v1 cgroups joined
    std::int64_t rootfs = 0;       // the root mounted (bind or overlay)
    std::int64_t filesystems = 0;  // /proc, /dev, /sys mounted
    std::int64_t hardened = 0;     // masked and read-only paths done
    std::int64_t pivoted = 0;      // pivot_root, hostname, loopback
    std::int64_t user = 0;         // user resolved, privileges dropped, working directory
    std::int64_t exec = 0;         // about to execve
};
inline constexpr char kStepsMarker = 'T';

// Fixed-size so that one write(2) below PIPE_BUF delivers it whole.
struct SetupFailure {
    std::int32_t sys_errno = 0;  // 0: not a system-call failure
    char what[1020] = {};        // e.g. exec "/bin/nope", pivot_root("/x")
};
static_assert(sizeof(SetupFailure) <= 4096);

// The message as shown to users: `exec "/bin/nope": No such file or directory`.
std::string describe(const SetupFailure& failure);

// Everything the setup-error pipe can hold before EOF.
inline constexpr std::size_t kMaxSetupStory = 1 + sizeof(InitSteps) + 1 + sizeof(SetupFailure);
inline constexpr const char* kDiedDuringSetup = "the container's init died during setup";
// What the setup-error pipe said, read to EOF: "" when the command was
// exec'd, the failure described, or kDiedDuringSetup when it ended without
// a word. The init's steps go to `steps` when given and present.
std::string setup_story(std::string_view bytes, InitSteps* steps = nullptr);

// The whole message: encode_head(), then the seccomp program, raw.
std::string encode(const SpawnRequest& request);
// The JSON and the NUL that ends it: what precedes the seccomp program, so
// that a sender can gather the (shared) program into the same message
// without copying it.
std::string encode_head(const SpawnRequest& request);
SpawnRequest decode_spawn_request(std::string_view bytes);
std::string encode(const SpawnReply& reply);
SpawnReply decode_spawn_reply(std::string_view bytes);

}  // namespace rusty::lifecycle
