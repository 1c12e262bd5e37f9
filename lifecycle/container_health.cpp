// The parts of a container's run that watch it from the inside: its health
// check, run in its namespaces and cgroup through the helper, and its
// sd_notify socket (ready: notify).
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "core/strings.hpp"
#include "lifecycle/container_actor.hpp"
#include "lifecycle/security.hpp"

// Asio allocates coroutine frames with aligned_alloc and frees them with
// std::free through its own operator delete; GCC 12, inlining only the
// first half, warns of a mismatch that is not there.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace rusty::lifecycle {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace asio::experimental::awaitable_operators;

namespace {
// What a check's output may add to an event or `ps`: Docker keeps 4 KiB.
constexpr std::size_t kMaxCheckOutput = 4096;
// A STATUS= longer than this is cut.
constexpr std::size_t kMaxStatus = 256;

std::string seconds_text(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
    return std::to_string(d.count()) + "ms";
}

// Keeps the last kMaxCheckOutput bytes, until EOF or cancelled.
reactor::Task<void> collect_output(asio::posix::stream_descriptor& pipe, std::string& output) {
    std::array<char, 4096> buf;
    for (;;) {
        auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        output.append(buf.data(), n);
        if (output.size() > kMaxCheckOutput) output.erase(0, output.size() - kMaxCheckOutput);
        if (ec) break;
    }
}

// The check's exit, or SIGKILL at the timeout; either way reaped.
reactor::Task<sys::ExitStatus> wait_for_check(reactor::PidfdWatch& watch, std::chrono::milliseconds timeout,
                                              asio::posix::stream_descriptor& pipe, bool& timed_out) {
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    auto first = co_await (watch.wait_exit() || timer.async_wait(asio::use_awaitable));
    sys::ExitStatus status;
    if (first.index() == 0) {
        status = std::get<0>(first);
    } else {
        timed_out = true;
        watch.send_signal(SIGKILL);
        status = co_await watch.wait_exit();
    }
    // A child the check left behind may hold the pipe open: stop reading.
    boost::system::error_code ignored;
    pipe.cancel(ignored);
    co_return status;
}

std::string trimmed(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    return std::string(text);
}
}  // namespace

// Docker's rules: the first check comes one interval after the start
// (start_interval during start_period); a pass makes it healthy; `retries`
// failures in a row make it unhealthy, except that failures in the start
// period do not count while it has never been healthy.
reactor::Task<void> ContainerActor::watch_health(std::shared_ptr<RunScope> run) {
    const Healthcheck check = *spec_.healthcheck;
    const auto start_period_end = std::chrono::steady_clock::now() + check.start_period;
    unsigned failures = 0;
    try {
        while (!run->ended) {
            const bool starting = std::chrono::steady_clock::now() < start_period_end;
            run->health_timer.expires_after(starting ? check.start_interval : check.interval);
            co_await run->health_timer.async_wait(asio::as_tuple(asio::use_awaitable));
            if (run->ended || !has_live_init()) break;
            // A frozen container cannot answer: a check would only time out
            // (and, with on_unhealthy, undo the operator's pause).
            if (frozen_) continue;
            CheckResult result = co_await run_health_check(run);
            // A check that failed because the container is ending says
            // nothing of its health (and must not restart it).
            if (run->ended || init_exited()) break;
            on_check_result(std::move(result), std::chrono::steady_clock::now() < start_period_end, failures);
        }
    } catch (const std::exception& e) {
        spdlog::warn("{}: health checks stopped: {}", spec_.name, e.what());
    }
}

void ContainerActor::on_check_result(CheckResult result, bool in_start_period, unsigned& failures) {
    if (result.passed) {
        failures = 0;
        if (health_ == Health::Healthy) return;
        health_ = Health::Healthy;
        write_state();
        emit(EventKind::Healthy);
        if (!healthy_once_) {
            healthy_once_ = true;
            notify_neighbours();
        }
        return;
    }
    if (in_start_period && health_ == Health::Starting) return;
    if (++failures < spec_.healthcheck->retries || health_ == Health::Unhealthy) return;
    health_ = Health::Unhealthy;
    write_state();
    emit(EventKind::Unhealthy, {}, result.output);
    if (spec_.on_unhealthy == UnhealthyAction::Restart && !stop_requested_ && !stop_sent_) {
        unhealthy_restart_ = true;
        end_run(spec_.stop_signal, spec_.stop_grace_period.value_or(default_grace_));
    }
}

