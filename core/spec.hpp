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
};

enum class DependencyCondition {
    Started,                // service_started: the dependency was exec'd
    CompletedSuccessfully,  // service_completed_successfully: it exited 0
};

struct Dependency {
    std::string name;
    DependencyCondition condition = DependencyCondition::Started;
};

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
};

}  // namespace rusty
