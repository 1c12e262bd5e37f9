// The machine a run of rusty-bench-compare ran on, and how busy it was
// meanwhile: for the report, so that figures from two runs can be told
// apart and read against their noise.
#pragma once

#include <string>
#include <vector>

#include "bench/common.hpp"
#include "bench/compare/options.hpp"
#include "cgroup/layout.hpp"

namespace rusty::bench::compare {

// How busy the machine was while the bench ran, and how much of that was the
// bench itself (this process and every child it reaped: runtimes,
// supervisors, containers). The rest — other programs, and kernel threads
// (some of them doing cgroup teardown for the bench) — is the noise the
// figures carry. The load average is no help here: a burst of 200 makes it
// jump by itself.
class CpuMeter {
public:
    CpuMeter() : busy0_(busy_ticks()), total0_(total_ticks()), own0_(own_seconds()), t0_(Clock::now()) {}

    // Since the meter was made: wall time, busy and other CPU, as JSON.
    json result() const;

private:
    static std::vector<unsigned long long> cpu_line();
    static unsigned long long total_ticks();
    static unsigned long long busy_ticks();
    static double own_seconds();

    unsigned long long busy0_, total0_;
    double own0_;
    Clock::time_point t0_;
};

// /proc/loadavg's line.
std::string loadavg();

// The kernel, CPUs, cgroup mode, date, load average and command line.
json describe_machine(const std::string& cmdline, const cgroup::Layout& layout);

}  // namespace rusty::bench::compare
