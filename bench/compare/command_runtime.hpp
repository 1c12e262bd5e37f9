// The runtimes driven as one command per container, run to its end (crun,
// runc, rusty-runtime, the rusty one-shot): a sample starts n processes as
// fast as it can and ends when the last has exited.
#pragma once

#include <string>

#include "bench/compare/processes.hpp"
#include "bench/compare/runtime.hpp"

namespace rusty::bench::compare {

// What crun, runc, rusty-runtime and the rusty one-shot share: each
// container's life is its process's life.
class CommandRuntime : public Runtime {
public:
    CommandRuntime(Context& ctx, std::string name, std::string label, bool must_pass)
        : Runtime(std::move(name), std::move(label), must_pass), ctx_(ctx) {
        logs_ = ctx.work / "logs" / this->name();
        fs::create_directories(logs_);
    }

    Outcome run(int n, const std::string& network, Clock::duration timeout) override;

protected:
    virtual const CArgv& argv(const std::string& network, int i) = 0;
    virtual int mntns_fd() const { return -1; }
    // After a timeout killed its processes: forget container `i`.
    virtual void after_kill(int /*i*/) {}
    // The prefix of its containers' cgroups below /rusty-bench-<pid>.
    virtual std::string cgroup_subtree() const = 0;
    fs::path log_path(int i) const { return logs_ / (std::to_string(i) + ".log"); }

    Context& ctx_;
    fs::path logs_;
};

}  // namespace rusty::bench::compare
