// rusty-bench-compare: container start latency side by side, one run, one
// machine. The same workload for every runtime — a busybox root directory
// (bound writable), /bin/true, pid + mount + uts + ipc namespaces, with or
// without a network namespace, in a cgroup of its own with a 64 MiB memory
// and a 1000 pids limit (--no-limits drops them) — started by:
//
//   floor             this process: clone3 with those namespaces, born in a
//                     fresh v2 cgroup (CLONE_INTO_CGROUP) and, for limits on
//                     a hybrid host, joining fresh v1 memory and pids cgroups
//                     by a cgroup.procs write in the child; private mounts,
//                     bind rootfs, /proc, pivot_root, exec (bench/floor_core.hpp);
//   crun, runc        `RUNTIME --root STATE run --bundle BUNDLE ID`, the bundle
//                     being `crun spec` edited minimally (below);
//   rusty-oneshot     `rusty-supervisor --config ONE.json …`: a fleet of one,
//                     run to its end, like for like with `crun run`;
//   rusty-supervisor  one running supervisor per network variant, asked over
//                     its control socket to `start` containers that ran once
//                     and exited: what fleet users get.
//
// Scenarios, each interleaved across runtimes iteration by iteration (every
// runtime once per iteration, in a new random order each time unless
// --order fixed: a runtime that always followed the same one would inherit
// its after-effects), after warm-up iterations that are not recorded: b2b
// (one container start to exit, back to back), idle (the same after 100 ms
// of sleep, off the clock: the cgroup attach after idle waits for an RCU
// grace period), burst-N (N containers at once; time until all have exited,
// and until all run where that is observable). The whole schedule runs
// --rounds times; samples are pooled and each round's p50 is reported too.
//
// crun 1.8.1 refuses a hybrid cgroup host. It runs here in a mount namespace
// of its own where /sys/fs/cgroup/unified is hidden under an empty tmpfs:
// one holder process made at the start (unshare, make / rprivate, mount the
// tmpfs, pause); each crun process joins it with setns right before execve.
// Nothing is ever mounted in this process's own mount namespace.
//
// Everything is removed at the end, also on failure: the temporary
// directory, the cgroup tree /rusty-bench-<pid> in every hierarchy (crun's,
// runc's and rusty's included), and every process started here (they also
// die with this process: PR_SET_PDEATHSIG).
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "bench/cgroup_tree.hpp"
#include "bench/common.hpp"
#include "bench/floor_core.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/layout.hpp"
#include "core/clock.hpp"
#include "core/file.hpp"
#include "core/syscalls.hpp"
#include "image/image_store.hpp"

namespace fs = std::filesystem;
using namespace rusty;
using bench::Clock;
using nlohmann::json;

#ifndef RUSTY_SUPERVISOR_BIN
#define RUSTY_SUPERVISOR_BIN ""
#endif

extern char** environ;

namespace {

constexpr std::int64_t kMemoryLimit = 64 << 20;
constexpr int kPidsLimit = 1000;
// A runtime is left out of the rest of the run after this many failed samples.
constexpr int kMaxFailures = 3;

// ------------------------------------------------------------------ options

struct Options {
    std::vector<std::string> runtimes = {"floor", "crun", "runc", "rusty-runtime", "rusty-oneshot", "rusty-supervisor"};
    std::vector<std::string> scenarios = {"b2b", "idle", "burst"};
    std::string network = "both";
    bool limits = true;
    std::string order = "shuffle";
    unsigned seed = 1;
    int rounds = 2;
    int count = 50;
    int warmup = 5;
    int idle_count = 20;
    int idle_warmup = 2;
    int idle_ms = 100;
    std::vector<int> bursts = {10, 50, 200};
    int burst_count = 3;
    int burst_warmup = 1;
    int burst_settle_ms = 200;
    double timeout_s = 10;
    bool quick = false;
    std::string rootfs;
    std::string supervisor;
    std::string json_path, markdown_path, plot_path;
    std::vector<std::string> includes;
    std::string from_json;

    std::vector<std::string> networks() const {
        if (network == "both") return {"none", "host"};
        return {network};
    }
    bool has_scenario(const std::string& s) const {
        return std::find(scenarios.begin(), scenarios.end(), s) != scenarios.end();
    }
    bool has_runtime(const std::string& r) const {
        return std::find(runtimes.begin(), runtimes.end(), r) != runtimes.end();
    }
    int max_burst() const {
        int n = 1;
        if (has_scenario("burst"))
            for (int b : bursts) n = std::max(n, b);
        return n;
    }
    json to_json() const {
        return {{"runtimes", runtimes},
                {"scenarios", scenarios},
                {"networks", networks()},
                {"limits", limits ? json{{"memory_bytes", kMemoryLimit}, {"pids", kPidsLimit}} : json(nullptr)},
                {"rounds", rounds},
                {"b2b", {{"count_per_round", count}, {"warmup_per_round", warmup}}},
                {"idle", {{"count_per_round", idle_count}, {"warmup_per_round", idle_warmup}, {"idle_ms", idle_ms}}},
                {"burst",
                 {{"sizes", bursts},
                  {"count_per_round", burst_count},
                  {"warmup_per_round", burst_warmup},
                  {"settle_ms", burst_settle_ms}}},
                {"order", order},
                {"seed", seed},
                {"timeout_s", timeout_s},
                {"quick", quick}};
    }
};

// ------------------------------------------------------------ interruption

volatile sig_atomic_t g_interrupted = 0;

void on_signal(int) { g_interrupted = 1; }

// SIGINT, SIGTERM and SIGHUP end the run through the normal error path, so
// every destructor cleans up.
void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocking poll returns EINTR
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
}

void check_interrupted() {
    if (g_interrupted) throw Error("interrupted by a signal");
}

void sleep_ms(int ms) {
    if (ms <= 0) return;
    timespec ts{ms / 1000, (ms % 1000) * 1'000'000L};
    while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) check_interrupted();
}

// Milliseconds until `deadline` for poll(), at least 0.
int poll_timeout(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count() + 1;
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

// ------------------------------------------------------------- small helpers

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Error("write \"" + path.string() + "\" failed");
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
    return s;
}

std::string first_line(const std::string& text) { return trim(text.substr(0, text.find('\n'))); }

// The last `max` bytes of a process's output, for an error message.
std::string output_tail(const fs::path& log, std::size_t max = 1500) {
    std::string text = trim(try_read_file(log).value_or(""));
    if (text.size() > max) text = "…" + text.substr(text.size() - max);
    return text.empty() ? "(no output)" : text;
}

std::string loadavg() { return first_line(try_read_file("/proc/loadavg").value_or("")); }

// How busy the machine was while the bench ran, and how much of that was the
// bench itself (this process and every child it reaped: runtimes,
// supervisors, containers). The rest — other programs, and kernel threads
// (some of them doing cgroup teardown for the bench) — is the noise the
// figures carry. The load average is no help here: a burst of 200 makes it
// jump by itself.
class CpuMeter {
public:
    CpuMeter() : busy0_(busy_ticks()), total0_(total_ticks()), own0_(own_seconds()), t0_(Clock::now()) {}

    json result() const {
        const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
        const double busy = static_cast<double>(busy_ticks() - busy0_) / hz;
        const double total = static_cast<double>(total_ticks() - total0_) / hz;
        const double own = own_seconds() - own0_;
        const double wall = std::chrono::duration<double>(Clock::now() - t0_).count();
        return {{"wall_s", wall},
                {"cpu_busy_s", busy},
                {"cpu_capacity_s", total},
                {"bench_cpu_s", own},
                {"other_cpu_s", std::max(0.0, busy - own)},
                {"busy_fraction", total > 0 ? busy / total : 0.0},
                {"other_fraction", total > 0 ? std::max(0.0, busy - own) / total : 0.0}};
    }

private:
    static std::vector<unsigned long long> cpu_line() {
        std::istringstream in(first_line(read_file("/proc/stat")));
        std::string label;
        in >> label;
        std::vector<unsigned long long> v;
        unsigned long long x;
        while (in >> x) v.push_back(x);
        v.resize(8, 0);  // user nice system idle iowait irq softirq steal
        return v;
    }
    static unsigned long long total_ticks() {
        auto v = cpu_line();
        return std::accumulate(v.begin(), v.begin() + 8, 0ULL);
    }
    static unsigned long long busy_ticks() {
        auto v = cpu_line();
        return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    }
    static double own_seconds() {
        double s = 0;
        for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
            rusage ru{};
            ::getrusage(who, &ru);
            s += static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
        }
        return s;
    }

    unsigned long long busy0_, total0_;
    double own0_;
    Clock::time_point t0_;
};

// "10.50 s"
std::string seconds_text(Clock::duration d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", std::chrono::duration<double>(d).count());
    return buf;
}

std::string exit_text(const sys::ExitStatus& s) {
    if (s.signal != 0) return "killed by " + sys::signal_name(s.signal);
    return "exit status " + std::to_string(s.exit_code);
}

// -------------------------------------------------------------- processes

// An argv whose pointers are made off the clock.
struct CArgv {
    std::vector<std::string> words;
    std::vector<char*> ptrs;

    explicit CArgv(std::vector<std::string> w) : words(std::move(w)) {
        for (std::string& s : words) ptrs.push_back(s.data());
        ptrs.push_back(nullptr);
    }
    CArgv(const CArgv&) = delete;
    CArgv& operator=(const CArgv&) = delete;
};

// The descriptor limit this process was started with: raised here for big
// bursts (a pidfd, a pipe and a cgroup fd per container), given back to
// every program started, so none of them runs with more than it would.
rlimit g_original_nofile{};

void raise_nofile_limit() {
    if (::getrlimit(RLIMIT_NOFILE, &g_original_nofile) < 0) throw_sys("getrlimit(RLIMIT_NOFILE)");
    rlimit raised = g_original_nofile;
    raised.rlim_cur = raised.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) < 0) throw_sys("setrlimit(RLIMIT_NOFILE)");
}

// A process started here: owned until reaped.
struct Proc {
    pid_t pid = -1;
    UniqueFd pidfd;
    bool done = false;
    Clock::time_point exited_at;
    sys::ExitStatus status;
};

// Starts argv (argv[0] an absolute path) with stdin on /dev/null, stdout and
// stderr on `out_fd`, no other descriptor, this environment, and — when
// `mntns_fd` >= 0 — in that mount namespace (setns right before execve). It
// is killed if this process dies (PR_SET_PDEATHSIG), and leads a process
// group of its own, so that a timeout can end it with what it forked.
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

// Reaps `p` if it has exited; true when it is done.
bool try_reap(Proc& p) {
    if (p.done) return true;
    if (!sys::wait_pidfd(p.pidfd.get(), p.status, true)) return false;
    p.exited_at = Clock::now();
    p.done = true;
    return true;
}

// Waits for every process to exit (each one's exit time is when it was
// reaped here), or the deadline; false on timeout.
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

// SIGKILL by pidfd (only a process of ours), then reap. With `group`, its
// process group too (what it forked and did not move elsewhere), first.
void kill_and_reap(Proc& p, bool group = false) {
    if (p.done || !p.pidfd) return;
    if (group) ::kill(-p.pid, SIGKILL);  // the group is still there: its leader is not reaped yet
    sys::pidfd_send_signal(p.pidfd.get(), SIGKILL);
    sys::wait_pidfd(p.pidfd.get(), p.status, false);
    p.exited_at = Clock::now();
    p.done = true;
}

// Runs a program to its end, with its output captured (for --version, spec).
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

// ------------------------------------------------------------------ cgroups

