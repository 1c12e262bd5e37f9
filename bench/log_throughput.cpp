// rusty-bench-logs: how fast a supervisor captures container output into a
// log file, and what it costs the supervisor, rusty against conmon (driving
// runc) on the same workload:
//
//   one container writing M MiB of 100-byte lines to stdout as fast as it
//   can, then N containers at once writing M/N MiB each (whole lines);
//   the command, the same for every system, in a busybox root filesystem
//   shared by all:
//     sh -c 'read x < /gate; yes <99 chars> | head -c BYTES'
//
// Every container first waits at the gate, a FIFO: the bench writes one
// line per container into it once all of them are running, so start-up
// (rusty's spawn, runc create and start) is off the clock and all write at
// once. Measured from the gate:
//
//   wall   gate → every container has exited and every log is complete:
//          for rusty, Fleet::run() returning (the log is checked right then,
//          before the Fleet is destroyed); for conmon, the last conmon
//          exiting (it drains the pipes and writes synchronously, and exits
//          after the container);
//   MiB/s  container output (bytes) / wall;
//   CPU    the supervisor's utime + stime from the gate to the end, per MiB
//          of output: rusty is this process (getrusage(RUSAGE_SELF): the
//          fleet runs in-process on one thread; the kernel's io_uring
//          workers, if any, are threads of it) plus the helper process;
//          conmon is each conmon process, read at the gate and as a zombie
//          before it is reaped (its own time only: runc and the container
//          are its children, counted apart). Processes other than this one
//          are read from /proc/<pid>/task/*/schedstat (ns; conmon is one
//          thread). "life" is the same from the start of the run.
//
// Each log is then read back and must hold exactly the lines written: every
// record `<timestamp> stdout P|F <text>`, the P pieces of a line joined
// to its F record, and every line the 99 characters. Anything else fails the
// bench. The floor row is the same command on the host with its stdout read
// and dropped by this process: what the workload reaches without a log.
//
// Systems are interleaved (rusty, conmon, floor, rusty, …); the table gives
// medians. Needs root, conmon and runc; without them (or if conmon cannot
// run here) it says "conmon: not measured: <why>" and measures rusty alone.
// Everything it makes is removed: its temporary directory, its runc
// containers (runc delete -f), and its cgroups /rusty-bench-logs-<pid>/….
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "bench/cgroup_tree.hpp"
#include "bench/common.hpp"
#include "core/file.hpp"
#include "core/spec.hpp"
#include "core/syscalls.hpp"
#include "image/image_store.hpp"
#include "lifecycle/fleet.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace rusty;

namespace {

using bench::Clock;

// 99 characters: with the newline `yes` adds, every line is 100 bytes.
constexpr std::string_view kPayload =
    "012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678";
static_assert(kPayload.size() == 99);
constexpr std::int64_t kLineBytes = 100;
constexpr double kMiB = 1024.0 * 1024.0;
// A run that takes longer than this is stuck: it is stopped and fails.
constexpr auto kRunDeadline = std::chrono::minutes(10);

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Config {
    int size_mib = 256;
    int containers = 50;
    int reps = 3;
    bool quick = false;
    std::vector<std::string> systems = {"rusty", "conmon", "floor"};
    bool conmon_sync_log = false;

    bool wants(const std::string& system) const {
        return std::find(systems.begin(), systems.end(), system) != systems.end();
    }
    std::string json_path;
};

// One scenario: `containers` containers, each writing `lines` lines.
struct Workload {
    std::string label;  // "1 container", "50 containers": a table row and a JSON key
    int containers = 1;
    std::int64_t lines = 0;  // per container

    std::int64_t bytes() const { return lines * kLineBytes; }  // per container
    std::int64_t total_bytes() const { return bytes() * containers; }

    // The command of every container (and of the floor's processes). `gate`
    // is the FIFO to wait at: "/gate" inside a container.
    std::string script(const std::string& gate) const {
        return "read x < " + gate + "; yes " + std::string(kPayload) + " | head -c " + std::to_string(bytes());
    }
};

// What one run measured.
struct Sample {
    std::string system;    // "rusty", "conmon", "floor"
    std::string workload;  // Workload::label
    int rep = 0;
    int containers = 0;
    std::int64_t bytes = 0;    // container output, all containers
    double wall_s = 0;         // gate → exited and logged
    double exited_s = -1;      // gate → the last exit as the supervisor reported it (rusty: Exited event)
    double startup_s = 0;      // start of the run → gate (every container running)
    double cpu_s = 0;          // supervisor CPU, gate → end
    double cpu_life_s = 0;     // supervisor CPU, start of the run → end
    double helper_cpu_s = -1;  // rusty: the helper's part of both (gate → end); -1: not measured
    int threads = 0;           // conmon: the most threads one conmon had at the gate
    double teardown_s = -1;    // conmon: `runc delete` of every container after the end (off the clock)
    std::int64_t log_bytes = 0;
    std::int64_t records = 0;
    std::int64_t partial_records = 0;

    double mib_per_s() const { return static_cast<double>(bytes) / kMiB / wall_s; }
    double cpu_ms_per_mib() const { return cpu_s * 1000.0 / (static_cast<double>(bytes) / kMiB); }

