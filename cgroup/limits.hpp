// Resource limits as cgroup interface files, and the check, at config time,
// that the host can enforce them.
//
//   field            v2                      v1
//   mem_limit        memory.max              memory.limit_in_bytes
//   memswap_limit    memory.swap.max (*)     memory.memsw.limit_in_bytes
//   mem_reservation  memory.low              memory.soft_limit_in_bytes
//   cpus             cpu.max "Q 100000"      cpu.cfs_period_us, cpu.cfs_quota_us
//   cpu_shares       cpu.weight (**)         cpu.shares
//   cpuset           cpuset.cpus             cpuset.cpus (+ cpuset.mems from the parent)
//   pids_limit       pids.max                pids.max
//
// (*) v2 counts swap alone: memswap_limit - mem_limit. Without
// memswap_limit, a mem_limit allows as much swap again, as Docker does.
// (**) runc's mapping of shares 2..262144 onto weight 1..10000.
#pragma once

#include <string>
#include <vector>

#include "cgroup/layout.hpp"
#include "core/spec.hpp"

namespace rusty::cgroup {

// One interface file to write, in the hierarchy of `controller`.
struct LimitWrite {
    std::string field;       // the fleet.json field it comes from, e.g. "mem_limit"
    std::string controller;  // "memory", "cpu", "cpuset", "pids"
    std::string file;        // e.g. "memory.max"
    std::string value;
    // A default of ours rather than the user's limit: skipped where the host
    // lacks the file (e.g. no swap accounting).
    bool optional = false;
};

// A limit whose controller the host does not have.
struct MissingController {
    std::string field;
    std::string controller;
};

struct LimitPlan {
    std::vector<LimitWrite> writes;  // in the order to write them
    std::vector<MissingController> missing;
};

// The writes that enforce `r` on `layout`, each in the hierarchy that has its
// controller.
LimitPlan plan_limits(const Resources& r, const Layout& layout);

// The controllers `r` needs, whichever hierarchy has them.
std::vector<std::string> controllers_for(const Resources& r);

// Checks every container's limits against the host before anything starts.
// A limit the host cannot enforce is a ConfigError naming the field, e.g.
// /containers/web/mem_limit, and the missing controller — unless
// fleet.best_effort_limits, in which case it is returned as a warning.
// `online_cpus` bounds `cpus` and `cpuset`.
std::vector<std::string> check_limits(const FleetSpec& fleet, const Layout& layout, unsigned online_cpus);

}  // namespace rusty::cgroup
