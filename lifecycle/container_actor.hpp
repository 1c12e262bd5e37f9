// One container's life, as a coroutine on the reactor: prepare its root
// filesystem, ask the helper for its init, learn whether exec succeeded,
// forward its output, wait for its exit and report each step as an event.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.hpp"
#include "cgroup/oom_watch.hpp"
#include "core/fd.hpp"
#include "core/spec.hpp"
#include "core/syscalls.hpp"
#include "lifecycle/events.hpp"
#include "lifecycle/helper_fork.hpp"
#include "lifecycle/log_writer.hpp"
#include "lifecycle/stub_pool.hpp"
#include "reactor/awaitable.hpp"
#include "reactor/kernfs_watch.hpp"
#include "reactor/pidfd_watch.hpp"

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
    enum class State { Created, Starting, Running, Exited, Failed, NotStarted };
    enum class Health { None, Starting, Healthy, Unhealthy };

    // `image_rootfs` is the image's directory when spec.image is set.
    // `cgroups` gives each run its own cgroup; null on a host without cgroups.
    // `default_grace` is the stop grace period when spec has none (an
    // unhealthy container is stopped with it before its restart).
    ContainerActor(boost::asio::any_io_executor ex, HelperClient& helper, FleetObserver& observer,
                   cgroup::FleetCgroups* cgroups, ContainerSpec spec, std::filesystem::path image_rootfs,
                   ContainerPaths paths, std::chrono::milliseconds default_grace);

    // When each step of the last run was reached, from the program's own
    // clock: the start and end breakdown that bench/ reports. A step not
    // reached (a failed start) stays at the epoch.
    struct RunSteps {
        using Time = std::chrono::steady_clock::time_point;
        Time begin;      // run_once() entered (a restart: right after the previous run's end)
        Time cgroup;     // its cgroup made (or a stub's adopted)
        Time spawned;    // the init's pid known (from the helper, or a stub)
        Time exec;       // the exec marker and EOF read: Started
        Time exit;       // the init reaped
        Time drained;    // output drained, the cgroup empty
        Time end;        // the cgroup removed, the log flushed: Exited
        bool from_stub = false;
        InitSteps init;  // the init's own steps (zero where not reached)

        // Each phase of the run in ms, in order: {"cgroup", 0.21}, {"clone", …}, …
        std::vector<std::pair<const char*, double>> phases() const;
    };
    const RunSteps& last_run_steps() const { return steps_; }

    // Starts go through a ready stub of `pool` when one fits (stub_pool.hpp),
    // else the usual way. Null (the default): always the usual way.
    void use_pool(StubPool* pool) { pool_ = pool; }

    // Runs the container to its end: waits for its dependencies, runs it,
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
    // Drops every link made by add_dependency, both ways (reload rewires).
    void clear_dependencies();

    // Called by the fleet before run(): this container starts only once
    // `dependency` meets `condition`, and is stopped before it.
    void add_dependency(ContainerActor& dependency, DependencyCondition condition);
    // The fleet's stop: no more runs or restarts; once every container that
    // depends on this one has ended, its stop signal, then SIGKILL after its
    // grace period (spec.stop_grace_period, else `default_grace`).
    reactor::Task<void> stop_in_order(std::chrono::milliseconds default_grace);

    // Asks the container to stop: `signal` now (to its init, or to every
    // process once the init is gone), then after `grace` SIGKILL to every
    // process of its cgroup. A paused container is thawed to take the signal.
    void stop(int signal, std::chrono::milliseconds grace);
    // The operator's stop: as stop(), and the container shows as "stopped".
    void stop_by_operator(std::chrono::milliseconds default_grace);
    // SIGKILL to every process now.
    void kill();
    // `signal` to the running init (or, once it is gone, to every process of
    // its cgroup); the restart policy applies if it ends. Throws rusty::Error
    // when it is not running.
    void send_signal(int signal);
    // Last resort when the reactor can no longer run this actor (an error
    // escaped, or the fleet is torn down early): SIGKILL, a blocking reap and
    // the cgroup removed, so nothing outlives its fleet or stays a zombie.
    // No-op once done.
    void kill_and_reap() noexcept;

    // Freezes or thaws the running container's cgroup; the Paused/Resumed
    // event follows when the kernel reports the new state. Throws
    // rusty::Error when it is not running or the host cannot freeze.
    void pause();
    void resume();
    // Memory, CPU and pids of the running container; nullopt when it is not
    // running or has no cgroup.
    std::optional<cgroup::Stats> stats() const;
    // The running container's cgroup ("/rusty-supervisor/<fleet>/<name>"),
    // empty when it has none.
    std::string cgroup_path() const { return cgroup_ ? cgroup_->path() : std::string(); }

    // What `attach` needs of the running container: a copy of its input (the
    // terminal's master with tty, else the write end of its stdin pipe, or
    // none without stdin_open). Throws rusty::Error when it is not running.
    struct Attachment {
        UniqueFd input;
        bool tty = false;
        bool stdin_open = false;  // typed input may be written to `input`
    };
    Attachment attachment() const;
    // The live log file, whether or not it exists yet; empty for the none
    // and passthrough drivers.
    std::filesystem::path log_path() const;

    // One row of `ps`: name, state, pid, restarts, started, exit_code,
    // signal, health, ready, status, cgroup.
    nlohmann::json status() const;
    static std::string_view health_name(Health health);

    const ContainerSpec& spec() const { return spec_; }
    const std::filesystem::path& image_rootfs() const { return image_rootfs_; }
    State state() const { return state_; }
    // True once it ran and exited with status 0 (or never started because a
    // stop came first).
    bool succeeded() const;