    nlohmann::json to_json() const {
        return {{"system", system},
                {"workload", workload},
                {"rep", rep},
                {"containers", containers},
                {"bytes", bytes},
                {"wall_s", wall_s},
                {"exited_s", exited_s},
                {"startup_s", startup_s},
                {"mib_per_s", mib_per_s()},
                {"cpu_s", cpu_s},
                {"cpu_ms_per_mib", cpu_ms_per_mib()},
                {"cpu_life_s", cpu_life_s},
                {"helper_cpu_s", helper_cpu_s},
                {"supervisor_threads", threads},
                {"teardown_s", teardown_s},
                {"log_bytes", log_bytes},
                {"log_records", records},
                {"log_partial_records", partial_records}};
    }
};

// A sample of `system` running `w`, before anything is measured.
Sample new_sample(const char* system, const Workload& w, int rep) {
    Sample s;
    s.system = system;
    s.workload = w.label;
    s.rep = rep;
    s.containers = w.containers;
    s.bytes = w.total_bytes();
    return s;
}

// A log that does not hold exactly the lines written: the bench fails.
class LogMismatch : public Error {
public:
    using Error::Error;
};

// ---------------------------------------------------------------- CPU time

double to_s(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

// utime + stime of this process, all its threads (dead ones too).
double self_cpu_s() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return to_s(ru.ru_utime) + to_s(ru.ru_stime);
}

// The CPU time of process `pid`, all its threads alive now, in seconds:
// the sum of /proc/<pid>/task/*/schedstat's first field (the scheduler's
// runtime, in ns). Unlike utime and stime in /proc/<pid>/stat (whole clock
// ticks, 10 ms, truncated), it is exact for a process that ran 3 ms. Also
// valid for a zombie not yet reaped (its leader's task is still there).
// Its children are not included. -1 if it cannot be read; `threads`, if
// given, receives how many threads were summed.
double proc_cpu_s(pid_t pid, int* threads = nullptr) {
    std::error_code ec;
    double total = 0;
    int n = 0;
    for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::istringstream in(try_read_file(task.path() / "schedstat").value_or(""));
        unsigned long long ns = 0;
        if (!(in >> ns)) continue;
        total += static_cast<double>(ns) / 1e9;
        ++n;
    }
    if (threads) *threads = n;
    return n == 0 ? -1 : total;
}

// The children of this process, from /proc/self/task/*/children.
std::vector<pid_t> own_children() {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& task : fs::directory_iterator("/proc/self/task", ec)) {
        std::istringstream in(try_read_file(task.path() / "children").value_or(""));
        pid_t pid = 0;
        while (in >> pid) pids.push_back(pid);
    }
    return pids;
}

// ------------------------------------------------------------ log checking

struct LogCheck {
    std::int64_t file_bytes = 0;
    std::int64_t records = 0;
    std::int64_t partial_records = 0;
    std::int64_t lines = 0;
    std::string problem;  // empty: exactly the expected lines
};

// Reads a CRI log (`<timestamp> <stream> <P|F> <text>` per record, as rusty
// and conmon's k8s-file write it) and checks that it holds exactly
// `expected_lines` lines of kPayload on stdout: P pieces are joined to the
// line their F record ends.
LogCheck check_log(const fs::path& path, std::int64_t expected_lines) {
    LogCheck c;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        c.problem = "cannot open: " + errno_text(errno);
        return c;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) throw_sys("fstat(\"" + path.string() + "\")");
    c.file_bytes = st.st_size;
    if (st.st_size == 0) {
        if (expected_lines != 0) c.problem = "empty, expected " + std::to_string(expected_lines) + " lines";
        return c;
    }
    void* map = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (map == MAP_FAILED) throw_sys("mmap(\"" + path.string() + "\")");
    ::madvise(map, static_cast<std::size_t>(st.st_size), MADV_SEQUENTIAL);
    const char* p = static_cast<const char*>(map);
    const char* const end = p + st.st_size;
    std::size_t offset = 0;  // into kPayload, of the line being joined
    auto bad = [&](const char* record, std::size_t len, const std::string& what) {
        c.problem = "record " + std::to_string(c.records) + " (byte " +
                    std::to_string(record - static_cast<const char*>(map)) + "): " + what + ": \"" +
                    std::string(record, std::min<std::size_t>(len, 200)) + "\"";
    };
    while (p < end && c.problem.empty()) {
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        const std::size_t len = static_cast<std::size_t>((nl ? nl : end) - p);
        ++c.records;
        if (!nl) {
            bad(p, len, "the last record has no newline");
            break;
        }
        const std::string_view rec(p, len);
        p = nl + 1;
        const auto sp1 = rec.find(' ');
        const auto sp2 = sp1 == std::string_view::npos ? sp1 : rec.find(' ', sp1 + 1);
        if (sp2 == std::string_view::npos || sp2 + 2 > rec.size() || (rec.size() > sp2 + 2 && rec[sp2 + 2] != ' ')) {
            bad(rec.data(), len, "not <timestamp> <stream> <P|F> <text>");
            break;
        }
        if (rec.substr(sp1 + 1, sp2 - sp1 - 1) != "stdout") {
            bad(rec.data(), len, "not on stdout");
            break;
        }
        const char tag = rec[sp2 + 1];
        const std::string_view text = rec.size() > sp2 + 3 ? rec.substr(sp2 + 3) : std::string_view();
        if ((tag != 'P' && tag != 'F') || offset + text.size() > kPayload.size() ||
            text != kPayload.substr(offset, text.size())) {
            bad(rec.data(), len, "not a piece of the expected line");
            break;
        }
        if (tag == 'P') {
            ++c.partial_records;
            offset += text.size();
            continue;
        }
        if (offset + text.size() != kPayload.size()) {
            bad(rec.data(), len,
                "a line of " + std::to_string(offset + text.size()) + " characters, expected " +
                    std::to_string(kPayload.size()));
            break;
        }
        offset = 0;
        ++c.lines;
    }
    ::munmap(map, static_cast<std::size_t>(st.st_size));
    if (c.problem.empty() && offset != 0) c.problem = "ends inside a line (partial records without their F)";
    if (c.problem.empty() && c.lines != expected_lines)
        c.problem = std::to_string(c.lines) + " lines, expected " + std::to_string(expected_lines);
    return c;
}

