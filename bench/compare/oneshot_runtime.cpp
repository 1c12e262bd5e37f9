// rusty-oneshot: `rusty-supervisor --config ONE.json …`, a fleet of one,
// run to its end: like for like with `crun run`.
#include <map>
#include <memory>

#include "bench/compare/command_runtime.hpp"
#include "bench/compare/workload.hpp"

namespace rusty::bench::compare {

namespace {

class OneshotRuntime : public CommandRuntime {
public:
    OneshotRuntime(Context& ctx, fs::path supervisor)
        : CommandRuntime(ctx, "rusty-oneshot", "rusty-supervisor, a fleet of one run to its end", true),
          supervisor_(std::move(supervisor)) {
        root_ = ctx.work / "oneshot-root";
        fs::create_directories(root_);
        const fs::path dir = ctx.work / "oneshot-fleets";
        fs::create_directories(dir);
        for (const std::string& network : ctx.networks) {
            for (int i = 0; i < ctx.max_n; ++i) {
                // A distinct fleet name per concurrent instance: its state directory.
                const std::string fleet = "oneshot-" + network + "-" + std::to_string(i);
                const json spec = {{"name", fleet},
                                   {"containers", {{"c", rusty_container(ctx, network, {"/bin/true"})}}}};
                const fs::path file = dir / (fleet + ".json");
                bench::write_text(file, spec.dump(2) + "\n");
                if (i == 0) sample_[network] = spec;
                argvs_[network].push_back(std::make_unique<CArgv>(
                    std::vector<std::string>{supervisor_.string(), "--config", file.string(), "--root", root_.string(),
                                             "--cgroup-parent", ctx.tree.path("oneshot")}));
            }
        }
    }

    json describe() const override {
        return {{"how", supervisor_.string() + " --config ONE.json --root ROOT --cgroup-parent /" + ctx_.tree.top() +
                            "/oneshot (one process per container; a distinct fleet name per concurrent instance)"},
                {"binary", supervisor_.string()},
                {"fleet_json", sample_}};
    }

protected:
    const CArgv& argv(const std::string& network, int i) override { return *argvs_.at(network).at(i); }
    std::string cgroup_subtree() const override { return "oneshot"; }

private:
    fs::path supervisor_, root_;
    std::map<std::string, std::vector<std::unique_ptr<CArgv>>> argvs_;
    std::map<std::string, json> sample_;
};

}  // namespace

std::unique_ptr<Runtime> make_oneshot_runtime(Context& ctx, fs::path supervisor) {
    return std::make_unique<OneshotRuntime>(ctx, std::move(supervisor));
}

}  // namespace rusty::bench::compare
