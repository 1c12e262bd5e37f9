// rusty-bench-restart: how fast the supervisor replaces a container that
// exited. Runs a Fleet through the library (as rusty-supervisor runs it) with
// one container, restart: always and no backoff, whose command is
// rusty-bench-stamp (bench/stamp.cpp): a static program that prints
// CLOCK_MONOTONIC and exits 1 at once. The container has no time namespace,
// so its clock is the host's, and each run's line is both the time of its
// exec and, within microseconds, the time of its exit. For consecutive runs
// n and n+1:
//
//   exit-to-exec     stamp(n+1) - stamp(n): the whole reaction, from the
//                    container's exit to its replacement's exec (plus the
//                    stamp program's own startup and exit, microseconds);
//   exit-seen        Exited(n) as the observer sees it - stamp(n): how long
//                    the exit took to be final (reaped, output drained,
//                    cgroup empty and removed);
//   exited-to-start  Started(n+1) - Exited(n), both as the observer sees
//                    them: the supervisor's part once it knows the exit;
//   started-lag      Started(n+1) - stamp(n+1): how long after the exec the
//                    observer hears of it (exit-to-exec = exit-seen +
//                    exited-to-start - started-lag).
//
// The target (issue: "exit-to-restart reaction") is exit-to-exec p50 ≤ 1 ms.
//
// --flood runs a second container beside it, busybox `yes` writing a 70-byte
// line as fast as it can into its rotated log (4 MiB, 2 files): the restarts
// must not wait for another container's output. Its bound is the median at
// most 10 ms (the restarts go through the same reactor as the flood's reads,
// one read per wake-up).
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "bench/common.hpp"
#include "core/spec.hpp"
#include "lifecycle/fleet.hpp"

namespace fs = std::filesystem;
using namespace rusty;

#ifndef RUSTY_BENCH_STAMP_BIN
#define RUSTY_BENCH_STAMP_BIN ""
#endif

namespace {

constexpr double kTargetP50Ms = 1.0;
constexpr double kFloodTargetP50Ms = 10.0;
constexpr std::int64_t kMemoryLimit = 64 << 20;
constexpr std::int64_t kPidsLimit = 1000;

struct Config {
    int count = 200;
    int warmup = 5;
    bool limits = false;
    bool flood = false;  // a container writing flat out beside the restarting one
    bool quick = false;
    std::string json_path;
    std::string stamp;  // empty: rusty-bench-stamp next to this program, else the build's
};

// The same clock as the stamps (CLOCK_MONOTONIC), in nanoseconds.
std::int64_t mono_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double ns_to_ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

// Records, per run (the event's `restarts`), its stamp and when the observer
// heard of its start and of its exit; stops the fleet once it has enough.
class RestartObserver : public FleetObserver {
public:
    RestartObserver(int runs_needed, Fleet*& fleet) : runs_needed_(runs_needed), fleet_(fleet) {}

    void on_event(const Event& e) override {
        const std::int64_t now = mono_ns();
        if (stopping_) return;  // the run the stop cuts short is not measured
        if (e.container != "stamp") {
            if (e.kind == EventKind::Failed) fail(e.container + " failed: " + e.error);
            return;
        }
        const std::size_t run = e.restarts;
        switch (e.kind) {
            case EventKind::Started:
                if (run != started.size()) return fail("Started of run " + std::to_string(run) + ", expected " +
                                                       std::to_string(started.size()));
                started.push_back(now);
                break;
            case EventKind::Exited:
                if (run != exited.size()) return fail("Exited of run " + std::to_string(run) + ", expected " +
                                                      std::to_string(exited.size()));
                if (e.signal) return fail("run " + std::to_string(run) + " killed by signal " + std::to_string(*e.signal));
                if (e.exit_code != 1)
                    return fail("run " + std::to_string(run) + " exited with " +
                                (e.exit_code ? std::to_string(*e.exit_code) : "no code") + ", expected 1");
                // Exited comes once the output is drained: the line is in.
                if (stamps.size() != run + 1)
                    return fail("run " + std::to_string(run) + " exited with " + std::to_string(stamps.size()) +
                                " stamps read, expected " + std::to_string(run + 1));
                exited.push_back(now);
                break;
            case EventKind::Failed:
                return fail("failed: " + e.error);
            case EventKind::GaveUp:
                return fail("gave up: " + e.reason);
            default:
                break;
        }
        check_done();
    }

    void on_output(const std::string& container, OutputStream stream, std::string_view line) override {
        if (stopping_ || container != "stamp") return;
        if (stream == OutputStream::Stderr) {
            if (stderr_tail.size() < 4096) stderr_tail.append(line).append("\n");
            return;
        }
        std::int64_t ns = 0;
        auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), ns);
        if (ec != std::errc() || end != line.data() + line.size())
            return fail("not a stamp on stdout: \"" + std::string(line) + "\"");
        stamps.push_back(ns);
        check_done();
    }

    std::vector<std::int64_t> stamps, started, exited;  // indexed by run
    std::string failure;
    std::string stderr_tail;