// A process that cleans up after this one if it dies without its
// destructors running (SIGKILL, a crash): forked first, it waits for its
// pipe to close. "done" (sent once everything is cleaned) lets it go;
// EOF without it makes it kill what is left in /rusty-bench-<pid>, remove
// that tree and the temporary directory. It ignores the terminal's signals,
// which this process turns into an orderly stop anyway.
class CrashCleaner {
public:
    explicit CrashCleaner(std::string top) {
        sys::Pipe pipe = sys::make_pipe();
        sys::Clone3Request request;
        int pidfd = -1;
        const pid_t pid = sys::raw_clone3(request, &pidfd);
        if (pid == 0) {
            pipe.write.reset();  // or its own copy would keep the pipe open
            watch(top, pipe.read.get());
        }
        if (pid < 0) throw_sys("clone3 (crash cleaner)");
        proc_.pid = pid;
        proc_.pidfd.reset(pidfd);
        out_ = std::move(pipe.write);
    }
    ~CrashCleaner() {
        send("done\n");
        out_.reset();
        std::vector<Proc*> all = {&proc_};
        if (!wait_all(all, Clock::now() + std::chrono::seconds(5))) kill_and_reap(proc_);
    }
    CrashCleaner(const CrashCleaner&) = delete;
    CrashCleaner& operator=(const CrashCleaner&) = delete;

    // A directory to remove after a crash (only ever a /tmp/rusty-bench-compare-* one).
    void remove_dir(const fs::path& dir) { send("dir " + dir.string() + "\n"); }

private:
    void send(const std::string& line) {
        if (out_) [[maybe_unused]] ssize_t n = ::write(out_.get(), line.data(), line.size());
    }

    [[noreturn]] static void watch(const std::string& top, int in) {
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_IGN);
        std::string text;
        char buf[512];
        for (;;) {
            const ssize_t n = ::read(in, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            text.append(buf, static_cast<std::size_t>(n));
        }
        std::istringstream lines(text);
        std::string line;
        std::vector<fs::path> dirs;
        while (std::getline(lines, line)) {
            if (line == "done") ::_exit(0);
            if (line.rfind("dir /tmp/rusty-bench-compare-", 0) == 0) dirs.emplace_back(line.substr(4));
        }
        std::fprintf(stderr, "rusty-bench-compare: ended abruptly; cleaning up /%s and its temporary directory\n",
                     top.c_str());
        clean(top);
        for (const fs::path& dir : dirs) {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
        ::_exit(0);
    }

    static void clean(const std::string& top);

    Proc proc_;
    UniqueFd out_;
};

void CrashCleaner::clean(const std::string& top) { bench::CgroupTree(top).remove(); }

// --------------------------------------------------- crun's mount namespace

// A process that holds a private mount namespace in which crun sees a
// cgroup v1 host: /sys/fs/cgroup/unified is covered by an empty tmpfs. The
// mount exists only in that namespace; it goes away with the holder.
class MountNsHolder {
public:
    MountNsHolder() {
        const ino_t host_ns = sys::namespace_inode("mnt");
        sys::Pipe ready = sys::make_pipe();
        const pid_t parent = ::getpid();
        sys::Clone3Request request;
        int pidfd = -1;
        const pid_t pid = sys::raw_clone3(request, &pidfd);
        if (pid == 0) hold(parent, host_ns, ready.write.get());
        if (pid < 0) throw_sys("clone3 (mount namespace holder)");
        proc_.pid = pid;
        proc_.pidfd.reset(pidfd);
        ready.write.reset();
        const std::string answer = bench::floor::read_report(ready.read.get());
        if (answer != "ok") {
            kill_and_reap(proc_);
            throw Error("crun's mount namespace: " + (answer.empty() ? "the holder died" : answer));
        }
        ns_.reset(::open(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns_) {
            const int err = errno;
            kill_and_reap(proc_);
            throw_sys("open(/proc/" + std::to_string(pid) + "/ns/mnt)", err);
        }
    }
    ~MountNsHolder() { kill_and_reap(proc_); }
    MountNsHolder(const MountNsHolder&) = delete;
    MountNsHolder& operator=(const MountNsHolder&) = delete;

    int ns_fd() const { return ns_.get(); }
    pid_t pid() const { return proc_.pid; }

private:
    [[noreturn]] static void fail(int fd, const char* what, int err) {
        char msg[256];
        int len = err ? std::snprintf(msg, sizeof msg, "%s: %s", what, std::strerror(err))
                      : std::snprintf(msg, sizeof msg, "%s", what);
        len = std::clamp<int>(len, 0, sizeof msg - 1);
        [[maybe_unused]] ssize_t n = ::write(fd, msg, static_cast<std::size_t>(len));
        ::_exit(1);
    }

    [[noreturn]] static void hold(pid_t parent, ino_t host_ns, int ready_fd) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);
        // Keeps no descriptor of the bench but its answer pipe.
        for (int fd = 0; fd < 3; ++fd) ::close(fd);
        if (ready_fd > 3) {
            if (::dup2(ready_fd, 3) < 0) ::_exit(1);
            ready_fd = 3;
        }
        sys::raw_close_range(static_cast<unsigned>(ready_fd) + 1, ~0U, 0);
        if (::unshare(CLONE_NEWNS) < 0) fail(ready_fd, "unshare(CLONE_NEWNS)", errno);
        struct stat ns {};
        if (::stat("/proc/self/ns/mnt", &ns) < 0) fail(ready_fd, "stat(/proc/self/ns/mnt)", errno);
        if (ns.st_ino == host_ns) fail(ready_fd, "refusing to mount: still in the host's mount namespace", 0);
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
            fail(ready_fd, "mount(\"/\", MS_REC|MS_PRIVATE)", errno);
        if (::mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") <
            0)
            fail(ready_fd, "mount(tmpfs, \"/sys/fs/cgroup/unified\")", errno);
        [[maybe_unused]] ssize_t n = ::write(ready_fd, "ok", 2);
        ::close(ready_fd);
        for (;;) ::pause();
    }

    Proc proc_;
    UniqueFd ns_;
};

// ----------------------------------------------------------------- runtimes

// One sample: n containers started together.
struct Outcome {
    bool ok = true;
    double to_exit_ms = 0;                // until all have exited
    std::optional<double> to_running_ms;  // until all run, where observable
    std::string error;
};

Outcome failed(std::string error) {
    Outcome o;
    o.ok = false;
    o.error = std::move(error);
    return o;
}

// The shared environment of every runtime.
struct Context {
    const Options& options;
    const cgroup::Layout& layout;
    fs::path work;    // the temporary directory
    fs::path rootfs;  // the busybox root, shared by all
    bench::CgroupTree& tree;
    UniqueFd null_fd;
    std::vector<std::string> networks;
    int max_n = 1;
};

class Runtime {
public:
    Runtime(std::string name, std::string label, bool must_pass)
        : name_(std::move(name)), label_(std::move(label)), must_pass_(must_pass) {}
    virtual ~Runtime() = default;

    const std::string& name() const { return name_; }
    const std::string& label() const { return label_; }
    // A failure of ours (rusty's modes, the floor) fails the bench (exit
    // status 1); crun's and runc's are only reported.
    bool must_pass() const { return must_pass_; }
    // Whether "all running" is observable from outside.
    virtual bool sees_running() const { return false; }
    // n containers at once, on `network`; never throws for a runtime failure.
    virtual Outcome run(int n, const std::string& network, Clock::duration timeout) = 0;
    // How it is driven, for the report.
    virtual json describe() const = 0;
    // At the end: stop what runs, check what is left. Notes for the report.
    virtual void finish(std::vector<std::string>& /*notes*/) {}

    std::string version;

private:
    std::string name_, label_;
    bool must_pass_;
};

// ---- floor

class FloorRuntime : public Runtime {
public:
    explicit FloorRuntime(Context& ctx) : Runtime("floor", "floor (clone3 + pivot_root, in this process)", true) {
        const cgroup::Layout& layout = ctx.layout;
        bench::floor::CgroupOptions co;
        co.parent = fs::path(ctx.tree.top()) / "floor";
        co.leaf_prefix = "floor-";
        if (!layout.v2_root().empty()) {
            co.v2 = "into";
            ctx.tree.ensure(layout.v2_root());
            placement_ = "born in a fresh v2 cgroup (clone3 CLONE_INTO_CGROUP)";
        } else {
            placement_ = "no v2 hierarchy";
        }
        if (ctx.options.limits) {
            const std::optional<fs::path> memory = layout.v1_root("memory"), pids = layout.v1_root("pids");
            if (memory && pids) {
                co.v1_procs = {"memory", "pids"};
                co.limits["memory"] = {{"memory.limit_in_bytes", std::to_string(kMemoryLimit)}};
                co.limits["pids"] = {{"pids.max", std::to_string(kPidsLimit)}};
                ctx.tree.ensure(*memory);
                ctx.tree.ensure(*pids);
                placement_ += "; limits (memory.limit_in_bytes 64 MiB, pids.max 1000) written into fresh v1 memory "
                              "and pids cgroups, joined by the child writing 0 to their cgroup.procs before mounting";
            } else if (!layout.v2_root().empty()) {
                // A pure v2 host: the limits live in the cgroup it is born in.
                co.limits["v2"] = {{"memory.max", std::to_string(kMemoryLimit)}, {"pids.max", std::to_string(kPidsLimit)}};
                cgroup::write_file(layout.v2_root() / ctx.tree.top() / "cgroup.subtree_control", "+memory +pids");
                placement_ += "; limits in that v2 cgroup";
            } else {
                throw Error("floor: no memory and pids controllers found for the limits");
            }
        }
        cgroups_ = std::make_unique<bench::floor::StartCgroups>(layout, co);
        if (co.limits.count("v2")) cgroup::write_file(cgroups_->v2_parent() / "cgroup.subtree_control", "+memory +pids");
        plan_.rootfs = ctx.rootfs.string();
        plan_.parent_mount_ns = sys::namespace_inode("mnt");
        plan_.cgroup_ns_after_join = false;  // the OCI bundle has no cgroup namespace either
    }

    bool sees_running() const override { return true; }

    json describe() const override {
        return {{"how", "clone3(CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWUTS|CLONE_NEWIPC[|CLONE_NEWNET]) from this process; "
                        "the child makes / private, binds the rootfs onto itself, mounts /proc, pivot_root, "
                        "execve /bin/true (no cgroup namespace, as in the bundle); running = the CLOEXEC report pipe's EOF, exit = "
                        "waitid on the pidfd"},
                {"cgroups", placement_}};
    }

    Outcome run(int n, const std::string& network, Clock::duration timeout) override {
        std::uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
        if (network == "none") flags |= CLONE_NEWNET;
        // Off the clock: names and plans.
        std::vector<std::vector<fs::path>> names(n);
        std::vector<bench::floor::ChildPlan> plans(n, plan_);
        for (int i = 0; i < n; ++i) {
            names[i] = cgroups_->names(i);
            plans[i].join_files = cgroups_->join_files(names[i]);
        }
        std::vector<bench::floor::StartCgroups::Leaves> leaves(n);
        std::vector<bench::floor::Launched> kids;
        kids.reserve(n);
        std::vector<Proc> procs(n);
        std::vector<std::string> reports(n);
        std::vector<bool> reported(n, false);
        std::optional<Clock::time_point> last_running;
        Outcome out;

        const Clock::time_point t0 = Clock::now();
        const Clock::time_point deadline = t0 + timeout;
        try {
            for (int i = 0; i < n; ++i) {
                leaves[i] = cgroups_->make(names[i]);
                kids.push_back(bench::floor::launch(plans[i], flags, leaves[i].placement.get()));
                procs[i].pid = kids[i].pid;
                procs[i].pidfd = std::move(kids[i].pidfd);
            }
        } catch (const Error& e) {
            out = failed(std::string("floor: ") + e.what());
        }
        const int launched = static_cast<int>(kids.size());
        // Both ends of each child: its report pipe (running) and its pidfd (exit).
        std::vector<pollfd> fds;
        std::vector<int> which;
        for (;;) {
            fds.clear();
            which.clear();
            for (int i = 0; i < launched; ++i) {
                if (!reported[i]) {
                    fds.push_back({kids[i].report.get(), POLLIN, 0});
                    which.push_back(i);
                }
                if (!procs[i].done) {
                    fds.push_back({procs[i].pidfd.get(), POLLIN, 0});
                    which.push_back(-1 - i);
                }
            }
            if (fds.empty()) break;
            const int r = ::poll(fds.data(), fds.size(), poll_timeout(deadline));
            if (r < 0) {
                if (errno != EINTR) throw_sys("poll(floor)");
                if (g_interrupted) break;
                continue;
            }
            if (r == 0 && Clock::now() >= deadline) break;
            for (std::size_t k = 0; k < fds.size(); ++k) {
                if (fds[k].revents == 0) continue;
                if (which[k] >= 0) {
                    const int i = which[k];
                    char buf[512];
                    const ssize_t got = ::read(kids[i].report.get(), buf, sizeof buf);
                    if (got > 0) {
                        reports[i].append(buf, static_cast<std::size_t>(got));
                    } else if (got == 0) {
                        reported[i] = true;
                        if (reports[i].empty()) last_running = Clock::now();
                    }
                } else {
                    try_reap(procs[-1 - which[k]]);
                }
            }
        }
        bool all_done = true;
        for (int i = 0; i < launched; ++i) {
            if (!procs[i].done) {
                all_done = false;
                kill_and_reap(procs[i]);
            }
        }
        Clock::time_point last_exit = t0;
        for (int i = 0; i < launched; ++i) last_exit = std::max(last_exit, procs[i].exited_at);
        leaves.clear();  // off the clock: rmdir, retried on EBUSY
        check_interrupted();
        if (!out.ok) return out;
        if (!all_done) return failed("floor: timed out after " + seconds_text(timeout));
        for (int i = 0; i < n; ++i) {
            if (!reports[i].empty()) return failed("floor: container " + std::to_string(i) + ": " + reports[i]);
            if (procs[i].status.signal != 0 || procs[i].status.exit_code != 0)
                return failed("floor: /bin/true: " + exit_text(procs[i].status));
        }
        out.to_exit_ms = bench::to_ms(last_exit - t0);
        if (last_running) out.to_running_ms = bench::to_ms(*last_running - t0);
        return out;
    }

private:
    std::unique_ptr<bench::floor::StartCgroups> cgroups_;
    bench::floor::ChildPlan plan_;
    std::string placement_;
};

