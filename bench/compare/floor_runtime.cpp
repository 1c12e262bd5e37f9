// The floor beside the runtimes: clone3 with the workload's namespaces from
// this process, born in a fresh v2 cgroup (CLONE_INTO_CGROUP) and, for
// limits on a hybrid host, joining fresh v1 memory and pids cgroups by a
// cgroup.procs write in the child; private mounts, bind rootfs, /proc,
// pivot_root, exec (bench/floor_core.hpp, shared with rusty-bench-floor).
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "bench/compare/processes.hpp"
#include "bench/compare/runtime.hpp"
#include "bench/compare/text.hpp"
#include "bench/floor_core.hpp"
#include "cgroup/cgroup.hpp"
#include "core/error.hpp"
#include "core/syscalls.hpp"

namespace rusty::bench::compare {

namespace {

class FloorRuntime : public Runtime {
public:
    explicit FloorRuntime(Context& ctx) : Runtime("floor", "floor (clone3 + pivot_root, in this process)", true) {
        const cgroup::Layout& layout = ctx.layout;
        bench::floor::CgroupOptions co;
        co.parent = fs::path(ctx.tree.top()) / "floor";
        co.leaf_prefix = "floor-";
        if (!layout.v2_root().empty()) {
            co.v2 = "into";
            ctx.tree.ensure(layout.v2_root());
            placement_ = "born in a fresh v2 cgroup (clone3 CLONE_INTO_CGROUP)";
        } else {
            placement_ = "no v2 hierarchy";
        }
        if (ctx.options.limits) {
            const std::optional<fs::path> memory = layout.v1_root("memory"), pids = layout.v1_root("pids");
            if (memory && pids) {
                co.v1_procs = {"memory", "pids"};
                co.limits["memory"] = {{"memory.limit_in_bytes", std::to_string(kMemoryLimit)}};
                co.limits["pids"] = {{"pids.max", std::to_string(kPidsLimit)}};
                ctx.tree.ensure(*memory);
                ctx.tree.ensure(*pids);
                placement_ += "; limits (memory.limit_in_bytes 64 MiB, pids.max 1000) written into fresh v1 memory "
                              "and pids cgroups, joined by the child writing 0 to their cgroup.procs before mounting";
            } else if (!layout.v2_root().empty()) {
                // A pure v2 host: the limits live in the cgroup it is born in.
                co.limits["v2"] = {{"memory.max", std::to_string(kMemoryLimit)}, {"pids.max", std::to_string(kPidsLimit)}};
                cgroup::write_file(layout.v2_root() / ctx.tree.top() / "cgroup.subtree_control", "+memory +pids");
                placement_ += "; limits in that v2 cgroup";
            } else {
                throw Error("floor: no memory and pids controllers found for the limits");
            }
        }
        cgroups_ = std::make_unique<bench::floor::StartCgroups>(layout, co);
        if (co.limits.count("v2")) cgroup::write_file(cgroups_->v2_parent() / "cgroup.subtree_control", "+memory +pids");
        plan_.rootfs = ctx.rootfs.string();
        plan_.parent_mount_ns = sys::namespace_inode("mnt");
        plan_.cgroup_ns_after_join = false;  // the OCI bundle has no cgroup namespace either
    }

    bool sees_running() const override { return true; }

    json describe() const override {
        return {{"how", "clone3(CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWUTS|CLONE_NEWIPC[|CLONE_NEWNET]) from this process; "
                        "the child makes / private, binds the rootfs onto itself, mounts /proc, pivot_root, "
                        "execve /bin/true (no cgroup namespace, as in the bundle); running = the CLOEXEC report pipe's EOF, exit = "
                        "waitid on the pidfd"},
                {"cgroups", placement_}};
    }

