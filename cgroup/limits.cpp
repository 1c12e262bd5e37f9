#include "cgroup/limits.hpp"

#include <cmath>
#include <cstdio>
#include <system_error>

#include "core/error.hpp"
#include "core/units.hpp"

namespace rusty::cgroup {
namespace {

constexpr std::int64_t kCpuPeriodUsec = 100'000;

std::int64_t cpu_quota(double cpus) { return std::llround(cpus * kCpuPeriodUsec); }

// runc's conversion (libcontainer/cgroups/utils.go ConvertCPUSharesToCgroupV2Value).
std::uint64_t shares_to_weight(std::uint64_t shares) { return 1 + ((shares - 2) * 9999) / 262142; }

}  // namespace

std::vector<std::string> controllers_for(const Resources& r) {
    std::vector<std::string> out;
    if (r.memory || r.memory_swap || r.memory_reservation) out.push_back("memory");
    if (r.cpus || r.cpu_shares) out.push_back("cpu");
    if (!r.cpuset.empty()) out.push_back("cpuset");
    if (r.pids) out.push_back("pids");
    return out;
}

LimitPlan plan_limits(const Resources& r, const Layout& layout) {
    LimitPlan plan;
    auto add = [&](std::string field, std::string controller, std::string v2_file, std::string v2_value,
                   std::string v1_file, std::string v1_value) {
        switch (layout.where(controller)) {
            case Version::V2: plan.writes.push_back({field, controller, v2_file, v2_value}); break;
            case Version::V1: plan.writes.push_back({field, controller, v1_file, v1_value}); break;
            case Version::None: plan.missing.push_back({field, controller}); break;
        }
    };
    if (r.memory) {
        const std::string bytes = std::to_string(*r.memory);
        add("mem_limit", "memory", "memory.max", bytes, "memory.limit_in_bytes", bytes);
    }
    // v1 limits swap only with swap accounting (memory.memsw.*).
    const bool swap_accounted = layout.where("memory") != Version::V1 || layout.v1_swap_accounting();
    if (r.memory_swap && !swap_accounted) {
        plan.missing.push_back({"memswap_limit", "swap accounting of the v1 memory"});
    } else if (r.memory_swap) {
        // After the memory limit: v1 refuses memsw below limit_in_bytes.
        const bool unlimited = *r.memory_swap == -1;
        add("memswap_limit", "memory", "memory.swap.max",
            unlimited ? "max" : std::to_string(*r.memory_swap - r.memory.value_or(0)), "memory.memsw.limit_in_bytes",
            unlimited ? "-1" : std::to_string(*r.memory_swap));
    }
    if (r.memory && !r.memory_swap && swap_accounted && layout.where("memory") != Version::None) {
        // As much swap again; unlimited when twice the limit does not fit.
        const std::int64_t m = *r.memory;
        const std::string total = m > INT64_MAX / 2 ? "-1" : std::to_string(2 * m);
        plan.writes.push_back(layout.where("memory") == Version::V2
                                  ? LimitWrite{"mem_limit", "memory", "memory.swap.max", std::to_string(m), true}
                                  : LimitWrite{"mem_limit", "memory", "memory.memsw.limit_in_bytes", total, true});
    }
    if (r.memory_reservation) {
        const std::string bytes = std::to_string(*r.memory_reservation);
        add("mem_reservation", "memory", "memory.low", bytes, "memory.soft_limit_in_bytes", bytes);
    }
    if (r.cpus) {
        const std::string quota = std::to_string(cpu_quota(*r.cpus));
        add("cpus", "cpu", "cpu.max", quota + " " + std::to_string(kCpuPeriodUsec), "cpu.cfs_period_us",
            std::to_string(kCpuPeriodUsec));
        if (layout.where("cpu") == Version::V1) plan.writes.push_back({"cpus", "cpu", "cpu.cfs_quota_us", quota});
    }
    if (r.cpu_shares) {
        add("cpu_shares", "cpu", "cpu.weight", std::to_string(shares_to_weight(*r.cpu_shares)), "cpu.shares",
            std::to_string(*r.cpu_shares));
    }
    if (!r.cpuset.empty()) add("cpuset", "cpuset", "cpuset.cpus", r.cpuset, "cpuset.cpus", r.cpuset);
    if (r.pids) {
        const std::string max = std::to_string(*r.pids);
        add("pids_limit", "pids", "pids.max", max, "pids.max", max);
    }
    return plan;
}

std::vector<std::string> check_limits(const FleetSpec& fleet, const Layout& layout, unsigned online_cpus) {
    std::vector<std::string> warnings;
    for (const ContainerSpec& c : fleet.containers) {
        const std::string pointer = "/containers/" + c.name + "/";
        const Resources& r = c.resources;
        if (r.cpus && *r.cpus > online_cpus)
        {
            char asked[32];
            std::snprintf(asked, sizeof asked, "%g", *r.cpus);
            throw ConfigError(pointer + "cpus", std::string("asks for ") + asked + " CPUs; this host has " +
                                                    std::to_string(online_cpus));
        }
        if (!r.cpuset.empty() && parse_cpu_list(r.cpuset).value_or(0) >= online_cpus)
            throw ConfigError(pointer + "cpuset", "names CPU " + std::to_string(*parse_cpu_list(r.cpuset)) +
                                                      "; this host has CPUs 0-" + std::to_string(online_cpus - 1));
        for (const MissingController& m : plan_limits(r, layout).missing) {
            std::string problem = "needs the " + m.controller + " controller, which this host's cgroups (" +
                                  layout.describe() + ") do not have";
            if (m.field == "memswap_limit" && m.controller != "memory")
                problem += " (memory.memsw.* files; the kernel needs swapaccount=1)";
            if (!fleet.best_effort_limits)
                throw ConfigError(pointer + m.field, problem + "; set \"best_effort_limits\": true to run without it");
            warnings.push_back(pointer + m.field + ": " + problem + "; not enforced (best_effort_limits)");
        }
    }
    return warnings;
}

}  // namespace rusty::cgroup