// ---- external commands: one process per container, run to its end

// What crun, runc and the rusty one-shot share: N processes started as
// fast as possible, each container's life is its process's life.
class CommandRuntime : public Runtime {
public:
    CommandRuntime(Context& ctx, std::string name, std::string label, bool must_pass)
        : Runtime(std::move(name), std::move(label), must_pass), ctx_(ctx) {
        logs_ = ctx.work / "logs" / this->name();
        fs::create_directories(logs_);
    }

    Outcome run(int n, const std::string& network, Clock::duration timeout) override {
        // Off the clock: argv and an output file per process.
        std::vector<const CArgv*> argvs(n);
        std::vector<UniqueFd> outs(n);
        for (int i = 0; i < n; ++i) {
            argvs[i] = &argv(network, i);
            const fs::path log = log_path(i);
            outs[i].reset(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
            if (!outs[i]) throw_sys("open(\"" + log.string() + "\")");
        }
        std::vector<Proc> procs;
        procs.reserve(n);
        std::vector<Proc*> all;
        Outcome out;

        const Clock::time_point t0 = Clock::now();
        try {
            for (int i = 0; i < n; ++i) procs.push_back(spawn(*argvs[i], outs[i].get(), mntns_fd(), ctx_.null_fd.get()));
        } catch (const Error& e) {
            out = failed(name() + ": " + e.what());
        }
        for (Proc& p : procs) all.push_back(&p);
        const bool finished = wait_all(all, t0 + timeout);
        Clock::time_point last_exit = t0;
        for (const Proc& p : procs) last_exit = std::max(last_exit, p.exited_at);

        if (!finished) {
            std::string stuck;
            int stuck_count = 0;
            for (std::size_t i = 0; i < procs.size(); ++i) {
                if (procs[i].done) continue;
                if (stuck_count++ == 0) stuck = std::to_string(i);
                kill_and_reap(procs[i], true);
            }
            // What it left running in its cgroups (ours: below /rusty-bench-<pid>).
            const int killed = ctx_.tree.kill_below(cgroup_subtree());
            for (std::size_t i = 0; i < procs.size(); ++i) after_kill(static_cast<int>(i));
            return failed(name() + ": " + std::to_string(stuck_count) + " of " + std::to_string(n) +
                          " still running after " + seconds_text(timeout) + ": killed with their process groups (and " +
                          std::to_string(killed) + " processes left in their cgroups); output of #" + stuck + ": " +
                          output_tail(log_path(std::stoi(stuck))));
        }
        if (!out.ok) return out;
        int bad = 0;
        std::string first;
        for (std::size_t i = 0; i < procs.size(); ++i) {
            const sys::ExitStatus& s = procs[i].status;
            if (s.signal == 0 && s.exit_code == 0) continue;
            if (bad++ == 0) first = "#" + std::to_string(i) + " " + exit_text(s) + ": " + output_tail(log_path(i));
        }
        if (bad > 0) return failed(name() + ": " + std::to_string(bad) + " of " + std::to_string(n) + " failed; " + first);
        out.to_exit_ms = bench::to_ms(last_exit - t0);
        return out;
    }

protected:
    virtual const CArgv& argv(const std::string& network, int i) = 0;
    virtual int mntns_fd() const { return -1; }
    // After a timeout killed its processes: forget container `i`.
    virtual void after_kill(int /*i*/) {}
    // The prefix of its containers' cgroups below /rusty-bench-<pid>.
    virtual std::string cgroup_subtree() const = 0;
    fs::path log_path(int i) const { return logs_ / (std::to_string(i) + ".log"); }

    Context& ctx_;
    fs::path logs_;
};

// ---- crun and runc (and, later, rusty-runtime: the same class)

// The bundle template: `crun spec` (or `runc spec`) as it comes, edited
// only where the workload says so.
json oci_template(Context& ctx, const fs::path& spec_tool) {
    const fs::path dir = ctx.work / "spec-template";
    fs::create_directories(dir);
    auto [status, output] = run_capture({spec_tool.string(), "spec", "--bundle", dir.string()},
                                        ctx.work / "spec-template.log", ctx.null_fd.get());
    if (status.signal != 0 || status.exit_code != 0)
        throw Error(spec_tool.string() + " spec: " + exit_text(status) + ": " + trim(output));
    json t = json::parse(read_file(dir / "config.json"));
    t["ociVersion"] = "1.0.2";
    t["process"]["terminal"] = false;
    t["process"]["args"] = json::array({"/bin/true"});
    t["root"] = {{"path", ctx.rootfs.string()}, {"readonly", false}};
    return t;
}

json oci_config(const json& tmpl, const std::string& network, bool limits, const std::string& cgroups_path) {
    json c = tmpl;
    json namespaces = json::array();
    std::set<std::string> have;
    for (const json& ns : c["linux"]["namespaces"]) {
        const std::string type = ns.value("type", "");
        if (type == "network" && network == "host") continue;
        have.insert(type);
        namespaces.push_back(ns);
    }
    for (const char* type : {"pid", "mount", "uts", "ipc"})
        if (!have.count(type)) namespaces.push_back({{"type", type}});
    if (network == "none" && !have.count("network")) namespaces.push_back({{"type", "network"}});
    c["linux"]["namespaces"] = namespaces;
    if (limits) {
        c["linux"]["resources"]["memory"] = {{"limit", kMemoryLimit}};
        c["linux"]["resources"]["pids"] = {{"limit", kPidsLimit}};
    }
    c["linux"]["cgroupsPath"] = cgroups_path;
    return c;
}

class OciRuntime : public CommandRuntime {
public:
    // `mntns_fd`: a mount namespace to run it in (crun on a hybrid host), or -1.
    OciRuntime(Context& ctx, std::string name, fs::path binary, const json& tmpl, int mntns_fd, std::string ns_note,
               bool must_pass = false)
        : CommandRuntime(ctx, name, name + " run", must_pass),
          binary_(std::move(binary)),
          mntns_fd_(mntns_fd),
          ns_note_(std::move(ns_note)) {
        state_ = ctx.work / (this->name() + "-state");
        fs::create_directories(state_);
        for (const std::string& network : ctx.networks) {
            for (int i = 0; i < ctx.max_n; ++i) {
                const std::string id = this->name() + "-" + std::to_string(i);
                const fs::path bundle = ctx.work / "bundles" / network / id;
                fs::create_directories(bundle);
                const json config =
                    oci_config(tmpl, network, ctx.options.limits, ctx.tree.path(this->name() + "-" + std::to_string(i)));
                write_file(bundle / "config.json", config.dump(2) + "\n");
                if (i == 0) sample_config_[network] = config;
                argvs_[network].push_back(std::make_unique<CArgv>(std::vector<std::string>{
                    binary_.string(), "--root", state_.string(), "run", "--bundle", bundle.string(), id}));
            }
        }
    }

    json describe() const override {
        json j = {{"how", binary_.string() + " --root STATE run --bundle BUNDLE " + name() + "-<i>"},
                  {"binary", binary_.string()},
                  {"version", version},
                  {"cgroups_path", "/" + ctx_.tree.top() + "/" + name() + "-<i>"},
                  {"config_json", sample_config_}};
        if (!ns_note_.empty()) j["mount_namespace"] = ns_note_;
        return j;
    }

    // `run` deletes its container when it ends; anything left in the state
    // directory is reported and deleted.
    void finish(std::vector<std::string>& notes) override {
        std::error_code ec;
        std::vector<std::string> left;
        for (const auto& entry : fs::directory_iterator(state_, ec)) left.push_back(entry.path().filename().string());
        for (const std::string& id : left) {
            notes.push_back(name() + " left state for container " + id + " after `run` (deleted with `delete -f`)");
            remove(id);
        }
    }

protected:
    // A killed `run` leaves its container's state: `delete -f` it, or the
    // next `run` of the same id fails.
    void after_kill(int i) override {
        const std::string id = name() + "-" + std::to_string(i);
        std::error_code ec;
        if (fs::exists(state_ / id, ec)) remove(id);
    }

    const CArgv& argv(const std::string& network, int i) override { return *argvs_.at(network).at(i); }
    int mntns_fd() const override { return mntns_fd_; }
    std::string cgroup_subtree() const override { return name() + "-"; }  // its leaves: /top/<name>-<i>

private:
    void remove(const std::string& id) {
        CArgv del({binary_.string(), "--root", state_.string(), "delete", "-f", id});
        const fs::path log = logs_ / "delete.log";
        UniqueFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!out) return;
        Proc p = spawn(del, out.get(), mntns_fd_, ctx_.null_fd.get());
        std::vector<Proc*> all = {&p};
        if (!wait_all(all, Clock::now() + std::chrono::seconds(10))) kill_and_reap(p, true);
    }

    fs::path binary_;
    int mntns_fd_;
    std::string ns_note_;
    fs::path state_;
    std::map<std::string, std::vector<std::unique_ptr<CArgv>>> argvs_;
    std::map<std::string, json> sample_config_;
};

// ---- rusty

// A container entry of the workload, as fleet.json writes it.
json rusty_container(const Context& ctx, const std::string& network, std::vector<std::string> command) {
    json c = {{"rootfs", ctx.rootfs.string()}, {"command", std::move(command)}, {"network", network}};
    if (ctx.options.limits) {
        c["mem_limit"] = "64m";
        c["pids_limit"] = kPidsLimit;
    }
    return c;
}

// The rusty CLI as a one-shot command: a fleet of one, run to its end.
class OneshotRuntime : public CommandRuntime {
public:
    OneshotRuntime(Context& ctx, fs::path supervisor)
        : CommandRuntime(ctx, "rusty-oneshot", "rusty-supervisor, a fleet of one run to its end", true),
          supervisor_(std::move(supervisor)) {
        root_ = ctx.work / "oneshot-root";
        fs::create_directories(root_);
        const fs::path dir = ctx.work / "oneshot-fleets";
        fs::create_directories(dir);
        for (const std::string& network : ctx.networks) {
            for (int i = 0; i < ctx.max_n; ++i) {
                // A distinct fleet name per concurrent instance: its state directory.
                const std::string fleet = "oneshot-" + network + "-" + std::to_string(i);
                const json spec = {{"name", fleet},
                                   {"containers", {{"c", rusty_container(ctx, network, {"/bin/true"})}}}};
                const fs::path file = dir / (fleet + ".json");
                write_file(file, spec.dump(2) + "\n");
                if (i == 0) sample_[network] = spec;
                argvs_[network].push_back(std::make_unique<CArgv>(
                    std::vector<std::string>{supervisor_.string(), "--config", file.string(), "--root", root_.string(),
                                             "--cgroup-parent", ctx.tree.path("oneshot")}));
            }
        }
    }

