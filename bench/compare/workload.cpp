#include "bench/compare/workload.hpp"

#include <set>

#include "bench/compare/processes.hpp"
#include "bench/compare/text.hpp"
#include "core/error.hpp"
#include "core/file.hpp"

namespace rusty::bench::compare {

json oci_template(Context& ctx, const fs::path& spec_tool) {
    const fs::path dir = ctx.work / "spec-template";
    fs::create_directories(dir);
    auto [status, output] = run_capture({spec_tool.string(), "spec", "--bundle", dir.string()},
                                        ctx.work / "spec-template.log", ctx.null_fd.get());
    if (status.signal != 0 || status.exit_code != 0)
        throw Error(spec_tool.string() + " spec: " + exit_text(status) + ": " + trim(output));
    json t = json::parse(read_file(dir / "config.json"));
    t["ociVersion"] = "1.0.2";
    t["process"]["terminal"] = false;
    t["process"]["args"] = json::array({"/bin/true"});
    t["root"] = {{"path", ctx.rootfs.string()}, {"readonly", false}};
    return t;
}

json oci_config(const json& tmpl, const std::string& network, bool limits, const std::string& cgroups_path) {
    json c = tmpl;
    json namespaces = json::array();
    std::set<std::string> have;
    for (const json& ns : c["linux"]["namespaces"]) {
        const std::string type = ns.value("type", "");
        if (type == "network" && network == "host") continue;
        have.insert(type);
        namespaces.push_back(ns);
    }
    for (const char* type : {"pid", "mount", "uts", "ipc"})
        if (!have.count(type)) namespaces.push_back({{"type", type}});
    if (network == "none" && !have.count("network")) namespaces.push_back({{"type", "network"}});
    c["linux"]["namespaces"] = namespaces;
    if (limits) {
        c["linux"]["resources"]["memory"] = {{"limit", kMemoryLimit}};
        c["linux"]["resources"]["pids"] = {{"limit", kPidsLimit}};
    }
    c["linux"]["cgroupsPath"] = cgroups_path;
    return c;
}

json rusty_container(const Context& ctx, const std::string& network, std::vector<std::string> command) {
    json c = {{"rootfs", ctx.rootfs.string()}, {"command", std::move(command)}, {"network", network}};
    if (ctx.options.limits) {
        c["mem_limit"] = "64m";
        c["pids_limit"] = kPidsLimit;
    }
    return c;
}

}  // namespace rusty::bench::compare
