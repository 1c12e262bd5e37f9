// rusty-bench-compare: container start latency side by side, one run, one
// machine. The same workload for every runtime — a busybox root directory
// (bound writable), /bin/true, pid + mount + uts + ipc namespaces, with or
// without a network namespace, in a cgroup of its own with a 64 MiB memory
// and a 1000 pids limit (--no-limits drops them; workload.hpp) — started by:
//
//   floor             this process: clone3 with those namespaces, born in a
//                     fresh v2 cgroup (CLONE_INTO_CGROUP) and, for limits on
//                     a hybrid host, joining fresh v1 memory and pids cgroups
//                     by a cgroup.procs write in the child; private mounts,
//                     bind rootfs, /proc, pivot_root, exec (floor_runtime.cpp,
//                     bench/floor_core.hpp);
//   crun, runc,       `RUNTIME --root STATE run --bundle BUNDLE ID`, the same
//   rusty-runtime     bundles for all three: `crun spec` edited minimally
//                     (oci_runtime.cpp, workload.cpp);
//   rusty-oneshot     `rusty-supervisor --config ONE.json …`: a fleet of one,
//                     run to its end, like for like with `crun run`
//                     (oneshot_runtime.cpp);
//   rusty-supervisor  one running supervisor per network variant, asked over
//                     its control socket to `start` containers that ran once
//                     and exited: what fleet users get (supervisor_runtime.cpp).
//
// Scenarios (scenarios.hpp), each interleaved across runtimes iteration by
// iteration (every runtime once per iteration, in a new random order each
// time unless --order fixed: a runtime that always followed the same one
// would inherit its after-effects), after warm-up iterations that are not
// recorded: b2b (one container start to exit, back to back), idle (the same
// after 100 ms of sleep, off the clock: the cgroup attach after idle waits
// for an RCU grace period), burst-N (N containers at once; time until all
// have exited, and until all run where that is observable). The whole
// schedule runs --rounds times; samples are pooled and each round's p50 is
// reported too. The reports: report.hpp (JSON, Markdown with the other
// benches' figures given by --include) and plot.hpp (gnuplot).
//
// crun 1.8.1 refuses a hybrid cgroup host. It runs here in a mount namespace
// of its own where /sys/fs/cgroup/unified is hidden under an empty tmpfs
// (mount_ns_holder.hpp). Nothing is ever mounted in this process's own mount
// namespace.
//
// Everything is removed at the end, also on failure: the temporary
// directory, the cgroup tree /rusty-bench-<pid> in every hierarchy (crun's,
// runc's and rusty's included), and every process started here (they also
// die with this process: PR_SET_PDEATHSIG). If this process is killed
// outright, crash_cleaner.hpp's process removes the tree and the directory.
//
// It drives the rusty-supervisor and rusty-runtime binaries; it runs no
// reactor of its own.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include "bench/cgroup_tree.hpp"
#include "bench/common.hpp"
#include "bench/compare/crash_cleaner.hpp"
#include "bench/compare/machine.hpp"
#include "bench/compare/options.hpp"
#include "bench/compare/plot.hpp"
#include "bench/compare/processes.hpp"
#include "bench/compare/report.hpp"
#include "bench/compare/runtimes.hpp"
#include "bench/compare/scenarios.hpp"
#include "core/error.hpp"
#include "core/file.hpp"
#include "image/image_store.hpp"

namespace rusty::bench::compare {
namespace {

// --from-json: the Markdown and the plot again, from the JSON report of an
// earlier run (after a change to how they are drawn); runs nothing.
int rerender(Options o) {
    std::error_code ec;
    if (!fs::is_regular_file(o.from_json, ec)) throw Error("--from-json \"" + o.from_json + "\": no such file");
    const json j = json::parse(read_file(o.from_json, 256u << 20));
    if (j.value("benchmark", "") != "rusty-bench-compare") throw Error(o.from_json + ": not a rusty-bench-compare report");
    std::vector<std::string> order;
    std::map<std::string, bool> sees_running;
    const Report report = report_from_json(j, o, order, sees_running);

    const std::string md = render_markdown(report, o, order, sees_running);
    std::fputs(md.c_str(), stdout);
    if (!o.markdown_path.empty()) bench::write_text(o.markdown_path, md);
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
    if (!o.markdown_path.empty()) bench::write_text(o.markdown_path, md);
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
}  // namespace rusty::bench::compare

using namespace rusty::bench::compare;

int main(int argc, char** argv) {
    Options o;
    if (const std::optional<int> status = parse_options(argc, argv, o)) return *status;
    const std::string cmdline = command_line(argc, argv);
    if (!o.from_json.empty()) {
        try {
            return rerender(o);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "rusty-bench-compare: %s\n", e.what());
            return 1;
        }
    }
    return rusty::bench::run_as_root("rusty-bench-compare", [&] { return run(o, cmdline); });
}