    json describe() const override {
        return {{"how", supervisor_.string() + " --config ONE.json --root ROOT --cgroup-parent /" + ctx_.tree.top() +
                            "/oneshot (one process per container; a distinct fleet name per concurrent instance)"},
                {"binary", supervisor_.string()},
                {"fleet_json", sample_}};
    }

protected:
    const CArgv& argv(const std::string& network, int i) override { return *argvs_.at(network).at(i); }
    std::string cgroup_subtree() const override { return "oneshot"; }

private:
    fs::path supervisor_, root_;
    std::map<std::string, std::vector<std::unique_ptr<CArgv>>> argvs_;
    std::map<std::string, json> sample_;
};

// One line-oriented connection to a control socket.
class LineConn {
public:
    static LineConn connect(const fs::path& path) {
        LineConn c;
        c.fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!c.fd_) throw_sys("socket(AF_UNIX)");
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (path.string().size() >= sizeof addr.sun_path) throw Error("socket path too long: " + path.string());
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        if (::connect(c.fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
            throw_sys("connect(\"" + path.string() + "\")");
        return c;
    }

    int fd() const { return fd_.get(); }

    void send(const std::string& line) {
        std::string data = line + "\n";
        std::size_t off = 0;
        while (off < data.size()) {
            const ssize_t n = ::send(fd_.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_sys("write(control socket)");
            off += static_cast<std::size_t>(n);
        }
    }

    // One read of what is there; throws at EOF.
    void fill() {
        char buf[65536];
        ssize_t n;
        do n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) throw_sys("read(control socket)");
        if (n == 0) throw Error("the supervisor closed its control socket");
        buffer_.append(buf, static_cast<std::size_t>(n));
    }

    std::optional<std::string> pop() {
        const auto nl = buffer_.find('\n', scanned_);
        if (nl == std::string::npos) {
            scanned_ = buffer_.size();
            return std::nullopt;
        }
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        scanned_ = 0;
        return line;
    }

    // The next line, or nothing by the deadline.
    std::optional<std::string> next(Clock::time_point deadline) {
        for (;;) {
            if (auto line = pop()) return line;
            pollfd p{fd_.get(), POLLIN, 0};
            const int r = ::poll(&p, 1, poll_timeout(deadline));
            if (r < 0 && errno == EINTR) {
                check_interrupted();
                continue;
            }
            if (r < 0) throw_sys("poll(control socket)");
            if (r == 0 && Clock::now() >= deadline) return std::nullopt;
            if (r > 0) fill();
        }
    }

    // Drops whatever has arrived so far.
    void drain() {
        for (;;) {
            pollfd p{fd_.get(), POLLIN, 0};
            if (::poll(&p, 1, 0) <= 0) break;
            fill();
        }
        buffer_.clear();
        scanned_ = 0;
    }

private:
    UniqueFd fd_;
    std::string buffer_;
    std::size_t scanned_ = 0;
};

// Through a running supervisor: one per network variant, holding an anchor
// container (so the fleet does not end) and b0…b<max-1> that ran once at the
// start; a sample is one `start` request naming n of them.
class SupervisorRuntime : public Runtime {
public:
    SupervisorRuntime(Context& ctx, fs::path supervisor)
        : Runtime("rusty-supervisor", "a running rusty-supervisor, `start` over its control socket", true),
          ctx_(ctx),
          supervisor_(std::move(supervisor)) {
        root_ = ctx.work / "fleet-root";
        fs::create_directories(root_);
        for (const std::string& network : ctx.networks) fleets_[network] = std::make_unique<Fleet>();
        try {
            // Start them all first, then wait: they come up side by side.
            for (const std::string& network : ctx.networks) launch(network, *fleets_[network]);
            for (const std::string& network : ctx.networks) wait_ready(*fleets_[network]);
        } catch (...) {
            for (auto& [network, f] : fleets_) kill_and_reap(f->proc);
            ctx_.tree.kill_below("fleet");
            throw;
        }
    }

    ~SupervisorRuntime() override {
        std::vector<std::string> ignored;
        finish(ignored);
    }

    bool sees_running() const override { return true; }

    json describe() const override {
        json sample;
        if (!fleets_.empty()) sample = fleets_.begin()->second->sample;
        return {{"how", supervisor_.string() + " --config FLEET.json --root ROOT --cgroup-parent /" +
                            ctx_.tree.top() +
                            "/fleet --log-format json --stop-timeout 1, one per network variant; a sample writes "
                            "{\"verb\":\"start\",\"args\":{\"names\":[…]}} to ROOT/<fleet>/control.sock and ends at "
                            "the last `exited` event (running: the last `started` event) on a second connection "
                            "subscribed with {\"verb\":\"events\"}"},
                {"binary", supervisor_.string()},
                {"fleet_json_excerpt", sample}};
    }

    Outcome run(int n, const std::string& network, Clock::duration timeout) override {
        Fleet& f = *fleets_.at(network);
        if (!f.alive) return failed("rusty-supervisor (" + network + "): not running: " + f.death);
        // Off the clock: the request, and nothing stale on the event stream.
        const int id = ++f.next_id;
        json names = json::array();
        for (int i = 0; i < n; ++i) names.push_back("b" + std::to_string(i));
        const std::string request = json{{"id", id}, {"verb", "start"}, {"args", {{"names", names}}}}.dump();
        f.events->drain();
        std::vector<char> started(n, 0), exited(n, 0);
        int started_count = 0, exited_count = 0;
        bool replied = false;
        Clock::time_point all_running{}, all_exited{};

        const Clock::time_point t0 = Clock::now();
        const Clock::time_point deadline = t0 + timeout;
        try {
            f.control->send(request);
            while (!(replied && exited_count == n)) {
                while (auto line = f.control->pop()) {
                    const json reply = json::parse(*line, nullptr, false);
                    if (reply.is_discarded() || reply.value("id", -1) != id) continue;
                    if (!reply.value("ok", false))
                        return failed("rusty-supervisor: start refused: " + reply.value("error", *line));
                    replied = true;
                }
                while (auto line = f.events->pop()) {
                    const Clock::time_point now = Clock::now();
                    const json j = json::parse(*line, nullptr, false);
                    if (j.is_discarded() || !j.contains("event")) continue;
                    const json& e = j["event"];
                    const std::string container = e.value("container", "");
                    if (container.size() < 2 || container[0] != 'b') continue;
                    const int i = std::atoi(container.c_str() + 1);
                    if (i < 0 || i >= n || container != "b" + std::to_string(i)) continue;
                    const std::string kind = e.value("event", "");
                    if (kind == "started" && !started[i]) {
                        started[i] = 1;
                        if (++started_count == n) all_running = now;
                    } else if (kind == "exited" && !exited[i]) {
                        const json code = e.value("exit_code", json());
                        if (!code.is_number() || code.get<int>() != 0)
                            return failed("rusty-supervisor: " + container + " exited: " + e.dump());
                        exited[i] = 1;
                        if (++exited_count == n) all_exited = now;
                    } else if (kind == "failed") {
                        return failed("rusty-supervisor: " + container + " failed: " + e.value("error", e.dump()));
                    }
                }
                if (replied && exited_count == n) break;
                pollfd fds[3] = {{f.control->fd(), POLLIN, 0}, {f.events->fd(), POLLIN, 0}, {f.proc.pidfd.get(), POLLIN, 0}};
                const int r = ::poll(fds, 3, poll_timeout(deadline));
                if (r < 0 && errno == EINTR) {
                    check_interrupted();
                    continue;
                }
                if (r < 0) throw_sys("poll(control socket)");
                if (r == 0 && Clock::now() >= deadline) {
                    return failed("rusty-supervisor: timed out after " + seconds_text(timeout) + " (" + std::to_string(started_count) + " of " + std::to_string(n) + " started, " +
                                  std::to_string(exited_count) + " exited, reply " + (replied ? "in" : "not in") + ")");
                }
                if (fds[0].revents) f.control->fill();
                if (fds[1].revents) f.events->fill();
                if (fds[2].revents && !fds[0].revents && !fds[1].revents) {
                    try_reap(f.proc);
                    f.alive = false;
                    f.death = exit_text(f.proc.status) + ": " + output_tail(f.log);
                    return failed("rusty-supervisor (" + network + ") died: " + f.death);
                }
            }
        } catch (const Error& e) {
            if (g_interrupted) throw;
            return failed(std::string("rusty-supervisor: ") + e.what());
        }
        Outcome out;
        out.to_exit_ms = bench::to_ms(all_exited - t0);
        out.to_running_ms = bench::to_ms(all_running - t0);
        return out;
    }

    // Stops each fleet ({"verb":"stop"}) and waits for its supervisor to exit.
    void finish(std::vector<std::string>& notes) override {
        for (auto& [network, f] : fleets_) {
            if (f->proc.done || !f->proc.pidfd) continue;
            try {
                if (f->control) f->control->send(json{{"id", ++f->next_id}, {"verb", "stop"}}.dump());
            } catch (const Error&) {
                ::kill(f->proc.pid, SIGTERM);
            }
            std::vector<Proc*> all = {&f->proc};
            if (!wait_all(all, Clock::now() + std::chrono::seconds(30))) {
                notes.push_back("rusty-supervisor (" + network + ") did not stop within 30 s: killed");
                kill_and_reap(f->proc);
                ctx_.tree.kill_below("fleet");
            } else if (f->proc.status.signal != 0 || f->proc.status.exit_code != 0) {
                notes.push_back("rusty-supervisor (" + network + ") ended with " + exit_text(f->proc.status) + ": " +
                                output_tail(f->log, 500));
            }
        }
    }

private:
    struct Fleet {
        std::string name;
        Proc proc;
        fs::path log;
        std::optional<LineConn> control, events;
        int next_id = 0;
        bool alive = true;
        std::string death;
        json sample;
        std::unique_ptr<CArgv> argv;
    };

