#include "bench/compare/scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <utility>

#include "bench/compare/processes.hpp"
#include "bench/compare/text.hpp"

namespace rusty::bench::compare {

namespace {

// A runtime is left out of the rest of the run after this many failed samples.
constexpr int kMaxFailures = 3;

}  // namespace

std::vector<Scenario> scenarios_of(const Options& o) {
    std::vector<Scenario> s;
    if (o.has_scenario("b2b"))
        s.push_back({"b2b", 1, o.count, o.warmup, 0, "one container, start to exit, back to back"});
    if (o.has_scenario("idle"))
        s.push_back({"idle", 1, o.idle_count, o.idle_warmup, o.idle_ms,
                     "one container, start to exit, after " + std::to_string(o.idle_ms) + " ms of idle (off the clock)"});
    if (o.has_scenario("burst"))
        for (int b : o.bursts)
            s.push_back({"burst-" + std::to_string(b), b, o.burst_count, o.burst_warmup, o.burst_settle_ms,
                         std::to_string(b) + " containers started at once; time until all have exited"});
    return s;
}

bool run_schedule(const Options& o, std::vector<std::unique_ptr<Runtime>>& runtimes, Report& report) {
    const std::vector<Scenario> scenarios = scenarios_of(o);
    for (const std::string& network : o.networks())
        for (const Scenario& s : scenarios) {
            ScenarioResult sr;
            sr.scenario = s.name;
            sr.network = network;
            sr.n = s.n;
            for (const auto& rt : runtimes) sr.cells[rt->name()];
            report.results.push_back(std::move(sr));
        }
    bool failed_ours = false;
    std::map<std::string, int> failures;
    std::vector<std::size_t> sequence(runtimes.size());
    std::iota(sequence.begin(), sequence.end(), std::size_t{0});
    std::mt19937 rng(o.seed);
    std::string last_run;  // the runtime of the sample before
    const auto started_at = Clock::now();
    for (int round = 1; round <= o.rounds; ++round) {
        for (const std::string& network : o.networks()) {
            for (const Scenario& s : scenarios) {
                ScenarioResult* sr = nullptr;
                for (ScenarioResult& x : report.results)
                    if (x.scenario == s.name && x.network == network) sr = &x;
                const auto timeout = std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(o.timeout_s + 0.05 * s.n));
                for (int it = 0; it < s.warmup + s.count; ++it) {
                    const bool warmup = it < s.warmup;
                    // Each iteration runs every runtime once; --order shuffle
                    // draws a new order each time, so that no runtime always
                    // follows the same one (and inherits its after-effects).
                    if (o.order == "shuffle") std::shuffle(sequence.begin(), sequence.end(), rng);
                    for (std::size_t pos = 0; pos < sequence.size(); ++pos) {
                        Runtime& rt = *runtimes[sequence[pos]];
                        if (failures[rt.name()] >= kMaxFailures) continue;
                        const std::string after = std::exchange(last_run, rt.name());
                        check_interrupted();
                        sleep_ms(s.idle_ms);  // idle, or a burst's settle: off the clock
                        const Outcome out = rt.run(s.n, network, timeout);
                        check_interrupted();
                        if (!out.ok) {
                            report.failures.push_back({rt.name(), s.name, network, out.error, round, it, warmup});
                            std::fprintf(stderr, "rusty-bench-compare: %s, %s, network %s, round %d: %s\n",
                                         rt.name().c_str(), s.name.c_str(), network.c_str(), round, out.error.c_str());
                            sr->cells[rt.name()].failures++;
                            if (rt.must_pass()) failed_ours = true;
                            if (++failures[rt.name()] == kMaxFailures)
                                std::fprintf(stderr, "rusty-bench-compare: %s failed %d times: left out from here on\n",
                                             rt.name().c_str(), kMaxFailures);
                            continue;
                        }
                        if (warmup) continue;
                        Cell& c = sr->cells[rt.name()];
                        c.exit_ms.push_back(out.to_exit_ms);
                        c.round.push_back(round);
                        if (out.to_running_ms) c.running_ms.push_back(*out.to_running_ms);
                        report.samples.push_back(
                            {{"runtime", rt.name()},
                             {"scenario", s.name},
                             {"network", network},
                             {"containers", s.n},
                             {"round", round},
                             {"iteration", it - s.warmup},
                             {"position", pos},
                             {"after", after.empty() ? json(nullptr) : json(after)},
                             {"to_exit_ms", out.to_exit_ms},
                             {"to_running_ms", out.to_running_ms ? json(*out.to_running_ms) : json(nullptr)}});
                    }
                }
                std::string line;
                for (const auto& rt : runtimes) {
                    const Cell& c = sr->cells[rt->name()];
                    line += "  " + rt->name() + " " + (c.exit_ms.empty() ? "—" : fmt(bench::summarize(c.exit_ms).p50));
                }
                std::fprintf(stderr, "round %d/%d, network %s, %s (p50 ms so far, %.0f s in):%s\n", round, o.rounds,
                             network.c_str(), s.name.c_str(),
                             std::chrono::duration<double>(Clock::now() - started_at).count(), line.c_str());
            }
        }
    }
    return failed_ours;
}

}  // namespace rusty::bench::compare
