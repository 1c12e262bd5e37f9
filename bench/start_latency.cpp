// rusty-bench-start: starts N /bin/true containers one after another through
// the library (HelperProcess, HelperClient, ContainerActor: what a Fleet
// does for one container) and prints start-to-running and start-to-exit
// latency percentiles. Compare with rusty-bench-floor, the same namespaces
// and root switch with nothing else.
//
// By default each container gets its cgroup as in a fleet (--cgroup own): a
// FleetCgroups under /rusty-bench-<pid>/bench, from the host's layout, so the
// clock covers creating the cgroup, placing the init in it, waiting for it to
// empty and removing it. --limits adds a memory and a pids limit (on a hybrid
// host: v1 cgroups that the init joins by writing cgroup.procs). --pool N
// starts them from a start pool of N stubs, as a fleet does by default
// (lifecycle/stub_pool.hpp): with --idle-ms, the pool refills between starts.
//
// Each run's phases come from the program's own clocks (the run's and the
// init's, lifecycle::RunSteps): their medians are printed after the
// percentiles and stored in the JSON report as "phases_p50_ms".
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstdio>
#include <map>
#include <optional>

#include "bench/common.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/layout.hpp"
#include "cgroup/limits.hpp"
#include "image/image_store.hpp"
#include "lifecycle/container_actor.hpp"
#include "lifecycle/helper_fork.hpp"
#include "lifecycle/stub_pool.hpp"
#include "reactor/awaitable.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace rusty;
using bench::Clock;

namespace {

struct Config {
    bench::CommonOptions common;
    bool read_only = false;
    std::string root;            // empty: a temporary directory
    std::string cgroup = "own";  // own: a cgroup per container, as in a fleet; none: no cgroup
    bool limits = false;         // memory 64 MiB and pids 1000 on each container
    unsigned pool = 0;           // start-pool stubs kept ready; 0: none
};

// The runs' phases: name -> one value per recorded run.
struct Phases {
    std::vector<std::string> order;
    std::map<std::string, std::vector<double>> values;
    std::size_t from_stub = 0;

    void add(const lifecycle::RunSteps& steps) {
        for (const auto& [name, ms] : steps.phases()) {
            if (!values.contains(name)) order.emplace_back(name);
            values[name].push_back(ms);
        }
        from_stub += steps.from_stub;
    }
    // [[name, p50 ms], …] in the order of the run.
    nlohmann::json medians() const {
        nlohmann::json j = nlohmann::json::array();
        for (const std::string& name : order) j.push_back({name, bench::summarize(values.at(name)).p50});
        return j;
    }
};

constexpr std::int64_t kMemoryLimit = 64 << 20;
constexpr std::int64_t kPidsLimit = 1000;

Resources resources(const Config& cfg) {
    Resources r;
    if (cfg.limits) {
        r.memory = kMemoryLimit;
        r.pids = kPidsLimit;
    }
    return r;
}

// Records what one start reported; reset before each start.
class StartObserver : public FleetObserver {
public:
    void reset() {
        started_at.reset();
        exited = false;
        exit_code.reset();
        signal.reset();
        error.clear();
        stderr_tail.clear();
    }

    void on_event(const Event& e) override {
        switch (e.kind) {
            case EventKind::Started:
                started_at = Clock::now();
                break;
            case EventKind::Exited:
                exited = true;
                exit_code = e.exit_code;
                signal = e.signal;
                break;
            case EventKind::Failed:
                error = e.error;
                break;
            default:
                break;
        }
    }

    // /bin/true prints nothing; whatever does appear explains a failure.
    void on_output(const std::string&, OutputStream stream, std::string_view line) override {
        if (stream == OutputStream::Stderr && stderr_tail.size() < 4096) stderr_tail.append(line).append("\n");
    }

    // Empty when the start went all the way: exec'd, then exited with 0.
    std::string problem(const lifecycle::ContainerActor& actor) const {
        std::string p;
        if (!error.empty()) p = "failed: " + error;
        else if (!started_at) p = "no Started event";
        else if (!exited) p = "no Exited event";
        else if (signal) p = "killed by " + sys::signal_name(*signal);
        else if (exit_code != 0) p = "exited with " + (exit_code ? std::to_string(*exit_code) : "no code");
        else if (!actor.succeeded()) p = "actor reports no success";
        if (!p.empty() && !stderr_tail.empty()) p += "\n  stderr: " + stderr_tail;
        return p;
    }

