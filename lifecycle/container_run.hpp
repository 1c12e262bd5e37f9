// One run of a container: from the first step of its start to the removal of
// its cgroup. Everything born with a run lives here and goes with it: the
// init's pid and pidfd, its cgroup and the watches on it, the stdio kept for
// `attach`, the notify socket, the health checks, the request to end it and
// the timer that enforces it. ContainerActor (container_actor.hpp) owns the
// run in progress, or the last one once it has ended, which then holds
// nothing of the kernel's, only its report (what `ps` shows); the next run
// replaces it whole.
//
// The phases of a run, in order:
//
//   Preparing  the writable layer, the notify socket, the cgroup (made, or a
//              pool stub's adopted), the stdio pipes or terminal; the init
//              asked of the helper or of a pool stub
//   SettingUp  the init exists and sets the container up; its setup-error
//              pipe says "exec'd" (EOF) or why not
//   Running    the command runs (Started reported): its output is pumped,
//              its exit awaited, its health checked, its READY=1 awaited
//   Ending     the init has been reaped: the output drained, the cgroup
//              emptying, then removed
//   Ended      Exited or Failed reported; nothing is held
//
// A request to end (end()) may come in any phase: before the spawn it
// prevents it; during setup the signal would mean nothing to the init, so
// only the grace timer runs and the signal is sent again once it has exec'd;
// while it runs, the signal goes to the init (to every process of its cgroup
// once the init is gone), and SIGKILL to every process when the grace period
// is over.
#pragma once

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include "cgroup/cgroup.hpp"
#include "cgroup/oom_watch.hpp"
#include "core/fd.hpp"
#include "core/spec.hpp"
#include "core/syscalls.hpp"
#include "lifecycle/events.hpp"
#include "lifecycle/helper_fork.hpp"
#include "lifecycle/messages.hpp"
#include "lifecycle/stub_pool.hpp"
#include "reactor/awaitable.hpp"
#include "reactor/kernfs_watch.hpp"
#include "reactor/pidfd_watch.hpp"

namespace rusty::lifecycle {

class ContainerActor;

// A container's state as `ps` and state.json name it (to_string). Paused,
// restarting and stopped are shown on top of these: see
// ContainerActor::status().
enum class ContainerState { Created, Starting, Running, Exited, Failed, NotStarted };
std::string_view to_string(ContainerState state);

enum class Health { None, Starting, Healthy, Unhealthy };
std::string_view to_string(Health health);

// Why a run is asked to end. ContainerActor::end() is the one way in; the
// reason decides what follows the run:
//
//   reason      first            after the grace period   what follows
//   Stop        its stop signal  SIGKILL to every process  no run; `ps` shows "stopped"
//   Restart     its stop signal  SIGKILL                   no run; the verb (restart, reload) starts it again
//   FleetStop   its stop signal  SIGKILL                   no run (the fleet's stop, dependents first)
//   Kill        SIGKILL to every process, at once           no run
//   Unhealthy   its stop signal  SIGKILL                   the next run at once, whatever the restart policy
//
// A run that ends by itself (its command exited) was not asked: its
// container's restart policy decides.
enum class EndReason { Stop, Restart, FleetStop, Kill, Unhealthy };
std::string_view to_string(EndReason reason);

struct Ending {
    EndReason reason = EndReason::Stop;
    int signal = SIGTERM;              // sent first (SIGKILL for Kill)
    std::chrono::milliseconds grace{0};  // then SIGKILL to every process
};

// When each step of a run was reached, from the program's own clock: the
// start and end breakdown of the debug log and bench/. A step not reached
// (a failed start) stays at the epoch.
struct RunSteps {
    using Time = std::chrono::steady_clock::time_point;
    Time begin;      // the run began (a restart: right after the previous run's end)
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

class ContainerRun : public std::enable_shared_from_this<ContainerRun> {
public:
    enum class Phase { Preparing, SettingUp, Running, Ending, Ended };

