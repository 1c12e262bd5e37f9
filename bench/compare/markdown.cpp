#include <algorithm>
#include <sstream>

#include "bench/compare/report.hpp"
#include "bench/compare/scenarios.hpp"
#include "bench/compare/text.hpp"

namespace rusty::bench::compare {

namespace {

// One scenario on one network: a row per runtime.
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

}  // namespace

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

}  // namespace rusty::bench::compare
