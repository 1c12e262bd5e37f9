#include "cli_helpers.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace rusty::cli_test {
namespace fs = std::filesystem;

namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int sig) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

int poll_timeout_ms(Clock::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

// True if the pidfd says its process has exited (readable), within `ms`.
bool pidfd_exited(int pidfd, int ms) {
    pollfd p{pidfd, POLLIN, 0};
    int rc;
    do {
        rc = ::poll(&p, 1, ms);
    } while (rc < 0 && errno == EINTR);
    return rc > 0;
}

std::string proc_state(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return "gone";
    // "pid (comm) S ...": the state follows the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) return "?";
    return std::string(1, stat[close + 2]) + " " + stat.substr(0, close + 1);
}

pid_t parent_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return -1;
    auto close = stat.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream fields(stat.substr(close + 1));
    char state;
    pid_t ppid = -1;
    fields >> state >> ppid;
    return ppid;
}

// The pids of the "started" events in text or JSON output.
std::vector<pid_t> started_pids(const std::string& out) {
    std::vector<pid_t> pids;
    for (const auto& line : complete_lines(out)) {
        if (line.find("started") == std::string::npos) continue;
        try {
            if (!line.empty() && line.front() == '{') {
                auto j = nlohmann::json::parse(line);
                if (j.value("event", "") == "started") pids.push_back(j.value("pid", -1));
            } else if (auto at = line.find(" started (pid "); at != std::string::npos) {
                pids.push_back(static_cast<pid_t>(std::stol(line.substr(at + 14))));
            }
        } catch (const std::exception&) {
        }
    }
    return pids;
}

}  // namespace

// ---- RunResult ------------------------------------------------------------------

std::string RunResult::describe() const {
    std::ostringstream s;
    if (timed_out) s << "TIMED OUT (killed); ";
    if (output_open) s << "ended but its stdout/stderr stayed open; ";
    if (exited) s << "exit status " << exit_code;
    else if (term_signal) s << "killed by signal " << term_signal << " (" << ::strsignal(term_signal) << ")";
    else s << "status unknown";
    s << "\n--- stdout ---\n" << out << "--- stderr ---\n" << err << "---";
    return s.str();
}

// ---- Supervisor ---------------------------------------------------------------

Supervisor::Supervisor(std::vector<std::string> args) {
    args.insert(args.begin(), RUSTY_SUPERVISOR_BIN);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) < 0) FAIL("pipe2: " << std::strerror(errno));
    if (::pipe2(err, O_CLOEXEC) < 0) {
        ::close(out[0]), ::close(out[1]);
        FAIL("pipe2: " << std::strerror(errno));
    }
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();

    // fork+exec rather than posix_spawn for PR_SET_PDEATHSIG: a test binary
    // killed by ctest's timeout takes its supervisors with it. Only
    // async-signal-safe calls between fork and exec.
    //
    // Every signal is blocked across the fork: a signal the test sends right
    // away must not run this process's handlers (Catch's, which would report
    // a failure from the child) before the child has reset them. In the
    // child it stays pending until the reset, then acts as it would on the
    // supervisor before its own setup: by default.
    sigset_t all, saved;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || ::getppid() != parent) ::_exit(126);
        ::setpgid(0, 0);  // a ^C on the test's terminal is not for it
        if (::dup2(devnull, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) ::_exit(126);
        ::syscall(SYS_close_range, 3U, ~0U, 0U);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // fails for KILL/STOP: fine
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(argv[0], argv.data(), environ);
        ::_exit(127);
    }
    const int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    ::close(out[1]);
    ::close(err[1]);
    if (devnull >= 0) ::close(devnull);
    if (pid < 0) {
        ::close(out[0]), ::close(err[0]);
        FAIL("fork: " << std::strerror(fork_errno));
    }
    pid_ = pid;
    out_fd_ = out[0];
    err_fd_ = err[0];
    pidfd_ = pidfd_open(pid);  // our unreaped child: cannot be a recycled pid
    if (pidfd_ < 0) {
        kill_and_reap();
        FAIL("pidfd_open: " << std::strerror(errno));
    }
}

Supervisor::~Supervisor() {
    kill_and_reap();
    close_fd(out_fd_);
    close_fd(err_fd_);
    close_fd(pidfd_);
}

