#include "bench/compare/runtimes.hpp"

#include <unistd.h>

#include <cstdio>

#include "bench/compare/text.hpp"
#include "bench/compare/workload.hpp"
#include "core/error.hpp"

#ifndef RUSTY_SUPERVISOR_BIN
#define RUSTY_SUPERVISOR_BIN ""
#endif

namespace rusty::bench::compare {

namespace {

std::string version_of(const Context& ctx, const fs::path& bin) {
    try {
        auto [status, out] = run_capture({bin.string(), "--version"}, ctx.work / "version.log", ctx.null_fd.get());
        return first_line(out);
    } catch (const Error& e) {
        return std::string(e.what());
    }
}

}  // namespace

Peers find_peers(Context& ctx, Report& report) {
    const Options& o = ctx.options;
    Peers p;
    p.crun = o.has_runtime("crun") ? bench::find_program("crun") : fs::path();
    p.runc = o.has_runtime("runc") ? bench::find_program("runc") : fs::path();
    if (o.has_runtime("crun") && p.crun.empty()) p.crun_problem = "crun is not in PATH (apt-get install crun)";
    if (!p.crun.empty() && ctx.layout.mode() == cgroup::Mode::Hybrid) {
        try {
            p.holder = std::make_unique<MountNsHolder>();
            p.crun_ns_note = "crun refuses hybrid cgroup hosts, so each crun process joins (setns right before "
                             "execve) one private mount namespace, made once at the start by a holder process, in "
                             "which /sys/fs/cgroup/unified is covered by an empty tmpfs: crun sees and uses the v1 "
                             "hierarchies";
        } catch (const Error& e) {
            p.crun_problem = e.what();
        }
    }
    // The bundle: `crun spec`'s defaults, else `runc spec`'s.
    for (const fs::path& tool : {p.crun, p.runc}) {
        if (tool.empty() || !p.oci_template.is_null()) continue;
        try {
            p.oci_template = oci_template(ctx, tool);
            report.machine["oci_config_from"] = tool.filename().string() + " spec";
            p.template_problem.clear();
        } catch (const Error& e) {
            p.template_problem += (p.template_problem.empty() ? "" : "; ") + std::string(e.what());
        }
    }
    return p;
}

fs::path find_supervisor(const Options& o) {
    if (!o.supervisor.empty()) return fs::absolute(o.supervisor);
    std::error_code ec;
    const fs::path beside = fs::read_symlink("/proc/self/exe", ec).parent_path() / "rusty-supervisor";
    if (!ec && ::access(beside.c_str(), X_OK) == 0) return beside;
    if (std::string(RUSTY_SUPERVISOR_BIN).size() && ::access(RUSTY_SUPERVISOR_BIN, X_OK) == 0)
        return RUSTY_SUPERVISOR_BIN;
    return bench::find_program("rusty-supervisor");
}

std::vector<std::unique_ptr<Runtime>> make_runtimes(Context& ctx, Peers& peers, const fs::path& supervisor,
                                                    Report& report, std::vector<std::string>& setup_failures) {
    std::vector<std::unique_ptr<Runtime>> runtimes;
    for (const std::string& name : ctx.options.runtimes) {
        try {
            if (name == "floor") {
                runtimes.push_back(make_floor_runtime(ctx));
            } else if (name == "crun") {
                if (!peers.crun_problem.empty()) throw Error(peers.crun_problem);
                if (!peers.template_problem.empty()) throw Error(peers.template_problem);
                auto rt = make_oci_runtime(ctx, "crun", peers.crun, peers.oci_template,
                                           peers.holder ? peers.holder->ns_fd() : -1, peers.crun_ns_note);
                rt->version = version_of(ctx, peers.crun);
                runtimes.push_back(std::move(rt));
            } else if (name == "runc") {
                if (peers.runc.empty()) throw Error("runc is not in PATH (apt-get install runc)");
                if (!peers.template_problem.empty()) throw Error(peers.template_problem);
                auto rt = make_oci_runtime(ctx, "runc", peers.runc, peers.oci_template, -1, "");
                rt->version = version_of(ctx, peers.runc);
                runtimes.push_back(std::move(rt));
            }
            // `rusty-runtime run` over the same bundles as crun and runc; ours,
            // so a failure fails the bench.
            else if (name == "rusty-runtime") {
                const fs::path binary = supervisor.empty() ? fs::path() : supervisor.parent_path() / "rusty-runtime";
                if (binary.empty() || ::access(binary.c_str(), X_OK) != 0)
                    throw Error("no rusty-runtime beside rusty-supervisor (" + binary.string() + ")");
                if (!peers.template_problem.empty()) throw Error(peers.template_problem);
                auto rt = make_oci_runtime(ctx, "rusty-runtime", binary, peers.oci_template, -1, "", true);
                rt->version = version_of(ctx, binary);
                runtimes.push_back(std::move(rt));
            } else if (name == "rusty-oneshot") {
                if (supervisor.empty()) throw Error("no rusty-supervisor beside this program or in PATH (--supervisor)");
                runtimes.push_back(make_oneshot_runtime(ctx, supervisor));
            } else if (name == "rusty-supervisor") {
                if (supervisor.empty()) throw Error("no rusty-supervisor beside this program or in PATH (--supervisor)");
                runtimes.push_back(make_supervisor_runtime(ctx, supervisor));
            }
        } catch (const Error& e) {
            check_interrupted();
            const bool ours = name.rfind("rusty", 0) == 0 || name == "floor";
            const std::string reason = std::string(ours ? "FAILED to set up: " : "") + e.what();
            std::fprintf(stderr, "rusty-bench-compare: %s left out: %s\n", name.c_str(), reason.c_str());
            report.runtimes.push_back({{"name", name}, {"available", false}, {"reason", reason}});
            if (ours) setup_failures.push_back(name + ": " + e.what());
        }
    }
    return runtimes;
}

}  // namespace rusty::bench::compare
