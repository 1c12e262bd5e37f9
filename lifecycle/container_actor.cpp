#include "lifecycle/container_actor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <thread>

#include "core/file.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "lifecycle/security.hpp"

namespace rusty::lifecycle {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace asio::experimental::awaitable_operators;

namespace {
// A line longer than this is forwarded in pieces, so one container cannot
// make the supervisor buffer without bound.
constexpr std::size_t kMaxLine = 16 * 1024;

std::string_view state_name(ContainerActor::State s) {
    switch (s) {
        case ContainerActor::State::Created: return "created";
        case ContainerActor::State::Starting: return "starting";
        case ContainerActor::State::Running: return "running";
        case ContainerActor::State::Exited: return "exited";
        case ContainerActor::State::Failed: return "failed";
        case ContainerActor::State::NotStarted: return "not_started";
    }
    return "unknown";
}
}  // namespace

ContainerActor::ContainerActor(asio::any_io_executor ex, HelperClient& helper, FleetObserver& observer,
                               cgroup::FleetCgroups* cgroups, ContainerSpec spec, fs::path image_rootfs,
                               ContainerPaths paths, std::chrono::milliseconds default_grace)
    : ex_(ex),
      helper_(helper),
      observer_(observer),
      cgroups_(cgroups),
      spec_(std::move(spec)),
      image_rootfs_(std::move(image_rootfs)),
      paths_(std::move(paths)),
      default_grace_(default_grace),
      kill_timer_(ex),
      restart_timer_(ex),
      wakeup_(ex),
      ended_signal_(ex) {
    ended_signal_.expires_at(asio::steady_timer::time_point::max());
}

// Made at the first line: a container that never writes (a large idle fleet
// is mostly those) costs no writer.
LogWriter& ContainerActor::log_writer() {
    if (!log_) log_ = std::make_unique<LogWriter>(ex_, spec_.name, spec_.logging, log_path());
    return *log_;
}

reactor::Task<void> ContainerActor::flush_log() {
    if (log_) co_await log_->flush();
}

void remove_all_but_logs(const fs::path& dir, std::error_code& ec) {
    ec.clear();
    if (!fs::is_directory(dir, ec)) {
        if (!ec) fs::remove(dir, ec);  // a stray file in its place
        if (ec == std::errc::no_such_file_or_directory) ec.clear();
        return;
    }
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().starts_with("container.log")) continue;
        fs::remove_all(entry.path(), ec);
        if (ec) return;
    }
}

fs::path ContainerActor::log_path() const {
    if (spec_.logging.driver != LogDriver::Cri && spec_.logging.driver != LogDriver::JsonFile) return {};
    return spec_.logging.path.empty() ? paths_.log : spec_.logging.path;
}

ContainerActor::Attachment ContainerActor::attachment() const {
    if (state_ != State::Running || !has_live_init()) throw Error(spec_.name + ": not running");
    Attachment a;
    a.tty = spec_.tty;
    a.stdin_open = spec_.stdin_open;
    // A terminal goes even without stdin_open: its size follows the client's.
    if (terminal_) a.input = sys::dup_fd(terminal_.get());
    else if (stdin_write_) a.input = sys::dup_fd(stdin_write_.get());
    return a;
}

bool ContainerActor::succeeded() const {
    if (state_ == State::NotStarted) return true;
    return state_ == State::Exited && exit_ && exit_->signal == 0 && exit_->exit_code == 0;
}

// Per-run state back to a fresh start.
void ContainerActor::reset_run() {
    pid_ = 0;
    watch_.reset();
    exit_.reset();
    failure_.clear();
    cgroup_empty_ = false;
    frozen_ = false;
    oom_kills_reported_ = 0;
    exit_reason_.clear();
    run_scope_ = std::make_shared<RunScope>(ex_);
    stop_sent_ = false;
    health_ = Health::None;
    ready_ = false;
    notify_status_.clear();
    started_at_.reset();
    unhealthy_restart_ = false;
}

void ContainerActor::emit(EventKind kind, std::string error, std::string reason) {
    Event e;
    e.ts = std::chrono::system_clock::now();
    e.container = spec_.name;
    e.kind = kind;
    e.pid = pid_;
    if (kind == EventKind::Exited && exit_) {
        if (exit_->signal) e.signal = exit_->signal;
        else e.exit_code = exit_->exit_code;
    }
    e.error = std::move(error);
    e.reason = std::move(reason);
    e.restarts = restarts_;
    observer_.on_event(e);
}