    std::optional<Clock::time_point> started_at;
    bool exited = false;
    std::optional<int> exit_code;
    std::optional<int> signal;
    std::string error;
    std::string stderr_tail;
};

// The measured loop: one container at a time, as a CLI user starting them
// back to back would see it. Stops at the first failure, whose numbers would
// mean nothing.
reactor::Task<void> run_starts(const Config& cfg, lifecycle::HelperClient& helper, cgroup::FleetCgroups* cgroups,
                               lifecycle::StubPool* pool, const fs::path& image_rootfs,
                               const fs::path& containers_dir, std::vector<bench::Sample>& samples,
                               Phases& phases, std::string& failure) {
    auto ex = co_await asio::this_coro::executor;
    StartObserver observer;
    const int total = cfg.common.warmup + cfg.common.count;
    for (int i = 0; i < total; ++i) {
        ContainerSpec spec;
        spec.name = "bench-" + std::to_string(i);
        spec.image = "busybox";
        spec.argv = {"/bin/true"};
        spec.hostname = spec.name;
        spec.network = cfg.common.host_network() ? NetworkMode::Host : NetworkMode::None;
        spec.read_only = cfg.read_only;
        spec.resources = resources(cfg);
        fs::path dir = containers_dir / spec.name;

        lifecycle::ContainerActor actor(ex, helper, observer, cgroups, spec, image_rootfs,
                                        lifecycle::ContainerPaths(dir), std::chrono::seconds(10));
        actor.use_pool(pool);
        observer.reset();
        if (cfg.common.idle_ms > 0) co_await reactor::sleep_for(cfg.common.idle());
        Clock::time_point t0 = Clock::now();
        co_await actor.run();
        Clock::time_point t1 = Clock::now();

        if (std::string p = observer.problem(actor); !p.empty()) {
            failure = spec.name + ": " + p;
            co_return;
        }
        if (i >= cfg.common.warmup) {
            samples.push_back({bench::to_ms(*observer.started_at - t0), bench::to_ms(t1 - t0)});
            phases.add(actor.last_run_steps());
        }
        // The writable layer is the actor's to create; dropping it here, off
        // the clock, keeps a long run from filling /tmp.
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
}

int run(const Config& cfg) {
    std::optional<bench::TempDir> temp;
    fs::path root = cfg.root;
    if (root.empty()) {
        temp.emplace("rusty-bench");
        root = temp->path();
    }
    // Built before the helper and the io_context exist: building runs
    // `busybox --list-full`, which must not inherit the io_uring fd.
    fs::path image_rootfs = image::ImageStore(root / "images").ensure("busybox");
    fs::path containers_dir = root / "containers";
    fs::create_directories(containers_dir);

    // Forked while the process has no ring and no threads (HOST.md).
    lifecycle::HelperProcess helper = lifecycle::HelperProcess::start();

    // Made after the helper is forked, so that it does not inherit the
    // fleet's lock; destroyed after every actor, removing all it made.
    std::optional<cgroup::FleetCgroups> cgroups;
    std::string layout_text;
    FleetSpec fleet;
    fleet.name = "bench";
    fleet.cgroup_parent = "/rusty-bench-" + std::to_string(::getpid());
    if (cfg.cgroup == "own") {
        cgroup::Layout layout = cgroup::Layout::detect();
        if (layout.mode() == cgroup::Mode::None)
            throw Error("--cgroup own: this host has no cgroup hierarchy (use --cgroup none)");
        layout_text = layout.describe();
        // One container stands for all: FleetCgroups enables the v2
        // controllers the fleet's limits need, and check_limits refuses
        // limits this host cannot enforce, as the supervisor would.
        ContainerSpec model;
        model.name = "bench";
        model.resources = resources(cfg);
        fleet.containers.push_back(model);
        const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
        cgroup::check_limits(fleet, layout, cpus > 0 ? static_cast<unsigned>(cpus) : 1);
        cgroups.emplace(std::move(layout), fleet);
        cgroups->lock();
    }

    std::vector<bench::Sample> samples;
    Phases phases;
    std::string failure;
    {
        asio::io_context io(1);
        lifecycle::HelperClient client(io.get_executor(), helper.take_socket());
        asio::co_spawn(io, client.run(), asio::detached);
        std::optional<lifecycle::StubPool> pool;
        if (cfg.pool > 0) {
            pool.emplace(io.get_executor(), client, cgroups ? &*cgroups : nullptr);
            FleetSpec shape = fleet;
            shape.pool_size = cfg.pool;
            if (shape.containers.empty()) shape.containers.emplace_back();
            shape.containers.front().network = cfg.common.host_network() ? NetworkMode::Host : NetworkMode::None;
            pool->plan(shape);
        }
        asio::co_spawn(io,
                       run_starts(cfg, client, cgroups ? &*cgroups : nullptr, pool ? &*pool : nullptr, image_rootfs,
                                  containers_dir, samples, phases, failure),
                       [&](std::exception_ptr e) {
                           if (e) {
                               try {
                                   std::rethrow_exception(e);
                               } catch (const std::exception& err) {
                                   failure = err.what();
                               }
                           }
                           // Its stubs exit and are reaped; then io.run() can return.
                           if (pool) pool->close([&] { client.close(); });
                           else client.close();
                       });
        io.run();
    }

    if (!failure.empty()) {
        std::fprintf(stderr, "rusty-bench-start: %s\n", failure.c_str());
        return 1;
    }
    std::string title = std::string("rusty: /bin/true in busybox, network ") + cfg.common.network + ", " +
                        (cfg.read_only ? "read-only bind" : "overlay") + ", cgroup " + cfg.cgroup +
                        (cfg.limits ? ", limits (memory 64 MiB, pids 1000)" : "") + cfg.common.pacing();
    nlohmann::json config = cfg.common.to_json();
    config["rootfs"] = cfg.read_only ? "read-only bind" : "overlay";
    config["cgroup"] = cfg.cgroup;
    if (cgroups) {
        config["cgroup_parent"] = cgroups->fleet_path();
        config["cgroup_layout"] = layout_text;
    }
    config["limits"] = cfg.limits ? nlohmann::json{{"memory", kMemoryLimit}, {"pids", kPidsLimit}}
                                  : nlohmann::json(nullptr);
    config["pool"] = cfg.pool;
    config["read_only"] = cfg.read_only;
    config["runs_from_pool_stubs"] = phases.from_stub;
    config["phases_p50_ms"] = phases.medians();
    bench::publish("rusty-bench-start", title, cfg.common, config, samples);
    std::printf("phases, p50 in ms (%zu of %zu runs from pool stubs):", phases.from_stub, samples.size());
    for (const std::string& name : phases.order)
        std::printf(" %s %.3f", name.c_str(), bench::summarize(phases.values.at(name)).p50);
    std::printf("\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Starts N /bin/true containers one after another through the rusty library and prints "
                 "start-to-running and start-to-exit latency percentiles."};
    Config cfg;
    cfg.common.add_to(app);
    app.add_flag("--read-only", cfg.read_only, "bind the image read-only instead of an overlay upper layer");
    app.add_option("--root", cfg.root, "holds images/ and containers/ (default: a temporary directory, removed)");
    app.add_option("--cgroup", cfg.cgroup,
                   "own: each container gets its cgroup, as in a fleet, under /rusty-bench-<pid>/bench "
                   "(removed at the end); none: no cgroup")
        ->check(CLI::IsMember({"own", "none"}));
    app.add_option("--pool", cfg.pool,
                   "start from a pool of N stubs made ahead of time, as a fleet does (0: none, the default)")
        ->check(CLI::Range(0, 64));
    app.add_flag("--limits", cfg.limits,
                 "set mem_limit 64 MiB and pids_limit 1000 on each container (needs --cgroup own)");
    CLI11_PARSE(app, argc, argv);
    cfg.common.finish();
    if (cfg.limits && cfg.cgroup != "own") {
        std::fprintf(stderr, "rusty-bench-start: --limits needs --cgroup own\n");
        return 2;
    }

    return bench::run_as_root("rusty-bench-start", [&] { return run(cfg); });
}
