#include "lifecycle/container_run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "cgroup/retry.hpp"
#include "core/error.hpp"
#include "lifecycle/container_actor.hpp"
#include "lifecycle/security.hpp"

namespace rusty::lifecycle {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

std::string_view to_string(ContainerState state) {
    switch (state) {
        case ContainerState::Created: return "created";
        case ContainerState::Starting: return "starting";
        case ContainerState::Running: return "running";
        case ContainerState::Exited: return "exited";
        case ContainerState::Failed: return "failed";
        case ContainerState::NotStarted: return "not_started";
    }
    return "unknown";
}

std::string_view to_string(Health health) {
    switch (health) {
        case Health::None: return "none";
        case Health::Starting: return "starting";
        case Health::Healthy: return "healthy";
        case Health::Unhealthy: return "unhealthy";
    }
    return "unknown";
}

std::string_view to_string(EndReason reason) {
    switch (reason) {
        case EndReason::Stop: return "stop";
        case EndReason::Restart: return "restart";
        case EndReason::FleetStop: return "fleet stop";
        case EndReason::Kill: return "kill";
        case EndReason::Unhealthy: return "unhealthy";
    }
    return "unknown";
}

std::vector<std::pair<const char*, double>> RunSteps::phases() const {
    auto at = [](std::int64_t ns) { return Clock::time_point(std::chrono::nanoseconds(ns)); };
    auto ms = [](Clock::time_point from, Clock::time_point to) {
        return std::chrono::duration<double, std::milli>(to - from).count();
    };
    const InitSteps& i = init;
    return {
        {"cgroup", ms(begin, cgroup)},                     // made, or a stub's adopted
        {"request", ms(cgroup, at(i.received))},           // to the helper or stub
        {"decode", ms(at(i.received), at(i.cloned))},      // the request read there
        {"clone", ms(at(i.cloned), at(i.started))},        // clone3, the child running
        {"stdio+join", ms(at(i.started), at(i.joined))},   // the init's fds, v1 cgroups
        {"rootfs", ms(at(i.joined), at(i.rootfs))},        // bind or overlay mount
        {"proc+dev+sys", ms(at(i.rootfs), at(i.filesystems))},
        {"masks", ms(at(i.filesystems), at(i.hardened))},  // masked and read-only paths
        {"pivot", ms(at(i.hardened), at(i.pivoted))},      // pivot_root, hostname, loopback
        {"user", ms(at(i.pivoted), at(i.user))},           // user, capabilities, working directory
        {"exec", ms(at(i.user), exec)},                    // execve, seen by the supervisor
        {"run", ms(exec, exit)},                           // the command, its exit, the reap
        {"drain", ms(exit, drained)},                      // output, empty cgroup
        {"end", ms(drained, end)},                         // cgroup removed, log flushed
    };
}

// The fds of a run's standard streams: two pipes, or (tty) the terminal the
// init makes and sends back on the console socket. Input: /dev/null, or
// (stdin_open) a pipe whose write end waits for `attach`.
struct ContainerRun::Stdio {
    StdioFds child;  // what the init gets (numbers of the fds below)
    sys::Pipe out, err, in;
    UniqueFd console, console_child, devnull;

