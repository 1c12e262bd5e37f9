// One container's whole life, as a coroutine on the reactor: it waits for
// its dependencies, runs the container (one ContainerRun per run,
// container_run.hpp), restarts it as its restart policy says, and stops it
// in dependency order. It keeps only what spans runs: the spec, the writable
// layer, the restart count and backoff, the log, what its dependents wait
// for (started, ready, healthy once), and its links to them.
//
// The states `ps` shows, and what moves a container between them:
//
//   from            on                                               to           event
//   created         its dependencies are met                         starting
//   created         a dependency never can be                        failed       Failed
//   created         a stop, before it started                        not_started
//   starting        the command is exec'd                            running      Started
//   starting        the spawn or the setup fails                     failed       Failed
//   running         its cgroup is frozen / thawed                    paused / running  Paused / Resumed
//   running         READY=1 on its notify socket (ready: notify)     running      Ready
//   running         a check passes / `retries` fail in a row         running      Healthy / Unhealthy
//   running         the OOM killer strikes in its cgroup             running      Oom
//   running         its init is reaped, its output drained and
//                   its cgroup empty                                 exited       Exited
//   exited, failed  its restart policy wants another run             restarting, then starting
//                   (GaveUp instead once max_retries is reached)
//   exited, failed  no restart, or a stop came                       run() returns ("stopped" after an operator's stop)
//
// A run is ended early only through end(), which takes the reason
// (EndReason, container_run.hpp); the control verbs and the fleet are thin
// calls into it. An unhealthy container with on_unhealthy: restart ends its
// own run the same way.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.hpp"
#include "core/spec.hpp"
#include "lifecycle/container_run.hpp"
#include "lifecycle/events.hpp"
#include "lifecycle/helper_fork.hpp"
#include "lifecycle/log_writer.hpp"
#include "lifecycle/stub_pool.hpp"
#include "reactor/awaitable.hpp"
#include "reactor/notifier.hpp"

namespace rusty::lifecycle {

// The per-container directory under the fleet's state directory.
struct ContainerPaths {
    explicit ContainerPaths(const std::filesystem::path& dir)
        : dir(dir),
          upper(dir / "upper"),
          work(dir / "work"),
          rootfs(dir / "rootfs"),
          state(dir / "state.json"),
          notify_dir(dir / "notify"),
          log(dir / "container.log") {}
    std::filesystem::path dir;
    std::filesystem::path upper;   // the container's private writes
    std::filesystem::path work;    // overlayfs scratch space
    std::filesystem::path rootfs;  // mount point of its root (in its own mount namespace only)
    std::filesystem::path state;   // state.json, written atomically
    std::filesystem::path notify_dir;  // ready: notify — holds notify.sock, bound into the container
    std::filesystem::path log;         // the default log file (kept after the fleet ends, with its rotations)
};

// Removes everything in a container's directory but its log files
// (container.log, container.log.1, …): a fresh layer, the same logs.
void remove_all_but_logs(const std::filesystem::path& dir, std::error_code& ec);

class ContainerActor {
public:
    using Attachment = ContainerRun::Attachment;

    // `image_rootfs` is the image's directory when spec.image is set.
    // `cgroups` gives each run its own cgroup; null on a host without cgroups.
    // `default_grace` is the stop grace period when spec has none.
    ContainerActor(boost::asio::any_io_executor ex, HelperClient& helper, FleetObserver& observer,
                   cgroup::FleetCgroups* cgroups, ContainerSpec spec, std::filesystem::path image_rootfs,
                   ContainerPaths paths, std::chrono::milliseconds default_grace);
    // A run still alive is torn down (~ContainerRun): only when the fleet
    // itself is torn down without having ended.
    ~ContainerActor();
    ContainerActor(const ContainerActor&) = delete;
    ContainerActor& operator=(const ContainerActor&) = delete;

    // Starts go through a ready stub of `pool` when one fits (stub_pool.hpp),
    // else the usual way. Null (the default): always the usual way.
    void use_pool(StubPool* pool) { pool_ = pool; }

    // The container's life to its end: waits for its dependencies, runs it,
    // and restarts it as its restart policy says. Never throws: every
    // failure becomes a Failed event. Once it has returned (ended()), the
    // fleet may call start() and run() again.
    reactor::Task<void> run();
    bool ended() const { return ended_; }
    // Completes once the current run() has returned (at once if it has).
    reactor::Task<void> wait_ended();
    // Makes an ended actor ready for another run(): the operator's start.
    // Keeps its writable layer, as `docker start` does.
    void start();
    // Gives an ended actor a new spec (reload): its next run() starts afresh,
    // with a new writable layer and no restarts counted.
    void replace_spec(ContainerSpec spec, std::filesystem::path image_rootfs);

    // Called by the fleet before run(): this container starts only once
    // `dependency` meets `condition`, and is stopped before it.
    void add_dependency(ContainerActor& dependency, DependencyCondition condition);
    // Drops every link made by add_dependency, both ways (reload rewires).
    void clear_dependencies();

