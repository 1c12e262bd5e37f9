#include "bench/compare/command_runtime.hpp"

#include <fcntl.h>

#include <algorithm>

#include "bench/compare/text.hpp"
#include "core/error.hpp"

namespace rusty::bench::compare {

Outcome CommandRuntime::run(int n, const std::string& network, Clock::duration timeout) {
    // Off the clock: argv and an output file per process.
    std::vector<const CArgv*> argvs(n);
    std::vector<UniqueFd> outs(n);
    for (int i = 0; i < n; ++i) {
        argvs[i] = &argv(network, i);
        const fs::path log = log_path(i);
        outs[i].reset(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!outs[i]) throw_sys("open(\"" + log.string() + "\")");
    }
    std::vector<Proc> procs;
    procs.reserve(n);
    std::vector<Proc*> all;
    Outcome out;

    const Clock::time_point t0 = Clock::now();
    try {
        for (int i = 0; i < n; ++i) procs.push_back(spawn(*argvs[i], outs[i].get(), mntns_fd(), ctx_.null_fd.get()));
    } catch (const Error& e) {
        out = failed(name() + ": " + e.what());
    }
    for (Proc& p : procs) all.push_back(&p);
    const bool finished = wait_all(all, t0 + timeout);
    Clock::time_point last_exit = t0;
    for (const Proc& p : procs) last_exit = std::max(last_exit, p.exited_at);

    if (!finished) {
        std::string stuck;
        int stuck_count = 0;
        for (std::size_t i = 0; i < procs.size(); ++i) {
            if (procs[i].done) continue;
            if (stuck_count++ == 0) stuck = std::to_string(i);
            kill_and_reap(procs[i], true);
        }
        // What it left running in its cgroups (ours: below /rusty-bench-<pid>).
        const int killed = ctx_.tree.kill_below(cgroup_subtree());
        for (std::size_t i = 0; i < procs.size(); ++i) after_kill(static_cast<int>(i));
        return failed(name() + ": " + std::to_string(stuck_count) + " of " + std::to_string(n) +
                      " still running after " + seconds_text(timeout) + ": killed with their process groups (and " +
                      std::to_string(killed) + " processes left in their cgroups); output of #" + stuck + ": " +
                      output_tail(log_path(std::stoi(stuck))));
    }
    if (!out.ok) return out;
    int bad = 0;
    std::string first;
    for (std::size_t i = 0; i < procs.size(); ++i) {
        const sys::ExitStatus& s = procs[i].status;
        if (s.signal == 0 && s.exit_code == 0) continue;
        if (bad++ == 0) first = "#" + std::to_string(i) + " " + exit_text(s) + ": " + output_tail(log_path(i));
    }
    if (bad > 0) return failed(name() + ": " + std::to_string(bad) + " of " + std::to_string(n) + " failed; " + first);
    out.to_exit_ms = bench::to_ms(last_exit - t0);
    return out;
}

}  // namespace rusty::bench::compare