    // Once the init has its copies.
    void close_child_ends() {
        out.write.reset();
        err.write.reset();
        in.read.reset();
        console_child.reset();
        devnull.reset();
    }
};

ContainerRun::ContainerRun(ContainerActor& actor)
    : actor_(actor), ex_(actor.ex_), spec_(actor.spec_), kill_timer_(ex_), health_timer_(ex_) {}

ContainerRun::~ContainerRun() { tear_down(); }

void ContainerRun::report_event(EventKind kind, std::string error, std::string reason) {
    actor_.on_run_event(kind, std::move(error), std::move(reason));
}

// ---- the phases ------------------------------------------------------------------

reactor::Task<void> ContainerRun::run() {
    steps_.begin = Clock::now();
    std::string failure;
    try {
        SpawnRequest request;
        prepare(request);
        StubPool::StubPtr stub = actor_.pool() ? actor_.pool()->claim(*spec_) : nullptr;
        co_await make_cgroup(stub);
        if (cgroup_ && !stub) request.cgroup_join = cgroup_->join_files();
        steps_.cgroup = Clock::now();
        Stdio stdio = open_stdio();
        SpawnedInit init = co_await spawn(request, stdio.child, std::move(stub));
        steps_.spawned = Clock::now();
        // This frame lives as long as the container runs; the request (a copy
        // of the spec, the security plan) was for the spawn only.
        request = SpawnRequest{};
        stdio.close_child_ends();
        stdin_write_ = std::move(stdio.in.write);
        report_.pid = init.pid;
        init_.emplace(ex_, std::move(init.pidfd));
        phase_ = Phase::SettingUp;
        if (cgroup_ && !cgroup_->v2_dir().empty()) cgroup_events_.emplace(ex_, cgroup_->events_file());
        deliver_ending();  // one asked for while preparing: its grace runs from now
        co_await supervise(std::move(init.setup_error), std::move(stdio.out.read), std::move(stdio.err.read),
                           std::move(stdio.console));
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (!failure.empty()) {
        report_.failure = std::move(failure);
        report_.state = ContainerState::Failed;
        co_await kill_and_wait();
    }
    co_await finish();
    steps_.end = Clock::now();
    phase_ = Phase::Ended;
    if (report_.state == ContainerState::Failed) {
        report_event(EventKind::Failed, report_.failure);
        co_return;
    }
    report_event(EventKind::Exited, {}, report_.reason);
    if (spdlog::should_log(spdlog::level::debug)) {
        std::string text;
        for (const auto& [phase, ms] : steps_.phases()) text += fmt::format(" {} {:.3f}", phase, ms);
        spdlog::debug("{}: run phases in ms{}:{}", spec_->name, steps_.from_stub ? " (pool stub)" : "", text);
    }
}

// The writable layer, the root filesystem's plan, the notify socket and the
// security plan: everything the spawn request carries.
void ContainerRun::prepare(SpawnRequest& request) {
    actor_.prepare_layer();
    const ContainerPaths& paths = actor_.paths();
    request.spec = *spec_;
    request.security = security_for(*spec_);
    RootfsPlan& plan = request.rootfs;
    plan.target = paths.rootfs;
    plan.read_only = spec_->read_only;
    if (!spec_->image.empty()) {
        plan.lower = actor_.image_dir();
        if (!spec_->read_only) {
            plan.upper = paths.upper;
            plan.work = paths.work;
        }
    } else {
        plan.lower = spec_->rootfs;
    }
    if (spec_->ready == Readiness::Notify) {
        open_notify_socket();
        plan.notify_dir = paths.notify_dir;
        request.spec.env.push_back(std::string("NOTIFY_SOCKET=") + kNotifySocketInContainer);
    }
}

ContainerRun::Stdio ContainerRun::open_stdio() {
    Stdio s;
    if (spec_->tty) {
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) throw_sys("socketpair(console)");
        s.console.reset(pair[0]);
        s.console_child.reset(pair[1]);
        s.devnull.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
        if (!s.devnull) throw_sys("open(\"/dev/null\")");
        s.child.stdout_fd = s.child.stderr_fd = s.devnull.get();
        s.child.console_fd = s.console_child.get();
    } else {
        s.out = sys::make_pipe();
        s.err = sys::make_pipe();
        s.child.stdout_fd = s.out.write.get();
        s.child.stderr_fd = s.err.write.get();
        if (spec_->stdin_open) {
            s.in = sys::make_pipe();
            s.child.stdin_fd = s.in.read.get();
        }
    }
    return s;
}

reactor::Task<void> ContainerRun::make_cgroup(StubPool::StubPtr& stub) {
    cgroup::FleetCgroups* cgroups = actor_.cgroups();
    if (!cgroups) co_return;
    if (stub) {
        try {
            cgroup_ = std::make_shared<cgroup::ContainerCgroup>(cgroups->adopt(stub->slot, *spec_));
            co_return;
        } catch (const std::exception& e) {
            spdlog::debug("{}: pool stub's cgroups: {}; starting without it", spec_->name, e.what());
        }
        co_await actor_.pool()->discard(stub);
        stub.reset();
    }
    try {
        cgroup_ = std::make_shared<cgroup::ContainerCgroup>(cgroups->create(*spec_));
    } catch (const Error& e) {
        throw e.context("cgroup");
    }
}

reactor::Task<SpawnedInit> ContainerRun::spawn(SpawnRequest& request, const StdioFds& stdio, StubPool::StubPtr stub) {
    if (stub) {
        std::optional<SpawnedInit> init;
        steps_.from_stub = true;
        try {
            init = co_await actor_.pool()->start(*stub, request, stdio, cgroup_ ? cgroup_->placement_fd() : -1);
        } catch (const std::exception& e) {
            spdlog::debug("{}: pool stub: {}; starting without it", spec_->name, e.what());
        }
        if (init) co_return std::move(*init);
        steps_.from_stub = false;
        co_await actor_.pool()->discard(stub);
        stub.reset();
        if (cgroup_) {
            // Its v1 cgroups held the stub: made anew, to be joined.
            co_await cgroup::remove_retrying_async([this] { return cgroup_->remove(); });
            cgroup_.reset();
            co_await make_cgroup(stub);
            request.cgroup_join = cgroup_->join_files();
        }
    }
    co_return co_await actor_.helper().spawn(std::move(request), stdio, cgroup_ ? cgroup_->placement_fd() : -1);
}

// Waits for exec (or a setup failure), then for the exit. The output pumps
// start only once Started is reported (the init writes nothing before exec,
// and the pipes hold what the command writes meanwhile), so no output comes
// before Started; they run beside the wait, so the exit is reported only once
// both pipes are drained.
reactor::Task<void> ContainerRun::supervise(UniqueFd setup_error, UniqueFd out, UniqueFd err, UniqueFd console) {
    std::string failure = co_await read_setup_failure(std::move(setup_error), &steps_.init);
    steps_.exec = Clock::now();
    if (failure.empty() && console) {
        // Sent before the exec marker: already here.
        std::byte tag[1];
        sys::Received msg;
        try {
            if (::fcntl(console.get(), F_SETFL, O_NONBLOCK) < 0) throw_sys("fcntl(O_NONBLOCK)");
            msg = sys::recv_with_fds(console.get(), tag, 1);
        } catch (const Error& e) {
            throw e.context("receive the container's terminal");
        }
        if (msg.fds.size() != 1) throw Error("the container's init sent no terminal");
        out = std::move(msg.fds[0]);
        terminal_ = sys::dup_fd(out.get());
    }
    if (!failure.empty()) {
        report_.exit = co_await init_->wait_exit();
        if (failure == kDiedDuringSetup) {
            failure += report_.exit->signal ? ": killed by " + sys::signal_name(report_.exit->signal)
                                            : ": exit code " + std::to_string(report_.exit->exit_code);
        }
        report_.failure = std::move(failure);
        report_.state = ContainerState::Failed;
        co_return;
    }
    phase_ = Phase::Running;
    report_.state = ContainerState::Running;
    report_.started_at = std::chrono::system_clock::now();
    if (spec_->healthcheck) report_.health = Health::Starting;
    report_event(EventKind::Started);
    // A stop signal sent while the init was still in setup meant nothing to
    // it: send it now, with a whole grace period.
    deliver_ending();
    std::shared_ptr<ContainerRun> self = shared_from_this();
    if (cgroup_) {
        try {
            oom_watch_ = cgroup::OomWatch::open(ex_, *cgroup_);
        } catch (const std::exception& e) {
            spdlog::warn("{}: OOM events will not be reported: {}", spec_->name, e.what());
        }
        if (oom_watch_) asio::co_spawn(ex_, watch_oom(self), asio::detached);
    }
    if (notify_) asio::co_spawn(ex_, read_notifications(self), asio::detached);
    if (spec_->healthcheck) asio::co_spawn(ex_, watch_health(self), asio::detached);
    // The container has ended when its output is drained, its init is
    // reaped, and its cgroup is empty (pid: host leaves room for processes
    // that outlive the init).
    co_await (pump_streams(std::move(out), std::move(err), static_cast<bool>(terminal_)) && wait_for_exit() &&
              wait_until_empty());
    steps_.drained = Clock::now();
    report_.state = ContainerState::Exited;
}

reactor::Task<void> ContainerRun::wait_for_exit() {
    report_.exit = co_await init_->wait_exit();
    steps_.exit = Clock::now();
    phase_ = Phase::Ending;
    // Health checks end with the init (pid: host may leave other processes
    // running): one in flight would otherwise hold the cgroup until its timeout.
    if (check_pidfd_ >= 0) sys::raw_pidfd_send_signal(check_pidfd_, SIGKILL);
    if (!cgroup_) co_return;
    try {
        if (cgroup_events_) {
            // The kernel notifies a change of cgroup.events at most once per
            // 10 ms (rounded up to whole ticks), and the "populated 1" of the
            // birth has used that up for a short-lived container: without a
            // look now, its end would be seen up to 12 ms late. With its own
            // pid namespace it is usually empty already.
            if (!cgroup_->populated()) {
                cgroup_empty_ = true;
                cgroup_events_->cancel();
            }
        } else {
            // Without cgroup.events (v1 only) the end of the init is all we
            // can see: whatever it left goes with it, now, so that pipes
            // those processes hold reach EOF and the output pumps end.
            const std::shared_ptr<cgroup::ContainerCgroup> cgroup = cgroup_;
            co_await cgroup->kill_async();
        }
    } catch (const std::exception& e) {
        spdlog::warn("{}: {}", spec_->name, e.what());
    }
}

// Follows cgroup.events until "populated 0", reporting "frozen" changes as
// Paused/Resumed on the way.
reactor::Task<void> ContainerRun::wait_until_empty() {
    if (!cgroup_events_) co_return;
    while (!cgroup_empty_) {
        const std::string events = cgroup_events_->read_all();
        const bool frozen = cgroup::keyed_value(events, "frozen").value_or(0) != 0;
        const bool populated = cgroup::keyed_value(events, "populated").value_or(0) != 0;
        if (frozen != report_.frozen && populated) {
            report_.frozen = frozen;
            report_event(frozen ? EventKind::Paused : EventKind::Resumed);
        }
        if (!populated) break;
        try {
            co_await cgroup_events_->wait_change();
        } catch (const boost::system::system_error& e) {
            // Cancelled by wait_for_exit(), which saw the cgroup empty.
            if (e.code() != asio::error::operation_aborted || !cgroup_empty_) throw;
        }
    }
    cgroup_empty_ = true;
    report_.frozen = false;
}

// The end of every run, whatever happened before: the stdio kept for attach
// closed, the grace timer stopped, the cgroup waited for until empty, an OOM
// kill noted, the watchers stopped, the cgroup removed (retried on the
// reactor's timers while the kernel finishes the last exit), the log flushed.
reactor::Task<void> ContainerRun::finish() {
    stdin_write_.reset();
    terminal_.reset();
    kill_timer_.cancel();
    if (cgroup_) {
        if (!cgroup_empty_ && cgroup_events_) {
            try {
                co_await wait_until_empty();
            } catch (const std::exception& e) {
                spdlog::warn("{}: watching {}: {}", spec_->name, cgroup_events_->path().string(), e.what());
            }
        }
        // The v1 notification can come before the kill is counted, and the run
        // may end before the watcher looks again: report what it missed.
        if (const std::uint64_t kills = cgroup_->oom_kills(); kills > 0) {
            report_.reason = "OOMKilled";
            if (kills > oom_kills_reported_) note_oom(kills);
        }
    }
    stop_watches();
    if (cgroup_) {
        const int err = co_await cgroup::remove_retrying_async([this] { return cgroup_->remove(); });
        if (err != 0) spdlog::warn("{}: cannot remove cgroup {}: {}", spec_->name, cgroup_->path(), errno_text(err));
        cgroup_.reset();
    }
    report_.frozen = false;  // what is gone is not paused
    init_.reset();
    co_await actor_.flush_log();
}

// A start that failed part way: whatever was spawned is killed and reaped.
// A health check in the init's pid namespace keeps the init unreapable until
// the check is reaped, which its own coroutine does once it is killed.
reactor::Task<void> ContainerRun::kill_and_wait() {
    if (const std::shared_ptr<cgroup::ContainerCgroup> cgroup = cgroup_) {
        try {
            co_await cgroup->kill_async();
        } catch (const std::exception& e) {
            spdlog::debug("{}: {}", spec_->name, e.what());  // not created yet, or gone: the init is killed below
        }
    }
    if (!init_ || report_.exit) co_return;
    init_->send_signal(SIGKILL);
    if (check_pidfd_ >= 0) sys::raw_pidfd_send_signal(check_pidfd_, SIGKILL);
    try {
        report_.exit = co_await init_->wait_exit();
    } catch (const std::exception& e) {
        spdlog::warn("{}: reaping its init: {}", spec_->name, e.what());
    }
}

// Tells this run's watchers (OOM, health, notify) that it is over, and
// stops their waits.
void ContainerRun::stop_watches() noexcept {
    if (!watching_) return;
    watching_ = false;
    boost::system::error_code ignored;
    health_timer_.cancel();
    if (notify_) notify_->cancel(ignored);  // closed once its read has ended
    if (oom_watch_) oom_watch_->cancel();
    cgroup_events_.reset();
    oom_watch_.reset();
}

void ContainerRun::tear_down() noexcept {
    if (phase_ == Phase::Ended) return;
    phase_ = Phase::Ended;
    if (cgroup_) {
        try {
            cgroup_->kill();
        } catch (const std::exception&) {
            // Not created yet, or gone: the init is killed below either way.
        }
    }
    if (init_ && !report_.exit && init_->fd() >= 0) {
        try {
            init_->send_signal(SIGKILL);
            // A health check in the init's pid namespace keeps the init from
            // being reapable until the check is reaped: reap it first.
            if (check_pidfd_ >= 0) {
                sys::raw_pidfd_send_signal(check_pidfd_, SIGKILL);
                sys::ExitStatus check;
                sys::wait_pidfd(check_pidfd_, check, false);
            }
            sys::ExitStatus status;
            sys::wait_pidfd(init_->fd(), status, false);
            report_.exit = status;
        } catch (const std::exception&) {
            // Reaped elsewhere already (ECHILD): nothing left to do.
        }
    }
    stop_watches();
    if (cgroup_) {
        // The reactor no longer runs: the sleeping retry is allowed here.
        if (const int err = cgroup::remove_retrying([this] { return cgroup_->remove(); }); err != 0)
            spdlog::warn("{}: cannot remove cgroup {}: {}", spec_->name, cgroup_->path(), errno_text(err));
        cgroup_.reset();
    }
}

// Reports each OOM kill while the container runs. The v1 notification may
// come just before the kill is counted: look again shortly after.
reactor::Task<void> ContainerRun::watch_oom([[maybe_unused]] std::shared_ptr<ContainerRun> self) {
    try {
        while (watching_) {
            co_await oom_watch_->wait();
            for (int look = 0; look < 2 && watching_ && cgroup_; ++look) {
                const std::uint64_t kills = cgroup_->oom_kills();
                if (kills > oom_kills_reported_) {
                    note_oom(kills);
                    break;
                }
                co_await reactor::sleep_for(std::chrono::milliseconds(20));
            }
        }
    } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted)
            spdlog::warn("{}: watching for OOM kills: {}", spec_->name, e.what());
    } catch (const std::exception& e) {
        spdlog::warn("{}: watching for OOM kills: {}", spec_->name, e.what());
    }
}