    Outcome run(int n, const std::string& network, Clock::duration timeout) override {
        std::uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
        if (network == "none") flags |= CLONE_NEWNET;
        // Off the clock: names and plans.
        std::vector<std::vector<fs::path>> names(n);
        std::vector<bench::floor::ChildPlan> plans(n, plan_);
        for (int i = 0; i < n; ++i) {
            names[i] = cgroups_->names(i);
            plans[i].join_files = cgroups_->join_files(names[i]);
        }
        std::vector<bench::floor::StartCgroups::Leaves> leaves(n);
        std::vector<bench::floor::Launched> kids;
        kids.reserve(n);
        std::vector<Proc> procs(n);
        std::vector<std::string> reports(n);
        std::vector<bool> reported(n, false);
        std::optional<Clock::time_point> last_running;
        Outcome out;

        const Clock::time_point t0 = Clock::now();
        const Clock::time_point deadline = t0 + timeout;
        try {
            for (int i = 0; i < n; ++i) {
                leaves[i] = cgroups_->make(names[i]);
                kids.push_back(bench::floor::launch(plans[i], flags, leaves[i].placement.get()));
                procs[i].pid = kids[i].pid;
                procs[i].pidfd = std::move(kids[i].pidfd);
            }
        } catch (const Error& e) {
            out = failed(std::string("floor: ") + e.what());
        }
        const int launched = static_cast<int>(kids.size());
        // Both ends of each child: its report pipe (running) and its pidfd (exit).
        std::vector<pollfd> fds;
        std::vector<int> which;
        for (;;) {
            fds.clear();
            which.clear();
            for (int i = 0; i < launched; ++i) {
                if (!reported[i]) {
                    fds.push_back({kids[i].report.get(), POLLIN, 0});
                    which.push_back(i);
                }
                if (!procs[i].done) {
                    fds.push_back({procs[i].pidfd.get(), POLLIN, 0});
                    which.push_back(-1 - i);
                }
            }
            if (fds.empty()) break;
            const int r = ::poll(fds.data(), fds.size(), poll_timeout(deadline));
            if (r < 0) {
                if (errno != EINTR) throw_sys("poll(floor)");
                if (interrupted()) break;
                continue;
            }
            if (r == 0 && Clock::now() >= deadline) break;
            for (std::size_t k = 0; k < fds.size(); ++k) {
                if (fds[k].revents == 0) continue;
                if (which[k] >= 0) {
                    const int i = which[k];
                    char buf[512];
                    const ssize_t got = ::read(kids[i].report.get(), buf, sizeof buf);
                    if (got > 0) {
                        reports[i].append(buf, static_cast<std::size_t>(got));
                    } else if (got == 0) {
                        reported[i] = true;
                        if (reports[i].empty()) last_running = Clock::now();
                    }
                } else {
                    try_reap(procs[-1 - which[k]]);
                }
            }
        }
        bool all_done = true;
        for (int i = 0; i < launched; ++i) {
            if (!procs[i].done) {
                all_done = false;
                kill_and_reap(procs[i]);
            }
        }
        Clock::time_point last_exit = t0;
        for (int i = 0; i < launched; ++i) last_exit = std::max(last_exit, procs[i].exited_at);
        leaves.clear();  // off the clock: rmdir, retried on EBUSY
        check_interrupted();
        if (!out.ok) return out;
        if (!all_done) return failed("floor: timed out after " + seconds_text(timeout));
        for (int i = 0; i < n; ++i) {
            if (!reports[i].empty()) return failed("floor: container " + std::to_string(i) + ": " + reports[i]);
            if (procs[i].status.signal != 0 || procs[i].status.exit_code != 0)
                return failed("floor: /bin/true: " + exit_text(procs[i].status));
        }
        out.to_exit_ms = bench::to_ms(last_exit - t0);
        if (last_running) out.to_running_ms = bench::to_ms(*last_running - t0);
        return out;
    }

private:
    std::unique_ptr<bench::floor::StartCgroups> cgroups_;
    bench::floor::ChildPlan plan_;
    std::string placement_;
};

}  // namespace

std::unique_ptr<Runtime> make_floor_runtime(Context& ctx) { return std::make_unique<FloorRuntime>(ctx); }

}  // namespace rusty::bench::compare
