// crun, runc and rusty-runtime: `RUNTIME --root STATE run --bundle BUNDLE
// ID`, the bundles being `crun spec` edited minimally (workload.hpp), the
// same for all three.
#include <fcntl.h>

#include <map>
#include <memory>

#include "bench/compare/command_runtime.hpp"
#include "bench/compare/workload.hpp"
#include "core/error.hpp"

namespace rusty::bench::compare {

namespace {

class OciRuntime : public CommandRuntime {
public:
    // `mntns_fd`: a mount namespace to run it in (crun on a hybrid host), or -1.
    OciRuntime(Context& ctx, std::string name, fs::path binary, const json& tmpl, int mntns_fd, std::string ns_note,
               bool must_pass)
        : CommandRuntime(ctx, name, name + " run", must_pass),
          binary_(std::move(binary)),
          mntns_fd_(mntns_fd),
          ns_note_(std::move(ns_note)) {
        state_ = ctx.work / (this->name() + "-state");
        fs::create_directories(state_);
        for (const std::string& network : ctx.networks) {
            for (int i = 0; i < ctx.max_n; ++i) {
                const std::string id = this->name() + "-" + std::to_string(i);
                const fs::path bundle = ctx.work / "bundles" / network / id;
                fs::create_directories(bundle);
                const json config =
                    oci_config(tmpl, network, ctx.options.limits, ctx.tree.path(this->name() + "-" + std::to_string(i)));
                bench::write_text(bundle / "config.json", config.dump(2) + "\n");
                if (i == 0) sample_config_[network] = config;
                argvs_[network].push_back(std::make_unique<CArgv>(std::vector<std::string>{
                    binary_.string(), "--root", state_.string(), "run", "--bundle", bundle.string(), id}));
            }
        }
    }

    json describe() const override {
        json j = {{"how", binary_.string() + " --root STATE run --bundle BUNDLE " + name() + "-<i>"},
                  {"binary", binary_.string()},
                  {"version", version},
                  {"cgroups_path", "/" + ctx_.tree.top() + "/" + name() + "-<i>"},
                  {"config_json", sample_config_}};
        if (!ns_note_.empty()) j["mount_namespace"] = ns_note_;
        return j;
    }

    // `run` deletes its container when it ends; anything left in the state
    // directory is reported and deleted.
    void finish(std::vector<std::string>& notes) override {
        std::error_code ec;
        std::vector<std::string> left;
        for (const auto& entry : fs::directory_iterator(state_, ec)) left.push_back(entry.path().filename().string());
        for (const std::string& id : left) {
            notes.push_back(name() + " left state for container " + id + " after `run` (deleted with `delete -f`)");
            remove(id);
        }
    }

protected:
    // A killed `run` leaves its container's state: `delete -f` it, or the
    // next `run` of the same id fails.
    void after_kill(int i) override {
        const std::string id = name() + "-" + std::to_string(i);
        std::error_code ec;
        if (fs::exists(state_ / id, ec)) remove(id);
    }

    const CArgv& argv(const std::string& network, int i) override { return *argvs_.at(network).at(i); }
    int mntns_fd() const override { return mntns_fd_; }
    std::string cgroup_subtree() const override { return name() + "-"; }  // its leaves: /top/<name>-<i>

private:
    void remove(const std::string& id) {
        CArgv del({binary_.string(), "--root", state_.string(), "delete", "-f", id});
        const fs::path log = logs_ / "delete.log";
        UniqueFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!out) return;
        Proc p = spawn(del, out.get(), mntns_fd_, ctx_.null_fd.get());
        std::vector<Proc*> all = {&p};
        if (!wait_all(all, Clock::now() + std::chrono::seconds(10))) kill_and_reap(p, true);
    }

    fs::path binary_;
    int mntns_fd_;
    std::string ns_note_;
    fs::path state_;
    std::map<std::string, std::vector<std::unique_ptr<CArgv>>> argvs_;
    std::map<std::string, json> sample_config_;
};

}  // namespace

std::unique_ptr<Runtime> make_oci_runtime(Context& ctx, std::string name, fs::path binary, const json& tmpl,
                                          int mntns_fd, std::string ns_note, bool must_pass) {
    return std::make_unique<OciRuntime>(ctx, std::move(name), std::move(binary), tmpl, mntns_fd, std::move(ns_note),
                                        must_pass);
}

}  // namespace rusty::bench::compare
