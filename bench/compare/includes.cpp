// The other start-up figures in rusty-bench-compare's report: the JSON
// reports of rusty-bench-restart, rusty-bench-idle and rusty-bench-start
// that bench/startup.sh passes with --include, each as a Markdown table;
// anything else is shown as its JSON.
#include <sstream>

#include "bench/compare/report.hpp"
#include "bench/compare/text.hpp"

namespace rusty::bench::compare {

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
        // clocks (lifecycle::RunSteps), medians over the run.
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

}  // namespace rusty::bench::compare