    // What `ps` and state.json show of the run; kept once it has ended.
    struct Report {
        ContainerState state = ContainerState::Starting;
        pid_t pid = 0;  // the init's pid on the host, once spawned
        std::optional<std::chrono::system_clock::time_point> started_at;  // exec'd
        std::optional<sys::ExitStatus> exit;  // the init's, once reaped
        std::string failure;                  // Failed: why
        std::string reason;                   // Exited: "OOMKilled" if the OOM killer struck
        Health health = Health::None;
        bool ready = false;          // ready: notify, and READY=1 came
        std::string notify_status;   // the last STATUS= of sd_notify
        bool frozen = false;         // its cgroup is frozen (paused)
    };

    // What `attach` needs of a running container: a copy of its input (the
    // terminal's master with tty, else the write end of its stdin pipe, or
    // none without stdin_open).
    struct Attachment {
        UniqueFd input;
        bool tty = false;
        bool stdin_open = false;  // typed input may be written to `input`
    };

    // A run of `actor`'s container as its spec is now. Nothing happens
    // before run().
    explicit ContainerRun(ContainerActor& actor);
    // Teardown while the run lives (the reactor no longer runs: the fleet is
    // torn down without having ended): SIGKILL, a blocking reap and the
    // cgroup removed, so that nothing outlives its fleet or stays a zombie.
    // No event is reported. Nothing to do for a run that has ended.
    ~ContainerRun();
    ContainerRun(const ContainerRun&) = delete;
    ContainerRun& operator=(const ContainerRun&) = delete;
    // What the destructor does, at once: for the actor's destructor, as the
    // run's watchers may hold it until the reactor itself is destroyed.
    // Blocking; never on a running reactor. Never throws.
    void tear_down() noexcept;

    // The whole run, from Preparing to Ended. Never throws: a failure is
    // reported (Failed) and kept in report().
    reactor::Task<void> run();

    // Asks the run to end, as `ending` says (see EndReason). A later request
    // may only hasten the end: a Kill overrides a grace period in progress.
    void end(const Ending& ending);
    // Why the run was asked to end, if it was.
    const std::optional<Ending>& ending() const { return ending_; }

    // `signal` to the running init, or, once it is gone, to every process of
    // its cgroup; the run goes on (the restart policy applies if it ends).
    // Throws rusty::Error when nothing runs.
    void signal(int signal);
    // Freezes or thaws the cgroup; Paused and Resumed follow when the kernel
    // reports the new state. Throws rusty::Error when nothing runs or the
    // host cannot freeze.
    void pause();
    void resume();
    // Memory, CPU and pids; nullopt when it is not running or has no cgroup.
    std::optional<cgroup::Stats> stats() const;
    // Throws rusty::Error when it is not running.
    Attachment attachment() const;
    // "/rusty-supervisor/<fleet>/<name>" while it has a cgroup, else empty.
    std::string cgroup_path() const;

    Phase phase() const { return phase_; }
    const Report& report() const { return report_; }
    const RunSteps& steps() const { return steps_; }
    // Spawned, not yet reaped, and not yet seen to end: signals may reach it.
    bool has_live_init() const;
    // The init, or (pid: host) a process it left in the cgroup, may be alive.
    bool has_live_processes() const;

private:
    struct CheckResult {
        bool passed = false;
        std::string output;  // what the check printed (its last 4 KiB at most), or why it did not run
    };

