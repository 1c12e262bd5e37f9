#include "lifecycle/container_actor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/file.hpp"

namespace rusty::lifecycle {
namespace asio = boost::asio;
namespace fs = std::filesystem;

ContainerActor::ContainerActor(asio::any_io_executor ex, HelperClient& helper, FleetObserver& observer,
                               cgroup::FleetCgroups* cgroups, ContainerSpec spec, fs::path image_rootfs,
                               ContainerPaths paths, std::chrono::milliseconds default_grace)
    : ex_(ex),
      helper_(helper),
      observer_(observer),
      cgroups_(cgroups),
      spec_(std::make_shared<const ContainerSpec>(std::move(spec))),
      image_rootfs_(std::move(image_rootfs)),
      paths_(std::move(paths)),
      default_grace_(default_grace),
      restart_timer_(ex),
      neighbours_changed_(ex),
      ended_changed_(ex) {}

ContainerActor::~ContainerActor() {
    if (run_) run_->tear_down();
}

// Made at the first line: a container that never writes (a large idle fleet
// is mostly those) costs no writer.
LogWriter& ContainerActor::log_writer() {
    if (!log_) log_ = std::make_unique<LogWriter>(ex_, spec_->name, spec_->logging, log_path());
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
    if (spec_->logging.driver != LogDriver::Cri && spec_->logging.driver != LogDriver::JsonFile) return {};
    return spec_->logging.path.empty() ? paths_.log : spec_->logging.path;
}

// ---- what ps and state.json show --------------------------------------------------

ContainerState ContainerActor::state() const { return run_ ? run_->report().state : idle_state_; }

bool ContainerActor::succeeded() const {
    const ContainerState s = state();
    if (s == ContainerState::NotStarted) return true;
    if (s != ContainerState::Exited) return false;
    const std::optional<sys::ExitStatus>& exit = run_->report().exit;
    return exit && exit->signal == 0 && exit->exit_code == 0;
}

nlohmann::json ContainerActor::status() const {
    using nlohmann::json;
    const ContainerRun::Report* run = run_ ? &run_->report() : nullptr;
    const ContainerState s = state();
    std::string_view shown = to_string(s);
    if (run && run->frozen) shown = "paused";
    else if (waiting_restart_) shown = "restarting";
    else if (ended_ && operator_stopped_) shown = "stopped";
    json j = {{"name", spec_->name},
              {"state", shown},
              {"pid", run_ && run_->has_live_init() ? run->pid : 0},
              {"restarts", restarts_},
              {"started", run && run->started_at ? json(rfc3339_nano(*run->started_at)) : json()},
              {"exit_code", nullptr},
              {"signal", nullptr},
              {"health", spec_->healthcheck && run && run->health != Health::None ? json(to_string(run->health)) : json()},
              {"ready", spec_->ready == Readiness::Notify && s == ContainerState::Running ? json(run->ready) : json()},
              {"status", run && !run->notify_status.empty() ? json(run->notify_status) : json()},
              {"cgroup", run_ && !run_->cgroup_path().empty() ? json(run_->cgroup_path()) : json()}};
    if (run && run->exit && s == ContainerState::Exited) {
        if (run->exit->signal) j["signal"] = sys::signal_name(run->exit->signal);
        else j["exit_code"] = run->exit->exit_code;
    }
    const std::string& failure = run ? run->failure : unmet_;
    if (!failure.empty()) j["error"] = failure;
    if (run && !run->reason.empty()) j["reason"] = run->reason;
    return j;
}

void ContainerActor::write_state() {
    using nlohmann::json;
    const ContainerRun::Report* run = run_ ? &run_->report() : nullptr;
    json j = {{"name", spec_->name},
              {"state", run && run->frozen ? "paused" : to_string(state())},
              {"pid", run ? run->pid : 0},
              {"updated", rfc3339_nano(std::chrono::system_clock::now())}};
    if (run_ && !run_->cgroup_path().empty()) j["cgroup"] = run_->cgroup_path();
    if (run && !run->reason.empty()) j["reason"] = run->reason;
    if (run && run->exit) {
        j["exit_code"] = run->exit->signal ? json(nullptr) : json(run->exit->exit_code);
        j["signal"] = run->exit->signal ? json(run->exit->signal) : json(nullptr);
    }
    const std::string& failure = run ? run->failure : unmet_;
    if (!failure.empty()) j["error"] = failure;
    if (run && run->health != Health::None) j["health"] = to_string(run->health);
    try {
        write_file_atomic(paths_.state, j.dump() + "\n");
    } catch (const std::exception&) {
        // The state file is for inspection; a full /run must not stop a container.
    }
}

void ContainerActor::on_run_event(EventKind kind, std::string error, std::string reason) {
    write_state();
    Event e;
    e.ts = std::chrono::system_clock::now();
    e.container = spec_->name;
    e.kind = kind;
    if (run_) {
        const ContainerRun::Report& run = run_->report();
        e.pid = run.pid;
        if (kind == EventKind::Exited && run.exit) {
            if (run.exit->signal) e.signal = run.exit->signal;
            else e.exit_code = run.exit->exit_code;
        }
    }
    e.error = std::move(error);
    e.reason = std::move(reason);
    e.restarts = restarts_;
    observer_.on_event(e);
    // What dependents wait for, once reached, stays reached.
    switch (kind) {
        case EventKind::Started: {
            const bool first_start = !started_once_;
            started_once_ = true;
            if (spec_->ready == Readiness::Exec && !ready_once_) {
                ready_once_ = true;
                notify_neighbours();
            } else if (first_start) {
                notify_neighbours();  // a dependency that failed to start no longer blocks a stop
            }
            break;
        }
        case EventKind::Ready:
            if (!ready_once_) {
                ready_once_ = true;
                notify_neighbours();
            }
            break;
        case EventKind::Healthy:
            if (!healthy_once_) {
                healthy_once_ = true;
                notify_neighbours();
            }
            break;
        case EventKind::Unhealthy:
            if (spec_->on_unhealthy == UnhealthyAction::Restart && !no_more_runs_ && run_ && !run_->ending())
                end(EndReason::Unhealthy);
            break;
        default:
            break;
    }
}

// ---- the container's life ---------------------------------------------------------

// A fresh, empty layer for a container's first run: upper and work for
// overlayfs, and the mount point, which is only ever mounted inside the
// container's own mount namespace and so never appears in the host's mount
// table. A restart keeps the layer, as `docker restart` keeps a container's
// files.
//
// The directory is root's alone (0700): the notify socket in it is
// reachable from inside the container, through its bind mount, but not by
// other users of the host.
void ContainerActor::prepare_layer() {
    std::error_code ec;
    if (!layer_made_) remove_all_but_logs(paths_.dir, ec);
    if (ec) throw Error("remove stale \"" + paths_.dir.string() + "\": " + ec.message());
    fs::create_directories(paths_.rootfs, ec);
    if (!ec) fs::permissions(paths_.dir, fs::perms::owner_all, ec);
    if (!ec && !spec_->image.empty() && !spec_->read_only) {
        fs::create_directory(paths_.upper, ec);
        if (!ec) fs::create_directory(paths_.work, ec);
    }
    if (ec) throw Error("create \"" + paths_.dir.string() + "\": " + ec.message());
    layer_made_ = true;
    // A log kept elsewhere is found from here, by `logs` too once the fleet
    // has ended (the link outlives it as the default log does).
    if (!spec_->logging.path.empty() && !log_path().empty()) {
        if (fs::is_symlink(paths_.log, ec) || !fs::exists(paths_.log, ec)) {
            fs::remove(paths_.log, ec);
            fs::create_symlink(spec_->logging.path, paths_.log, ec);
            if (ec) throw Error("symlink \"" + paths_.log.string() + "\" to the log: " + ec.message());
        } else {
            // The log of an earlier run with the default path: kept, not linked over.
            spdlog::warn("{}: {} holds an earlier log; `logs` will show it, not {}", spec_->name,
                         paths_.log.string(), spec_->logging.path.string());
        }
    }
}

// The container's whole life: wait for its dependencies, then run it,
// restarting it as its policy says, with a growing delay between runs.
reactor::Task<void> ContainerActor::run() {
    const std::string unmet = co_await wait_for_dependencies();
    if (!unmet.empty()) {
        idle_state_ = ContainerState::Failed;
        unmet_ = unmet;
        on_run_event(EventKind::Failed, unmet, {});
    } else if (no_more_runs_) {
        idle_state_ = ContainerState::NotStarted;
    }
    std::chrono::milliseconds delay = spec_->restart.initial;
    while (unmet.empty() && !no_more_runs_) {
        const auto began = std::chrono::steady_clock::now();
        co_await run_once();
        if (no_more_runs_) break;
        // An unhealthy container ended itself (on_unhealthy: restart): it
        // comes back at once, whatever the policy; otherwise the policy decides.
        const bool unhealthy = run_->ending() && run_->ending()->reason == EndReason::Unhealthy;
        if (!unhealthy) {
            if (!restart_wanted()) break;
            const std::optional<unsigned>& max = spec_->restart.max_retries;
            if (spec_->restart.policy == RestartPolicy::OnFailure && max && *max > 0 && restarts_ >= *max) {
                on_run_event(EventKind::GaveUp, {}, "restarted " + std::to_string(restarts_) + " times");
                break;
            }
            // A run that lasted a while was not part of a crash loop.
            if (std::chrono::steady_clock::now() - began >= spec_->restart.reset_after) delay = spec_->restart.initial;
            if (delay.count() > 0) {
                waiting_restart_ = true;
                restart_timer_.expires_after(delay);
                co_await restart_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
                waiting_restart_ = false;
            }
            if (no_more_runs_) break;
            delay = std::min(delay * 2, spec_->restart.max);
        }
        ++restarts_;
    }
    ended_ = true;
    ++ends_;
    ended_changed_.notify_all();
    notify_neighbours();
}

reactor::Task<void> ContainerActor::run_once() {
    run_ = std::make_shared<ContainerRun>(*this);
    const std::shared_ptr<ContainerRun> run = run_;
    co_await run->run();
}

reactor::Task<void> ContainerActor::wait_ended() {
    const std::uint64_t ends = ends_;
    while (!ended_ && ends_ == ends) co_await ended_changed_.wait();
}

void ContainerActor::start() {
    if (!ended_) throw Error(spec_->name + ": already running");
    ended_ = false;
    no_more_runs_ = false;
    operator_stopped_ = false;
    run_.reset();
    idle_state_ = ContainerState::Created;
    unmet_.clear();
}

void ContainerActor::replace_spec(ContainerSpec spec, fs::path image_rootfs) {
    if (!ended_) throw Error(spec_->name + ": still running");
    spec_ = std::make_shared<const ContainerSpec>(std::move(spec));
    image_rootfs_ = std::move(image_rootfs);
    // The last run's records are written (its end flushed them).
    log_.reset();
    restarts_ = 0;
    layer_made_ = false;
    started_once_ = ready_once_ = healthy_once_ = false;
    run_.reset();
    idle_state_ = ContainerState::Created;
    unmet_.clear();
}

bool ContainerActor::restart_wanted() const {
    switch (spec_->restart.policy) {
        case RestartPolicy::No: return false;
        case RestartPolicy::Always:
        case RestartPolicy::UnlessStopped: return true;
        case RestartPolicy::OnFailure: return !succeeded();
    }
    return false;
}

// ---- dependencies ------------------------------------------------------------------

void ContainerActor::add_dependency(ContainerActor& dependency, DependencyCondition condition) {
    dependencies_.push_back({&dependency, condition});
    dependency.dependents_.push_back(this);
}

void ContainerActor::clear_dependencies() {
    for (auto& [d, condition] : dependencies_) std::erase(d->dependents_, this);
    for (ContainerActor* d : dependents_)
        std::erase_if(d->dependencies_, [this](const auto& link) { return link.first == this; });
    dependencies_.clear();
    dependents_.clear();
    neighbours_changed_.notify_all();
}

// Wakes whoever may wait on this container: its dependents (waiting for it
// to start or complete) and its dependencies (waiting, to stop, for it to end).
void ContainerActor::notify_neighbours() {
    for (ContainerActor* d : dependents_) d->neighbours_changed_.notify_all();
    for (auto& [d, condition] : dependencies_) d->neighbours_changed_.notify_all();
}

// "" once every dependency's condition holds; why not, if one never can.
reactor::Task<std::string> ContainerActor::wait_for_dependencies() {
    for (;;) {
        if (no_more_runs_) co_return std::string();
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
        co_await neighbours_changed_.wait();
    }
}

// ---- ending ------------------------------------------------------------------------

void ContainerActor::no_more_runs() {
    no_more_runs_ = true;
    restart_timer_.cancel();
    neighbours_changed_.notify_all();
}

void ContainerActor::end(EndReason reason, std::optional<std::chrono::milliseconds> grace) {
    if (reason != EndReason::Unhealthy) {
        if (reason == EndReason::Stop && !ended_) operator_stopped_ = true;  // one that had exited stays "exited"
        no_more_runs();
    }
    if (!run_ || run_->phase() == ContainerRun::Phase::Ended) return;
    Ending ending;
    ending.reason = reason;
    ending.signal = reason == EndReason::Kill ? SIGKILL : spec_->stop_signal;
    ending.grace = reason == EndReason::Kill ? std::chrono::milliseconds(0) : grace.value_or(this->grace());
    spdlog::debug("{}: ending its run: {}", spec_->name, to_string(reason));
    run_->end(ending);
}

// Stops this container once every container depending on it has ended:
// the reverse of the start order.
reactor::Task<void> ContainerActor::stop_in_order(std::optional<std::chrono::milliseconds> grace) {
    no_more_runs();
    for (;;) {
        bool waiting = false;
        for (ContainerActor* d : dependents_) waiting = waiting || !d->ended_;
        if (!waiting) break;
        co_await neighbours_changed_.wait();
    }
    end(EndReason::FleetStop, grace);
}

// ---- verbs on the running container --------------------------------------------------

void ContainerActor::send_signal(int signal) {
    if (!run_) throw Error(spec_->name + ": not running");
    run_->signal(signal);
}

void ContainerActor::pause() {
    if (!run_) throw Error(spec_->name + ": not running");
    run_->pause();
}

void ContainerActor::resume() {
    if (!run_) throw Error(spec_->name + ": not running");
    run_->resume();
}

std::optional<cgroup::Stats> ContainerActor::stats() const { return run_ ? run_->stats() : std::nullopt; }

std::string ContainerActor::cgroup_path() const { return run_ ? run_->cgroup_path() : std::string(); }

ContainerActor::Attachment ContainerActor::attachment() const {
    if (!run_) throw Error(spec_->name + ": not running");
    return run_->attachment();
}

}  // namespace rusty::lifecycle
