#include "bench/compare/processes.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "bench/compare/text.hpp"
#include "core/error.hpp"
#include "core/file.hpp"

extern char** environ;

namespace rusty::bench::compare {

namespace {

volatile sig_atomic_t g_interrupted = 0;

void on_signal(int) { g_interrupted = 1; }

// The descriptor limit this process was started with (see raise_nofile_limit).
rlimit g_original_nofile{};

}  // namespace

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocking poll returns EINTR
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
}

bool interrupted() { return g_interrupted != 0; }

void check_interrupted() {
    if (g_interrupted) throw Error("interrupted by a signal");
}

void sleep_ms(int ms) {
    if (ms <= 0) return;
    timespec ts{ms / 1000, (ms % 1000) * 1'000'000L};
    while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) check_interrupted();
}

int poll_timeout(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count() + 1;
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

void raise_nofile_limit() {
    if (::getrlimit(RLIMIT_NOFILE, &g_original_nofile) < 0) throw_sys("getrlimit(RLIMIT_NOFILE)");
    rlimit raised = g_original_nofile;
    raised.rlim_cur = raised.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) < 0) throw_sys("setrlimit(RLIMIT_NOFILE)");
}

Proc spawn(const CArgv& argv, int out_fd, int mntns_fd, int null_fd) {
    const pid_t parent = ::getpid();
    sys::Clone3Request request;  // a plain fork, with a pidfd
    int pidfd = -1;
    const pid_t pid = sys::raw_clone3(request, &pidfd);
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(125);
        ::setpgid(0, 0);
        if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) ::_exit(125);
        if (mntns_fd >= 0 && ::setns(mntns_fd, CLONE_NEWNS) < 0) {
            char msg[128];
            int len = std::snprintf(msg, sizeof msg, "setns(crun's mount namespace): %s\n", std::strerror(errno));
            [[maybe_unused]] ssize_t n = ::write(2, msg, static_cast<std::size_t>(std::max(len, 0)));
            ::_exit(125);
        }
        sys::raw_close_range(3, ~0U, 0);
        if (g_original_nofile.rlim_cur != 0) ::setrlimit(RLIMIT_NOFILE, &g_original_nofile);
        ::execve(argv.ptrs[0], argv.ptrs.data(), environ);
        char msg[256];
        int len = std::snprintf(msg, sizeof msg, "execve(\"%s\"): %s\n", argv.ptrs[0], std::strerror(errno));
        [[maybe_unused]] ssize_t n = ::write(2, msg, static_cast<std::size_t>(std::max(len, 0)));
        ::_exit(127);
    }
    if (pid < 0) throw_sys("clone3 (spawn " + argv.words[0] + ")");
    Proc p;
    p.pid = pid;
    p.pidfd.reset(pidfd);
    return p;
}

bool try_reap(Proc& p) {
    if (p.done) return true;
    if (!sys::wait_pidfd(p.pidfd.get(), p.status, true)) return false;
    p.exited_at = Clock::now();
    p.done = true;
    return true;
}

bool wait_all(std::vector<Proc*>& procs, Clock::time_point deadline) {
    std::vector<pollfd> fds;
    std::vector<Proc*> waiting;
    for (;;) {
        fds.clear();
        waiting.clear();
        for (Proc* p : procs)
            if (!p->done) {
                fds.push_back({p->pidfd.get(), POLLIN, 0});
                waiting.push_back(p);
            }
        if (waiting.empty()) return true;
        const int timeout = poll_timeout(deadline);
        const int r = ::poll(fds.data(), fds.size(), timeout);
        if (r < 0) {
            if (errno != EINTR) throw_sys("poll(pidfds)");
            check_interrupted();
            continue;
        }
        if (r == 0 && Clock::now() >= deadline) return false;
        for (std::size_t k = 0; k < fds.size(); ++k)
            if (fds[k].revents != 0) try_reap(*waiting[k]);
    }
}

void kill_and_reap(Proc& p, bool group) {
    if (p.done || !p.pidfd) return;
    if (group) ::kill(-p.pid, SIGKILL);  // the group is still there: its leader is not reaped yet
    sys::pidfd_send_signal(p.pidfd.get(), SIGKILL);
    sys::wait_pidfd(p.pidfd.get(), p.status, false);
    p.exited_at = Clock::now();
    p.done = true;
}

std::pair<sys::ExitStatus, std::string> run_capture(const std::vector<std::string>& words, const fs::path& log,
                                                     int null_fd) {
    CArgv argv(words);
    UniqueFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out) throw_sys("open(\"" + log.string() + "\")");
    Proc p = spawn(argv, out.get(), -1, null_fd);
    std::vector<Proc*> all = {&p};
    if (!wait_all(all, Clock::now() + std::chrono::seconds(30))) {
        kill_and_reap(p);
        throw Error(words[0] + ": timed out after 30 s");
    }
    return {p.status, try_read_file(log).value_or("")};
}

std::string exit_text(const sys::ExitStatus& s) {
    if (s.signal != 0) return "killed by " + sys::signal_name(s.signal);
    return "exit status " + std::to_string(s.exit_code);
}

std::string output_tail(const fs::path& log, std::size_t max) {
    std::string text = trim(try_read_file(log).value_or(""));
    if (text.size() > max) text = "…" + text.substr(text.size() - max);
    return text.empty() ? "(no output)" : text;
}

}  // namespace rusty::bench::compare