    // Ends the container's run, as EndReason says; every reason but
    // Unhealthy also means no run follows in this run(). `grace` overrides
    // the spec's stop_grace_period (the verbs' --timeout).
    void end(EndReason reason, std::optional<std::chrono::milliseconds> grace = std::nullopt);
    // The fleet's stop: end(FleetStop, grace) once every container that
    // depends on this one has ended (the reverse of the start order). No run
    // starts from the call on.
    reactor::Task<void> stop_in_order(std::optional<std::chrono::milliseconds> grace = std::nullopt);

    // `signal` to the running container (ContainerRun::signal), which goes
    // on. Throws rusty::Error when it is not running.
    void send_signal(int signal);
    // Freezes or thaws the running container's cgroup. Throws rusty::Error
    // when it is not running or the host cannot freeze.
    void pause();
    void resume();
    // Memory, CPU and pids of the running container; nullopt when it is not
    // running or has no cgroup.
    std::optional<cgroup::Stats> stats() const;
    // The running container's cgroup ("/rusty-supervisor/<fleet>/<name>"),
    // empty when it has none.
    std::string cgroup_path() const;
    // What `attach` needs. Throws rusty::Error when it is not running.
    Attachment attachment() const;
    // The live log file, whether or not it exists yet; empty for the none
    // and passthrough drivers.
    std::filesystem::path log_path() const;

    // One row of `ps`: name, state, pid, restarts, started, exit_code,
    // signal, health, ready, status, cgroup.
    nlohmann::json status() const;

    // When each step of the last run was reached (bench/): all at the epoch
    // before the first run.
    RunSteps last_run_steps() const { return run_ ? run_->steps() : RunSteps{}; }

    const ContainerSpec& spec() const { return *spec_; }
    const std::filesystem::path& image_rootfs() const { return image_rootfs_; }
    ContainerState state() const;
    // True once it ran and exited with status 0 (or never started because a
    // stop came first).
    bool succeeded() const;

private:
    friend class ContainerRun;

    // ---- what runs call back
    // Everything a run reports goes through here: state.json is rewritten,
    // the event goes to the observer, and what dependents wait for is noted.
    void on_run_event(EventKind kind, std::string error, std::string reason);
    LogWriter& log_writer();
    reactor::Task<void> flush_log();
    // The writable layer and the container's directory, made at its first
    // run (or after a reload); a restart keeps them.
    void prepare_layer();
    StubPool* pool() const { return pool_; }
    HelperClient& helper() const { return helper_; }
    cgroup::FleetCgroups* cgroups() const { return cgroups_; }
    FleetObserver& observer() const { return observer_; }
    const ContainerPaths& paths() const { return paths_; }
    const std::filesystem::path& image_dir() const { return image_rootfs_; }
    std::chrono::milliseconds grace() const { return spec_->stop_grace_period.value_or(default_grace_); }

    reactor::Task<void> run_once();
    reactor::Task<std::string> wait_for_dependencies();
    bool restart_wanted() const;
    void notify_neighbours();
    // No new run, no restart from here on.
    void no_more_runs();
    void write_state();

    boost::asio::any_io_executor ex_;
    HelperClient& helper_;
    FleetObserver& observer_;
    cgroup::FleetCgroups* cgroups_;
    StubPool* pool_ = nullptr;
    std::shared_ptr<const ContainerSpec> spec_;
    std::filesystem::path image_rootfs_;
    ContainerPaths paths_;
    std::chrono::milliseconds default_grace_;
    std::unique_ptr<LogWriter> log_;  // across runs, from the first line; dropped with the spec

    // The run in progress, or the last one (its report) until the next
    // begins or start() clears it; null before the first.
    std::shared_ptr<ContainerRun> run_;
    // What `ps` shows while there is no run: created, not_started (a stop
    // came first), or failed (a dependency never can be met: `unmet_`).
    ContainerState idle_state_ = ContainerState::Created;
    std::string unmet_;

    unsigned restarts_ = 0;
    bool layer_made_ = false;      // the writable layer exists; kept by restarts and start()
    bool started_once_ = false;    // exec'd at least once
    bool ready_once_ = false;      // exec'd, and (ready: notify) said READY=1, at least once
    bool healthy_once_ = false;    // its health check passed at least once
    bool waiting_restart_ = false;  // between two runs, in the backoff delay
    bool operator_stopped_ = false;  // ended by end(Stop)
    bool no_more_runs_ = false;    // a stop came: run() returns after the current run
    bool ended_ = false;           // run() is over: no run or restart will follow (until start())
    std::uint64_t ends_ = 0;       // how many times run() has returned
    boost::asio::steady_timer restart_timer_;  // the delay before a restart; cancelled by a stop
    reactor::Notifier neighbours_changed_;     // a dependency or dependent changed, or a stop came
    reactor::Notifier ended_changed_;          // run() returned
    std::vector<std::pair<ContainerActor*, DependencyCondition>> dependencies_;
    std::vector<ContainerActor*> dependents_;
};

}  // namespace rusty::lifecycle
