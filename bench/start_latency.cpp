// rusty-bench-start: starts N /bin/true containers one after another through
// the library (HelperProcess, HelperClient, ContainerActor: what a Fleet
// does for one container) and prints start-to-running and start-to-exit
// latency percentiles. Compare with rusty-bench-floor, the same namespaces
// and root switch with nothing else.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstdio>
#include <optional>

#include "bench/common.hpp"
#include "image/image_store.hpp"
#include "lifecycle/container_actor.hpp"
#include "lifecycle/helper_fork.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace rusty;
using bench::Clock;

namespace {

struct Config {
    bench::CommonOptions common;
    bool read_only = false;
    std::string root;  // empty: a temporary directory
};

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
reactor::Task<void> run_starts(const Config& cfg, lifecycle::HelperClient& helper, const fs::path& image_rootfs,
                               const fs::path& containers_dir, std::vector<bench::Sample>& samples,
                               std::string& failure) {
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
        fs::path dir = containers_dir / spec.name;

        lifecycle::ContainerActor actor(ex, helper, observer, nullptr, spec, image_rootfs, lifecycle::ContainerPaths(dir));
        observer.reset();
        Clock::time_point t0 = Clock::now();
        co_await actor.run();
        Clock::time_point t1 = Clock::now();

        if (std::string p = observer.problem(actor); !p.empty()) {
            failure = spec.name + ": " + p;
            co_return;
        }
        if (i >= cfg.common.warmup)
            samples.push_back({bench::to_ms(*observer.started_at - t0), bench::to_ms(t1 - t0)});
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
    std::vector<bench::Sample> samples;
    std::string failure;
    {
        asio::io_context io(1);
        lifecycle::HelperClient client(io.get_executor(), helper.take_socket());
        asio::co_spawn(io, client.run(), asio::detached);
        asio::co_spawn(io, run_starts(cfg, client, image_rootfs, containers_dir, samples, failure),
                       [&](std::exception_ptr e) {
                           if (e) {
                               try {
                                   std::rethrow_exception(e);
                               } catch (const std::exception& err) {
                                   failure = err.what();
                               }
                           }
                           client.close();  // lets io.run() return
                       });
        io.run();
    }

    if (!failure.empty()) {
        std::fprintf(stderr, "rusty-bench-start: %s\n", failure.c_str());
        return 1;
    }
    std::string title = std::string("rusty: /bin/true in busybox, network ") + cfg.common.network + ", " +
                        (cfg.read_only ? "read-only bind" : "overlay");
    nlohmann::json config = cfg.common.to_json();
    config["rootfs"] = cfg.read_only ? "read-only bind" : "overlay";
    bench::publish("rusty-bench-start", title, cfg.common, std::move(config), samples);
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
    CLI11_PARSE(app, argc, argv);
    cfg.common.finish();

    return bench::run_as_root("rusty-bench-start", [&] { return run(cfg); });
}