// Checks every log of a run and adds up their sizes into `sample`; throws
// LogMismatch naming the first log that is not exact.
void check_logs(const std::string& system, const std::vector<fs::path>& logs, std::int64_t lines, Sample& sample) {
    for (const fs::path& log : logs) {
        LogCheck c = check_log(log, lines);
        if (!c.problem.empty())
            throw LogMismatch(system + ": the log \"" + log.string() +
                              "\" is not what the container wrote: " + c.problem + " (" + std::to_string(c.lines) +
                              " whole lines before, " + std::to_string(c.file_bytes) + " bytes)");
        sample.log_bytes += c.file_bytes;
        sample.records += c.records;
        sample.partial_records += c.partial_records;
    }
}

// ------------------------------------------------------------------ gate

// Where every container waits: a FIFO in the shared root filesystem
// ("/gate" inside). Each command starts with `read x < /gate`, and the bench
// writes one line per container once all are running: nobody polls, and
// there is no race, since this process keeps the FIFO open from arm() on, so
// a container that reaches its read late finds its line waiting.
class Gate {
public:
    explicit Gate(fs::path path) : path_(std::move(path)) {
        if (::mkfifo(path_.c_str(), 0644) < 0) throw_sys("mkfifo(\"" + path_.string() + "\")");
    }
    ~Gate() {
        close();
        ::unlink(path_.c_str());
    }
    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;

    // Before the containers start (after any fork that should not inherit it).
    void arm() {
        close();
        fd_.reset(::open(path_.c_str(), O_RDWR | O_CLOEXEC));  // O_RDWR: never waits for a reader
        if (!fd_) throw_sys("open(\"" + path_.string() + "\")");
    }
    // Lets `containers` readers through.
    void open(int containers) {
        const std::string lines(static_cast<std::size_t>(containers), '\n');
        if (!fd_ || ::write(fd_.get(), lines.data(), lines.size()) != static_cast<ssize_t>(lines.size()))
            throw_sys("write the gate \"" + path_.string() + "\"");
    }
    // Lines nobody read go with the pipe once no one holds it open.
    void close() { fd_.reset(); }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
    UniqueFd fd_;
};

// -------------------------------------------------------------- processes