    void launch(const std::string& network, Fleet& f) {
        f.name = "bench-" + network;
        json containers = json::object();
        json anchor = rusty_container(ctx_, network, {"sleep", "100000"});
        anchor["stop_grace_period"] = "100ms";  // sleep as pid 1 ignores SIGTERM
        containers["anchor"] = anchor;
        for (int i = 0; i < ctx_.max_n; ++i) {
            json b = rusty_container(ctx_, network, {"/bin/true"});
            b["restart"] = "no";
            containers["b" + std::to_string(i)] = b;
        }
        const json spec = {{"name", f.name}, {"containers", containers}};
        f.sample = {{"name", f.name},
                    {"containers", {{"anchor", anchor}, {"b0", containers["b0"]}, {"…", "b1 … b" + std::to_string(ctx_.max_n - 1) + " like b0"}}}};
        const fs::path file = ctx_.work / (f.name + ".json");
        write_file(file, spec.dump(2) + "\n");
        f.log = ctx_.work / "logs" / (f.name + ".log");
        fs::create_directories(f.log.parent_path());
        UniqueFd out(::open(f.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!out) throw_sys("open(\"" + f.log.string() + "\")");
        f.argv = std::make_unique<CArgv>(std::vector<std::string>{
            supervisor_.string(), "--config", file.string(), "--root", root_.string(), "--cgroup-parent",
            ctx_.tree.path("fleet"), "--log-format", "json", "--stop-timeout", "1"});
        f.proc = spawn(*f.argv, out.get(), -1, ctx_.null_fd.get());
    }

    // Until its control socket answers and every b<i> has run once and exited.
    void wait_ready(Fleet& f) {
        const Clock::time_point deadline = Clock::now() + std::chrono::seconds(60 + ctx_.max_n / 5);
        const fs::path socket = root_ / f.name / "control.sock";
        auto dead = [&] {
            if (!try_reap(f.proc)) return false;
            throw Error("rusty-supervisor (" + f.name + ") ended at its start with " + exit_text(f.proc.status) + ": " +
                        output_tail(f.log));
        };
        while (!f.control) {
            dead();
            check_interrupted();
            if (Clock::now() >= deadline) throw Error("rusty-supervisor (" + f.name + "): no control socket at " + socket.string());
            try {
                if (fs::exists(socket)) f.control = LineConn::connect(socket);
            } catch (const Error&) {
            }
            if (!f.control) sleep_ms(10);
        }
        f.events = LineConn::connect(socket);
        f.events->send(json{{"id", 0}, {"verb", "events"}}.dump());
        auto subscribed = f.events->next(deadline);
        if (!subscribed || subscribed->find("subscribed") == std::string::npos)
            throw Error("rusty-supervisor (" + f.name + "): events subscription: " + subscribed.value_or("no reply"));
        for (;;) {
            dead();
            const int id = ++f.next_id;
            f.control->send(json{{"id", id}, {"verb", "ps"}}.dump());
            std::optional<std::string> line;
            json reply;
            do {
                line = f.control->next(deadline);
                if (!line) throw Error("rusty-supervisor (" + f.name + "): no reply to ps");
                reply = json::parse(*line, nullptr, false);
            } while (reply.is_discarded() || reply.value("id", -1) != id);
            if (!reply.value("ok", false)) throw Error("rusty-supervisor (" + f.name + "): ps: " + *line);
            int ended = 0;
            bool anchor_running = false;
            for (const json& row : reply["result"]) {
                const std::string name = row.value("name", ""), state = row.value("state", "");
                if (name == "anchor") anchor_running = state == "running";
                else if (state == "exited") ++ended;
                else if (state == "failed")
                    throw Error("rusty-supervisor (" + f.name + "): " + name + " failed at the fleet's start: " +
                                output_tail(f.log));
            }
            if (anchor_running && ended == ctx_.max_n) break;
            if (Clock::now() >= deadline)
                throw Error("rusty-supervisor (" + f.name + "): only " + std::to_string(ended) + " of " +
                            std::to_string(ctx_.max_n) + " containers ended after the fleet's start");
            sleep_ms(20);
        }
    }

    Context& ctx_;
    fs::path supervisor_, root_;
    std::map<std::string, std::unique_ptr<Fleet>> fleets_;
};

// ------------------------------------------------------------------ results

struct Cell {  // one runtime in one scenario on one network
    std::vector<double> exit_ms, running_ms;
    std::vector<int> round;
    int failures = 0;

    // Each round's p50 (nothing for a round without samples).
    std::vector<std::optional<double>> p50_per_round(int rounds) const {
        std::vector<std::optional<double>> out;
        for (int r = 1; r <= rounds; ++r) {
            std::vector<double> v;
            for (std::size_t k = 0; k < exit_ms.size(); ++k)
                if (round[k] == r) v.push_back(exit_ms[k]);
            out.push_back(v.empty() ? std::nullopt : std::optional<double>(bench::summarize(v).p50));
        }
        return out;
    }
};

struct ScenarioResult {
    std::string scenario;  // b2b, idle, burst-50
    std::string network;
    int n = 1;             // containers per sample
    std::map<std::string, Cell> cells;
};

struct Failure {
    std::string runtime, scenario, network, error;
    int round = 0, iteration = 0;
    bool warmup = false;
};

struct Scenario {
    std::string name;
    int n, count, warmup, idle_ms;
    std::string what;
};

std::vector<Scenario> scenarios_of(const Options& o) {
    std::vector<Scenario> s;
    if (o.has_scenario("b2b"))
        s.push_back({"b2b", 1, o.count, o.warmup, 0, "one container, start to exit, back to back"});
    if (o.has_scenario("idle"))
        s.push_back({"idle", 1, o.idle_count, o.idle_warmup, o.idle_ms,
                     "one container, start to exit, after " + std::to_string(o.idle_ms) + " ms of idle (off the clock)"});
    if (o.has_scenario("burst"))
        for (int b : o.bursts)
            s.push_back({"burst-" + std::to_string(b), b, o.burst_count, o.burst_warmup, o.burst_settle_ms,
                         std::to_string(b) + " containers started at once; time until all have exited"});
    return s;
}

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, v >= 100 ? "%.1f" : "%.2f", v);
    return buf;
}

// ------------------------------------------------------------------ reports

struct Report {
    json machine;
    std::vector<json> runtimes;  // describe() + name, label, available
    std::vector<ScenarioResult> results;
    std::vector<json> samples;
    std::vector<Failure> failures;
    std::vector<std::string> notes;
    std::vector<std::pair<std::string, json>> includes;
};

std::string markdown_table(const ScenarioResult& sr, const std::vector<std::string>& order,
                           const Options& o, const std::map<std::string, bool>& sees_running) {
    std::ostringstream md;
    const bool burst = sr.n > 1;
    md << "| runtime | n | p50 | p95 | p99 | min | max | p50 vs crun | p50 " << (burst ? "to all running" : "to running")
       << " | p50 per round |\n";
    md << "|---|---|---|---|---|---|---|---|---|---|\n";
    double crun_p50 = 0;
    if (auto it = sr.cells.find("crun"); it != sr.cells.end() && !it->second.exit_ms.empty())
        crun_p50 = bench::summarize(it->second.exit_ms).p50;
    for (const std::string& name : order) {
        auto it = sr.cells.find(name);
        if (it == sr.cells.end()) continue;
        const Cell& c = it->second;
        if (c.exit_ms.empty()) {
            md << "| " << name << " | 0 | — | — | — | — | — | — | — | "
               << (c.failures ? "failed (" + std::to_string(c.failures) + " failures)" : std::string("not run: left out after failures"))
               << " |\n";
            continue;
        }
        const bench::Summary s = bench::summarize(c.exit_ms);
        std::string ratio = crun_p50 > 0 ? fmt(s.p50 / crun_p50) + "×" : "n/a";
        std::string running = "n/a";
        if (sees_running.count(name) && sees_running.at(name) && !c.running_ms.empty())
            running = fmt(bench::summarize(c.running_ms).p50);
        std::string rounds;
        for (const std::optional<double>& p50 : c.p50_per_round(o.rounds))
            rounds += (rounds.empty() ? "" : " / ") + (p50 ? fmt(*p50) : std::string("—"));
        md << "| " << name << " | " << s.count << " | **" << fmt(s.p50) << "** | " << fmt(s.p95) << " | " << fmt(s.p99)
           << " | " << fmt(s.min) << " | " << fmt(s.max) << " | " << ratio << " | " << running << " | " << rounds;
        if (c.failures) md << " (" << c.failures << " failed)";
        md << " |\n";
    }
    return md.str();
}

std::string render_include(const std::string& file, const json& j) {
    std::ostringstream md;
    const std::string bench = j.value("benchmark", "");
    if (bench == "rusty-bench-restart") {
        const json& cfg = j.value("config", json::object());
        const bool limits = cfg.contains("limits") && !cfg["limits"].is_null();
        md << "#### Exit-to-restart: `rusty-bench-restart -n " << cfg.value("count", 0) << (limits ? " --limits" : "")
           << "` (" << (limits ? "limits 64 MiB / 1000 pids" : "no limits") << ", load average "
           << fmt(cfg.value("loadavg_1min", -1.0)) << " at its start; ms)\n\n";
        md << "| measure | p50 | p95 | p99 | min | max |\n|---|---|---|---|---|---|\n";
        const json summary = j.value("summary", json::object());
        for (const char* row : {"exit-to-exec", "exit-seen", "exited-to-start", "started-lag"}) {
            if (!summary.contains(row)) continue;
            const json& s = summary.at(row);
            md << "| " << row << " | " << (std::string(row) == "exit-to-exec" ? "**" : "") << fmt(s.value("p50_ms", 0.0))
               << (std::string(row) == "exit-to-exec" ? "**" : "") << " | " << fmt(s.value("p95_ms", 0.0)) << " | "
               << fmt(s.value("p99_ms", 0.0)) << " | " << fmt(s.value("min_ms", 0.0)) << " | "
               << fmt(s.value("max_ms", 0.0)) << " |\n";
        }
        if (j.contains("target"))
            md << "\nTarget exit-to-exec p50 ≤ " << fmt(j["target"].value("exit_to_exec_p50_ms", 0.0)) << " ms: "
               << (j["target"].value("met", false) ? "met" : "**not met**") << ".\n";
    } else if (bench == "rusty-bench-idle") {
        const double rss = j.value("rss_kib", 0.0) / 1024.0;
        md << "#### Idle cost: `rusty-bench-idle -n " << j.value("containers", 0) << " --idle " << j.value("idle_seconds", 0)
           << "`\n\n";
        md << "| containers | supervisor RSS | RSS after the window | CPU ticks while idle |\n"
              "|---|---|---|---|\n";
        md << "| " << j.value("containers", 0) << " | **" << fmt(rss) << " MiB** | "
           << fmt(j.value("rss_kib_after", 0.0) / 1024.0) << " MiB | " << j.value("idle_cpu_ticks", -1) << " of 1/"
           << j.value("clock_ticks_per_second", 100) << " s over " << j.value("idle_seconds", 0) << " s |\n";
    } else if (bench == "rusty-bench-start" && j.contains("config") && j["config"].contains("phases_p50_ms")) {
        // The phases of one start, from the supervisor's and the init's own
        // clocks (ContainerActor::RunSteps), medians over the run.
        const json& cfg = j["config"];
        const json summary = j.value("summary", json::object());
        md << "#### Where a start's time goes: `rusty-bench-start --network " << cfg.value("network", "none")
           << (cfg.value("read_only", false) ? " --read-only" : "") << (cfg.value("limits", json()).is_null() ? "" : " --limits")
           << " -n " << cfg.value("count", 0);
        if (cfg.value("idle_ms", 0) > 0) md << " --idle-ms " << cfg.value("idle_ms", 0);
        if (cfg.value("pool", 0) > 0) md << " --pool " << cfg.value("pool", 0);
        md << "`\n\nStart to exit p50 **"
           << fmt(summary.value("start_to_exit", json::object()).value("p50_ms", 0.0)) << " ms** ("
           << cfg.value("runs_from_pool_stubs", 0) << " of " << cfg.value("count", 0)
           << " runs from pool stubs); each phase's p50 in ms:\n\n| phase | p50 |\n|---|---|\n";
        for (const json& phase : cfg["phases_p50_ms"])
            md << "| " << phase[0].get<std::string>() << " | " << fmt(phase[1].get<double>()) << " |\n";
    } else {
        md << "#### " << (bench.empty() ? file : bench) << "\n\n```json\n" << j.dump(2).substr(0, 4000) << "\n```\n";
    }
    return md.str();
}

// Back to back, each runtime's p50 by the runtime that ran just before it
// (a shuffled order gives every pair): what a start leaves behind for the
// next one — asynchronous teardown in the kernel, say — shows as a column
// that is slower for everyone.
std::string after_effects_table(const Report& r, const std::vector<std::string>& order) {
    std::map<std::pair<std::string, std::string>, std::vector<double>> cells;
    for (const json& s : r.samples) {
        if (s.value("scenario", "") != "b2b" || !s.contains("after") || !s["after"].is_string()) continue;
        cells[{s.value("runtime", ""), s["after"].get<std::string>()}].push_back(s.value("to_exit_ms", 0.0));
    }
    if (cells.empty()) return {};
    std::ostringstream md;
    md << "| runtime \\ after | ";
    for (const std::string& a : order) md << a << " | ";
    md << "\n|---|";
    for (std::size_t k = 0; k < order.size(); ++k) md << "---|";
    md << "\n";
    for (const std::string& rt : order) {
        md << "| " << rt << " | ";
        for (const std::string& a : order) {
            auto it = cells.find({rt, a});
            if (it == cells.end() || it->second.empty()) md << "— | ";
            else md << fmt(bench::summarize(it->second).p50) << " (" << it->second.size() << ") | ";
        }
        md << "\n";
    }
    return md.str();
}