private:
    // What lives exactly as long as one run: the coroutines watching it
    // (OOM, health, notify) hold it, so a late wake-up of a finished run
    // sees `ended` and touches nothing.
    struct RunScope {
        explicit RunScope(boost::asio::any_io_executor ex) : health_timer(ex) {}
        bool ended = false;
        boost::asio::steady_timer health_timer;
        // The health check in flight, if any: it must be reaped before the
        // init can be (it lives in the init's pid namespace).
        int check_pidfd = -1;
        std::shared_ptr<boost::asio::local::datagram_protocol::socket> notify;
    };
    struct CheckResult {
        bool passed = false;
        std::string output;  // what the check printed (its last 4 KiB at most), or why it did not run
    };

    reactor::Task<void> run_once();
    reactor::Task<std::string> wait_for_dependencies();
    bool restart_wanted() const;
    void notify_neighbours();
    void reset_run();
    reactor::Task<void> supervise(UniqueFd setup_error, UniqueFd out, UniqueFd err, UniqueFd console);
    reactor::Task<void> pump_streams(UniqueFd out, UniqueFd err, bool terminal);
    reactor::Task<void> wait_for_exit();
    reactor::Task<void> wait_until_empty();
    reactor::Task<void> watch_oom(std::shared_ptr<RunScope> run);
    reactor::Task<void> watch_health(std::shared_ptr<RunScope> run);
    reactor::Task<CheckResult> run_health_check(std::shared_ptr<RunScope> run);
    void on_check_result(CheckResult result, bool in_start_period, unsigned& failures);
    void open_notify_socket();
    reactor::Task<void> read_notifications(std::shared_ptr<RunScope> run);
    void on_notification(std::string_view message);
    void no_more_runs();
    void end_run(int signal, std::chrono::milliseconds grace);
    void kill_processes();
    // The init has exited (it may not be reapable yet: see kill_and_reap).
    bool init_exited() const;
    reactor::Task<void> finish_cgroup();
    void remove_cgroup_now() noexcept;
    void end_run_scope() noexcept;
    reactor::Task<void> pump_output(UniqueFd fd, OutputStream stream, bool terminal);
    LogWriter& log_writer();
    reactor::Task<void> flush_log();
    // What the setup-error pipe says (messages.hpp): empty once exec'd, else
    // the failure. The init's steps go to `steps` if given.
    reactor::Task<std::string> read_setup_failure(UniqueFd fd, InitSteps* steps = nullptr);
    void prepare_rootfs();
    void write_state();
    void emit(EventKind kind, std::string error = {}, std::string reason = {});
    void emit_oom(std::uint64_t kills);
    // Spawned, not yet reaped, and not yet seen to end: signals may reach it.
    bool has_live_init() const;
    // The init, or (pid: host) a process it left in the cgroup, may be alive.
    bool has_live_processes() const;
    void arm_kill_timer();
    void resume_now();
    // This run's cgroup: from the stub's slot if there is a stub (which is
    // let go if that fails), else made afresh.
    void make_cgroup(StubPool::StubPtr& stub);
    // The init, from the stub if there is one, else from the helper. A stub
    // that fails is discarded and the start goes on the usual way.
    reactor::Task<SpawnedInit> spawn_init(SpawnRequest& request, StdioFds stdio, StubPool::StubPtr stub);

    boost::asio::any_io_executor ex_;
    HelperClient& helper_;
    FleetObserver& observer_;
    cgroup::FleetCgroups* cgroups_;
    StubPool* pool_ = nullptr;
    RunSteps steps_;
    ContainerSpec spec_;
    std::filesystem::path image_rootfs_;
    ContainerPaths paths_;
    std::chrono::milliseconds default_grace_;

    State state_ = State::Created;
    pid_t pid_ = 0;
    std::optional<reactor::PidfdWatch> watch_;
    std::optional<sys::ExitStatus> exit_;
    std::optional<cgroup::ContainerCgroup> cgroup_;
    std::optional<reactor::KernfsWatch> cgroup_events_;  // v2 cgroup.events
    std::unique_ptr<cgroup::OomWatch> oom_watch_;
    std::shared_ptr<RunScope> run_scope_;  // this run's; ended when the run ends
    bool cgroup_empty_ = false;
    bool frozen_ = false;
    std::uint64_t oom_kills_reported_ = 0;
    std::string exit_reason_;
    std::string failure_;
    bool stop_requested_ = false;
    bool stop_sent_ = false;  // this run was signalled to end (not just a stop requested)
    int stop_signal_ = SIGTERM;
    std::chrono::milliseconds stop_grace_{0};
    boost::asio::steady_timer kill_timer_;
    UniqueFd stdin_write_;     // stdin_open without tty: the container's stdin pipe, for attach
    UniqueFd terminal_;        // tty: a copy of the terminal's master, for attach (input, resize)
    std::unique_ptr<LogWriter> log_;  // across runs, from the first line; dropped with the spec

    Health health_ = Health::None;
    bool ready_ = false;           // ready: notify, and READY=1 came in this run
    std::string notify_status_;    // the last STATUS= of this run
    std::optional<std::chrono::system_clock::time_point> started_at_;  // this run's exec
    bool unhealthy_restart_ = false;  // this run ends because it turned unhealthy: start again

    // Across runs.
    unsigned restarts_ = 0;
    bool layer_made_ = false;      // the writable layer exists; kept by restarts and start()
    bool started_once_ = false;  // exec'd at least once
    bool ready_once_ = false;    // exec'd, and (ready: notify) said READY=1, at least once
    bool healthy_once_ = false;  // its health check passed at least once
    bool waiting_restart_ = false;  // between two runs, in the backoff delay
    bool operator_stopped_ = false;  // ended by stop_by_operator()
    std::uint64_t ends_ = 0;     // how many times run() has returned
    bool ended_ = false;         // run() is over: no run or restart will follow (until start())
    boost::asio::steady_timer restart_timer_;  // the delay before a restart; cancelled by a stop
    boost::asio::steady_timer wakeup_;  // cancelled when a dependency or dependent changes, or on stop
    boost::asio::steady_timer ended_signal_;  // cancelled each time run() returns
    std::vector<std::pair<ContainerActor*, DependencyCondition>> dependencies_;
    std::vector<ContainerActor*> dependents_;
};

}  // namespace rusty::lifecycle