void ContainerRun::note_oom(std::uint64_t kills) {
    oom_kills_reported_ = kills;
    report_event(EventKind::Oom, {}, std::to_string(kills) + (kills == 1 ? " process" : " processes") + " killed so far");
}

// The setup-error pipe's story (see messages.hpp): "" when the command was
// exec'd, else why not. An empty story ("init died") is told after the reap.
reactor::Task<std::string> ContainerRun::read_setup_failure(UniqueFd fd, InitSteps* steps) {
    asio::posix::stream_descriptor pipe(ex_, fd.release());
    std::array<char, kMaxSetupStory> buf;
    auto [ec, n] = co_await asio::async_read(pipe, asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    co_return setup_story(std::string_view(buf.data(), n), steps);
}

// ---- ending ----------------------------------------------------------------------

void ContainerRun::end(const Ending& ending) {
    if (phase_ == Phase::Ended) return;
    // A kill cannot be softened into a stop with a grace period.
    if (ending_ && ending_->reason == EndReason::Kill) return;
    ending_ = ending;
    ending_delivered_ = false;
    deliver_ending();
}

// Before the spawn: held until the init exists. During setup: a kill kills,
// a stop only starts its grace period (the signal would mean nothing to the
// init; supervise() delivers it again once the command runs). While the
// command runs: the signal to the init (or, once it is gone, to every process
// of its cgroup), a thaw so that a paused container takes it, and SIGKILL to
// every process at the end of the grace period.
void ContainerRun::deliver_ending() {
    if (!ending_ || ending_delivered_ || !has_live_processes()) return;
    std::shared_ptr<ContainerRun> self = shared_from_this();
    if (ending_->reason == EndReason::Kill || ending_->grace.count() == 0) {
        ending_delivered_ = true;
        kill_timer_.cancel();
        asio::co_spawn(ex_, kill_now(self), asio::detached);
        return;
    }
    if (phase_ == Phase::Running) {
        ending_delivered_ = true;
        try {
            if (has_live_init()) init_->send_signal(ending_->signal);
            else if (cgroup_) cgroup_->signal_all(ending_->signal);
            // A frozen process takes no signal until thawed, nor one still
            // freezing (the kernel may not say "frozen" yet): always thaw.
            if (cgroup_ && cgroup_->can_freeze()) resume_now();
        } catch (const std::exception&) {
            // Gone already, or not ours to signal: the exit wait ends either way.
        }
    }
    asio::co_spawn(ex_, kill_after_grace(self, ending_->grace), asio::detached);
}

reactor::Task<void> ContainerRun::kill_after_grace([[maybe_unused]] std::shared_ptr<ContainerRun> self,
                                               std::chrono::milliseconds grace) {
    kill_timer_.expires_after(grace);  // cancels the wait of an earlier grace period
    auto [ec] = co_await kill_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!ec && phase_ != Phase::Ended && has_live_processes()) co_await kill_all();
}