std::string_view ContainerActor::health_name(Health h) {
    switch (h) {
        case Health::None: return "none";
        case Health::Starting: return "starting";
        case Health::Healthy: return "healthy";
        case Health::Unhealthy: return "unhealthy";
    }
    return "unknown";
}

nlohmann::json ContainerActor::status() const {
    std::string_view state = state_name(state_);
    if (frozen_) state = "paused";
    else if (waiting_restart_) state = "restarting";
    else if (ended_ && operator_stopped_) state = "stopped";
    nlohmann::json j = {{"name", spec_.name},
                        {"state", state},
                        {"pid", has_live_init() ? pid_ : 0},
                        {"restarts", restarts_},
                        {"started", started_at_ ? nlohmann::json(rfc3339_nano(*started_at_)) : nlohmann::json()},
                        {"exit_code", nullptr},
                        {"signal", nullptr},
                        {"health", spec_.healthcheck && health_ != Health::None ? nlohmann::json(health_name(health_))
                                                                                : nlohmann::json()},
                        {"ready", spec_.ready == Readiness::Notify && state_ == State::Running ? nlohmann::json(ready_)
                                                                                                : nlohmann::json()},
                        {"status", notify_status_.empty() ? nlohmann::json() : nlohmann::json(notify_status_)},
                        {"cgroup", cgroup_ ? nlohmann::json(cgroup_->path()) : nlohmann::json()}};
    if (exit_ && state_ == State::Exited) {
        if (exit_->signal) j["signal"] = sys::signal_name(exit_->signal);
        else j["exit_code"] = exit_->exit_code;
    }
    if (!failure_.empty()) j["error"] = failure_;
    if (!exit_reason_.empty()) j["reason"] = exit_reason_;
    return j;
}

void ContainerActor::write_state() {
    nlohmann::json j = {{"name", spec_.name}, {"state", frozen_ ? "paused" : state_name(state_)}, {"pid", pid_},
                        {"updated", rfc3339_nano(std::chrono::system_clock::now())}};
    if (cgroup_) j["cgroup"] = cgroup_->path();
    if (!exit_reason_.empty()) j["reason"] = exit_reason_;
    if (exit_) {
        j["exit_code"] = exit_->signal ? nlohmann::json(nullptr) : nlohmann::json(exit_->exit_code);
        j["signal"] = exit_->signal ? nlohmann::json(exit_->signal) : nlohmann::json(nullptr);
    }
    if (!failure_.empty()) j["error"] = failure_;
    if (health_ != Health::None) j["health"] = health_name(health_);
    try {
        write_file_atomic(paths_.state, j.dump() + "\n");
    } catch (const std::exception&) {
        // The state file is for inspection; a full /run must not stop a container.
    }
}

// A fresh, empty layer for a container's first run: upper and work for overlayfs, and the
// mount point, which is only ever mounted inside the container's own mount
// namespace and so never appears in the host's mount table.
//
// A restart keeps the layer, as `docker restart` keeps a container's files.
//
// The directory is root's alone (0700): the notify socket in it is
// reachable from inside the container, through its bind mount, but not by
// other users of the host.
void ContainerActor::prepare_rootfs() {
    std::error_code ec;
    if (!layer_made_) remove_all_but_logs(paths_.dir, ec);
    if (ec) throw Error("remove stale \"" + paths_.dir.string() + "\": " + ec.message());
    fs::create_directories(paths_.rootfs, ec);
    if (!ec) fs::permissions(paths_.dir, fs::perms::owner_all, ec);
    if (!ec && !spec_.image.empty() && !spec_.read_only) {
        fs::create_directory(paths_.upper, ec);
        if (!ec) fs::create_directory(paths_.work, ec);
    }
    if (ec) throw Error("create \"" + paths_.dir.string() + "\": " + ec.message());
    layer_made_ = true;
    // A log kept elsewhere is found from here, by `logs` too once the fleet
    // has ended (the link outlives it as the default log does).
    if (!spec_.logging.path.empty() && !log_path().empty()) {
        if (fs::is_symlink(paths_.log, ec) || !fs::exists(paths_.log, ec)) {
            fs::remove(paths_.log, ec);
            fs::create_symlink(spec_.logging.path, paths_.log, ec);
            if (ec) throw Error("symlink \"" + paths_.log.string() + "\" to the log: " + ec.message());
        } else {
            // The log of an earlier run with the default path: kept, not linked over.
            spdlog::warn("{}: {} holds an earlier log; `logs` will show it, not {}", spec_.name,
                         paths_.log.string(), spec_.logging.path.string());
        }
    }
}