void Supervisor::reap() {
    if (reaped_ || pid_ <= 0) return;
    int status = 0;
    pid_t rc;
    do {
        rc = ::waitpid(pid_, &status, 0);
    } while (rc < 0 && errno == EINTR);
    reaped_ = true;
    status_ = status;
}

void Supervisor::kill_and_reap() {
    if (reaped_ || pid_ <= 0) return;
    // Containers it reported started would outlive it (a failing test must
    // not leave them behind): pin them with pidfds while it still lives, then
    // kill them too. Only its own children, so never a recycled pid.
    std::vector<int> containers;
    for (pid_t pid : started_pids(out_)) {
        int fd = pidfd_open(pid);
        if (fd < 0) continue;
        if (parent_of(pid) == pid_) containers.push_back(fd);
        else ::close(fd);
    }
    if (pidfd_ >= 0) pidfd_send_signal(pidfd_, SIGKILL);
    else ::kill(pid_, SIGKILL);
    for (int fd : containers) {
        pidfd_send_signal(fd, SIGKILL);
        ::close(fd);
    }
    reap();
}

bool Supervisor::pump(Clock::time_point deadline) {
    pollfd fds[3];
    int* owners[3];
    nfds_t n = 0;
    for (int* fd : {&out_fd_, &err_fd_}) {
        if (*fd < 0) continue;
        fds[n] = {*fd, POLLIN, 0};
        owners[n++] = fd;
    }
    const bool watch_exit = !reaped_ && pidfd_ >= 0;
    if (watch_exit) fds[n++] = {pidfd_, POLLIN, 0};
    if (n == 0) return false;

    int rc = ::poll(fds, n, poll_timeout_ms(deadline));
    if (rc < 0 && errno == EINTR) return true;
    if (rc < 0) FAIL("poll: " << std::strerror(errno));
    if (rc == 0) return false;

    for (nfds_t i = 0; i < n; ++i) {
        if (!fds[i].revents) continue;
        if (watch_exit && fds[i].fd == pidfd_) {
            reap();
            continue;
        }
        int& fd = *owners[i];
        char buf[65536];
        ssize_t got = ::read(fd, buf, sizeof buf);
        if (got > 0) (&fd == &out_fd_ ? out_ : err_).append(buf, static_cast<std::size_t>(got));
        else if (got == 0 || (errno != EINTR && errno != EAGAIN)) close_fd(fd);
    }
    return true;
}

bool Supervisor::wait_until(const std::function<bool(const std::string&, const std::string&)>& done,
                            std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (done(out_, err_)) return true;
        if (reaped_ && out_fd_ < 0 && err_fd_ < 0) return false;  // nothing more will come
        if (!pump(deadline) && Clock::now() >= deadline) return done(out_, err_);
    }
}

bool Supervisor::wait_for_stdout(std::string_view needle, std::size_t n, std::chrono::milliseconds timeout) {
    return wait_until(
        [&](const std::string& out, const std::string&) {
            std::size_t found = 0;
            for (const auto& line : complete_lines(out))
                if (line.find(needle) != std::string::npos) ++found;
            return found >= n;
        },
        timeout);
}

bool Supervisor::wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout) {
    return wait_until([&](const std::string&, const std::string& err) { return err.find(needle) != std::string::npos; },
                      timeout);
}

void Supervisor::close_stdout() { close_fd(out_fd_); }

void Supervisor::send_signal(int sig) {
    REQUIRE_FALSE(reaped_);  // never signal a pid that may have been recycled
    REQUIRE(::kill(pid_, sig) == 0);
}

bool Supervisor::running() {
    if (reaped_) return false;
    return !pidfd_exited(pidfd_, 0);
}