reactor::Task<void> ContainerRun::kill_now(std::shared_ptr<ContainerRun> self) { co_await self->kill_all(); }

// SIGKILL to every process of the run now: its cgroup's, and its init.
reactor::Task<void> ContainerRun::kill_all() {
    if (!has_live_processes()) co_return;
    if (const std::shared_ptr<cgroup::ContainerCgroup> cgroup = cgroup_) {
        try {
            co_await cgroup->kill_async();
        } catch (const std::exception& e) {
            if (phase_ != Phase::Ended) spdlog::warn("{}: {}", spec_->name, e.what());
        }
    }
    if (has_live_init()) init_->send_signal(SIGKILL);
}

// ---- what the verbs do to a running container ----------------------------------

bool ContainerRun::init_exited() const {
    if (!init_ || report_.exit) return true;
    pollfd p{init_->fd(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
}

bool ContainerRun::has_live_init() const {
    return init_ && !report_.exit &&
           (report_.state == ContainerState::Running || report_.state == ContainerState::Starting);
}

bool ContainerRun::has_live_processes() const {
    return has_live_init() ||
           (report_.state == ContainerState::Running && cgroup_ && cgroup_events_ && !cgroup_empty_);
}

void ContainerRun::signal(int sig) {
    if (report_.state != ContainerState::Running || !has_live_processes()) throw Error(spec_->name + ": not running");
    try {
        if (has_live_init()) init_->send_signal(sig);
        else if (cgroup_) cgroup_->signal_all(sig);
    } catch (const Error& e) {
        throw e.context(spec_->name);
    }
}

void ContainerRun::pause() {
    if (report_.state != ContainerState::Running || !has_live_processes()) throw Error(spec_->name + ": not running");
    if (!cgroup_ || !cgroup_->can_freeze()) throw Error(spec_->name + ": pausing needs a cgroup with a freezer");
    cgroup_->freeze(true);
    // The v1 freezer has no events: report the request itself.
    if (!cgroup_events_ && !report_.frozen) {
        report_.frozen = true;
        report_event(EventKind::Paused);
    }
}

void ContainerRun::resume() {
    if (report_.state != ContainerState::Running || !has_live_processes()) throw Error(spec_->name + ": not running");
    if (!cgroup_ || !cgroup_->can_freeze()) throw Error(spec_->name + ": pausing needs a cgroup with a freezer");
    resume_now();
}

void ContainerRun::resume_now() {
    cgroup_->freeze(false);
    // The v1 freezer has no events: report the request itself.
    if (!cgroup_events_ && report_.frozen) {
        report_.frozen = false;
        report_event(EventKind::Resumed);
    }
}

std::optional<cgroup::Stats> ContainerRun::stats() const {
    if (!cgroup_ || report_.state != ContainerState::Running) return std::nullopt;
    return cgroup_->stats();
}

std::string ContainerRun::cgroup_path() const { return cgroup_ ? cgroup_->path() : std::string(); }

ContainerRun::Attachment ContainerRun::attachment() const {
    if (report_.state != ContainerState::Running || !has_live_init()) throw Error(spec_->name + ": not running");
    Attachment a;
    a.tty = spec_->tty;
    a.stdin_open = spec_->stdin_open;
    // A terminal goes even without stdin_open: its size follows the client's.
    if (terminal_) a.input = sys::dup_fd(terminal_.get());
    else if (stdin_write_) a.input = sys::dup_fd(stdin_write_.get());
    return a;
}

}  // namespace rusty::lifecycle