// One check: the test command exec'd inside the container by the helper, as
// a child of ours, killed at the timeout. Never throws for a check that could
// not run: that is a failed check, with the reason as its output.
reactor::Task<ContainerActor::CheckResult> ContainerActor::run_health_check(std::shared_ptr<RunScope> run) {
    const Healthcheck check = *spec_.healthcheck;  // a reload may replace spec_ meanwhile
    CheckResult result;
    SpawnedInit process;
    sys::Pipe out = sys::make_pipe();
    try {
        SpawnRequest request;
        request.spec = spec_;
        request.security = security_for(spec_);
        request.exec_argv = check.test;
        if (cgroup_) request.cgroup_join = cgroup_->join_files();
        // Copies owned here: the request may wait for room on the helper's
        // socket, and the run's own fds may be closed (and their numbers
        // reused by another container) meanwhile.
        UniqueFd pidfd = sys::dup_fd(watch_->fd());
        UniqueFd cgroup_fd = cgroup_ ? sys::dup_fd(cgroup_->placement_fd()) : UniqueFd();
        process = co_await helper_.exec_in(std::move(request), pidfd.get(), {-1, out.write.get(), out.write.get(), -1},
                                           cgroup_fd ? cgroup_fd.get() : -1);
    } catch (const std::exception& e) {
        result.output = e.what();
        co_return result;
    }
    out.write.reset();  // the check holds the only write end: EOF when it (and its children) are done
    reactor::PidfdWatch watch(ex_, std::move(process.pidfd));
    run->check_pidfd = watch.fd();
    struct Forget {
        RunScope& run;
        ~Forget() { run.check_pidfd = -1; }
    } forget{*run};
    asio::posix::stream_descriptor pipe(ex_, out.read.release());

    std::string output;
    bool timed_out = false;
    std::string failure = co_await read_setup_failure(std::move(process.setup_error));
    const sys::ExitStatus status =
        co_await (collect_output(pipe, output) && wait_for_check(watch, check.timeout, pipe, timed_out));
    output = trimmed(output);
    if (!failure.empty()) {
        result.output = failure;
    } else if (timed_out) {
        result.output = "timed out after " + seconds_text(check.timeout);
    } else if (status.signal) {
        result.output = "killed by " + sys::signal_name(status.signal);
    } else {
        result.passed = status.exit_code == 0;
        if (!result.passed) result.output = "exit code " + std::to_string(status.exit_code);
    }
    if (!result.passed && !output.empty() && failure.empty()) result.output += ": " + output;
    co_return result;
}

// The socket is bound through /proc/self/fd/N/…, so that a deep state
// directory cannot exceed sun_path's 108 bytes.
void ContainerActor::open_notify_socket() {
    std::error_code ec;
    fs::create_directories(paths_.notify_dir, ec);
    if (ec) throw Error("create \"" + paths_.notify_dir.string() + "\": " + ec.message());
    // Any user of the container may notify, as with systemd; the container
    // directory (0700) keeps other users of the host out.
    fs::permissions(paths_.notify_dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
    UniqueFd dir(::open(paths_.notify_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_sys("open(\"" + paths_.notify_dir.string() + "\")");
    const std::string name = "/proc/self/fd/" + std::to_string(dir.get()) + "/notify.sock";
    if (::unlink(name.c_str()) < 0 && errno != ENOENT) throw_sys("unlink(\"" + name + "\")");
    auto socket = std::make_shared<asio::local::datagram_protocol::socket>(ex_);
    try {
        socket->open();
        socket->bind(asio::local::datagram_protocol::endpoint(name));
    } catch (const boost::system::system_error& e) {
        throw sys_error("bind notify socket in \"" + paths_.notify_dir.string() + "\"", e.code().value());
    }
    if (::chmod(name.c_str(), 0666) < 0) throw_sys("chmod(\"" + name + "\")");
    run_scope_->notify = std::move(socket);
}

reactor::Task<void> ContainerActor::read_notifications(std::shared_ptr<RunScope> run) {
    std::shared_ptr<asio::local::datagram_protocol::socket> socket = run->notify;
    std::array<char, 4096> buf;
    for (;;) {
        auto [ec, n] = co_await socket->async_receive(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        if (run->ended) break;
        if (ec) {
            if (ec != asio::error::operation_aborted)
                spdlog::warn("{}: reading its notify socket: {}", spec_.name, ec.message());
            break;
        }
        on_notification(std::string_view(buf.data(), n));
    }
}

// sd_notify: newline-separated assignments. READY=1 and STATUS= are used;
// the rest (STOPPING=1, WATCHDOG=1, MAINPID=…) is ignored.
void ContainerActor::on_notification(std::string_view message) {
    bool ready = false;
    for (std::string_view line : split(message, '\n')) {
        if (line == "READY=1") ready = true;
        else if (line.starts_with("STATUS=")) notify_status_ = std::string(line.substr(7, kMaxStatus));
    }
    if (!ready || ready_) return;
    ready_ = true;
    write_state();
    emit(EventKind::Ready, {}, notify_status_);
    if (!ready_once_) {
        ready_once_ = true;
        notify_neighbours();
    }
}

}  // namespace rusty::lifecycle
