// The validated model of a fleet: what fleet.json means once parsed.
// Everything here is plain data; core/config.hpp builds it from JSON and the
// lifecycle code consumes it.
#pragma once

#include <csignal>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace rusty {

enum class NetworkMode {
    None,  // own network namespace with only loopback, up (the default)
    Host,  // the host's network namespace
};

enum class PidMode {
    Private,  // own pid namespace: the init is pid 1, its exit ends everything (the default)
    Host,     // the host's pid namespace: processes may outlive the init, the cgroup ends it
};

// Resource limits, with Compose's service field names. An unset field leaves
// the kernel's default (no limit). Enforced through the container's cgroup
// (cgroup/limits.hpp says which file each one becomes).
struct Resources {
    std::optional<std::int64_t> memory;              // mem_limit, bytes
    std::optional<std::int64_t> memory_swap;         // memswap_limit: memory + swap, bytes; -1 unlimited swap
    std::optional<std::int64_t> memory_reservation;  // mem_reservation, bytes (a soft floor)
    std::optional<double> cpus;                      // cpus: CPU time per wall time, 1.5 = 150 %
    std::optional<std::uint64_t> cpu_shares;         // cpu_shares: relative weight, 2..262144, 1024 normal
    std::string cpuset;                              // cpuset: CPUs allowed, "0-2,4"; empty: all
    std::optional<std::int64_t> pids;                // pids_limit: most tasks at once

    bool any() const {
        return memory || memory_swap || memory_reservation || cpus || cpu_shares || !cpuset.empty() || pids;
    }
    bool operator==(const Resources&) const = default;
};

// Compose's restart policies. "unless-stopped" behaves as "always" within
// one supervisor's life (there is no daemon restart to survive).
enum class RestartPolicy { No, OnFailure, Always, UnlessStopped };