// The container's whole life: wait for its dependencies, then run it,
// restarting it as its policy says, with a growing delay between runs.
reactor::Task<void> ContainerActor::run() {
    std::string unmet = co_await wait_for_dependencies();
    if (!unmet.empty()) {
        state_ = State::Failed;
        failure_ = unmet;
        write_state();
        emit(EventKind::Failed, failure_);
    }
    std::chrono::milliseconds delay = spec_.restart.initial;
    while (unmet.empty()) {
        const auto began = std::chrono::steady_clock::now();
        co_await run_once();
        if (stop_requested_) break;
        if (!unhealthy_restart_) {
            // An unhealthy container ended by on_unhealthy: restart comes back
            // at once, whatever the policy; otherwise the policy decides.
            if (!restart_wanted()) break;
            const std::optional<unsigned>& max = spec_.restart.max_retries;
            if (spec_.restart.policy == RestartPolicy::OnFailure && max && *max > 0 && restarts_ >= *max) {
                emit(EventKind::GaveUp, {}, "restarted " + std::to_string(restarts_) + " times");
                break;
            }
            // A run that lasted a while was not part of a crash loop.
            if (std::chrono::steady_clock::now() - began >= spec_.restart.reset_after) delay = spec_.restart.initial;
            if (delay.count() > 0) {
                waiting_restart_ = true;
                restart_timer_.expires_after(delay);
                co_await restart_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
                waiting_restart_ = false;
            }
            if (stop_requested_) break;
            delay = std::min(delay * 2, spec_.restart.max);
        }
        ++restarts_;
    }
    ended_ = true;
    ++ends_;
    ended_signal_.cancel();
    notify_neighbours();
}

reactor::Task<void> ContainerActor::wait_ended() {
    const std::uint64_t ends = ends_;
    // Several may wait at once: only cancel() (at the end of run()) touches
    // the timer, whose expiry stays "never".
    while (!ended_ && ends_ == ends) co_await ended_signal_.async_wait(asio::as_tuple(asio::use_awaitable));
}

void ContainerActor::start() {
    if (!ended_) throw Error(spec_.name + ": already running");
    ended_ = false;
    stop_requested_ = false;
    operator_stopped_ = false;
    state_ = State::Created;
}

void ContainerActor::replace_spec(ContainerSpec spec, fs::path image_rootfs) {
    if (!ended_) throw Error(spec_.name + ": still running");
    spec_ = std::move(spec);
    image_rootfs_ = std::move(image_rootfs);
    // The last run's records are written (run_once() flushed them).
    log_.reset();
    restarts_ = 0;
    layer_made_ = false;
    started_once_ = ready_once_ = healthy_once_ = false;
    reset_run();
    state_ = State::Created;
}

void ContainerActor::clear_dependencies() {
    for (auto& [d, condition] : dependencies_) std::erase(d->dependents_, this);
    for (ContainerActor* d : dependents_)
        std::erase_if(d->dependencies_, [this](const auto& link) { return link.first == this; });
    dependencies_.clear();
    dependents_.clear();
    wakeup_.cancel();
}

bool ContainerActor::restart_wanted() const {
    switch (spec_.restart.policy) {
        case RestartPolicy::No: return false;
        case RestartPolicy::Always:
        case RestartPolicy::UnlessStopped: return true;
        case RestartPolicy::OnFailure: return !succeeded();
    }
    return false;
}

void ContainerActor::add_dependency(ContainerActor& dependency, DependencyCondition condition) {
    dependencies_.push_back({&dependency, condition});
    dependency.dependents_.push_back(this);
}

// Wakes whoever may wait on this container: its dependents (waiting for it
// to start or complete) and its dependencies (waiting, to stop, for it to end).
void ContainerActor::notify_neighbours() {
    for (ContainerActor* d : dependents_) d->wakeup_.cancel();
    for (auto& [d, condition] : dependencies_) d->wakeup_.cancel();
}

