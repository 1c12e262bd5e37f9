// rusty-bench-floor: the physical floor of a container start on this host.
// Only what no container runtime can skip: clone3 into the same namespaces
// as rusty's init, a private mount tree, the busybox rootfs bound, /proc,
// pivot_root, exec /bin/true, and waitid on the pidfd. No helper, no
// reactor, no /dev, no hardening. rusty-bench-start's numbers are read
// against these.
//
// --cgroup puts each start in a fresh cgroup of its own, made on the clock
// (as rusty's FleetCgroups::create is) and removed off the clock once the
// child is reaped:
//   into   born in it: clone3(CLONE_INTO_CGROUP) with the directory's fd;
//   procs  the child moves itself: it writes "0" to the cgroup's
//          cgroup.procs as its first step, before any mount, as rusty's init
//          does for each v1 cgroup it joins (lifecycle/container_init.cpp).
// Both use the v2 hierarchy, so they differ only in how the child is placed.
// --v1-procs memory,pids adds a v1 cgroup per start in those hierarchies,
// joined the same way as procs: what rusty pays on a hybrid host for limits.
// --wait-events (with into) ends the clock when the cgroup's cgroup.events
// reports "populated 0" through POLLPRI, the way a rusty container's run
// (lifecycle/container_run.cpp) learns that it is gone, rather than at the
// reap.
// --idle-ms N sleeps before each start, off the clock.
// The child, the cgroups and the clone are bench/floor_core.hpp, shared
// with rusty-bench-compare.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <thread>

#include "bench/common.hpp"
#include "bench/floor_core.hpp"
#include "core/syscalls.hpp"
#include "image/image_store.hpp"

namespace fs = std::filesystem;
using namespace rusty;
using bench::Clock;
using bench::floor::ChildPlan;
using bench::floor::StartCgroups;

namespace {

struct Config {
    bench::CommonOptions common;
    std::string rootfs;                 // empty: the busybox image, built in a temporary directory
    std::string cgroup = "none";        // none | into | procs
    std::vector<std::string> v1_procs;  // v1 controllers ("memory", "pids") joined by a cgroup.procs write
    bool wait_events = false;           // the exit counts once cgroup.events says "populated 0"
};

struct StartResult {
    bench::Sample sample;
    double cgroup_setup_ms = 0;  // making the start's cgroups (part of the sample)
    double events_wait_ms = 0;   // --wait-events: reap → cgroup.events "populated 0" (part of the sample)
};

// One start, timed; throws with the child's own message if it failed.
// `cgroup_names` are made on the clock and removed off the clock, after the
// child is reaped.
StartResult start_once(const Config& cfg, const ChildPlan& plan, std::uint64_t flags, const StartCgroups& cgroups,
                       const std::vector<fs::path>& cgroup_names) {
    StartResult result;
    Clock::time_point t0 = Clock::now();
    StartCgroups::Leaves leaves = cgroups.make(cgroup_names);
    result.cgroup_setup_ms = bench::to_ms(Clock::now() - t0);
    // The report pipe is O_CLOEXEC: EOF means exec happened.
    bench::floor::Launched child = bench::floor::launch(plan, flags, leaves.placement.get());  // -1: no placement

    // As a rusty container's run does once the helper answers: open the
    // cgroup's cgroup.events and read it ("populated 1": born in it).
    UniqueFd events;
    if (cfg.wait_events) {
        const fs::path file = leaves.v2.dir() / "cgroup.events";
        events.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!events) throw_sys("open(\"" + file.string() + "\")");
        bench::floor::populated(events.get());
    }

    const std::string failure = bench::floor::read_report(child.report.get());
    Clock::time_point running = Clock::now();

    sys::ExitStatus status;
    sys::wait_pidfd(child.pidfd.get(), status, false);
    Clock::time_point t1 = Clock::now();
    if (events) {
        // Then, as its wait_until_empty() does: wait for a change, read, until
        // "populated 0". No read right after the reap.
        Clock::time_point reaped = t1;
        for (;;) {
            pollfd p{events.get(), POLLPRI, 0};
            if (::poll(&p, 1, 5000) < 0 && errno != EINTR) throw_sys("poll(cgroup.events)");
            if (!bench::floor::populated(events.get())) break;
        }
        t1 = Clock::now();
        result.events_wait_ms = bench::to_ms(t1 - reaped);
    }
    events.reset();
    leaves = {};  // off the clock: rmdir, retried on EBUSY

    if (!failure.empty()) throw Error("container setup: " + failure);
    if (status.signal != 0) throw Error("/bin/true killed by " + sys::signal_name(status.signal));
    if (status.exit_code != 0) throw Error("/bin/true exited with " + std::to_string(status.exit_code));
    result.sample = {bench::to_ms(running - t0), bench::to_ms(t1 - t0)};
    return result;
}