// Starts argv[0] (an absolute path) with stdin on /dev/null, stdout and
// stderr on `out` and `err`, `fd3` (if any) as its fd 3, no other fd, and
// this environment plus `extra_env`.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, int out, int err,
            int fd3 = -1) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> env;
    for (char** e = environ; *e; ++e) env.push_back(*e);
    for (const std::string& e : extra_env) env.push_back(const_cast<char*>(e.c_str()));
    env.push_back(nullptr);
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null) throw_sys("open(\"/dev/null\")");

    const pid_t pid = ::fork();
    if (pid < 0) throw_sys("fork");
    if (pid == 0) {
        // Only async-signal-safe calls from here on.
        if (::dup2(null.get(), 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
        if (fd3 >= 0) {
            if (fd3 == 3 ? ::fcntl(3, F_SETFD, 0) < 0 : ::dup2(fd3, 3) < 0) ::_exit(126);
        }
        sys::raw_close_range(fd3 >= 0 ? 4 : 3, ~0U, 0);
        ::execve(args[0], args.data(), env.data());
        ::_exit(127);
    }
    return pid;
}

// Runs argv to its end; returns its wait status, its output in `output`.
int run_program(const std::vector<std::string>& argv, std::string& output) {
    sys::Pipe pipe = sys::make_pipe();
    const pid_t pid = spawn(argv, {}, pipe.write.get(), pipe.write.get());
    pipe.write.reset();
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(pipe.read.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        output.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by " + sys::signal_name(WTERMSIG(status));
    return "status " + std::to_string(status);
}

std::string first_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    return line.empty() ? text : line;
}

// Waits until every pidfd is readable (its process has exited, not yet
// reaped), or the deadline. Returns each one's exit time as seen here.
std::vector<Clock::time_point> wait_exits(const std::vector<int>& pidfds, Clock::time_point deadline) {
    std::vector<Clock::time_point> exited(pidfds.size());
    std::vector<bool> done(pidfds.size(), false);
    std::size_t left = pidfds.size();
    while (left > 0) {
        std::vector<pollfd> fds;
        std::vector<std::size_t> index;
        for (std::size_t i = 0; i < pidfds.size(); ++i) {
            if (done[i]) continue;
            fds.push_back({pidfds[i], POLLIN, 0});
            index.push_back(i);
        }
        const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (remaining.count() <= 0) throw Error("timed out waiting for " + std::to_string(left) + " processes to exit");
        const int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(remaining.count(), 60'000)));
        if (n < 0 && errno != EINTR) throw_sys("poll(pidfds)");
        const auto now = Clock::now();
        for (std::size_t k = 0; n > 0 && k < fds.size(); ++k) {
            if (!(fds[k].revents & (POLLIN | POLLHUP))) continue;
            done[index[k]] = true;
            exited[index[k]] = now;
            --left;
        }
    }
    return exited;
}

// ------------------------------------------------------------------ rusty

// Opens the gate once every container has started, records when, and
// checks every exit; stops the fleet if something goes wrong or it hangs.
class RustyObserver : public FleetObserver {
public:
    RustyObserver(int containers, Gate& gate, Fleet*& fleet) : containers_(containers), gate_(gate), fleet_(fleet) {}

    void on_event(const Event& e) override {
        if (!watchdog_ && fleet_) arm_watchdog();
        switch (e.kind) {
            case EventKind::Started:
                if (++started_ == containers_) open_gate();
                break;
            case EventKind::Exited:
                if (e.signal || e.exit_code != 0)
                    return fail(
                        e.container + " exited with " +
                        (e.signal ? sys::signal_name(*e.signal) : "code " + std::to_string(e.exit_code.value_or(-1))));
                if (++exited_ == containers_) {
                    last_exit = Clock::now();
                    if (watchdog_) watchdog_->cancel();
                }
                break;
            case EventKind::Failed:
                return fail(e.container + ": " + e.error);
            case EventKind::Oom:
                return fail(e.container + ": out of memory");
            default:
                break;
        }
    }
    // Output goes to the log file; the bench looks at nothing here.
    void on_output(const std::string&, OutputStream, std::string_view) override {}

    // Must go before the Fleet: the timer lives on its io_context.
    void disarm() { watchdog_.reset(); }

    bool gate_opened() const { return gate_open_; }
    int exited() const { return exited_; }

    pid_t helper = -1;  // the Fleet's helper process, once known
    Clock::time_point go{}, last_exit{};
    double cpu_go = 0, helper_go = -1;
    std::string failure;

private:
    void open_gate() {
        cpu_go = self_cpu_s();
        if (helper > 0) helper_go = proc_cpu_s(helper);
        try {
            gate_.open(containers_);
        } catch (const std::exception& ex) {
            return fail(ex.what());
        }
        go = Clock::now();
        gate_open_ = true;
    }

    void arm_watchdog() {
        watchdog_.emplace(fleet_->executor());
        watchdog_->expires_after(kRunDeadline);
        watchdog_->async_wait([this](const boost::system::error_code& ec) {
            if (!ec) fail("timed out after " + std::to_string(kRunDeadline.count()) + " minutes");
        });
    }

    void fail(std::string what) {
        if (failure.empty()) failure = std::move(what);
        if (watchdog_) watchdog_->cancel();
        if (!stopping_ && fleet_) {
            stopping_ = true;
            fleet_->request_stop();
        }
    }

    int containers_;
    Gate& gate_;
    Fleet*& fleet_;
    std::optional<boost::asio::steady_timer> watchdog_;
    int started_ = 0, exited_ = 0;
    bool gate_open_ = false, stopping_ = false;
};

Sample run_rusty(const Workload& w, int rep, const fs::path& rootfs, const fs::path& work, const std::string& cgroups,
                 Gate& gate) {
    FleetSpec spec;
    spec.name = "logs";
    spec.cgroup_parent = "/" + cgroups + "/rusty";
    for (int i = 0; i < w.containers; ++i) {
        ContainerSpec c;
        c.name = "c" + std::to_string(i);
        c.hostname = c.name;
        c.rootfs = rootfs;
        c.argv = {"/bin/sh", "-c", w.script("/gate")};
        c.logging.driver = LogDriver::Cri;
        c.logging.max_size = 0;  // no rotation: the whole output in one file
        spec.containers.push_back(std::move(c));
    }
    FleetOptions options;
    options.state_root = work / "rusty-state";
    options.stop_grace = std::chrono::milliseconds(0);
    options.handle_signals = false;
    options.control_socket = false;

    gate.close();  // left open by a failed run of another system
    Sample s = new_sample("rusty", w, rep);

    const std::vector<pid_t> before = own_children();
    Fleet* fleet_ptr = nullptr;
    RustyObserver obs(w.containers, gate, fleet_ptr);
    std::vector<fs::path> logs;
    {
        Fleet fleet(std::move(spec), options, obs);
        fleet_ptr = &fleet;
        // The helper: the child the Fleet's construction added.
        for (pid_t pid : own_children())
            if (std::find(before.begin(), before.end(), pid) == before.end()) obs.helper = pid;
        gate.arm();  // after the helper's fork: it must not hold the FIFO

        const auto t0 = Clock::now();
        const double cpu0 = self_cpu_s();
        const double helper0 = obs.helper > 0 ? proc_cpu_s(obs.helper) : -1;
        fleet.run();
        const auto t_end = Clock::now();
        const double cpu_end = self_cpu_s();
        const double helper_end = obs.helper > 0 ? proc_cpu_s(obs.helper) : -1;
        obs.disarm();
        fleet_ptr = nullptr;
        gate.close();

        if (!obs.failure.empty()) throw Error("rusty: " + obs.failure);
        if (!obs.gate_opened() || obs.exited() != w.containers)
            throw Error("rusty: the fleet ended with " + std::to_string(obs.exited()) + " of " +
                        std::to_string(w.containers) + " containers exited");
        s.startup_s = seconds(obs.go - t0);
        s.wall_s = seconds(t_end - obs.go);
        s.exited_s = seconds(obs.last_exit - obs.go);
        s.cpu_s = cpu_end - obs.cpu_go;
        s.cpu_life_s = cpu_end - cpu0;
        if (helper0 >= 0 && helper_end >= 0 && obs.helper_go >= 0) {
            s.helper_cpu_s = helper_end - obs.helper_go;
            s.cpu_s += s.helper_cpu_s;
            s.cpu_life_s += helper_end - helper0;
        }
        // Checked now, before the Fleet is gone: run() returning must mean
        // that every line is in the file.
        for (int i = 0; i < w.containers; ++i)
            logs.push_back(fleet.state_dir() / ("c" + std::to_string(i)) / "container.log");
        try {
            check_logs("rusty", logs, w.lines, s);
        } catch (const LogMismatch& e) {
            // Say whether the rest arrives later (written after run() returned).
            std::this_thread::sleep_for(std::chrono::seconds(1));
            std::string later;
            for (const fs::path& log : logs) {
                LogCheck c = check_log(log, w.lines);
                if (!c.problem.empty()) later += "\n  1 s later: " + log.string() + ": " + c.problem;
            }
            throw LogMismatch(std::string(e.what()) + (later.empty() ? "\n  1 s later every log was complete" : later));
        }
    }
    std::error_code ec;
    fs::remove_all(options.state_root, ec);
    return s;
}

// ----------------------------------------------------------------- conmon

// conmon and runc as this host has them, and a runc bundle template.
struct ConmonTools {
    fs::path conmon, runc;
    std::string conmon_version, runc_version;
    nlohmann::json spec_template;  // `runc spec`
    bool sync_log = false;         // leave conmon's fsync of the log at exit on
};

// Finds conmon and runc and makes the template; throws Error saying why not.
ConmonTools find_conmon(const fs::path& work) {
    ConmonTools t;
    t.conmon = bench::find_program("conmon");
    if (t.conmon.empty()) throw Error("no conmon in PATH (apt-get install conmon)");
    t.runc = bench::find_program("runc");
    if (t.runc.empty()) throw Error("no runc in PATH (apt-get install runc)");
    std::string out;
    int status = run_program({t.conmon.string(), "--version"}, out);
    if (status != 0) throw Error("conmon --version: " + describe_status(status) + ": " + out);
    t.conmon_version = first_line(out);
    out.clear();
    status = run_program({t.runc.string(), "--version"}, out);
    if (status != 0) throw Error("runc --version: " + describe_status(status) + ": " + out);
    t.runc_version = first_line(out);
    const fs::path dir = work / "runc-template";
    fs::create_directories(dir);
    out.clear();
    status = run_program({t.runc.string(), "spec", "--bundle", dir.string()}, out);
    if (status != 0) throw Error("runc spec: " + describe_status(status) + ": " + out);
    t.spec_template = nlohmann::json::parse(read_file(dir / "config.json"));
    return t;
}

// Runs containers under conmon + runc; whatever a run leaves behind (a
// conmon, a runc container) is ended and deleted by the destructor.
class ConmonSide {
public:
    ConmonSide(ConmonTools tools, fs::path work, std::string cgroups)
        : tools_(std::move(tools)), work_(std::move(work)), cgroups_(std::move(cgroups)) {
        fs::create_directories(runc_root());
    }
    ~ConmonSide() { clean_up(); }
    ConmonSide(const ConmonSide&) = delete;
    ConmonSide& operator=(const ConmonSide&) = delete;

    const ConmonTools& tools() const { return tools_; }

    Sample run(const Workload& w, int rep, const fs::path& rootfs, Gate& gate) {
        gate.close();
        Sample s = new_sample("conmon", w, rep);
        const fs::path dir = work_ / ("conmon-run-" + std::to_string(++runs_));
        const fs::path exits = dir / "exits", sockets = dir / "sockets";
        fs::create_directories(exits);
        fs::create_directories(sockets);

        struct One {
            std::string id;
            fs::path dir;
            pid_t pid = -1;
            UniqueFd pidfd, sync;
            double cpu_go = 0, cpu_end = 0;
        };
        std::vector<One> ones(static_cast<std::size_t>(w.containers));
        const auto t0 = Clock::now();
        gate.arm();
        for (int i = 0; i < w.containers; ++i) {
            One& one = ones[static_cast<std::size_t>(i)];
            one.id = "rusty-bench-logs-" + std::to_string(::getpid()) + "-" + std::to_string(runs_) + "-" +
                     std::to_string(i);
            one.dir = dir / ("c" + std::to_string(i));
            fs::create_directories(one.dir / "bundle");
            nlohmann::json config = tools_.spec_template;
            config["root"] = {{"path", rootfs.string()}, {"readonly", false}};
            config["process"]["args"] = {"/bin/sh", "-c", w.script("/gate")};
            config["process"]["terminal"] = false;
            config["hostname"] = "c" + std::to_string(i);
            config["linux"]["cgroupsPath"] = "/" + cgroups_ + "/conmon/" + one.id;
            std::ofstream(one.dir / "bundle" / "config.json") << config.dump(2) << "\n";

            // conmon tells the container's pid (or why runc create failed)
            // on _OCI_SYNCPIPE once the container is created.
            sys::Pipe sync = sys::make_pipe();
            UniqueFd out(::open((one.dir / "conmon.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
            if (!out) throw_sys("open conmon.out");
            // clang-format off
            std::vector<std::string> argv = {tools_.conmon.string(),
                                             "--sync",  // stays this process's child: its CPU is read before reaping
                                             "-c", one.id, "-u", one.id, "-n", one.id,
                                             "-r", tools_.runc.string(),
                                             "--runtime-arg", "--root=" + runc_root().string(),
                                             "-b", (one.dir / "bundle").string(),
                                             "-p", (one.dir / "pid").string(),
                                             "-l", "k8s-file:" + (one.dir / "container.log").string(),
                                             "--exit-dir", exits.string(),
                                             "--socket-dir-path", sockets.string(),
                                             "--log-level", "error"};
            // clang-format on
            if (!tools_.sync_log) argv.push_back("--no-sync-log");
            one.pid = spawn(argv, {"_OCI_SYNCPIPE=3"}, out.get(), out.get(), sync.write.get());
            live_conmons_.push_back(one.pid);
            live_ids_.push_back(one.id);
            one.pidfd = sys::pidfd_open(one.pid);
            one.sync = std::move(sync.read);
        }
        for (One& one : ones) {
            std::string msg;
            char buf[512];
            for (;;) {
                const ssize_t n = ::read(one.sync.get(), buf, sizeof buf);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                msg.append(buf, static_cast<std::size_t>(n));
                if (msg.find('\n') != std::string::npos) break;
            }
            one.sync.reset();
            auto j = nlohmann::json::parse(first_line(msg), nullptr, false);
            if (j.is_discarded() || !j.contains("pid") || j["pid"].get<long>() <= 0)
                throw Error("conmon " + one.id + ": runc create failed: " + (msg.empty() ? "no message" : msg) +
                            conmon_output(one.dir));
        }
        for (One& one : ones) {
            std::string out;
            const int status =
                run_program({tools_.runc.string(), "--root", runc_root().string(), "start", one.id}, out);
            if (status != 0) throw Error("runc start " + one.id + ": " + describe_status(status) + ": " + out);
        }
        for (One& one : ones) {
            int threads = 0;
            one.cpu_go = proc_cpu_s(one.pid, &threads);
            s.threads = std::max(s.threads, threads);
        }
        gate.open(w.containers);
        const auto go = Clock::now();

        std::vector<int> pidfds;
        for (const One& one : ones) pidfds.push_back(one.pidfd.get());
        const std::vector<Clock::time_point> exited = wait_exits(pidfds, go + kRunDeadline);
        const auto t_end = *std::max_element(exited.begin(), exited.end());
        gate.close();
        double cpu_go = 0, cpu_end = 0;
        for (One& one : ones) {
            // A zombie still, so its time is all there; but a thread that
            // ended before the process would be missing: conmon has one.
            int threads = 0;
            one.cpu_end = proc_cpu_s(one.pid, &threads);
            if (s.threads > 1)
                std::fprintf(stderr,
                             "rusty-bench-logs: conmon ran %d threads: the CPU of threads that ended before "
                             "it is not counted\n",
                             s.threads);
            if (one.cpu_go < 0 || one.cpu_end < 0) throw Error("conmon " + one.id + ": cannot read /proc/<pid>/stat");
            cpu_go += one.cpu_go;
            cpu_end += one.cpu_end;
        }
        const auto teardown = Clock::now();
        for (One& one : ones) {
            int status = 0;
            while (::waitpid(one.pid, &status, 0) < 0 && errno == EINTR) {
            }
            std::erase(live_conmons_, one.pid);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                throw Error("conmon " + one.id + ": " + describe_status(status) + conmon_output(one.dir));
            std::istringstream exit_file(try_read_file(exits / one.id).value_or(""));
            std::string code;
            exit_file >> code;
            if (code != "0") throw Error("conmon " + one.id + ": the container exited with \"" + code + "\"");
            delete_container(one.id);
        }
        s.teardown_s = seconds(Clock::now() - teardown);
        s.startup_s = seconds(go - t0);
        s.wall_s = seconds(t_end - go);
        s.cpu_s = cpu_end - cpu_go;
        s.cpu_life_s = cpu_end;

        std::vector<fs::path> logs;
        for (const One& one : ones) logs.push_back(one.dir / "container.log");
        check_logs("conmon", logs, w.lines, s);
        std::error_code ec;
        fs::remove_all(dir, ec);
        return s;
    }

private:
    fs::path runc_root() const { return work_ / "runc-root"; }

    static std::string conmon_output(const fs::path& dir) {
        const std::string text = try_read_file(dir / "conmon.out").value_or("");
        return text.empty() ? "" : "; conmon said: " + text.substr(0, 2000);
    }

    void delete_container(const std::string& id) {
        std::string out;
        const int status = run_program({tools_.runc.string(), "--root", runc_root().string(), "delete", "-f", id}, out);
        if (status != 0) throw Error("runc delete -f " + id + ": " + describe_status(status) + ": " + out);
        std::erase(live_ids_, id);
    }

    // After a failure: kill our conmons (only them, by pid: they are our
    // children, so the pid is still theirs until reaped), delete our runc
    // containers.
    void clean_up() {
        for (pid_t pid : live_conmons_) {
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
        live_conmons_.clear();
        for (const std::string& id : live_ids_) {
            std::string out;
            run_program({tools_.runc.string(), "--root", runc_root().string(), "delete", "-f", id}, out);
        }
        live_ids_.clear();
    }

    ConmonTools tools_;
    fs::path work_;
    std::string cgroups_;
    int runs_ = 0;
    std::vector<pid_t> live_conmons_;
    std::vector<std::string> live_ids_;
};

// ------------------------------------------------------------------ floor

// The same command on the host, each process's stdout a pipe that this
// process reads and drops: the workload's own speed, and the CPU a consumer
// pays just to read the pipes.
Sample run_floor(const Workload& w, int rep, Gate& gate) {
    gate.close();
    Sample s = new_sample("floor", w, rep);
    const fs::path busybox = image::kBusyboxBinary;
    struct One {
        pid_t pid = -1;
        UniqueFd out;
        std::int64_t bytes = 0;
    };
    std::vector<One> ones(static_cast<std::size_t>(w.containers));
    const auto t0 = Clock::now();
    const double cpu0 = self_cpu_s();
    gate.arm();
    for (One& one : ones) {
        sys::Pipe pipe = sys::make_pipe();
        one.pid = spawn({busybox.string(), "sh", "-c", w.script(gate.path().string())}, {}, pipe.write.get(), 2);
        one.out = std::move(pipe.read);
    }
    const double cpu_go = self_cpu_s();
    gate.open(w.containers);
    const auto go = Clock::now();
    std::vector<char> buf(1 << 16);
    std::size_t open = ones.size();
    while (open > 0) {
        std::vector<pollfd> fds;
        std::vector<One*> who;
        for (One& one : ones) {
            if (!one.out) continue;
            fds.push_back({one.out.get(), POLLIN, 0});
            who.push_back(&one);
        }
        if (::poll(fds.data(), fds.size(), 60'000) < 0 && errno != EINTR) throw_sys("poll");
        for (std::size_t k = 0; k < fds.size(); ++k) {
            if (!fds[k].revents) continue;
            const ssize_t n = ::read(fds[k].fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_sys("read");
            if (n == 0) {
                who[k]->out.reset();
                --open;
            } else {
                who[k]->bytes += n;
            }
        }
    }
    for (One& one : ones) {
        int status = 0;
        while (::waitpid(one.pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("floor: " + describe_status(status));
        if (one.bytes != w.bytes())
            throw Error("floor: read " + std::to_string(one.bytes) + " bytes, expected " + std::to_string(w.bytes()));
    }
    const auto t_end = Clock::now();
    const double cpu_end = self_cpu_s();
    gate.close();
    s.startup_s = seconds(go - t0);
    s.wall_s = seconds(t_end - go);
    s.cpu_s = cpu_end - cpu_go;
    s.cpu_life_s = cpu_end - cpu0;
    return s;
}

// ------------------------------------------------------------------ report

// Nearest rank, as bench/common.hpp: a value that was measured.
double median(const std::vector<double>& v) { return bench::summarize(v).p50; }

struct Row {
    double mib_s = 0, mib_s_min = 0, mib_s_max = 0, cpu_ms = 0, cpu_ms_min = 0, cpu_ms_max = 0, wall_s = 0,
           cpu_life_s = 0, startup_s = 0;
    std::size_t n = 0;
};

Row summarize(const std::vector<Sample>& samples, const std::string& system, const std::string& workload) {
    std::vector<double> rate, cpu, wall, life, startup;
    for (const Sample& s : samples) {
        if (s.system != system || s.workload != workload) continue;
        rate.push_back(s.mib_per_s());
        cpu.push_back(s.cpu_ms_per_mib());
        wall.push_back(s.wall_s);
        life.push_back(s.cpu_life_s);
        startup.push_back(s.startup_s);
    }
    Row r;
    r.n = rate.size();
    if (rate.empty()) return r;
    r.mib_s = median(rate);
    r.mib_s_min = *std::min_element(rate.begin(), rate.end());
    r.mib_s_max = *std::max_element(rate.begin(), rate.end());
    r.cpu_ms = median(cpu);
    r.cpu_ms_min = *std::min_element(cpu.begin(), cpu.end());
    r.cpu_ms_max = *std::max_element(cpu.begin(), cpu.end());
    r.wall_s = median(wall);
    r.cpu_life_s = median(life);
    r.startup_s = median(startup);
    return r;
}

nlohmann::json to_json(const Row& r) {
    return {{"n", r.n},
            {"mib_per_s_median", r.mib_s},
            {"mib_per_s_min", r.mib_s_min},
            {"mib_per_s_max", r.mib_s_max},
            {"cpu_ms_per_mib_median", r.cpu_ms},
            {"cpu_ms_per_mib_min", r.cpu_ms_min},
            {"cpu_ms_per_mib_max", r.cpu_ms_max},
            {"wall_s_median", r.wall_s},
            {"cpu_life_s_median", r.cpu_life_s},
            {"startup_s_median", r.startup_s}};
}

std::string size_text(std::int64_t bytes) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / kMiB);
    return buf;
}

// ------------------------------------------------------------------- main

int run(const Config& cfg) {
    double load[1] = {-1};
    ::getloadavg(load, 1);

    bench::TempDir work("rusty-bench-logs");
    const fs::path rootfs = work.path() / "rootfs";
    fs::create_directory(rootfs);
    image::build_busybox_rootfs(rootfs, image::kBusyboxBinary);
    Gate gate(rootfs / "gate");
    bench::CgroupTree cgroups("rusty-bench-logs-" + std::to_string(::getpid()));

    const std::int64_t total_lines = static_cast<std::int64_t>(cfg.size_mib) * 1024 * 1024 / kLineBytes;
    std::vector<Workload> workloads = {
        {"1 container", 1, total_lines},
        {std::to_string(cfg.containers) + " containers", cfg.containers, total_lines / cfg.containers},
    };

    std::optional<ConmonSide> conmon;
    std::string conmon_reason;
    if (!cfg.wants("conmon")) {
        conmon_reason = "not asked for (--systems)";
    } else {
        try {
            ConmonTools tools = find_conmon(work.path());
            tools.sync_log = cfg.conmon_sync_log;
            conmon.emplace(std::move(tools), work.path(), cgroups.top());
        } catch (const std::exception& e) {
            conmon_reason = e.what();
        }
    }

    // Warm-up, not recorded: page cache, binaries, the first cgroups.
    const Workload warm{"warm-up", 1, 10'000};
    if (cfg.wants("rusty")) run_rusty(warm, 0, rootfs, work.path(), cgroups.top(), gate);
    if (conmon) {
        try {
            conmon->run(warm, 0, rootfs, gate);
        } catch (const LogMismatch&) {
            throw;
        } catch (const std::exception& e) {
            conmon_reason = std::string("it does not run here: ") + e.what();
            conmon.reset();
        }
    }
    ::sync();

    std::printf("rusty-bench-logs: %s per workload in 100-byte lines, %d interleaved repetitions\n",
                size_text(total_lines * kLineBytes).c_str(), cfg.reps);
    std::fflush(stdout);
    std::vector<Sample> samples;
    for (const Workload& w : workloads) {
        for (int rep = 1; rep <= cfg.reps; ++rep) {
            auto record = [&](Sample s) {
                std::fprintf(stderr, "  %-14s %-6s rep %d: %8.1f MiB/s, %7.3f s, CPU %.3f s (%.2f ms/MiB)\n",
                             w.label.c_str(), s.system.c_str(), rep, s.mib_per_s(), s.wall_s, s.cpu_s,
                             s.cpu_ms_per_mib());
                samples.push_back(std::move(s));
                ::sync();  // the next run starts with no dirty pages of this one
            };
            if (cfg.wants("rusty")) record(run_rusty(w, rep, rootfs, work.path(), cgroups.top(), gate));
            if (conmon) {
                try {
                    record(conmon->run(w, rep, rootfs, gate));
                } catch (const LogMismatch&) {
                    throw;
                } catch (const std::exception& e) {
                    conmon_reason = std::string("failed during the measurement: ") + e.what();
                    conmon.reset();
                }
            }
            if (cfg.wants("floor")) record(run_floor(w, rep, gate));
        }
    }
    const std::string conmon_version =
        conmon ? conmon->tools().conmon_version + ", " + conmon->tools().runc_version : "";
    conmon.reset();  // ends and deletes anything of it left

    // The table.
    std::printf(
        "  workload: sh -c 'read x < /gate; yes <99 chars> | head -c BYTES' in a busybox rootfs; timed from the "
        "gate\n  (a FIFO, opened once every container runs) to all exited and logged; CRI log, no rotation\n");
    std::printf("  %-28s %-7s %28s %26s %10s\n", "", "", "MiB/s median (min-max)", "CPU ms/MiB median (min-max)",
                "CPU s life");
    nlohmann::json summary;
    for (const Workload& w : workloads) {
        std::string label = w.label + " x " + size_text(w.bytes());  // on the first row printed
        for (const std::string system : {"rusty", "conmon", "floor"}) {
            const Row r = summarize(samples, system, w.label);
            if (r.n == 0) {
                if (system == "conmon") {
                    std::printf("  %-28s %-7s not measured: %s\n", label.c_str(), system.c_str(),
                                conmon_reason.c_str());
                    label.clear();
                }
                continue;
            }
            char rate[64], cpu[64];
            std::snprintf(rate, sizeof rate, "%.1f (%.1f-%.1f)", r.mib_s, r.mib_s_min, r.mib_s_max);
            std::snprintf(cpu, sizeof cpu, "%.2f (%.2f-%.2f)", r.cpu_ms, r.cpu_ms_min, r.cpu_ms_max);
            std::printf("  %-28s %-7s %28s %26s %10.3f\n", label.c_str(), system.c_str(), rate, cpu, r.cpu_life_s);
            label.clear();
            summary[w.label][system] = to_json(r);
        }
    }
    std::printf(
        "  CPU: the supervisor's utime+stime from the gate to the end, per MiB of container output (x1.024 = "
        "s per GiB):\n  rusty = this process (the fleet runs in it) + its helper process; conmon = the conmon "
        "processes (not runc, not the containers);\n  floor = this process reading the pipes and dropping "
        "the data. \"life\": the same from the start of the run (setup included).\n");
    if (!conmon_reason.empty())
        std::printf("  conmon: not measured: %s\n", conmon_reason.c_str());
    else
        std::printf("  conmon: %s, k8s-file log%s\n", conmon_version.c_str(),
                    cfg.conmon_sync_log ? ", fsync at exit (conmon's default)" : ", --no-sync-log");
    std::printf("  load average (1 min) at the start: %.2f on %ld CPUs\n", load[0], ::sysconf(_SC_NPROCESSORS_ONLN));
    std::fflush(stdout);

    if (!cfg.json_path.empty()) {
        utsname uts{};
        ::uname(&uts);
        nlohmann::json rows = nlohmann::json::array();
        for (const Sample& s : samples) rows.push_back(s.to_json());
        nlohmann::json wl = nlohmann::json::array();
        for (const Workload& w : workloads)
            wl.push_back({{"label", w.label},
                          {"containers", w.containers},
                          {"lines_per_container", w.lines},
                          {"bytes_per_container", w.bytes()},
                          {"command", {"/bin/sh", "-c", w.script("/gate")}}});
        bench::write_json(cfg.json_path,
                          {{"benchmark", "rusty-bench-logs"},
                           {"kernel", uts.release},
                           {"config",
                            {{"size_mib", cfg.size_mib},
                             {"reps", cfg.reps},
                             {"line_bytes", kLineBytes},
                             {"workloads", wl},
                             {"loadavg_1min", load[0]},
                             {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
                             {"log_dir", work.path().string()},
                             {"conmon", conmon_reason.empty() ? nlohmann::json(conmon_version)
                                                              : nlohmann::json("not measured: " + conmon_reason)},
                             {"conmon_sync_log", cfg.conmon_sync_log}}},
                           {"samples", std::move(rows)},
                           {"summary", std::move(summary)}});
    }

    const std::vector<std::string> left = cgroups.remove();
    if (!left.empty()) {
        std::string list;
        for (const std::string& dir : left) list += " " + dir;
        throw Error("cgroups left behind:" + list);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "Log capture throughput and its CPU cost, rusty against conmon (+ runc): one container, then many "
        "at once, writing 100-byte lines to stdout into a CRI log file."};
    Config cfg;
    app.add_option("-m,--size", cfg.size_mib, "MiB of output per workload (whole 100-byte lines); default 256")
        ->check(CLI::Range(1, 65536));
    app.add_option("-n,--containers", cfg.containers, "containers of the second workload, M/N MiB each; default 50")
        ->check(CLI::Range(2, 1000));
    app.add_option("-r,--reps", cfg.reps, "interleaved repetitions; default 3")->check(CLI::Range(1, 100));
    app.add_flag("--quick", cfg.quick, "8 MiB, 2 repetitions unless given (for CI)");
    app.add_option("--systems", cfg.systems,
                   "which to run, of rusty, conmon, floor (the command on the host, its output read and dropped); "
                   "default all three")
        ->delimiter(',')
        ->check(CLI::IsMember({"rusty", "conmon", "floor"}));
    app.add_flag("--conmon-sync-log", cfg.conmon_sync_log,
                 "let conmon fsync the log at exit (its default); without it conmon runs with --no-sync-log");
    app.add_option("--json", cfg.json_path, "write every sample and the summary to FILE");
    CLI11_PARSE(app, argc, argv);
    if (cfg.quick) {
        if (app.count("--size") == 0) cfg.size_mib = 8;
        if (app.count("--reps") == 0) cfg.reps = 2;
    }
    return bench::run_as_root("rusty-bench-logs", [&] { return run(cfg); });
}