private:
    // Sample n needs stamp(n+1) and Started(n+1) (Exited(n) came before both).
    void check_done() {
        const std::size_t need = static_cast<std::size_t>(runs_needed_);
        if (stamps.size() >= need && started.size() >= need) stop();
    }

    void fail(std::string what) {
        if (failure.empty()) failure = std::move(what);
        stop();
    }

    void stop() {
        if (stopping_) return;
        stopping_ = true;
        if (fleet_) fleet_->request_stop();
    }

    int runs_needed_;
    Fleet*& fleet_;
    bool stopping_ = false;
};

fs::path stamp_binary(const Config& cfg) {
    if (!cfg.stamp.empty()) return cfg.stamp;
    std::error_code ec;
    fs::path beside = fs::read_symlink("/proc/self/exe", ec).parent_path() / "rusty-bench-stamp";
    if (!ec && fs::exists(beside)) return beside;
    return RUSTY_BENCH_STAMP_BIN;
}

struct Row {
    const char* name;
    std::vector<double> values;
};

int run(const Config& cfg) {
    const fs::path stamp = stamp_binary(cfg);
    if (stamp.empty() || !fs::is_regular_file(stamp))
        throw Error("no stamp program at \"" + stamp.string() + "\" (build rusty-bench-stamp, or pass --stamp)");

    bench::TempDir root("rusty-bench-restart");
    // A root filesystem of one file: the init makes /proc, /dev and /sys.
    const fs::path rootfs = root.path() / "rootfs";
    fs::create_directory(rootfs);
    fs::copy_file(stamp, rootfs / "stamp");
    fs::permissions(rootfs / "stamp", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                          fs::perms::others_read | fs::perms::others_exec);

    FleetSpec spec;
    spec.name = "restart";
    spec.cgroup_parent = "/rusty-bench-" + std::to_string(::getpid());
    ContainerSpec c;
    c.name = "stamp";
    c.hostname = c.name;
    c.rootfs = rootfs;
    c.argv = {"/stamp"};
    c.restart.policy = RestartPolicy::Always;
    c.restart.initial = c.restart.max = std::chrono::milliseconds(0);  // no backoff: restarted at once
    if (cfg.limits) {
        c.resources.memory = kMemoryLimit;
        c.resources.pids = kPidsLimit;
    }
    spec.containers.push_back(std::move(c));
    if (cfg.flood) {
        ContainerSpec flood;
        flood.name = "flood";
        flood.hostname = flood.name;
        flood.image = "busybox";
        flood.argv = {"yes", "0123456789012345678901234567890123456789012345678901234567890123456789"};
        flood.logging.max_size = 4 << 20;
        flood.logging.max_file = 2;
        spec.containers.push_back(std::move(flood));
    }

    // This host may be shared: say how busy it was (the figures are wall-clock times).
    double load[1] = {-1};
    ::getloadavg(load, 1);

    FleetOptions options;
    options.state_root = root.path() / "state";
    options.stop_grace = std::chrono::milliseconds(0);
    options.handle_signals = false;
    options.control_socket = false;

    // Runs 0 … warmup+count: sample n pairs run n with run n+1.
    const int runs_needed = cfg.warmup + cfg.count + 1;
    Fleet* fleet_ptr = nullptr;
    RestartObserver obs(runs_needed, fleet_ptr);
    {
        Fleet fleet(std::move(spec), options, obs);
        fleet_ptr = &fleet;
        fleet.run();
        fleet_ptr = nullptr;
    }
    if (!obs.failure.empty()) {
        std::string what = obs.failure;
        if (!obs.stderr_tail.empty()) what += "\n  stderr: " + obs.stderr_tail;
        throw Error(what);
    }
    if (static_cast<int>(obs.stamps.size()) < runs_needed || static_cast<int>(obs.started.size()) < runs_needed ||
        static_cast<int>(obs.exited.size()) < runs_needed - 1)
        throw Error("the fleet ended after " + std::to_string(obs.stamps.size()) + " runs, before it was measured");

    Row total{"exit-to-exec", {}}, seen{"exit-seen", {}}, restart{"exited-to-start", {}}, lag{"started-lag", {}};
    nlohmann::json rows = nlohmann::json::array();
    for (int i = 0; i < cfg.count; ++i) {
        const std::size_t n = static_cast<std::size_t>(cfg.warmup + i);
        const double t = ns_to_ms(obs.stamps[n + 1] - obs.stamps[n]);
        const double s = ns_to_ms(obs.exited[n] - obs.stamps[n]);
        const double r = ns_to_ms(obs.started[n + 1] - obs.exited[n]);
        const double l = ns_to_ms(obs.started[n + 1] - obs.stamps[n + 1]);
        total.values.push_back(t);
        seen.values.push_back(s);
        restart.values.push_back(r);
        lag.values.push_back(l);
        rows.push_back({{"run", n},
                        {"stamp_ns", obs.stamps[n]},
                        {"next_stamp_ns", obs.stamps[n + 1]},
                        {"exit_to_exec_ms", t},
                        {"exit_seen_ms", s},
                        {"exited_to_started_ms", r},
                        {"started_lag_ms", l}});
    }
    const std::vector<Row*> table = {&total, &seen, &restart, &lag};

    const std::string limits_text = std::string(cfg.limits ? "limits (memory 64 MiB, pids 1000)" : "no limits") +
                                    (cfg.flood ? ", beside a container writing flat out" : "");
    std::printf("rusty-bench-restart: exit of a container to its replacement's exec; static /stamp on a bind-mounted "
                "rootfs, restart always, no backoff, network none, own cgroup, %s (n=%d, warmup %d, milliseconds)\n",
                limits_text.c_str(), cfg.count, cfg.warmup);
    std::printf("  %-18s %8s %8s %8s %8s %8s %8s\n", "", "min", "p50", "p95", "p99", "max", "mean");
    nlohmann::json summary;
    for (const Row* row : table) {
        const bench::Summary s = bench::summarize(row->values);
        std::printf("  %-18s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f\n", row->name, s.min, s.p50, s.p95, s.p99, s.max,
                    s.mean);
        summary[row->name] = bench::to_json(s);
    }
    const double p50 = bench::summarize(total.values).p50;
    const double target = cfg.flood ? kFloodTargetP50Ms : kTargetP50Ms;
    const bool met = p50 <= target;
    std::printf("  exit-to-exec = stamp(n+1) - stamp(n), including the stamp program's own start and exit "
                "(microseconds);\n"
                "  exit-seen = stamp(n) to the observer's Exited(n); exited-to-start = Exited(n) to Started(n+1);\n"
                "  started-lag = stamp(n+1) to the observer's Started(n+1).\n");
    std::printf("  load average (1 min) at the start: %.2f on %ld CPUs\n", load[0], ::sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("  target: exit-to-exec p50 <= %.1f ms%s: %s (p50 %.3f ms)\n", target, cfg.flood ? " under the flood" : "",
                met ? "met" : "NOT met", p50);
    std::fflush(stdout);

    if (!cfg.json_path.empty()) {
        utsname uts{};
        ::uname(&uts);
        nlohmann::json config = {{"count", cfg.count},
                                 {"warmup", cfg.warmup},
                                 {"rootfs", "bind"},
                                 {"network", "none"},
                                 {"flood", cfg.flood},
                                 {"loadavg_1min", load[0]},
                                 {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
                                 {"cgroup_parent", "/rusty-bench-" + std::to_string(::getpid())},
                                 {"limits", cfg.limits ? nlohmann::json{{"memory", kMemoryLimit}, {"pids", kPidsLimit}}
                                                       : nlohmann::json(nullptr)}};
        bench::write_json(cfg.json_path, {{"benchmark", "rusty-bench-restart"},
                                          {"kernel", uts.release},
                                          {"config", std::move(config)},
                                          {"target", {{"exit_to_exec_p50_ms", target}, {"met", met}}},
                                          {"samples", std::move(rows)},
                                          {"summary", std::move(summary)}});
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Runs one container that prints CLOCK_MONOTONIC and exits, restarted at once by the fleet, and "
                 "prints the exit-to-replacement's-exec reaction in percentiles."};
    Config cfg;
    app.add_option("-n,--count", cfg.count, "recorded restarts")->check(CLI::PositiveNumber);
    app.add_option("--warmup", cfg.warmup, "restarts run first and not recorded")->check(CLI::NonNegativeNumber);
    app.add_flag("--limits", cfg.limits, "set mem_limit 64 MiB and pids_limit 1000 on the container");
    app.add_flag("--flood", cfg.flood, "run a container writing its log flat out beside it (target: p50 <= 10 ms)");
    app.add_flag("--quick", cfg.quick, "n=10, warmup 1 (for CI)");
    app.add_option("--json", cfg.json_path, "write every sample and the summary to FILE");
    app.add_option("--stamp", cfg.stamp, "the stamp program (default: rusty-bench-stamp beside this program)");
    CLI11_PARSE(app, argc, argv);
    if (cfg.quick) {
        cfg.count = 10;
        cfg.warmup = 1;
    }
    return bench::run_as_root("rusty-bench-restart", [&] { return run(cfg); });
}