int run(const Config& cfg) {
    std::optional<bench::TempDir> temp;
    ChildPlan plan;
    if (cfg.rootfs.empty()) {
        temp.emplace("rusty-bench-floor");
        plan.rootfs = image::ImageStore(temp->path() / "images").ensure("busybox").string();
    } else {
        std::error_code ec;
        fs::path canonical = fs::canonical(cfg.rootfs, ec);
        if (ec || !fs::is_directory(canonical)) throw Error("--rootfs \"" + cfg.rootfs + "\": not a directory");
        plan.rootfs = canonical.string();
    }
    plan.parent_mount_ns = sys::namespace_inode("mnt");

    // The namespaces of rusty's init (lifecycle/helper_fork.cpp), without
    // CLONE_PARENT: here the benchmark itself is the parent.
    std::uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    if (!cfg.common.host_network()) flags |= CLONE_NEWNET;

    bench::floor::CgroupOptions cgroup_options;
    cgroup_options.v2 = cfg.cgroup;
    cgroup_options.v1_procs = cfg.v1_procs;
    cgroup_options.parent = "rusty-bench-" + std::to_string(::getpid());
    StartCgroups cgroups(cgroup_options.v2 == "none" && cgroup_options.v1_procs.empty()
                             ? cgroup::Layout{}
                             : cgroup::Layout::detect(),
                         cgroup_options);
    std::vector<bench::Sample> samples;
    bench::Series cgroup_setup{"cgroup_setup", {}};
    bench::Series events_wait{"events_wait", {}};
    const int total = cfg.common.warmup + cfg.common.count;
    for (int i = 0; i < total; ++i) {
        // Off the clock: the names, then the pause that lets the kernel go idle.
        std::vector<fs::path> names = cgroups.names(i);
        plan.join_files = cgroups.join_files(names);
        if (cfg.common.idle_ms > 0) std::this_thread::sleep_for(cfg.common.idle());
        StartResult r;
        try {
            r = start_once(cfg, plan, flags, cgroups, names);
        } catch (const Error& e) {
            throw e.context("start " + std::to_string(i));
        }
        if (i >= cfg.common.warmup) {
            samples.push_back(r.sample);
            cgroup_setup.values.push_back(r.cgroup_setup_ms);
            events_wait.values.push_back(r.events_wait_ms);
        }
    }

    nlohmann::json config = cfg.common.to_json();
    config["rootfs"] = plan.rootfs;
    config["cgroup"] = cfg.cgroup;
    config["v1_procs"] = cfg.v1_procs;
    config["wait_events"] = cfg.wait_events;
    if (cgroups.any()) {
        config["cgroup_parents"] = cgroups.describe();
        config["placement"] = cfg.cgroup == "into"    ? "clone3 CLONE_INTO_CGROUP (v2)"
                              : cfg.cgroup == "procs" ? "child writes 0 to cgroup.procs (v2) before mounting"
                                                      : "none";
    }
    std::string title = "floor: clone3 + bind + /proc + pivot_root + exec /bin/true, network " + cfg.common.network;
    if (cfg.cgroup == "into") title += ", CLONE_INTO_CGROUP";
    if (cfg.cgroup == "procs") title += ", v2 cgroup.procs write";
    if (!cfg.v1_procs.empty()) {
        title += ", v1 cgroup.procs write (";
        for (std::size_t k = 0; k < cfg.v1_procs.size(); ++k) title += (k ? "," : "") + cfg.v1_procs[k];
        title += ")";
    }
    if (cfg.wait_events) title += ", exit seen through cgroup.events";
    title += cfg.common.pacing();
    std::vector<bench::Series> extra;
    if (cgroups.any()) extra.push_back(std::move(cgroup_setup));
    if (cfg.wait_events) extra.push_back(std::move(events_wait));
    bench::publish("rusty-bench-floor", title, cfg.common, std::move(config), samples, extra);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"The floor of a container start: clone3 with rusty's namespaces, bind the rootfs, mount "
                 "/proc, pivot_root, exec /bin/true; prints the same latency table as rusty-bench-start."};
    Config cfg;
    cfg.common.add_to(app);
    app.add_option("--rootfs", cfg.rootfs, "root filesystem directory (default: the busybox image, built aside)");
    app.add_option("--cgroup", cfg.cgroup,
                   "a fresh v2 cgroup per start, under /rusty-bench-<pid>: none; into: born in it "
                   "(CLONE_INTO_CGROUP); procs: the child writes 0 to its cgroup.procs before mounting")
        ->check(CLI::IsMember({"none", "into", "procs"}));
    app.add_option("--v1-procs", cfg.v1_procs,
                   "also a v1 cgroup per start in these hierarchies (memory, pids), joined by the child "
                   "writing 0 to cgroup.procs, as rusty's init does for limits on a hybrid host")
        ->delimiter(',')
        ->check(CLI::IsMember({"memory", "pids"}));
    app.add_flag("--wait-events", cfg.wait_events,
                 "with --cgroup into: after the reap, wait for cgroup.events to report \"populated 0\" "
                 "(POLLPRI, then read), as a rusty container's run does; on the clock");
    CLI11_PARSE(app, argc, argv);
    cfg.common.finish();
    if (cfg.wait_events && cfg.cgroup != "into") {
        std::fprintf(stderr, "rusty-bench-floor: --wait-events needs --cgroup into\n");
        return 2;
    }

    return bench::run_as_root("rusty-bench-floor", [&] { return run(cfg); });
}
