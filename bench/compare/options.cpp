#include "bench/compare/options.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>

namespace rusty::bench::compare {

std::optional<int> parse_options(int argc, char** argv, Options& o) {
    CLI::App app{"Container start latency side by side: the floor (bare clone3 + pivot_root), crun, runc, "
                 "rusty-runtime, rusty-supervisor as a one-shot command and a running rusty-supervisor, on the same workload "
                 "(busybox rootfs, /bin/true, pid/mount/uts/ipc namespaces, 64 MiB and 1000 pids limits), "
                 "interleaved. Writes every sample as JSON, Markdown tables and an SVG plot."};
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
                   "a JSON report of rusty-bench-restart, rusty-bench-idle or rusty-bench-start to add to the "
                   "reports (repeatable)");
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
    return std::nullopt;
}

std::string command_line(int argc, char** argv) {
    std::string s;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a.find_first_of(" \t'\"$") != std::string::npos) a = "'" + a + "'";
        s += (i ? " " : "") + a;
    }
    return s;
}

}  // namespace rusty::bench::compare