RunResult Supervisor::wait(std::chrono::milliseconds timeout) {
    RunResult result;
    const auto deadline = Clock::now() + timeout;
    while (!(reaped_ && out_fd_ < 0 && err_fd_ < 0)) {
        if (!pump(deadline) && Clock::now() >= deadline) break;
    }
    if (!reaped_) {
        result.timed_out = true;
        kill_and_reap();
        // Whatever it wrote before dying, without waiting on other holders.
        const auto drain = Clock::now() + 2s;
        while ((out_fd_ >= 0 || err_fd_ >= 0) && pump(drain)) {
        }
    }
    result.output_open = out_fd_ >= 0 || err_fd_ >= 0;
    if (result.output_open) result.timed_out = true;
    close_fd(out_fd_);
    close_fd(err_fd_);
    if (WIFEXITED(status_)) {
        result.exited = true;
        result.exit_code = WEXITSTATUS(status_);
    } else if (WIFSIGNALED(status_)) {
        result.term_signal = WTERMSIG(status_);
    }
    result.out = out_;
    result.err = err_;
    return result;
}

RunResult run_supervisor(std::vector<std::string> args, std::chrono::milliseconds timeout) {
    Supervisor s(std::move(args));
    return s.wait(timeout);
}

// ---- Scratch --------------------------------------------------------------------

std::vector<std::string> Scratch::args(const fs::path& config, std::initializer_list<std::string> extra) const {
    std::vector<std::string> a = {"--root", root().string(), "--config", config.string(), "--cgroup-parent",
                                  rusty::test::test_cgroup_parent()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

// ---- ContainerWatch -------------------------------------------------------------

ContainerWatch::~ContainerWatch() {
    kill_all();
    for (auto& e : entries_) ::close(e.pidfd);
}

void ContainerWatch::kill_all() {
    for (auto& e : entries_)
        if (!pidfd_exited(e.pidfd, 0)) pidfd_send_signal(e.pidfd, SIGKILL);
}

bool ContainerWatch::add(pid_t pid) {
    if (pid <= 0) return false;
    int fd = pidfd_open(pid);
    if (fd < 0) return false;
    entries_.push_back({pid, fd});
    return true;
}

bool ContainerWatch::all_gone(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (auto& e : entries_)
        if (!pidfd_exited(e.pidfd, poll_timeout_ms(deadline))) return false;
    // Exited; now reaped too (by the supervisor, or by init if it left a
    // zombie behind). There is no event for a reap, hence the short polls.
    for (;;) {
        bool all = std::all_of(entries_.begin(), entries_.end(),
                               [](const Entry& e) { return proc_state(e.pid) == "gone"; });
        if (all) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
}

std::string ContainerWatch::survivors() const {
    std::string s;
    for (auto& e : entries_) {
        std::string state = proc_state(e.pid);
        if (state != "gone") s += std::to_string(e.pid) + ": " + state + "\n";
    }
    return s.empty() ? "(none)" : s;
}

pid_t watch_started(Supervisor& sup, ContainerWatch& containers, std::string_view container,
                    std::string_view ready_line) {
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout(ready_line));
    const auto started = events(json_lines(sup.out()), "started", container);
    REQUIRE(started.size() == 1);
    const pid_t pid = started[0]["pid"].get<pid_t>();
    REQUIRE(containers.add(pid));
    return pid;
}

// ---- output parsing ----------------------------------------------------------------

std::vector<std::string> complete_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (;;) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string::npos) break;
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

std::vector<nlohmann::json> json_lines(const std::string& text, std::string* bad) {
    std::vector<nlohmann::json> out;
    for (const auto& line : complete_lines(text)) {
        try {
            out.push_back(nlohmann::json::parse(line));
        } catch (const nlohmann::json::exception&) {
            if (bad) *bad += line + "\n";
        }
    }
    return out;
}

std::vector<nlohmann::json> events(const std::vector<nlohmann::json>& lines, std::string_view event,
                                   std::string_view container) {
    std::vector<nlohmann::json> out;
    for (const auto& j : lines) {
        if (!j.is_object() || !j.contains("event") || j["event"] != event) continue;
        if (!container.empty() && (!j.contains("container") || j["container"] != container)) continue;
        out.push_back(j);
    }
    return out;
}

std::size_t line_index(const std::vector<std::string>& lines, std::string_view needle) {
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].find(needle) != std::string::npos) return i;
    return std::string::npos;
}

std::string fleet(std::string_view name, std::string_view containers_json) {
    return R"({"name": ")" + std::string(name) + R"(", "containers": )" + std::string(containers_json) + "}";
}

}  // namespace rusty::cli_test
