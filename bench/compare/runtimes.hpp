// Which runtimes a run of rusty-bench-compare measures: the peers found on
// this host (crun, runc; crun's mount namespace; the OCI bundle template),
// rusty's binaries, and each runtime --runtimes asks for, set up or left out
// with its reason.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/compare/mount_ns_holder.hpp"
#include "bench/compare/report.hpp"
#include "bench/compare/runtime.hpp"

namespace rusty::bench::compare {

// What the runtimes need beyond the context: crun's namespace holder and
// the OCI bundle template, made once.
struct Peers {
    fs::path crun, runc;
    std::unique_ptr<MountNsHolder> holder;
    std::string crun_problem, crun_ns_note;
    json oci_template;
    std::string template_problem;
};

// Finds crun and runc, sets up crun's mount namespace on a hybrid host, and
// makes the bundle template (noting in `report` which tool it came from).
Peers find_peers(Context& ctx, Report& report);

// rusty-supervisor: --supervisor, else beside this program, else the build's,
// else in PATH; empty if none.
fs::path find_supervisor(const Options& o);

// The runtimes asked for, in that order. One that cannot be set up is left
// out with its reason; for ours (the floor, rusty) that is also a failure,
// returned in `setup_failures`.
std::vector<std::unique_ptr<Runtime>> make_runtimes(Context& ctx, Peers& peers, const fs::path& supervisor,
                                                    Report& report, std::vector<std::string>& setup_failures);

}  // namespace rusty::bench::compare
