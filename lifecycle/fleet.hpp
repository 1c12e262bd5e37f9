// Fleet: the embeddable supervisor. Runs every container of a FleetSpec on
// one thread and one io_uring, and reports to a FleetObserver.
//
//   rusty::Fleet fleet(rusty::load_fleet("fleet.json"), {}, observer);
//   rusty::FleetResult result = fleet.run();
//
// Construction does everything that can fail before a container starts
// (images, state directory, lock) and forks the helper; run() starts the
// containers and returns when all of them have ended.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "cgroup/cgroup.hpp"
#include "cgroup/layout.hpp"
#include "core/spec.hpp"
#include "lifecycle/events.hpp"

namespace rusty {

struct FleetOptions {
    // Holds images/ and one directory per fleet.
    std::filesystem::path state_root = "/run/rusty-supervisor";
    // This fleet's state; empty means state_root / fleet name.
    std::filesystem::path state_dir;
    // Built-in images; empty means state_root / "images".
    std::filesystem::path image_dir;
    // Time between the stop signal (SIGTERM) and SIGKILL.
    std::chrono::milliseconds stop_grace{10'000};
    // Read SIGINT, SIGTERM, SIGHUP and SIGCHLD from a signalfd while running:
    // the first SIGINT/SIGTERM stops the fleet, a second one kills it.
    bool handle_signals = true;
    // Replaces fleet.json's cgroup_parent (an absolute cgroup path).
    std::optional<std::string> cgroup_parent;
    // fleet.json, re-read by reload (SIGHUP or the reload verb); empty: reload is refused.
    std::filesystem::path config_path;
    // Serve the control socket, <state dir>/control.sock (mode 0600), for
    // `rusty-supervisor ps`, `stop`, … (see lifecycle/control_server.hpp).
    bool control_socket = true;
    // The cgroup hierarchies to use; empty: detected from /proc/self/mountinfo.
    // A subset of the host's (e.g. only its v1 mounts) makes the fleet behave
    // as on such a host: the tests use it to run the pure-v1 paths for real.
    std::optional<cgroup::Layout> cgroup_layout;
};

struct FleetResult {
    bool all_succeeded = false;  // every container exited with status 0
    int stop_signal = 0;         // the signal that stopped the fleet, if any
    bool stopped = false;        // a stop was asked for: a signal, request_stop() or the stop verb
};

// What `check` adds to parsing: the fleet's limits against this host's
// cgroups (with options.cgroup_parent applied to `spec`). Throws ConfigError
// naming the field of a limit the host cannot enforce; returns warnings for
// the ones best_effort_limits lets through.
std::vector<std::string> check_on_host(FleetSpec& spec, const FleetOptions& options,
                                       const cgroup::Layout& layout);

class Fleet {
public:
    struct Impl;

    // Throws (nothing started yet) if the fleet cannot run: rusty::ConfigError
    // when the options do not fit it (state directory not its own, or
    // overlapping the images), rusty::Error for everything else.
    Fleet(FleetSpec spec, FleetOptions options, FleetObserver& observer);
    ~Fleet();
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    // Starts every container and returns when all have ended. Call once.
    FleetResult run();

    // Stops every container (stop signal, grace, SIGKILL). Call from the
    // thread running run(), e.g. from an observer callback.
    void request_stop();

    // Per-container controls, also only from the thread running run(). Throw
    // rusty::Error for an unknown name or a container that is not running.
    void pause(const std::string& container);
    void resume(const std::string& container);
    cgroup::Stats stats(const std::string& container) const;
    // The cgroup of a running container, e.g. "/rusty-supervisor/demo/web".
    std::string cgroup_path(const std::string& container) const;

    // The start pool's counts (lifecycle/stub_pool.hpp): stubs ready now,
    // made and claimed since the fleet began.
    struct PoolStats {
        std::size_t ready = 0;
        std::uint64_t made = 0;
        std::uint64_t claimed = 0;
    };
    PoolStats pool_stats() const;

    // The reactor's executor, to post work (timers, controls) onto the
    // thread that runs run().
    boost::asio::any_io_executor executor();

    const std::filesystem::path& state_dir() const;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace rusty
