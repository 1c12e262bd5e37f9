// rusty-bench-compare's command line: which runtimes and scenarios, how
// many samples, where the reports go.
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace rusty::bench::compare {

using nlohmann::json;

// The workload's limits (unless --no-limits).
constexpr std::int64_t kMemoryLimit = 64 << 20;
constexpr int kPidsLimit = 1000;

struct Options {
    std::vector<std::string> runtimes = {"floor", "crun", "runc", "rusty-runtime", "rusty-oneshot", "rusty-supervisor"};
    std::vector<std::string> scenarios = {"b2b", "idle", "burst"};
    std::string network = "both";
    bool limits = true;
    std::string order = "shuffle";
    unsigned seed = 1;
    int rounds = 2;
    int count = 50;
    int warmup = 5;
    int idle_count = 20;
    int idle_warmup = 2;
    int idle_ms = 100;
    std::vector<int> bursts = {10, 50, 200};
    int burst_count = 3;
    int burst_warmup = 1;
    int burst_settle_ms = 200;
    double timeout_s = 10;
    bool quick = false;
    std::string rootfs;
    std::string supervisor;
    std::string json_path, markdown_path, plot_path;
    std::vector<std::string> includes;
    std::string from_json;

    std::vector<std::string> networks() const {
        if (network == "both") return {"none", "host"};
        return {network};
    }
    bool has_scenario(const std::string& s) const {
        return std::find(scenarios.begin(), scenarios.end(), s) != scenarios.end();
    }
    bool has_runtime(const std::string& r) const {
        return std::find(runtimes.begin(), runtimes.end(), r) != runtimes.end();
    }
    int max_burst() const {
        int n = 1;
        if (has_scenario("burst"))
            for (int b : bursts) n = std::max(n, b);
        return n;
    }
    json to_json() const {
        return {{"runtimes", runtimes},
                {"scenarios", scenarios},
                {"networks", networks()},
                {"limits", limits ? json{{"memory_bytes", kMemoryLimit}, {"pids", kPidsLimit}} : json(nullptr)},
                {"rounds", rounds},
                {"b2b", {{"count_per_round", count}, {"warmup_per_round", warmup}}},
                {"idle", {{"count_per_round", idle_count}, {"warmup_per_round", idle_warmup}, {"idle_ms", idle_ms}}},
                {"burst",
                 {{"sizes", bursts},
                  {"count_per_round", burst_count},
                  {"warmup_per_round", burst_warmup},
                  {"settle_ms", burst_settle_ms}}},
                {"order", order},
                {"seed", seed},
                {"timeout_s", timeout_s},
                {"quick", quick}};
    }
};

// Parses the command line into `o`, --quick's defaults applied. nullopt to
// go on, else the exit status (0 after --help, 2 for a usage error).
std::optional<int> parse_options(int argc, char** argv, Options& o);

// The command line as typed, quoted where needed: for the report.
std::string command_line(int argc, char** argv);

}  // namespace rusty::bench::compare
