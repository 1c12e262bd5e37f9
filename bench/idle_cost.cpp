// rusty-bench-idle: what a fleet of sleeping containers costs its
// supervisor. Starts N containers running `sleep` through the library (a
// Fleet, as rusty-supervisor runs it), lets them settle, then measures the
// supervisor's resident memory (and the helper's) and the CPU time the
// supervisor's process uses over an idle window: with nothing happening,
// the reactor should not wake up at all.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <sstream>

#include "bench/common.hpp"
#include "core/file.hpp"
#include "core/spec.hpp"
#include "lifecycle/fleet.hpp"
#include "reactor/awaitable.hpp"

using namespace rusty;

namespace {

struct Config {
    int containers = 100;
    int idle_seconds = 10;
    std::string json_path;
};

// VmRSS of `pid` in KiB, from /proc/<pid>/status.
long rss_kib(pid_t pid) {
    std::istringstream in(try_read_file("/proc/" + std::to_string(pid) + "/status").value_or(""));
    std::string key;
    long value = 0;
    while (in >> key) {
        if (key == "VmRSS:") {
            in >> value;
            return value;
        }
        in.ignore(1 << 16, '\n');
    }
    return -1;
}

// utime + stime of this process in clock ticks, from /proc/self/stat.
long cpu_ticks() {
    const std::string stat = read_file("/proc/self/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 14) utime = std::stol(field);
        if (i == 15) {
            stime = std::stol(field);
            break;
        }
    }
    return utime + stime;
}

// Counts the containers started; once all are, measures on the reactor.
class IdleObserver : public FleetObserver {
public:
    IdleObserver(const Config& cfg, Fleet*& fleet) : cfg_(cfg), fleet_(fleet) {}

    void on_event(const Event& e) override {
        if (e.kind == EventKind::Failed) {
            failure = e.container + ": " + e.error;
            if (fleet_) fleet_->request_stop();
        }
        if (e.kind != EventKind::Started || ++started_ != cfg_.containers) return;
        boost::asio::co_spawn(fleet_->executor(), measure(), boost::asio::detached);
    }

    reactor::Task<void> measure() {
        co_await reactor::sleep_for(std::chrono::seconds(1));  // let the last starts settle
        rss_before = rss_kib(::getpid());
        const long ticks_before = cpu_ticks();
        // One timer, so the window itself costs one wake-up at its end.
        co_await reactor::sleep_for(std::chrono::seconds(cfg_.idle_seconds));
        idle_ticks = cpu_ticks() - ticks_before;
        rss_after = rss_kib(::getpid());
        measured = true;
        fleet_->request_stop();
    }

    std::string failure;
    bool measured = false;
    long rss_before = 0, rss_after = 0, idle_ticks = -1;

private:
    const Config& cfg_;
    Fleet*& fleet_;
    int started_ = 0;
};

int run(const Config& cfg) {
    bench::TempDir root("rusty-bench-idle");
    FleetSpec spec;
    spec.name = "idle";
    spec.cgroup_parent = "/rusty-bench-" + std::to_string(::getpid());
    for (int i = 0; i < cfg.containers; ++i) {
        ContainerSpec c;
        c.name = "sleeper-" + std::to_string(i);
        c.hostname = c.name;
        c.image = "busybox";
        c.argv = {"sleep", "100000"};
        spec.containers.push_back(std::move(c));
    }
    FleetOptions options;
    options.state_root = root.path();
    options.stop_grace = std::chrono::milliseconds(0);  // sleep does not handle SIGTERM anyway
    options.handle_signals = false;

    Fleet* fleet_ptr = nullptr;
    IdleObserver observer(cfg, fleet_ptr);
    Fleet fleet(std::move(spec), options, observer);
    fleet_ptr = &fleet;
    fleet.run();
    if (!observer.failure.empty()) throw Error(observer.failure);
    if (!observer.measured) throw Error("the fleet ended before it was measured");

    const long tick_hz = ::sysconf(_SC_CLK_TCK);
    std::printf("rusty-bench-idle: %d sleeping containers, %d s idle window\n", cfg.containers, cfg.idle_seconds);
    std::printf("  supervisor RSS       %8.1f MiB  (%.1f KiB per container; %.1f MiB after the window)\n",
                static_cast<double>(observer.rss_before) / 1024,
                static_cast<double>(observer.rss_before) / cfg.containers,
                static_cast<double>(observer.rss_after) / 1024);
    std::printf("  CPU while idle       %8ld ticks of 1/%ld s (the window's own timer included)\n",
                observer.idle_ticks, tick_hz);
    if (!cfg.json_path.empty()) {
        nlohmann::json j = {{"benchmark", "rusty-bench-idle"},
                            {"containers", cfg.containers},
                            {"idle_seconds", cfg.idle_seconds},
                            {"rss_kib", observer.rss_before},
                            {"rss_kib_after", observer.rss_after},
                            {"idle_cpu_ticks", observer.idle_ticks},
                            {"clock_ticks_per_second", tick_hz}};
        bench::write_json(cfg.json_path, j);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Starts N sleeping containers in one fleet and measures the supervisor's memory and its CPU "
                 "use while nothing happens."};
    Config cfg;
    app.add_option("-n,--containers", cfg.containers, "sleeping containers")->check(CLI::Range(1, 5000));
    app.add_option("--idle", cfg.idle_seconds, "seconds of idle to measure CPU over")->check(CLI::Range(1, 600));
    app.add_option("--json", cfg.json_path, "write the figures as JSON to FILE");
    bool quick = false;
    app.add_flag("--quick", quick, "10 containers, 1 s (for CI)");
    CLI11_PARSE(app, argc, argv);
    if (quick) {
        cfg.containers = 10;
        cfg.idle_seconds = 1;
    }
    return bench::run_as_root("rusty-bench-idle", [&] { return run(cfg); });
}
