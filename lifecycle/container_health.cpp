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
#include "lifecycle/container_run.hpp"
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
reactor::Task<void> ContainerRun::watch_health([[maybe_unused]] std::shared_ptr<ContainerRun> self) {
    const Healthcheck check = *spec_->healthcheck;
    const auto start_period_end = std::chrono::steady_clock::now() + check.start_period;
    unsigned failures = 0;
    try {
        while (watching_) {
            const bool starting = std::chrono::steady_clock::now() < start_period_end;
            health_timer_.expires_after(starting ? check.start_interval : check.interval);
            co_await health_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
            if (!watching_ || !has_live_init()) break;
            // A frozen container cannot answer: a check would only time out
            // (and, with on_unhealthy, undo the operator's pause).
            if (report_.frozen) continue;
            CheckResult result = co_await run_health_check();
            // A check that failed because the container is ending says
            // nothing of its health (and must not restart it).
            if (!watching_ || init_exited()) break;
            on_check_result(std::move(result), std::chrono::steady_clock::now() < start_period_end, failures);
        }
    } catch (const std::exception& e) {
        spdlog::warn("{}: health checks stopped: {}", spec_->name, e.what());
    }
}

// A change of health is an event; what follows an Unhealthy one (a restart,
// with on_unhealthy: restart) is the actor's to decide.
void ContainerRun::on_check_result(CheckResult result, bool in_start_period, unsigned& failures) {
    if (result.passed) {
        failures = 0;
        if (report_.health == Health::Healthy) return;
        report_.health = Health::Healthy;
        report_event(EventKind::Healthy);
        return;
    }
    if (in_start_period && report_.health == Health::Starting) return;
    if (++failures < spec_->healthcheck->retries || report_.health == Health::Unhealthy) return;
    report_.health = Health::Unhealthy;
    report_event(EventKind::Unhealthy, {}, result.output);
}

// One check: the test command exec'd inside the container by the helper, as
// a child of ours, killed at the timeout. Never throws for a check that could
// not run: that is a failed check, with the reason as its output.
reactor::Task<ContainerRun::CheckResult> ContainerRun::run_health_check() {
    const Healthcheck check = *spec_->healthcheck;
    CheckResult result;
    SpawnedInit process;
    sys::Pipe out = sys::make_pipe();
    try {
        SpawnRequest request;
        request.spec = *spec_;
        request.security = security_for(*spec_);
        request.exec_argv = check.test;
        if (cgroup_) request.cgroup_join = cgroup_->join_files();
        // Copies owned here: the request may wait for room on the helper's
        // socket, and the run's own fds may be closed (and their numbers
        // reused by another container) meanwhile.
        UniqueFd pidfd = sys::dup_fd(init_->fd());
        UniqueFd cgroup_fd = cgroup_ ? sys::dup_fd(cgroup_->placement_fd()) : UniqueFd();
        process = co_await actor_.helper().exec_in(std::move(request), pidfd.get(),
                                                   {-1, out.write.get(), out.write.get(), -1},
                                                   cgroup_fd ? cgroup_fd.get() : -1);
    } catch (const std::exception& e) {
        result.output = e.what();
        co_return result;
    }
    out.write.reset();  // the check holds the only write end: EOF when it (and its children) are done
    reactor::PidfdWatch watch(ex_, std::move(process.pidfd));
    check_pidfd_ = watch.fd();
    struct Forget {
        int& pidfd;
        ~Forget() { pidfd = -1; }
    } forget{check_pidfd_};
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
void ContainerRun::open_notify_socket() {
    const fs::path& notify_dir = actor_.paths().notify_dir;
    std::error_code ec;
    fs::create_directories(notify_dir, ec);
    if (ec) throw Error("create \"" + notify_dir.string() + "\": " + ec.message());
    // Any user of the container may notify, as with systemd; the container
    // directory (0700) keeps other users of the host out.
    fs::permissions(notify_dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
    UniqueFd dir(::open(notify_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_sys("open(\"" + notify_dir.string() + "\")");
    const std::string name = "/proc/self/fd/" + std::to_string(dir.get()) + "/notify.sock";
    if (::unlink(name.c_str()) < 0 && errno != ENOENT) throw_sys("unlink(\"" + name + "\")");
    auto socket = std::make_shared<asio::local::datagram_protocol::socket>(ex_);
    try {
        socket->open();
        socket->bind(asio::local::datagram_protocol::endpoint(name));
    } catch (const boost::system::system_error& e) {
        throw sys_error("bind notify socket in \"" + notify_dir.string() + "\"", e.code().value());
    }
    if (::chmod(name.c_str(), 0666) < 0) throw_sys("chmod(\"" + name + "\")");
    notify_ = std::move(socket);
}

reactor::Task<void> ContainerRun::read_notifications([[maybe_unused]] std::shared_ptr<ContainerRun> self) {
    std::shared_ptr<asio::local::datagram_protocol::socket> socket = notify_;
    std::array<char, 4096> buf;
    for (;;) {
        auto [ec, n] = co_await socket->async_receive(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        if (!watching_) break;
        if (ec) {
            if (ec != asio::error::operation_aborted)
                spdlog::warn("{}: reading its notify socket: {}", spec_->name, ec.message());
            break;
        }
        on_notification(std::string_view(buf.data(), n));
    }
}

// sd_notify: newline-separated assignments. READY=1 and STATUS= are used;
// the rest (STOPPING=1, WATCHDOG=1, MAINPID=…) is ignored.
void ContainerRun::on_notification(std::string_view message) {
    bool ready = false;
    for (std::string_view line : split(message, '\n')) {
        if (line == "READY=1") ready = true;
        else if (line.starts_with("STATUS=")) report_.notify_status = std::string(line.substr(7, kMaxStatus));
    }
    if (!ready || report_.ready) return;
    report_.ready = true;
    report_event(EventKind::Ready, {}, report_.notify_status);
}

}  // namespace rusty::lifecycle