std::string render_markdown(const Report& r, const Options& o, const std::vector<std::string>& order,
                            const std::map<std::string, bool>& sees_running) {
    std::ostringstream md;
    const json& m = r.machine;
    md << "# Container start latency: rusty beside crun, runc and the floor\n\n";
    md << "Run " << m.value("date", "") << " on " << m.value("hostname", "") << ": kernel " << m.value("kernel", "")
       << ", " << m.value("cpus", 0) << " CPUs, cgroups " << m.value("cgroup_mode", "") << ". Load average (1/5/15 min) before: "
       << m.value("loadavg_before", "") << "; after: " << m.value("loadavg_after", "") << ".";
    if (m.contains("cpu")) {
        const json& c = m["cpu"];
        md << " During the run (" << fmt(c.value("wall_s", 0.0)) << " s) the CPUs were "
           << fmt(100 * c.value("busy_fraction", 0.0)) << " % busy; " << fmt(100 * c.value("other_fraction", 0.0))
           << " % of their capacity went to other processes and kernel threads (this bench and its children used "
           << fmt(c.value("bench_cpu_s", 0.0)) << " of " << fmt(c.value("cpu_busy_s", 0.0)) << " busy CPU-seconds).";
    }
    md << "\n\n";
    md << "Command: `" << m.value("command_line", "") << "`";
    if (m.contains("script")) md << " (from `" << m["script"].get<std::string>() << "`)";
    md << "\n\n";
    md << "Workload, the same for every runtime: a busybox root directory bound writable, `/bin/true`, pid + mount + uts "
          "+ ipc namespaces (network: own namespace with `none`, the host's with `host`), "
       << (o.limits ? "memory limit 64 MiB and pids limit 1000" : "no limits") << ", a fresh cgroup per container. ";
    md << "Times are wall-clock milliseconds from the start request to the exit seen by the caller; nearest-rank "
          "percentiles. Each iteration runs every runtime once, one after the other, "
       << (o.order == "shuffle"
               ? "in a new random order each time (seed " + std::to_string(o.seed) +
                     "), so that none always follows the same one and inherits its after-effects (each sample's "
                     "position and predecessor are in the JSON report)"
               : "always in this order: " + [&] {
                     std::string s;
                     for (const std::string& n : order) s += (s.empty() ? "" : ", ") + n;
                     return s;
                 }())
       << "; warm-up iterations first, not recorded; " << o.rounds << (o.rounds == 1 ? " round" : " rounds")
       << " of the whole schedule (every scenario on every network), samples pooled, each round's p50 shown.\n\n";
    md << "Runtimes:\n\n";
    for (const json& rt : r.runtimes) {
        md << "- **" << rt.value("name", "") << "**";
        if (!rt.value("available", false)) {
            md << ": left out — " << rt.value("reason", "") << "\n";
            continue;
        }
        if (rt.contains("version") && !rt["version"].get<std::string>().empty())
            md << " (" << rt["version"].get<std::string>() << ")";
        md << ": " << rt.value("how", "");
        if (rt.contains("cgroups") && rt["cgroups"].is_string()) md << "; " << rt["cgroups"].get<std::string>();
        if (rt.contains("mount_namespace")) md << ". " << rt["mount_namespace"].get<std::string>();
        md << ".\n";
    }
    md << "\n";
    if (m.contains("oci_config_from"))
        md << "crun and runc run the same bundles: `" << m["oci_config_from"].get<std::string>()
           << "`'s config.json with ociVersion 1.0.2, `process.args` `[\"/bin/true\"]`, `terminal` false, `root` "
              "the busybox directory with `readonly` false, the network namespace dropped for network host, "
           << (o.limits ? "`linux.resources` `memory.limit` 67108864 and `pids.limit` 1000, " : "")
           << "and an absolute `linux.cgroupsPath` `/rusty-bench-<pid>/<runtime>-<i>`; its capabilities, rlimits, "
              "masked and read-only paths and device rule stay as they come. ";
    md << "rusty's container entry (fleet.json): `"
       << "{\"rootfs\": DIR, \"command\": [\"/bin/true\"], \"network\": \"none\"|\"host\""
       << (o.limits ? ", \"mem_limit\": \"64m\", \"pids_limit\": 1000" : "") << "}`"
       << " (rusty-supervisor's fleet adds `\"restart\": \"no\"`, and an `anchor` container running `sleep 100000`).\n\n";
    for (const ScenarioResult& sr : r.results) {
        md << "### " << sr.scenario << ", network " << sr.network << "\n\n";
        for (const Scenario& s : scenarios_of(o))
            if (s.name == sr.scenario) {
                md << s.what;
                if (sr.n > 1)
                    md << " (crun, runc, rusty-oneshot: " << sr.n
                       << " processes launched as fast as possible; floor: " << sr.n
                       << " clones; rusty-supervisor: one `start` naming " << sr.n << " containers; " << o.burst_settle_ms
                       << " ms settle before each burst, off the clock)";
                md << ". ms.\n\n";
            }
        md << markdown_table(sr, order, o, sees_running) << "\n";
    }
    if (o.order == "shuffle") {
        const std::string table = after_effects_table(r, order);
        if (!table.empty())
            md << "### After-effects\n\nb2b start-to-exit p50 in ms (samples) of each runtime (row) by the runtime "
                  "whose sample ran just before it (column), both networks pooled. A column slower for every row is "
                  "work a runtime leaves behind that the next start pays (with a fixed order, always the same runtime "
                  "would pay it).\n\n"
               << table << "\n";
    }
    if (!r.failures.empty()) {
        md << "### Failures\n\n";
        std::size_t shown = 0;
        for (const Failure& f : r.failures) {
            if (++shown > 20) {
                md << "- … " << (r.failures.size() - 20) << " more in the JSON report\n";
                break;
            }
            std::string err = f.error;
            for (char& ch : err)
                if (ch == '\n') ch = ' ';
            if (err.size() > 600) err = err.substr(0, 600) + "…";
            md << "- " << f.runtime << ", " << f.scenario << ", network " << f.network << ", round " << f.round
               << (f.warmup ? " (warm-up)" : "") << ": " << err << "\n";
        }
        md << "\n";
    }
    if (!r.notes.empty()) {
        md << "### Notes\n\n";
        for (const std::string& n : r.notes) md << "- " << n << "\n";
        md << "\n";
    }
    if (!r.includes.empty()) {
        md << "### The other start-up figures\n\n";
        for (const auto& [file, j] : r.includes) md << render_include(file, j) << "\n";
        // Two idle sizes give the cost of one more container, without the base.
        std::vector<std::pair<int, double>> idle;
        for (const auto& [file, j] : r.includes)
            if (j.value("benchmark", "") == "rusty-bench-idle")
                idle.emplace_back(j.value("containers", 0), j.value("rss_kib", 0.0));
        std::sort(idle.begin(), idle.end());
        if (idle.size() >= 2 && idle.back().first > idle.front().first)
            md << "Between " << idle.front().first << " and " << idle.back().first << " sleeping containers the "
               << "supervisor's RSS grows by "
               << fmt((idle.back().second - idle.front().second) / (idle.back().first - idle.front().first))
               << " KiB per container.\n\n";
    }
    return md.str();
}

// A gnuplot script and its data: the CDF of each runtime's samples, one
// panel per scenario and network. Returns an error text, empty on success.
std::string render_plot(const Report& r, const std::vector<std::string>& order, const fs::path& svg,
                        const fs::path& work, int null_fd) {
    const fs::path gnuplot = bench::find_program("gnuplot");
    if (gnuplot.empty()) return "gnuplot is not in PATH (apt-get install gnuplot-nox): no plot";
    const fs::path data = work / "plot.dat", script = work / "plot.gp";
    const std::map<std::string, std::string> colors = {{"floor", "#7f7f7f"},
                                                       {"crun", "#1f77b4"},
                                                       {"runc", "#ff7f0e"},
                                                       {"rusty-runtime", "#9467bd"},
                                                       {"rusty-oneshot", "#2ca02c"},
                                                       {"rusty-supervisor", "#d62728"}};
    std::ostringstream dat, gp;
    std::vector<std::string> networks;  // in the order they ran
    std::vector<std::string> scenario_names;
    for (const ScenarioResult& sr : r.results) {
        if (std::find(networks.begin(), networks.end(), sr.network) == networks.end()) networks.push_back(sr.network);
        if (std::find(scenario_names.begin(), scenario_names.end(), sr.scenario) == scenario_names.end())
            scenario_names.push_back(sr.scenario);
    }
    const std::size_t rows = networks.size(), cols = scenario_names.size();
    gp << "set terminal svg size " << 380 * cols << "," << 400 * rows << " dynamic font 'sans,10'\n";
    gp << "set output '" << svg.string() << "'\n";
    gp << "set datafile separator ' '\n";
    gp << "set multiplot layout " << rows << "," << cols << " title 'Container start to exit: CDF per runtime ("
       << r.machine.value("date", "") << ", " << r.machine.value("cpus", 0) << " CPUs, kernel "
       << r.machine.value("kernel", "") << ")'\n";
    gp << "set logscale x\nset grid\nset yrange [0:1]\nset key below horizontal maxrows 2 font ',8'\n";
    gp << "set xlabel 'ms (log)'\nset ylabel 'fraction of samples'\n";
    int index = 0;
    for (const std::string& network : networks) {
        for (const std::string& scenario : scenario_names) {
            const ScenarioResult* sr = nullptr;
            for (const ScenarioResult& x : r.results)
                if (x.network == network && x.scenario == scenario) sr = &x;
            gp << "set title '" << scenario << ", network " << network << "'\n";
            std::vector<std::string> plots;
            if (sr)
                for (const std::string& name : order) {
                    auto it = sr->cells.find(name);
                    if (it == sr->cells.end() || it->second.exit_ms.empty()) continue;
                    std::vector<double> v = it->second.exit_ms;
                    std::sort(v.begin(), v.end());
                    dat << "# " << scenario << " " << network << " " << name << "\n";
                    dat << v.front() << " 0\n";
                    for (std::size_t k = 0; k < v.size(); ++k)
                        dat << v[k] << " " << static_cast<double>(k + 1) / static_cast<double>(v.size()) << "\n";
                    dat << "\n\n";
                    const std::string color = colors.count(name) ? colors.at(name) : "#000000";
                    plots.push_back("'" + data.string() + "' index " + std::to_string(index++) +
                                    " using 1:2 with steps lw 2 lc rgb '" + color + "' title '" + name + "'");
                }
            if (plots.empty()) {
                gp << "set label 1 'no samples' at graph 0.5,0.5 center\nplot NaN notitle\nunset label 1\n";
                continue;
            }
            gp << "plot ";
            for (std::size_t k = 0; k < plots.size(); ++k) gp << (k ? ", \\\n     " : "") << plots[k];
            gp << "\n";
        }
    }
    gp << "unset multiplot\n";
    write_file(data, dat.str());
    write_file(script, gp.str());
    auto [status, output] = run_capture({gnuplot.string(), script.string()}, work / "gnuplot.log", null_fd);
    if (status.signal != 0 || status.exit_code != 0) return "gnuplot: " + exit_text(status) + ": " + trim(output);
    return {};
}

json summary_json(const std::vector<double>& v) { return bench::to_json(bench::summarize(v)); }

// ---------------------------------------------------------------------- run

std::string command_line(int argc, char** argv) {
    std::string s;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a.find_first_of(" \t'\"$") != std::string::npos) a = "'" + a + "'";
        s += (i ? " " : "") + a;
    }
    return s;
}

fs::path find_supervisor(const Options& o) {
    if (!o.supervisor.empty()) return fs::absolute(o.supervisor);
    std::error_code ec;
    const fs::path beside = fs::read_symlink("/proc/self/exe", ec).parent_path() / "rusty-supervisor";
    if (!ec && ::access(beside.c_str(), X_OK) == 0) return beside;
    if (std::string(RUSTY_SUPERVISOR_BIN).size() && ::access(RUSTY_SUPERVISOR_BIN, X_OK) == 0)
        return RUSTY_SUPERVISOR_BIN;
    return bench::find_program("rusty-supervisor");
}

