// What a run of rusty-bench-compare found — per scenario, network and
// runtime, the samples and the failures — and the reports made of it: the
// JSON report (report_json.cpp, also read back by --from-json), the Markdown
// tables (markdown.cpp, with the other benches' figures from includes.cpp)
// and the plot (plot.hpp).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/common.hpp"
#include "bench/compare/options.hpp"

namespace rusty::bench::compare {

struct Cell {  // one runtime in one scenario on one network
    std::vector<double> exit_ms, running_ms;
    std::vector<int> round;
    int failures = 0;

    // Each round's p50 (nothing for a round without samples).
    std::vector<std::optional<double>> p50_per_round(int rounds) const {
        std::vector<std::optional<double>> out;
        for (int r = 1; r <= rounds; ++r) {
            std::vector<double> v;
            for (std::size_t k = 0; k < exit_ms.size(); ++k)
                if (round[k] == r) v.push_back(exit_ms[k]);
            out.push_back(v.empty() ? std::nullopt : std::optional<double>(bench::summarize(v).p50));
        }
        return out;
    }
};

struct ScenarioResult {
    std::string scenario;  // b2b, idle, burst-50
    std::string network;
    int n = 1;             // containers per sample
    std::map<std::string, Cell> cells;
};

struct Failure {
    std::string runtime, scenario, network, error;
    int round = 0, iteration = 0;
    bool warmup = false;
};

struct Report {
    json machine;
    std::vector<json> runtimes;  // describe() + name, label, available
    std::vector<ScenarioResult> results;
    std::vector<json> samples;
    std::vector<Failure> failures;
    std::vector<std::string> notes;
    std::vector<std::pair<std::string, json>> includes;
};

// The JSON report: every sample, each cell's summary, the machine, the
// runtimes as they were driven. `sees_running`: whether a runtime's "to
// running" is observable.
json report_json(const Report& report, const Options& o, const std::map<std::string, bool>& sees_running);

// --from-json: the report back from its JSON, with the options it ran with
// (into `o`), the runtimes in their order and which of them see "running".
Report report_from_json(const json& j, Options& o, std::vector<std::string>& order,
                        std::map<std::string, bool>& sees_running);

// The Markdown report: the method, the machine, a table per scenario and
// network, the after-effects, failures, notes and the other benches.
std::string render_markdown(const Report& r, const Options& o, const std::vector<std::string>& order,
                            const std::map<std::string, bool>& sees_running);

// The Markdown section of another bench's JSON report (--include).
std::string render_include(const std::string& file, const json& j);

}  // namespace rusty::bench::compare
