// The scenarios — b2b (one container, start to exit, back to back), idle
// (the same after --idle-ms of sleep, off the clock), burst-N (N at once) —
// and the schedule that runs them: every round, every network, every
// scenario; each iteration runs every runtime once, in a new random order
// each time unless --order fixed, after warm-up iterations not recorded.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench/compare/options.hpp"
#include "bench/compare/report.hpp"
#include "bench/compare/runtime.hpp"

namespace rusty::bench::compare {

struct Scenario {
    std::string name;
    int n, count, warmup, idle_ms;
    std::string what;
};

// The scenarios --scenarios asks for, with their counts.
std::vector<Scenario> scenarios_of(const Options& o);

// Runs every round of every scenario on every network into `report`;
// returns whether one of ours (must_pass) failed.
bool run_schedule(const Options& o, std::vector<std::unique_ptr<Runtime>>& runtimes, Report& report);

}  // namespace rusty::bench::compare