json describe_machine(const std::string& cmdline, const cgroup::Layout& layout) {
    utsname uts{};
    ::uname(&uts);
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    json m = {{"kernel", uts.release},
              {"machine", uts.machine},
              {"hostname", host},
              {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
              {"cgroup_mode", cgroup::to_string(layout.mode())},
              {"date", rfc3339(std::chrono::system_clock::now(), 0)},
              {"loadavg_before", loadavg()},
              {"command_line", cmdline}};
    if (const char* script = std::getenv("RUSTY_BENCH_SCRIPT")) m["script"] = script;
    return m;
}

// What the runtimes need beyond the context: crun's namespace holder and
// the OCI bundle template, made once.
struct Peers {
    fs::path crun, runc;
    std::unique_ptr<MountNsHolder> holder;
    std::string crun_problem, crun_ns_note;
    json oci_template;
    std::string template_problem;
};

Peers find_peers(Context& ctx, Report& report) {
    const Options& o = ctx.options;
    Peers p;
    p.crun = o.has_runtime("crun") ? bench::find_program("crun") : fs::path();
    p.runc = o.has_runtime("runc") ? bench::find_program("runc") : fs::path();
    if (o.has_runtime("crun") && p.crun.empty()) p.crun_problem = "crun is not in PATH (apt-get install crun)";
    if (!p.crun.empty() && ctx.layout.mode() == cgroup::Mode::Hybrid) {
        try {
            p.holder = std::make_unique<MountNsHolder>();
            p.crun_ns_note = "crun refuses hybrid cgroup hosts, so each crun process joins (setns right before "
                             "execve) one private mount namespace, made once at the start by a holder process, in "
                             "which /sys/fs/cgroup/unified is covered by an empty tmpfs: crun sees and uses the v1 "
                             "hierarchies";
        } catch (const Error& e) {
            p.crun_problem = e.what();
        }
    }
    // The bundle: `crun spec`'s defaults, else `runc spec`'s.
    for (const fs::path& tool : {p.crun, p.runc}) {
        if (tool.empty() || !p.oci_template.is_null()) continue;
        try {
            p.oci_template = oci_template(ctx, tool);
            report.machine["oci_config_from"] = tool.filename().string() + " spec";
            p.template_problem.clear();
        } catch (const Error& e) {
            p.template_problem += (p.template_problem.empty() ? "" : "; ") + std::string(e.what());
        }
    }
    return p;
}

std::string version_of(const Context& ctx, const fs::path& bin) {
    try {
        auto [status, out] = run_capture({bin.string(), "--version"}, ctx.work / "version.log", ctx.null_fd.get());
        return first_line(out);
    } catch (const Error& e) {
        return std::string(e.what());
    }
}

// The runtimes asked for, in that order. One that cannot be set up is left
// out with its reason; for ours (the floor, rusty) that is also a failure,
// returned in `setup_failures`.
std::vector<std::unique_ptr<Runtime>> make_runtimes(Context& ctx, Peers& peers, const fs::path& supervisor,
                                                    Report& report, std::vector<std::string>& setup_failures) {
    std::vector<std::unique_ptr<Runtime>> runtimes;
    for (const std::string& name : ctx.options.runtimes) {
        try {
            if (name == "floor") {
                runtimes.push_back(std::make_unique<FloorRuntime>(ctx));
            } else if (name == "crun") {
                if (!peers.crun_problem.empty()) throw Error(peers.crun_problem);
                if (!peers.template_problem.empty()) throw Error(peers.template_problem);
                auto rt = std::make_unique<OciRuntime>(ctx, "crun", peers.crun, peers.oci_template,
                                                       peers.holder ? peers.holder->ns_fd() : -1, peers.crun_ns_note);
                rt->version = version_of(ctx, peers.crun);
                runtimes.push_back(std::move(rt));
            } else if (name == "runc") {
                if (peers.runc.empty()) throw Error("runc is not in PATH (apt-get install runc)");
                if (!peers.template_problem.empty()) throw Error(peers.template_problem);
                auto rt = std::make_unique<OciRuntime>(ctx, "runc", peers.runc, peers.oci_template, -1, "");
                rt->version = version_of(ctx, peers.runc);
                runtimes.push_back(std::move(rt));
            }
            // `rusty-runtime run` over the same bundles as crun and runc; ours,
            // so a failure fails the bench.
            else if (name == "rusty-runtime") {
                const fs::path binary = supervisor.empty() ? fs::path() : supervisor.parent_path() / "rusty-runtime";
                if (binary.empty() || ::access(binary.c_str(), X_OK) != 0)
                    throw Error("no rusty-runtime beside rusty-supervisor (" + binary.string() + ")");
                if (!peers.template_problem.empty()) throw Error(peers.template_problem);
                auto rt = std::make_unique<OciRuntime>(ctx, "rusty-runtime", binary, peers.oci_template, -1, "", true);
                rt->version = version_of(ctx, binary);
                runtimes.push_back(std::move(rt));
            } else if (name == "rusty-oneshot") {
                if (supervisor.empty()) throw Error("no rusty-supervisor beside this program or in PATH (--supervisor)");
                runtimes.push_back(std::make_unique<OneshotRuntime>(ctx, supervisor));
            } else if (name == "rusty-supervisor") {
                if (supervisor.empty()) throw Error("no rusty-supervisor beside this program or in PATH (--supervisor)");
                runtimes.push_back(std::make_unique<SupervisorRuntime>(ctx, supervisor));
            }
        } catch (const Error& e) {
            check_interrupted();
            const bool ours = name.rfind("rusty", 0) == 0 || name == "floor";
            const std::string reason = std::string(ours ? "FAILED to set up: " : "") + e.what();
            std::fprintf(stderr, "rusty-bench-compare: %s left out: %s\n", name.c_str(), reason.c_str());
            report.runtimes.push_back({{"name", name}, {"available", false}, {"reason", reason}});
            if (ours) setup_failures.push_back(name + ": " + e.what());
        }
    }
    return runtimes;
}

// Runs every round of every scenario on every network; returns whether one
// of ours (must_pass) failed.
bool run_schedule(const Options& o, std::vector<std::unique_ptr<Runtime>>& runtimes, Report& report) {
    const std::vector<Scenario> scenarios = scenarios_of(o);
    for (const std::string& network : o.networks())
        for (const Scenario& s : scenarios) {
            ScenarioResult sr;
            sr.scenario = s.name;
            sr.network = network;
            sr.n = s.n;
            for (const auto& rt : runtimes) sr.cells[rt->name()];
            report.results.push_back(std::move(sr));
        }
    bool failed_ours = false;
    std::map<std::string, int> failures;
    std::vector<std::size_t> sequence(runtimes.size());
    std::iota(sequence.begin(), sequence.end(), std::size_t{0});
    std::mt19937 rng(o.seed);
    std::string last_run;  // the runtime of the sample before
    const auto started_at = Clock::now();
    for (int round = 1; round <= o.rounds; ++round) {
        for (const std::string& network : o.networks()) {
            for (const Scenario& s : scenarios) {
                ScenarioResult* sr = nullptr;
                for (ScenarioResult& x : report.results)
                    if (x.scenario == s.name && x.network == network) sr = &x;
                const auto timeout = std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(o.timeout_s + 0.05 * s.n));
                for (int it = 0; it < s.warmup + s.count; ++it) {
                    const bool warmup = it < s.warmup;
                    // Each iteration runs every runtime once; --order shuffle
                    // draws a new order each time, so that no runtime always
                    // follows the same one (and inherits its after-effects).
                    if (o.order == "shuffle") std::shuffle(sequence.begin(), sequence.end(), rng);
                    for (std::size_t pos = 0; pos < sequence.size(); ++pos) {
                        Runtime& rt = *runtimes[sequence[pos]];
                        if (failures[rt.name()] >= kMaxFailures) continue;
                        const std::string after = std::exchange(last_run, rt.name());
                        check_interrupted();
                        sleep_ms(s.idle_ms);  // idle, or a burst's settle: off the clock
                        const Outcome out = rt.run(s.n, network, timeout);
                        check_interrupted();
                        if (!out.ok) {
                            report.failures.push_back({rt.name(), s.name, network, out.error, round, it, warmup});
                            std::fprintf(stderr, "rusty-bench-compare: %s, %s, network %s, round %d: %s\n",
                                         rt.name().c_str(), s.name.c_str(), network.c_str(), round, out.error.c_str());
                            sr->cells[rt.name()].failures++;
                            if (rt.must_pass()) failed_ours = true;
                            if (++failures[rt.name()] == kMaxFailures)
                                std::fprintf(stderr, "rusty-bench-compare: %s failed %d times: left out from here on\n",
                                             rt.name().c_str(), kMaxFailures);
                            continue;
                        }
                        if (warmup) continue;
                        Cell& c = sr->cells[rt.name()];
                        c.exit_ms.push_back(out.to_exit_ms);
                        c.round.push_back(round);
                        if (out.to_running_ms) c.running_ms.push_back(*out.to_running_ms);
                        report.samples.push_back(
                            {{"runtime", rt.name()},
                             {"scenario", s.name},
                             {"network", network},
                             {"containers", s.n},
                             {"round", round},
                             {"iteration", it - s.warmup},
                             {"position", pos},
                             {"after", after.empty() ? json(nullptr) : json(after)},
                             {"to_exit_ms", out.to_exit_ms},
                             {"to_running_ms", out.to_running_ms ? json(*out.to_running_ms) : json(nullptr)}});
                    }
                }
                std::string line;
                for (const auto& rt : runtimes) {
                    const Cell& c = sr->cells[rt->name()];
                    line += "  " + rt->name() + " " + (c.exit_ms.empty() ? "—" : fmt(bench::summarize(c.exit_ms).p50));
                }
                std::fprintf(stderr, "round %d/%d, network %s, %s (p50 ms so far, %.0f s in):%s\n", round, o.rounds,
                             network.c_str(), s.name.c_str(),
                             std::chrono::duration<double>(Clock::now() - started_at).count(), line.c_str());
            }
        }
    }
    return failed_ours;
}

json report_json(const Report& report, const Options& o, const std::map<std::string, bool>& sees_running) {
    json results = json::array();
    for (const ScenarioResult& sr : report.results) {
        json cells = json::object();
        for (const auto& [name, c] : sr.cells) {
            json per_round = json::array();
            for (const std::optional<double>& p50 : c.p50_per_round(o.rounds))
                per_round.push_back(p50 ? json(*p50) : json(nullptr));
            cells[name] = {{"to_exit", summary_json(c.exit_ms)},
                           {"to_running", sees_running.at(name) ? summary_json(c.running_ms) : json(nullptr)},
                           {"p50_per_round_ms", per_round},
                           {"failures", c.failures}};
        }
        results.push_back({{"scenario", sr.scenario}, {"network", sr.network}, {"containers", sr.n}, {"runtimes", cells}});
    }
    json failures = json::array();
    for (const Failure& f : report.failures)
        failures.push_back({{"runtime", f.runtime},
                            {"scenario", f.scenario},
                            {"network", f.network},
                            {"round", f.round},
                            {"iteration", f.iteration},
                            {"warmup", f.warmup},
                            {"error", f.error}});
    json other = json::array();
    for (const auto& [file, j] : report.includes) other.push_back(j);
    return {{"benchmark", "rusty-bench-compare"},
            {"machine", report.machine},
            {"config", o.to_json()},
            {"runtimes", report.runtimes},
            {"summary", results},
            {"samples", report.samples},
            {"failures", failures},
            {"notes", report.notes},
            {"other_benchmarks", other}};
}