struct Restart {
    RestartPolicy policy = RestartPolicy::No;
    std::optional<unsigned> max_retries;  // on-failure:N; none: no limit
    // Delay before each restart: `initial`, doubling up to `max`; back to
    // `initial` once a run lasted `reset_after`.
    std::chrono::milliseconds initial{100};
    std::chrono::milliseconds max{10'000};
    std::chrono::milliseconds reset_after{10'000};
    bool operator==(const Restart&) const = default;
};

enum class DependencyCondition {
    Started,                // service_started: the dependency was exec'd (and, with ready: notify, said READY=1)
    Healthy,                // service_healthy: its health check has passed
    CompletedSuccessfully,  // service_completed_successfully: it exited 0
};

struct Dependency {
    std::string name;
    DependencyCondition condition = DependencyCondition::Started;
    bool operator==(const Dependency&) const = default;
};

// Compose's healthcheck: `test` runs inside the running container (its
// namespaces and cgroup, as its user) every `interval`; exit 0 is healthy.
// `retries` failures in a row make it unhealthy. During `start_period`
// failures do not count and checks run every `start_interval`.
struct Healthcheck {
    std::vector<std::string> test;  // argv; CMD-SHELL and strings become {"/bin/sh", "-c", text}
    std::chrono::milliseconds interval{30'000};
    std::chrono::milliseconds timeout{30'000};
    unsigned retries = 3;
    std::chrono::milliseconds start_period{0};
    std::chrono::milliseconds start_interval{5'000};
    bool operator==(const Healthcheck&) const = default;
};

// What happens when the health check turns unhealthy.
enum class UnhealthyAction {
    None,     // an event only, as in Docker
    Restart,  // stop (stop signal, grace) and start again, whatever the restart policy
};

// When a started container counts as started for its dependents.
enum class Readiness {
    Exec,    // once its command was exec'd (the default)
    Notify,  // once it sent READY=1 on $NOTIFY_SOCKET (sd_notify)
};

// Where a container's output goes (Compose's `logging.driver`).
enum class LogDriver {
    Cri,          // a log file in the CRI format (kubelet, conmon): the default
    JsonFile,     // a log file in docker's json-file format
    None,         // nowhere: read and dropped
    Passthrough,  // no file: only to the supervisor's own output (its observer)
};

struct Logging {
    LogDriver driver = LogDriver::Cri;
    // Rotate once the file reaches this many bytes; 0: never. As docker's
    // `local` driver: 20 MiB.
    std::int64_t max_size = 20 * 1024 * 1024;
    // How many files to keep, the live one included (>= 1).
    unsigned max_file = 5;
    // The live file; empty: <state-dir>/<container>/container.log.
    std::filesystem::path path;
    bool operator==(const Logging&) const = default;
};

// ContainerSpec::cap_add_mask / cap_drop_mask for "ALL".
inline constexpr std::uint64_t kAllCapabilities = ~std::uint64_t{0};
// ContainerSpec::seccomp_profile for security_opt "seccomp=unconfined".
inline constexpr const char* kSeccompUnconfined = "unconfined";

struct ContainerSpec {
    std::string name;

    // Exactly one of image and rootfs is set. `image` names a built-in image
    // ("busybox"), turned into a directory by the image store; `rootfs` is an
    // absolute path to a directory given by the user.
    std::string image;
    std::filesystem::path rootfs;

    // The command run as the container's init: entrypoint followed by command.
    // Never empty. argv[0] is looked up in the container's PATH when it has
    // no '/'.
    std::vector<std::string> argv;

    // "KEY=VALUE" strings, in the order given, without duplicates of a key.
    std::vector<std::string> env;

    std::string working_dir = "/";  // absolute, inside the container

    // As written by the user: "", "uid", "uid:gid", "name" or "name:group".
    // Names are resolved against the container's own /etc/passwd and
    // /etc/group inside the container, as runc does. Empty means root.
    std::string user;

    std::string hostname;  // defaults to the container's name
    NetworkMode network = NetworkMode::None;
    bool read_only = false;  // root filesystem mounted read-only
    PidMode pid = PidMode::Private;
    Resources resources;

    Restart restart;
    int stop_signal = SIGTERM;
    // Time from the stop signal to SIGKILL; none: the fleet's default.
    std::optional<std::chrono::milliseconds> stop_grace_period;
    // Started only once these are (conditions); stopped before them.
    std::vector<Dependency> depends_on;
    std::optional<Healthcheck> healthcheck;
    UnhealthyAction on_unhealthy = UnhealthyAction::None;
    Readiness ready = Readiness::Exec;

    // A pseudo-terminal as stdin, stdout, stderr, controlling terminal and
    // /dev/console; its output is logged as stdout.
    bool tty = false;
    // stdin stays open (a pipe, or the terminal's input) for `attach`;
    // otherwise it is /dev/null.
    bool stdin_open = false;
    Logging logging;

    // Security (cap_add, cap_drop, security_opt; lifecycle/security.hpp
    // applies them). Capabilities added to and dropped from the default set,
    // bit n = capability n (linux/capability.h); kAllCapabilities for "ALL".
    std::uint64_t cap_add_mask = 0;
    std::uint64_t cap_drop_mask = 0;
    // "": the built-in profile (Docker's default); kSeccompUnconfined: no
    // filter; otherwise the absolute path of a profile in OCI linux.seccomp
    // format, read and checked when fleet.json was.
    std::string seccomp_profile;
    // no_new_privs for the container's processes (security_opt
    // "no-new-privileges:false" turns it off, letting setuid binaries work).
    bool no_new_privileges = true;

    // For reload: a container whose spec is unchanged keeps running.
    bool operator==(const ContainerSpec&) const = default;
};

struct FleetSpec {
    // The fleet's name (fleet.json's `name`, else the file's stem). Names the
    // state directory.
    std::string name;
    // In the order of fleet.json.
    std::vector<ContainerSpec> containers;
    // Absolute cgroup path under which each container gets
    // <cgroup_parent>/<fleet>/<container>, in every hierarchy it uses.
    std::string cgroup_parent = "/rusty-supervisor";
    // A limit the host cannot enforce (its controller is missing) is a
    // configuration error, unless this is set: then it is skipped with a
    // warning.
    bool best_effort_limits = false;
    // Start-pool stubs kept ready per kind of container (network and pid
    // mode); 0 disables the pool (lifecycle/stub_pool.hpp).
    unsigned pool_size = 2;
};

}  // namespace rusty
