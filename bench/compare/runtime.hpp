// A runtime as rusty-bench-compare measures it: it starts n containers of
// the workload at once and says how long they took until all had exited
// (and, where it can see it, until all ran). The families, one file each:
// floor_runtime.cpp, oci_runtime.cpp (crun, runc, rusty-runtime),
// oneshot_runtime.cpp and supervisor_runtime.cpp; runtimes.hpp picks them.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/cgroup_tree.hpp"
#include "bench/common.hpp"
#include "bench/compare/options.hpp"
#include "cgroup/layout.hpp"
#include "core/fd.hpp"

namespace rusty::bench::compare {

namespace fs = std::filesystem;

// One sample: n containers started together.
struct Outcome {
    bool ok = true;
    double to_exit_ms = 0;                // until all have exited
    std::optional<double> to_running_ms;  // until all run, where observable
    std::string error;
};

inline Outcome failed(std::string error) {
    Outcome o;
    o.ok = false;
    o.error = std::move(error);
    return o;
}

// The shared environment of every runtime.
struct Context {
    const Options& options;
    const cgroup::Layout& layout;
    fs::path work;    // the temporary directory
    fs::path rootfs;  // the busybox root, shared by all
    bench::CgroupTree& tree;
    UniqueFd null_fd;
    std::vector<std::string> networks;
    int max_n = 1;
};

class Runtime {
public:
    Runtime(std::string name, std::string label, bool must_pass)
        : name_(std::move(name)), label_(std::move(label)), must_pass_(must_pass) {}
    virtual ~Runtime() = default;

    const std::string& name() const { return name_; }
    const std::string& label() const { return label_; }
    // A failure of ours (rusty's modes, the floor) fails the bench (exit
    // status 1); crun's and runc's are only reported.
    bool must_pass() const { return must_pass_; }
    // Whether "all running" is observable from outside.
    virtual bool sees_running() const { return false; }
    // n containers at once, on `network`; never throws for a runtime failure.
    virtual Outcome run(int n, const std::string& network, Clock::duration timeout) = 0;
    // How it is driven, for the report.
    virtual json describe() const = 0;
    // At the end: stop what runs, check what is left. Notes for the report.
    virtual void finish(std::vector<std::string>& /*notes*/) {}

    std::string version;

private:
    std::string name_, label_;
    bool must_pass_;
};

// The floor: clone3 and pivot_root from this process (bench/floor_core.hpp).
std::unique_ptr<Runtime> make_floor_runtime(Context& ctx);
// An OCI runtime's `run` over a bundle of the workload: crun, runc,
// rusty-runtime. `mntns_fd`: a mount namespace to run it in (crun on a
// hybrid host), or -1; `ns_note` says why, for the report.
std::unique_ptr<Runtime> make_oci_runtime(Context& ctx, std::string name, fs::path binary, const json& tmpl,
                                          int mntns_fd, std::string ns_note, bool must_pass = false);
// rusty-supervisor as a one-shot command: a fleet of one, run to its end.
std::unique_ptr<Runtime> make_oneshot_runtime(Context& ctx, fs::path supervisor);
// A running rusty-supervisor, asked over its control socket.
std::unique_ptr<Runtime> make_supervisor_runtime(Context& ctx, fs::path supervisor);

}  // namespace rusty::bench::compare
