#include "runtime/cgroup_config.hpp"

#include "core/error.hpp"

namespace rusty::runtime {

std::string cgroup_path_for(const oci::Spec& spec, const std::string& id) {
    const std::string& path = spec.linux.cgroups_path;
    if (path.empty()) return "/rusty-runtime/" + id;
    if (path.find(':') != std::string::npos)
        throw Error("linux.cgroupsPath \"" + path + "\": a systemd slice:prefix:name path needs --systemd-cgroup, which "
                    "rusty-runtime does not support; give a cgroupfs path");
    // runc puts a relative path under its own cgroup; we under the root:
    // under the caller's would land in whatever unit the caller runs in.
    return path.front() == '/' ? path : "/" + path;
}

Resources limits_of(const oci::Resources& r) {
    Resources out;
    out.memory = r.memory_limit;
    out.memory_swap = r.memory_swap;
    out.memory_reservation = r.memory_reservation;
    if (r.cpu_quota && *r.cpu_quota > 0) {
        const double period = static_cast<double>(r.cpu_period.value_or(100'000));
        out.cpus = static_cast<double>(*r.cpu_quota) / period;
    }
    out.cpu_shares = r.cpu_shares;
    out.cpuset = r.cpuset_cpus;
    out.pids = r.pids_limit;
    if (out.pids && *out.pids <= 0) out.pids.reset();  // 0 or -1: unlimited, as runc
    return out;
}

std::vector<cgroup::DeviceAccess> device_rules(const oci::Spec& spec) {
    std::vector<cgroup::DeviceAccess> rules{{false, "a *:* rwm"}};
    auto number = [](const std::optional<std::int64_t>& n) { return n ? std::to_string(*n) : std::string("*"); };
    for (const oci::DeviceRule& r : spec.linux.resources.devices) {
        if (r.type == 'a' && !r.allow) continue;  // already denied
        rules.push_back({r.allow, std::string(1, r.type) + " " + number(r.major) + ":" + number(r.minor) + " " + r.access});
    }
    for (const char* rule : {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm",
                             "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"})
        rules.push_back({true, rule});
    for (const oci::Device& d : spec.linux.devices)
        if (d.type != 'p')
            rules.push_back({true, std::string(1, d.type == 'u' ? 'c' : d.type) + " " + std::to_string(d.major) + ":" +
                                       std::to_string(d.minor) + " rwm"});
    return rules;
}

}  // namespace rusty::runtime