// --from-json: the Markdown and the plot again, from the JSON report of an
// earlier run (after a change to how they are drawn); runs nothing.
int rerender(Options o) {
    std::error_code ec;
    if (!fs::is_regular_file(o.from_json, ec)) throw Error("--from-json \"" + o.from_json + "\": no such file");
    const json j = json::parse(read_file(o.from_json, 256u << 20));
    if (j.value("benchmark", "") != "rusty-bench-compare") throw Error(o.from_json + ": not a rusty-bench-compare report");
    const json& cfg = j.at("config");
    o.runtimes = cfg.value("runtimes", o.runtimes);
    o.scenarios = cfg.value("scenarios", o.scenarios);
    o.limits = !cfg.value("limits", json()).is_null();
    o.rounds = cfg.value("rounds", o.rounds);
    o.order = cfg.value("order", std::string("fixed"));
    o.seed = cfg.value("seed", o.seed);
    o.idle_ms = cfg.value("idle", json::object()).value("idle_ms", o.idle_ms);
    o.bursts = cfg.value("burst", json::object()).value("sizes", o.bursts);
    o.burst_settle_ms = cfg.value("burst", json::object()).value("settle_ms", o.burst_settle_ms);
    Report report;
    report.machine = j.at("machine");
    report.runtimes = j.value("runtimes", std::vector<json>{});
    std::vector<std::string> order;
    std::map<std::string, bool> sees_running;
    for (const json& rt : report.runtimes)
        if (rt.value("available", false)) {
            order.push_back(rt.value("name", ""));
            sees_running[order.back()] = rt.value("sees_running", false);
        }
    for (const json& sum : j.value("summary", json::array())) {
        ScenarioResult sr;
        sr.scenario = sum.value("scenario", "");
        sr.network = sum.value("network", "");
        sr.n = sum.value("containers", 1);
        const json cells = sum.value("runtimes", json::object());
        for (const auto& [name, cell] : cells.items()) sr.cells[name].failures = cell.value("failures", 0);
        report.results.push_back(std::move(sr));
    }
    report.samples = j.value("samples", std::vector<json>{});
    for (const json& s : report.samples)
        for (ScenarioResult& sr : report.results)
            if (sr.scenario == s.value("scenario", "") && sr.network == s.value("network", "")) {
                Cell& c = sr.cells[s.value("runtime", "")];
                c.exit_ms.push_back(s.value("to_exit_ms", 0.0));
                c.round.push_back(s.value("round", 1));
                if (s.contains("to_running_ms") && s["to_running_ms"].is_number())
                    c.running_ms.push_back(s["to_running_ms"].get<double>());
            }
    for (const json& f : j.value("failures", json::array()))
        report.failures.push_back({f.value("runtime", ""), f.value("scenario", ""), f.value("network", ""),
                                   f.value("error", ""), f.value("round", 0), f.value("iteration", 0),
                                   f.value("warmup", false)});
    report.notes = j.value("notes", std::vector<std::string>{});
    for (const json& other : j.value("other_benchmarks", json::array())) report.includes.emplace_back("", other);

    const std::string md = render_markdown(report, o, order, sees_running);
    std::fputs(md.c_str(), stdout);
    if (!o.markdown_path.empty()) write_file(o.markdown_path, md);
    if (!o.plot_path.empty()) {
        bench::TempDir work("rusty-bench-compare");
        UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!null_fd) throw_sys("open(\"/dev/null\")");
        const std::string problem = render_plot(report, order, fs::absolute(o.plot_path), work.path(), null_fd.get());
        if (!problem.empty()) throw Error(problem);
    }
    return 0;
}

int run(const Options& o, const std::string& cmdline) {
    install_signal_handlers();
    raise_nofile_limit();
    const CpuMeter meter;
    const cgroup::Layout layout = cgroup::Layout::detect();
    Report report;
    report.machine = describe_machine(cmdline, layout);

    // First, while this process holds few descriptors; it goes last.
    const std::string top = "rusty-bench-" + std::to_string(::getpid());
    CrashCleaner cleaner(top);
    bench::CgroupTree tree(top);
    bench::TempDir work("rusty-bench-compare");
    cleaner.remove_dir(work.path());
    Context ctx{o, layout, work.path(), {}, tree, UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC)), o.networks(), o.max_burst()};
    if (!ctx.null_fd) throw_sys("open(\"/dev/null\")");
    if (o.rootfs.empty()) {
        ctx.rootfs = image::ImageStore(work.path() / "images").ensure("busybox");
    } else {
        std::error_code ec;
        ctx.rootfs = fs::canonical(o.rootfs, ec);
        if (ec || !fs::is_directory(ctx.rootfs)) throw Error("--rootfs \"" + o.rootfs + "\": not a directory");
    }
    report.machine["rootfs"] = ctx.rootfs.string();

    Peers peers = find_peers(ctx, report);
    const fs::path supervisor = find_supervisor(o);
    std::vector<std::string> setup_failures;
    std::vector<std::unique_ptr<Runtime>> runtimes = make_runtimes(ctx, peers, supervisor, report, setup_failures);
    for (const std::string& f : setup_failures) report.notes.push_back("set-up failed: " + f);
    std::vector<std::string> order;
    std::map<std::string, bool> sees_running;
    report.machine["versions"] = json::object();
    for (const auto& rt : runtimes) {
        order.push_back(rt->name());
        sees_running[rt->name()] = rt->sees_running();
        if (!rt->version.empty()) report.machine["versions"][rt->name()] = rt->version;
    }
    report.machine["versions"]["rusty-supervisor"] = supervisor.string();

    const bool failed_ours = run_schedule(o, runtimes, report) || !setup_failures.empty();

    // The end: stop what runs, then check that nothing is left.
    for (auto& rt : runtimes) rt->finish(report.notes);
    for (const auto& rt : runtimes) {
        json d = rt->describe();
        d["name"] = rt->name();
        d["label"] = rt->label();
        d["available"] = true;
        d["sees_running"] = rt->sees_running();
        if (!rt->version.empty()) d["version"] = rt->version;
        report.runtimes.push_back(std::move(d));
    }
    // The report lists the runtimes in the requested order.
    std::stable_sort(report.runtimes.begin(), report.runtimes.end(), [&](const json& a, const json& b) {
        auto pos = [&](const json& x) {
            return std::find(o.runtimes.begin(), o.runtimes.end(), x.value("name", "")) - o.runtimes.begin();
        };
        return pos(a) < pos(b);
    });
    runtimes.clear();
    peers.holder.reset();
    for (const std::string& left : tree.remove()) report.notes.push_back("cgroup left behind: " + left);
    report.notes.push_back("cgroup tree /" + tree.top() + " removed from every hierarchy");
    report.machine["loadavg_after"] = loadavg();
    report.machine["cpu"] = meter.result();

    for (const std::string& file : o.includes) {
        try {
            report.includes.emplace_back(file, json::parse(read_file(file)));
        } catch (const std::exception& e) {
            report.notes.push_back("--include " + file + ": " + e.what());
        }
    }

    const std::string md = render_markdown(report, o, order, sees_running);
    std::fputs(md.c_str(), stdout);
    std::fflush(stdout);
    if (!o.markdown_path.empty()) write_file(o.markdown_path, md);
    if (!o.plot_path.empty()) {
        const std::string problem = render_plot(report, order, fs::absolute(o.plot_path), work.path(), ctx.null_fd.get());
        if (!problem.empty()) std::fprintf(stderr, "rusty-bench-compare: %s\n", problem.c_str());
    }
    if (!o.json_path.empty()) bench::write_json(o.json_path, report_json(report, o, sees_running));
    if (failed_ours) {
        std::fprintf(stderr, "rusty-bench-compare: a rusty mode (or the floor) failed (see above)\n");
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Container start latency side by side: the floor (bare clone3 + pivot_root), crun, runc, "
                 "rusty-supervisor as a one-shot command and a running rusty-supervisor, on the same workload "
                 "(busybox rootfs, /bin/true, pid/mount/uts/ipc namespaces, 64 MiB and 1000 pids limits), "
                 "interleaved. Writes every sample as JSON, Markdown tables and an SVG plot."};
    Options o;
    app.add_option("--runtimes", o.runtimes,
                   "which, in this order: floor, crun, runc, rusty-runtime, rusty-oneshot, rusty-supervisor")
        ->delimiter(',')
        ->check(CLI::IsMember({"floor", "crun", "runc", "rusty-runtime", "rusty-oneshot", "rusty-supervisor"}));
    app.add_option("--scenarios", o.scenarios, "b2b, idle, burst (default: all)")
        ->delimiter(',')
        ->check(CLI::IsMember({"b2b", "idle", "burst"}));
    app.add_option("--network", o.network, "none: own network namespace; host: the host's; both (default)")
        ->check(CLI::IsMember({"none", "host", "both"}));
    app.add_flag("--limits,!--no-limits", o.limits, "memory 64 MiB and pids 1000 on every container (default: on)");
    app.add_option("--order", o.order,
                   "the runtimes' order within each iteration: shuffle (default; a new random order each time, from "
                   "--seed) or fixed (as --runtimes lists them)")
        ->check(CLI::IsMember({"shuffle", "fixed"}));
    app.add_option("--seed", o.seed, "seed of the shuffled orders (default 1: the same orders every run)");
    app.add_option("--rounds", o.rounds, "runs of the whole schedule, pooled (default 2)")->check(CLI::Range(1, 100));
    app.add_option("-n,--count", o.count, "b2b: recorded starts per round (default 50)")->check(CLI::Range(1, 100000));
    app.add_option("--warmup", o.warmup, "b2b: warm-up starts per round (default 5)")->check(CLI::Range(0, 10000));
    app.add_option("--idle-count", o.idle_count, "idle: recorded starts per round (default 20)")->check(CLI::Range(1, 100000));
    app.add_option("--idle-warmup", o.idle_warmup, "idle: warm-up starts per round (default 2)")->check(CLI::Range(0, 10000));
    app.add_option("--idle-ms", o.idle_ms, "idle: sleep before each start, off the clock (default 100)")
        ->check(CLI::Range(1, 60000));
    app.add_option("--bursts", o.bursts, "burst sizes (default 10,50,200)")->delimiter(',')->check(CLI::Range(2, 1000));
    app.add_option("--burst-count", o.burst_count, "burst: recorded bursts per size per round (default 3)")
        ->check(CLI::Range(1, 10000));
    app.add_option("--burst-warmup", o.burst_warmup, "burst: warm-up bursts per size per round (default 1)")
        ->check(CLI::Range(0, 1000));
    app.add_option("--burst-settle-ms", o.burst_settle_ms, "burst: pause before each burst, off the clock (default 200)")
        ->check(CLI::Range(0, 60000));
    app.add_option("--timeout", o.timeout_s, "seconds a sample may take (plus 50 ms per container) before its processes "
                                             "are killed and it counts as failed (default 10)")
        ->check(CLI::Range(0.1, 3600.0));
    app.add_flag("--quick", o.quick, "for CI: network none, 1 round, b2b n=5, idle n=3, one burst size 10, n=2 (options given "
                                  "explicitly are kept)");
    app.add_option("--rootfs", o.rootfs, "root filesystem directory (default: the busybox image, built aside)");
    app.add_option("--supervisor", o.supervisor, "the rusty-supervisor binary (default: beside this program)");
    app.add_option("--json", o.json_path, "write every sample, the summaries and the machine to FILE");
    app.add_option("--markdown", o.markdown_path, "write the tables to FILE");
    app.add_option("--plot", o.plot_path, "draw the latency CDFs with gnuplot into FILE (SVG)");
    app.add_option("--include", o.includes,
                   "a JSON report of rusty-bench-restart or rusty-bench-idle to add to the reports (repeatable)");
    app.add_option("--from-json", o.from_json,
                   "run nothing: write --markdown and --plot again from this JSON report of an earlier run");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (o.quick) {
        // Only what the command line does not set itself.
        auto quick = [&](const char* option, auto& field, auto value) {
            if (app.count(option) == 0) field = value;
        };
        quick("--network", o.network, std::string("none"));
        quick("--rounds", o.rounds, 1);
        quick("--count", o.count, 5);
        quick("--warmup", o.warmup, 1);
        quick("--idle-count", o.idle_count, 3);
        quick("--idle-warmup", o.idle_warmup, 1);
        quick("--bursts", o.bursts, std::vector<int>{10});
        quick("--burst-count", o.burst_count, 2);
        quick("--burst-warmup", o.burst_warmup, 0);
    }
    if (o.runtimes.empty() || o.scenarios.empty()) {
        std::fprintf(stderr, "rusty-bench-compare: nothing to run\n");
        return 2;
    }
    const std::string cmdline = command_line(argc, argv);
    if (!o.from_json.empty()) {
        try {
            return rerender(o);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "rusty-bench-compare: %s\n", e.what());
            return 1;
        }
    }
    return bench::run_as_root("rusty-bench-compare", [&] { return run(o, cmdline); });
}