// "" once every dependency's condition holds; why not, if one never can.
reactor::Task<std::string> ContainerActor::wait_for_dependencies() {
    for (;;) {
        if (stop_requested_) co_return std::string();
        bool waiting = false;
        for (const auto& [dep, condition] : dependencies_) {
            const std::string quoted = "dependency \"" + dep->spec().name + "\"";
            if (condition == DependencyCondition::Started) {
                if (dep->ready_once_) continue;
                if (dep->ended_)
                    co_return quoted + (dep->started_once_ ? " never sent READY=1" : " never started");
            } else if (condition == DependencyCondition::Healthy) {
                if (dep->healthy_once_) continue;
                if (dep->ended_) co_return quoted + " never became healthy";
            } else {
                if (dep->ended_ && dep->succeeded()) continue;
                if (dep->ended_) co_return quoted + " did not complete successfully";
            }
            waiting = true;
        }
        if (!waiting) co_return std::string();
        wakeup_.expires_at(asio::steady_timer::time_point::max());
        co_await wakeup_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

// Stops this container once every container depending on it has ended:
// the reverse of the start order.
reactor::Task<void> ContainerActor::stop_in_order(std::chrono::milliseconds default_grace) {
    no_more_runs();
    for (;;) {
        bool waiting = false;
        for (ContainerActor* d : dependents_) waiting = waiting || !d->ended_;
        if (!waiting) break;
        wakeup_.expires_at(asio::steady_timer::time_point::max());
        co_await wakeup_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    stop(spec_.stop_signal, spec_.stop_grace_period.value_or(default_grace));
}

reactor::Task<void> ContainerActor::run_once() {
    if (stop_requested_) {
        state_ = State::NotStarted;
        co_return;
    }
    reset_run();
    steps_ = RunSteps{};
    steps_.begin = std::chrono::steady_clock::now();
    state_ = State::Starting;
    try {
        prepare_rootfs();
        SpawnRequest request;
        request.spec = spec_;
        request.security = security_for(spec_);
        RootfsPlan& plan = request.rootfs;
        plan.target = paths_.rootfs;
        plan.read_only = spec_.read_only;
        if (!spec_.image.empty()) {
            plan.lower = image_rootfs_;
            if (!spec_.read_only) {
                plan.upper = paths_.upper;
                plan.work = paths_.work;
            }
        } else {
            plan.lower = spec_.rootfs;
        }
        if (spec_.ready == Readiness::Notify) {
            open_notify_socket();
            plan.notify_dir = paths_.notify_dir;
            request.spec.env.push_back(std::string("NOTIFY_SOCKET=") + kNotifySocketInContainer);
        }
        StubPool::StubPtr stub = pool_ ? pool_->claim(spec_) : nullptr;
        make_cgroup(stub);
        if (cgroup_ && !stub) request.cgroup_join = cgroup_->join_files();
        steps_.cgroup = std::chrono::steady_clock::now();
        // Output: two pipes, or (tty) the terminal the init makes and sends
        // back on the console socket. Input: /dev/null, or (stdin_open) a
        // pipe whose write end waits for `attach`.
        StdioFds stdio;
        sys::Pipe out, err, in;
        UniqueFd console, console_child, devnull;
        if (spec_.tty) {
            int pair[2];
            if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) throw_sys("socketpair(console)");
            console.reset(pair[0]);
            console_child.reset(pair[1]);
            devnull.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
            if (!devnull) throw_sys("open(\"/dev/null\")");
            stdio.stdout_fd = stdio.stderr_fd = devnull.get();
            stdio.console_fd = console_child.get();
        } else {
            out = sys::make_pipe();
            err = sys::make_pipe();
            stdio.stdout_fd = out.write.get();
            stdio.stderr_fd = err.write.get();
            if (spec_.stdin_open) {
                in = sys::make_pipe();
                stdio.stdin_fd = in.read.get();
            }
        }
        SpawnedInit init = co_await spawn_init(request, stdio, std::move(stub));
        steps_.spawned = std::chrono::steady_clock::now();
        // This frame lives as long as the container runs; the request (a copy
        // of the spec, the security plan) was for the spawn only.
        request = SpawnRequest{};
        out.write.reset();
        err.write.reset();
        in.read.reset();
        console_child.reset();
        stdin_write_ = std::move(in.write);
        pid_ = init.pid;
        watch_.emplace(ex_, std::move(init.pidfd));
        if (cgroup_ && !cgroup_->v2_dir().empty()) cgroup_events_.emplace(ex_, cgroup_->events_file());
        co_await supervise(std::move(init.setup_error), std::move(out.read), std::move(err.read), std::move(console));
    } catch (const std::exception& e) {
        failure_ = e.what();
        state_ = State::Failed;
        kill_and_reap();
    }
    stdin_write_.reset();
    terminal_.reset();
    kill_timer_.cancel();
    co_await finish_cgroup();
    co_await flush_log();  // supervise() did, unless it failed part way
    steps_.end = std::chrono::steady_clock::now();
    write_state();
    if (state_ == State::Failed) emit(EventKind::Failed, failure_);
    else emit(EventKind::Exited, {}, exit_reason_);
    if (state_ != State::Failed && spdlog::should_log(spdlog::level::debug)) {
        std::string text;
        for (const auto& [phase, ms] : steps_.phases()) text += fmt::format(" {} {:.3f}", phase, ms);
        spdlog::debug("{}: run phases in ms{}:{}", spec_.name, steps_.from_stub ? " (pool stub)" : "", text);
    }
}

std::vector<std::pair<const char*, double>> ContainerActor::RunSteps::phases() const {
    using std::chrono::steady_clock;
    auto at = [](std::int64_t ns) { return steady_clock::time_point(std::chrono::nanoseconds(ns)); };
    auto ms = [](steady_clock::time_point from, steady_clock::time_point to) {
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

void ContainerActor::make_cgroup(StubPool::StubPtr& stub) {
    if (!cgroups_) return;
    try {
        if (stub) {
            try {
                cgroup_.emplace(cgroups_->adopt(stub->slot, spec_));
                return;
            } catch (const std::exception& e) {
                spdlog::debug("{}: pool stub's cgroups: {}; starting without it", spec_.name, e.what());
                pool_->discard(*stub);
                stub.reset();
            }
        }
        cgroup_.emplace(cgroups_->create(spec_));
    } catch (const Error& e) {
        throw e.context("cgroup");
    }
}

reactor::Task<SpawnedInit> ContainerActor::spawn_init(SpawnRequest& request, StdioFds stdio, StubPool::StubPtr stub) {
    const int placement = cgroup_ ? cgroup_->placement_fd() : -1;
    if (stub) {
        try {
            steps_.from_stub = true;
            co_return co_await pool_->start(*stub, request, stdio, placement);
        } catch (const std::exception& e) {
            spdlog::debug("{}: pool stub: {}; starting without it", spec_.name, e.what());
        }
        steps_.from_stub = false;
        pool_->discard(*stub);
        if (cgroup_) {
            // Its v1 cgroups held the stub: made anew, to be joined.
            for (int attempt = 0; cgroup_->remove() == EBUSY && attempt < 200; ++attempt)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            cgroup_.reset();
            stub.reset();
            make_cgroup(stub);
            request.cgroup_join = cgroup_->join_files();
        }
    }
    co_return co_await helper_.spawn(std::move(request), stdio, cgroup_ ? cgroup_->placement_fd() : -1);
}

// Once the init is reaped: wait for the cgroup to empty (the kernel may
// still be tearing the last tasks down), note an OOM kill, remove it.
reactor::Task<void> ContainerActor::finish_cgroup() {
    if (!cgroup_) co_return;
    if (!cgroup_empty_ && cgroup_events_) {
        try {
            co_await wait_until_empty();
        } catch (const std::exception& e) {
            spdlog::warn("{}: watching {}: {}", spec_.name, cgroup_events_->path().string(), e.what());
        }
    }
    // The v1 notification can come before the kill is counted, and the run
    // may end before the watcher looks again: report what it missed.
    if (const std::uint64_t kills = cgroup_->oom_kills(); kills > 0) {
        exit_reason_ = "OOMKilled";
        if (kills > oom_kills_reported_) emit_oom(kills);
    }
    remove_cgroup_now();
}

// Tells this run's watchers that it is over, and stops their waits.
void ContainerActor::end_run_scope() noexcept {
    if (!run_scope_ || run_scope_->ended) return;
    run_scope_->ended = true;
    boost::system::error_code ignored;
    run_scope_->health_timer.cancel();
    if (run_scope_->notify) run_scope_->notify->cancel(ignored);  // closed once its read has ended
}

void ContainerActor::remove_cgroup_now() noexcept {
    end_run_scope();
    if (!cgroup_) return;
    cgroup_events_.reset();
    oom_watch_.reset();
    // No process is left, but a dying task may leave its cgroup a moment
    // after its parent was told: retry briefly.
    for (int attempt = 0;; ++attempt) {
        const int err = cgroup_->remove();
        if (err == 0) break;
        if (err != EBUSY || attempt == 200) {
            spdlog::warn("{}: cannot remove cgroup {}: {}", spec_.name, cgroup_->path(), errno_text(err));
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    cgroup_.reset();
    frozen_ = false;  // what is gone is not paused
}

// Waits for exec (or a setup failure), then for the exit. The output pumps
// start only once Started is reported (the init writes nothing before exec,
// and the pipes hold what the command writes meanwhile), so no output comes
// before Started; they run beside the wait, so the exit is reported only once
// both pipes are drained.
reactor::Task<void> ContainerActor::supervise(UniqueFd setup_error, UniqueFd out, UniqueFd err, UniqueFd console) {
    std::string failure = co_await read_setup_failure(std::move(setup_error), &steps_.init);
    steps_.exec = std::chrono::steady_clock::now();
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
        exit_ = co_await watch_->wait_exit();
        if (failure == kDiedDuringSetup) {
            failure += exit_->signal ? ": killed by " + sys::signal_name(exit_->signal)
                                     : ": exit code " + std::to_string(exit_->exit_code);
        }
        failure_ = std::move(failure);
        state_ = State::Failed;
        co_return;
    }
    state_ = State::Running;
    started_at_ = std::chrono::system_clock::now();
    if (spec_.healthcheck) health_ = Health::Starting;
    write_state();
    emit(EventKind::Started);
    const bool first_start = !started_once_;
    started_once_ = true;
    if (spec_.ready == Readiness::Exec && !ready_once_) {
        ready_once_ = true;
        notify_neighbours();
    } else if (first_start) {
        notify_neighbours();  // a dependency that failed to start no longer blocks a stop
    }
    // A stop signal sent while the init was still in setup meant nothing to
    // it: send it again. (stop_in_order() marks a stop requested long before
    // it signals, once the dependents have ended: nothing to repeat then.)
    if (stop_sent_) stop(stop_signal_, stop_grace_);
    std::shared_ptr<RunScope> run = run_scope_;
    if (cgroup_) {
        try {
            oom_watch_ = cgroup::OomWatch::open(ex_, *cgroup_);
        } catch (const std::exception& e) {
            spdlog::warn("{}: OOM events will not be reported: {}", spec_.name, e.what());
        }
        if (oom_watch_) asio::co_spawn(ex_, watch_oom(run), asio::detached);
    }
    if (run->notify) asio::co_spawn(ex_, read_notifications(run), asio::detached);
    if (spec_.healthcheck) asio::co_spawn(ex_, watch_health(run), asio::detached);
    // The container has ended when its output is drained, its init is
    // reaped, and its cgroup is empty (pid: host leaves room for processes
    // that outlive the init).
    co_await (pump_streams(std::move(out), std::move(err), static_cast<bool>(terminal_)) && wait_for_exit() &&
              wait_until_empty());
    steps_.drained = std::chrono::steady_clock::now();
    // Exited means every line it wrote is in its log.
    co_await flush_log();
    end_run_scope();
    if (oom_watch_) oom_watch_->cancel();
    state_ = State::Exited;
}

reactor::Task<void> ContainerActor::wait_for_exit() {
    exit_ = co_await watch_->wait_exit();
    steps_.exit = std::chrono::steady_clock::now();
    // Health checks end with the init (pid: host may leave other processes
    // running): one in flight would otherwise hold the cgroup until its timeout.
    if (run_scope_ && run_scope_->check_pidfd >= 0) sys::raw_pidfd_send_signal(run_scope_->check_pidfd, SIGKILL);
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
            cgroup_->kill();
        }
    } catch (const std::exception& e) {
        spdlog::warn("{}: {}", spec_.name, e.what());
    }
}

// Follows cgroup.events until "populated 0", reporting "frozen" changes as
// Paused/Resumed on the way.
reactor::Task<void> ContainerActor::wait_until_empty() {
    if (!cgroup_events_) co_return;
    while (!cgroup_empty_) {
        const std::string events = cgroup_events_->read_all();
        const bool frozen = cgroup::keyed_value(events, "frozen").value_or(0) != 0;
        const bool populated = cgroup::keyed_value(events, "populated").value_or(0) != 0;
        if (frozen != frozen_ && populated) {
            frozen_ = frozen;
            write_state();
            emit(frozen ? EventKind::Paused : EventKind::Resumed);
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
    frozen_ = false;
}

// Reports each OOM kill while the container runs. The v1 notification may
// come just before the kill is counted: look again shortly after.
reactor::Task<void> ContainerActor::watch_oom(std::shared_ptr<RunScope> run) {
    try {
        while (!run->ended) {
            co_await oom_watch_->wait();
            for (int look = 0; look < 2 && !run->ended && cgroup_; ++look) {
                const std::uint64_t kills = cgroup_->oom_kills();
                if (kills > oom_kills_reported_) {
                    emit_oom(kills);
                    break;
                }
                co_await reactor::sleep_for(std::chrono::milliseconds(20));
            }
        }
    } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted) spdlog::warn("{}: watching for OOM kills: {}", spec_.name, e.what());
    } catch (const std::exception& e) {
        spdlog::warn("{}: watching for OOM kills: {}", spec_.name, e.what());
    }
}

// The setup-error pipe's story (see messages.hpp): "" when the command was
// exec'd, else why not. An empty story ("init died") is told after the reap.
reactor::Task<std::string> ContainerActor::read_setup_failure(UniqueFd fd, InitSteps* steps) {
    asio::posix::stream_descriptor pipe(ex_, fd.release());
    std::array<char, kMaxSetupStory> buf;
    auto [ec, n] = co_await asio::async_read(pipe, asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    co_return setup_story(std::string_view(buf.data(), n), steps);
}

reactor::Task<void> ContainerActor::pump_streams(UniqueFd out, UniqueFd err, bool terminal) {
    if (terminal) co_await pump_output(std::move(out), OutputStream::Stdout, true);
    else co_await (pump_output(std::move(out), OutputStream::Stdout, false) &&
                   pump_output(std::move(err), OutputStream::Stderr, false));
}

// Reads one output stream to its end (EOF; EIO for a terminal whose last
// user is gone) and passes each line to the log, the observer, and (raw, as
// read) to anyone attached.
//
// Waits for readability, then reads into one buffer shared by every pump:
// the reactor has one thread, and a read is copied out before the next
// suspension. So a quiet container's pumps hold no buffer while they wait —
// most of a large fleet's memory otherwise. One read per wake-up keeps a
// flood from starving others, and while the log's buffer is full the pump
// reads nothing: the container's pipe fills and its writes block.
//
// A line goes whole when it has a newline within kMaxLine bytes, else in
// pieces of kMaxLine marked partial, as does a last line without a newline.
// A terminal's "\r\n" ends a line as "\n" does.
reactor::Task<void> ContainerActor::pump_output(UniqueFd fd, OutputStream stream, bool terminal) {
    static std::array<char, 64 * 1024> buf;
    asio::posix::stream_descriptor pipe(ex_, fd.release());
    pipe.non_blocking(true);
    const std::string_view stream_name = to_string(stream);
    const bool observed = spec_.logging.driver != LogDriver::None;
    std::string pending;  // read, not yet passed on
    std::string ts;       // of the last read: the time of the lines it completed
    bool eof = false;
    for (;;) {
        std::size_t start = 0;
        for (;;) {
            const std::size_t nl = pending.find('\n', start);
            std::size_t end;
            bool partial;
            if (nl != std::string::npos && nl - start <= kMaxLine) {
                end = nl, partial = false;
            } else if (pending.size() - start > kMaxLine) {
                end = start + kMaxLine, partial = true;
            } else if (eof && start < pending.size()) {
                end = pending.size(), partial = true;
            } else {
                break;
            }
            LogWriter& log = log_writer();
            if (log.full()) co_await log.wait_room();
            std::string_view line(pending.data() + start, end - start);
            if (terminal && !partial && line.ends_with('\r')) line.remove_suffix(1);
            log.add(ts, stream_name, partial, line);
            if (observed) observer_.on_output(spec_.name, stream, line);
            start = partial ? end : end + 1;
        }
        pending.erase(0, start);
        if (pending.empty() && pending.capacity() > 4096) std::string().swap(pending);
        if (eof) break;
        auto [wait_error] = co_await pipe.async_wait(asio::posix::stream_descriptor::wait_read,
                                                     asio::as_tuple(asio::use_awaitable));
        const ssize_t n = wait_error ? 0 : ::read(pipe.native_handle(), buf.data(), buf.size());
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) {
            eof = true;  // EOF, EIO (a terminal) or an error: the writer is gone
            ts = rfc3339_nano(std::chrono::system_clock::now());
            continue;
        }
        ts = rfc3339_nano(std::chrono::system_clock::now());
        const std::string_view bytes(buf.data(), static_cast<std::size_t>(n));
        observer_.on_output_bytes(spec_.name, stream, bytes);
        pending.append(bytes);
    }
}

void ContainerActor::emit_oom(std::uint64_t kills) {
    oom_kills_reported_ = kills;
    emit(EventKind::Oom, {}, std::to_string(kills) + (kills == 1 ? " process" : " processes") + " killed so far");
}

bool ContainerActor::init_exited() const {
    if (!watch_ || exit_) return true;
    pollfd p{watch_->fd(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
}

bool ContainerActor::has_live_init() const {
    return watch_ && !exit_ && (state_ == State::Running || state_ == State::Starting);
}

bool ContainerActor::has_live_processes() const {
    return has_live_init() || (state_ == State::Running && cgroup_ && cgroup_events_ && !cgroup_empty_);
}

void ContainerActor::pause() {
    if (state_ != State::Running || !has_live_processes()) throw Error(spec_.name + ": not running");
    if (!cgroup_ || !cgroup_->can_freeze()) throw Error(spec_.name + ": pausing needs a cgroup with a freezer");
    cgroup_->freeze(true);
    // The v1 freezer has no events: report the request itself.
    if (!cgroup_events_ && !frozen_) {
        frozen_ = true;
        write_state();
        emit(EventKind::Paused);
    }
}

void ContainerActor::resume() {
    if (state_ != State::Running || !has_live_processes()) throw Error(spec_.name + ": not running");
    if (!cgroup_ || !cgroup_->can_freeze()) throw Error(spec_.name + ": pausing needs a cgroup with a freezer");
    resume_now();
}

void ContainerActor::resume_now() {
    cgroup_->freeze(false);
    // The v1 freezer has no events: report the request itself.
    if (!cgroup_events_ && frozen_) {
        frozen_ = false;
        write_state();
        emit(EventKind::Resumed);
    }
}

std::optional<cgroup::Stats> ContainerActor::stats() const {
    if (!cgroup_ || state_ != State::Running) return std::nullopt;
    return cgroup_->stats();
}

// No new run, no restart from here on; waits for a restart's delay or for
// dependencies end now.
void ContainerActor::no_more_runs() {
    stop_requested_ = true;
    restart_timer_.cancel();
    wakeup_.cancel();
}

void ContainerActor::stop(int signal, std::chrono::milliseconds grace) {
    no_more_runs();
    end_run(signal, grace);
}

void ContainerActor::stop_by_operator(std::chrono::milliseconds default_grace) {
    if (!ended_) operator_stopped_ = true;  // one that had exited stays "exited"
    stop(spec_.stop_signal, spec_.stop_grace_period.value_or(default_grace));
}

void ContainerActor::send_signal(int signal) {
    if (state_ != State::Running || !has_live_processes()) throw Error(spec_.name + ": not running");
    try {
        if (has_live_init()) watch_->send_signal(signal);
        else if (cgroup_) cgroup_->signal_all(signal);
    } catch (const Error& e) {
        throw e.context(spec_.name);
    }
}

// Ends this run (not the actor: the run loop decides what follows).
void ContainerActor::end_run(int signal, std::chrono::milliseconds grace) {
    stop_sent_ = true;
    stop_signal_ = signal;
    stop_grace_ = grace;
    // Not spawned yet: run() sees the flag. Spawned but not exec'd: the
    // signal would mean nothing to the init, but the grace still runs, so a
    // setup that hangs is killed; supervise() signals again once started.
    if (!has_live_processes()) return;
    if (state_ == State::Running) {
        try {
            if (has_live_init()) watch_->send_signal(signal);
            else if (cgroup_) cgroup_->signal_all(signal);
            // A frozen process takes no signal until thawed, nor one still
            // freezing (the kernel may not say "frozen" yet): always thaw.
            if (cgroup_ && cgroup_->can_freeze()) resume_now();
        } catch (const std::exception&) {
            // Gone already, or not ours to signal: the exit wait ends either way.
        }
    }
    arm_kill_timer();
}

void ContainerActor::arm_kill_timer() {
    kill_timer_.expires_after(stop_grace_);
    kill_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec && has_live_processes()) kill_processes();
    });
}

void ContainerActor::kill() {
    no_more_runs();
    kill_processes();
}

// Ends this run at once (the run loop decides what follows).
void ContainerActor::kill_processes() {
    stop_sent_ = true;
    stop_grace_ = std::chrono::milliseconds(0);
    if (!has_live_processes()) return;
    if (cgroup_) {
        try {
            cgroup_->kill();
        } catch (const std::exception& e) {
            spdlog::warn("{}: {}", spec_.name, e.what());
        }
    }
    if (!has_live_init()) return;
    try {
        watch_->send_signal(SIGKILL);
    } catch (const std::exception&) {
    }
}

void ContainerActor::kill_and_reap() noexcept {
    if (cgroup_) {
        try {
            cgroup_->kill();
        } catch (const std::exception&) {
            // Not created yet, or gone: the init is killed below either way.
        }
    }
    if (!watch_ || exit_ || watch_->fd() < 0) {
        remove_cgroup_now();
        return;
    }
    try {
        watch_->send_signal(SIGKILL);
        // A health check in the init's pid namespace keeps the init from
        // being reapable until the check is reaped: reap it first.
        if (run_scope_ && run_scope_->check_pidfd >= 0) {
            sys::raw_pidfd_send_signal(run_scope_->check_pidfd, SIGKILL);
            sys::ExitStatus check;
            sys::wait_pidfd(run_scope_->check_pidfd, check, false);
        }
        sys::ExitStatus status;
        sys::wait_pidfd(watch_->fd(), status, false);
        exit_ = status;
    } catch (const std::exception&) {
        // Reaped elsewhere already (ECHILD): nothing left to do.
    }
    remove_cgroup_now();
}

}  // namespace rusty::lifecycle