    // ---- container_run.cpp: the phases
    void prepare(SpawnRequest& request);
    struct Stdio;
    Stdio open_stdio();
    // This run's cgroup: from the stub's slot if there is a stub (which is
    // discarded if that fails), else made afresh.
    reactor::Task<void> make_cgroup(StubPool::StubPtr& stub);
    // The init, from the stub if there is one, else from the helper. A stub
    // that fails is discarded and the start goes on the usual way.
    reactor::Task<SpawnedInit> spawn(SpawnRequest& request, const StdioFds& stdio, StubPool::StubPtr stub);
    reactor::Task<void> supervise(UniqueFd setup_error, UniqueFd out, UniqueFd err, UniqueFd console);
    reactor::Task<void> wait_for_exit();
    reactor::Task<void> wait_until_empty();
    // Ending: the cgroup emptied and removed, the watches stopped, the fds
    // closed. Never throws.
    reactor::Task<void> finish();
    // A failure before or during setup: SIGKILL and reap what was spawned.
    reactor::Task<void> kill_and_wait();
    void stop_watches() noexcept;
    void note_oom(std::uint64_t kills);
    reactor::Task<void> watch_oom(std::shared_ptr<ContainerRun> self);
    // The stop signal now, SIGKILL to all at the end of the grace period.
    void deliver_ending();
    reactor::Task<void> kill_after_grace(std::shared_ptr<ContainerRun> self, std::chrono::milliseconds grace);
    reactor::Task<void> kill_all();
    static reactor::Task<void> kill_now(std::shared_ptr<ContainerRun> self);
    void resume_now();
    // The init has exited (it may not be reapable yet: see ~ContainerRun).
    bool init_exited() const;
    // What the setup-error pipe says (messages.hpp): empty once exec'd, else
    // the failure. The init's steps go to `steps` if given.
    reactor::Task<std::string> read_setup_failure(UniqueFd fd, InitSteps* steps = nullptr);

    // ---- container_output.cpp: the command's output, to the log and the observer
    reactor::Task<void> pump_streams(UniqueFd out, UniqueFd err, bool terminal);
    reactor::Task<void> pump_output(UniqueFd fd, OutputStream stream, bool terminal);

    // ---- container_health.cpp: checks and sd_notify, from the inside
    reactor::Task<void> watch_health(std::shared_ptr<ContainerRun> self);
    reactor::Task<CheckResult> run_health_check();
    void on_check_result(CheckResult result, bool in_start_period, unsigned& failures);
    void open_notify_socket();
    reactor::Task<void> read_notifications(std::shared_ptr<ContainerRun> self);
    void on_notification(std::string_view message);

    // The state changed: state.json rewritten, `kind` reported.
    void report_event(EventKind kind, std::string error = {}, std::string reason = {});

    ContainerActor& actor_;
    boost::asio::any_io_executor ex_;
    // The spec this run was started with: a reload may give the actor
    // another once the run has ended, while its watchers finish.
    std::shared_ptr<const ContainerSpec> spec_;

    Phase phase_ = Phase::Preparing;
    Report report_;
    RunSteps steps_;
    std::optional<Ending> ending_;
    bool ending_delivered_ = false;  // the stop signal went to a running command

    std::optional<reactor::PidfdWatch> init_;
    // Shared with a kill in progress (v1: rounds on a timer), which may
    // outlast the run's hold on it.
    std::shared_ptr<cgroup::ContainerCgroup> cgroup_;
    std::optional<reactor::KernfsWatch> cgroup_events_;  // v2 cgroup.events
    std::unique_ptr<cgroup::OomWatch> oom_watch_;
    bool cgroup_empty_ = false;
    bool watching_ = true;  // the watchers (OOM, health, notify) may still report
    std::uint64_t oom_kills_reported_ = 0;
    UniqueFd stdin_write_;  // stdin_open without tty: the container's stdin pipe, for attach
    UniqueFd terminal_;     // tty: a copy of the terminal's master, for attach (input, resize)
    std::shared_ptr<boost::asio::local::datagram_protocol::socket> notify_;  // ready: notify
    boost::asio::steady_timer kill_timer_;    // the grace period of an ending
    boost::asio::steady_timer health_timer_;  // the next health check
    int check_pidfd_ = -1;  // a health check in flight: reaped before the init can be
};

}  // namespace rusty::lifecycle
