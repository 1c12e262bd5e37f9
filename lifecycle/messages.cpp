#include "lifecycle/messages.hpp"

#include <linux/capability.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace rusty::lifecycle {

using nlohmann::json;

std::uint64_t SecurityPlan::default_capabilities() {
    // Docker's default set, less CAP_MKNOD: Docker can grant it because its
    // devices cgroup denies opening new nodes; a container able to mknod
    // without that allow-list could open the host's disks.
    constexpr int kCaps[] = {
        CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER,  CAP_FSETID,           CAP_KILL,
        CAP_SETGID, CAP_SETUID,       CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW,
        CAP_SYS_CHROOT, CAP_AUDIT_WRITE, CAP_SETFCAP,
    };
    std::uint64_t caps = 0;
    for (int cap : kCaps) caps |= std::uint64_t{1} << cap;
    return caps;
}

SecurityPlan SecurityPlan::defaults() {
    SecurityPlan plan;
    plan.cap_bounding = plan.cap_effective = plan.cap_permitted = default_capabilities();
    // Kernel interfaces a container has no business reading or writing
    // (runc spec's lists, plus powercap).
    plan.masked_paths = {
        "/proc/acpi",       "/proc/asound",      "/proc/kcore",       "/proc/keys",
        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
        "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap",
    };
    plan.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    return plan;
}

namespace {

json encode(const SecurityPlan& p) {
    return {
        {"caps", {p.cap_bounding, p.cap_effective, p.cap_permitted, p.cap_inheritable, p.cap_ambient}},
        {"no_new_privileges", p.no_new_privileges},
        {"seccomp_filter_size", p.seccomp_filter.size()},
        {"seccomp_flags", p.seccomp_flags},
        {"masked_paths", p.masked_paths},
        {"readonly_paths", p.readonly_paths},
    };
}

// The seccomp program travels after the JSON, as raw bytes (see encode()).
SecurityPlan decode_security(const json& j, std::string_view filter) {
    SecurityPlan p;
    auto caps = j.at("caps").get<std::vector<std::uint64_t>>();
    if (caps.size() != 5) throw Error("malformed spawn request: caps needs 5 sets");
    p.cap_bounding = caps[0];
    p.cap_effective = caps[1];
    p.cap_permitted = caps[2];
    p.cap_inheritable = caps[3];
    p.cap_ambient = caps[4];
    p.no_new_privileges = j.at("no_new_privileges").get<bool>();
    if (j.at("seccomp_filter_size").get<std::size_t>() != filter.size())
        throw Error("malformed spawn request: seccomp program of " + std::to_string(filter.size()) + " bytes, " +
                    j.at("seccomp_filter_size").dump() + " announced");
    p.seccomp_filter = std::string(filter);
    p.seccomp_flags = j.at("seccomp_flags").get<unsigned>();
    p.masked_paths = j.at("masked_paths").get<std::vector<std::string>>();
    p.readonly_paths = j.at("readonly_paths").get<std::vector<std::string>>();
    return p;
}

}  // namespace

std::string describe(const SetupFailure& failure) {
    std::string text(failure.what, strnlen(failure.what, sizeof failure.what));
    if (failure.sys_errno != 0) {
        text += ": ";
        text += errno_text(failure.sys_errno);
    }
    return text;
}

std::string setup_story(std::string_view got, InitSteps* steps) {
    // [T InitSteps] E on success; a SetupFailure instead of E, or after it
    // when execve itself failed.
    constexpr std::size_t kSteps = 1 + sizeof(InitSteps);
    if (!got.empty() && got.front() == kReadyMarker) got.remove_prefix(1);  // rusty-runtime run
    if (got.size() >= kSteps && got.front() == kStepsMarker) {
        if (steps) std::memcpy(steps, got.data() + 1, sizeof *steps);
        got.remove_prefix(kSteps);
    }
    if (got.size() == 1 && got.front() == kExecMarker) return {};
    if (!got.empty() && got.front() == kExecMarker) got.remove_prefix(1);
    if (got.size() == sizeof(SetupFailure)) {
        SetupFailure failure;
        std::memcpy(&failure, got.data(), sizeof failure);
        return describe(failure);
    }
    return kDiedDuringSetup;
}

// JSON keeps the wire format readable in strace and easy to extend; a spawn
// request is a few hundred bytes, so its cost is noise beside clone3.
std::string encode(const SpawnRequest& r) { return encode_head(r) + r.security.seccomp_filter.str(); }

std::string encode_head(const SpawnRequest& r) {
    const ContainerSpec& s = r.spec;
    json j = {
        {"id", r.id},
        {"name", s.name},
        {"argv", s.argv},
        {"env", s.env},
        {"working_dir", s.working_dir},
        {"user", s.user},
        {"hostname", s.hostname},
        {"network", s.network == NetworkMode::Host ? "host" : "none"},
        {"pid", s.pid == PidMode::Host ? "host" : "private"},
        {"cgroup_join", r.cgroup_join},
        {"lower", r.rootfs.lower.string()},
        {"upper", r.rootfs.upper.string()},
        {"work", r.rootfs.work.string()},
        {"target", r.rootfs.target.string()},
        {"read_only", r.rootfs.read_only},
        {"notify_dir", r.rootfs.notify_dir.string()},
        {"has_stdin", r.has_stdin},
        {"has_console", r.has_console},
        {"has_cgroup_fd", r.has_cgroup_fd},
        {"exec_argv", r.exec_argv},
        {"stub", r.stub},
        {"security", encode(r.security)},
    };
    // The seccomp program (kilobytes) follows the JSON and a NUL, raw: as a
    // JSON string it would be escaped or hex, and parsed at every start.
    // A dumped JSON text holds no raw NUL, so the first one ends it.
    std::string bytes = j.dump();
    bytes += '\0';
    return bytes;
}

SpawnRequest decode_spawn_request(std::string_view bytes) {
    try {
        const std::size_t end = bytes.find('\0');
        if (end == std::string_view::npos) throw Error("malformed spawn request: no end of its JSON");
        json j = json::parse(bytes.substr(0, end));
        SpawnRequest r;
        r.id = j.at("id").get<std::uint64_t>();
        ContainerSpec& s = r.spec;
        s.name = j.at("name").get<std::string>();
        s.argv = j.at("argv").get<std::vector<std::string>>();
        s.env = j.at("env").get<std::vector<std::string>>();
        s.working_dir = j.at("working_dir").get<std::string>();
        s.user = j.at("user").get<std::string>();
        s.hostname = j.at("hostname").get<std::string>();
        s.network = j.at("network") == "host" ? NetworkMode::Host : NetworkMode::None;
        s.pid = j.at("pid") == "host" ? PidMode::Host : PidMode::Private;
        r.cgroup_join = j.at("cgroup_join").get<std::vector<std::string>>();
        r.rootfs.lower = j.at("lower").get<std::string>();
        r.rootfs.upper = j.at("upper").get<std::string>();
        r.rootfs.work = j.at("work").get<std::string>();
        r.rootfs.target = j.at("target").get<std::string>();
        r.rootfs.read_only = j.at("read_only").get<bool>();
        s.read_only = r.rootfs.read_only;
        r.rootfs.notify_dir = j.at("notify_dir").get<std::string>();
        r.has_stdin = j.at("has_stdin").get<bool>();
        r.has_console = j.at("has_console").get<bool>();
        r.has_cgroup_fd = j.at("has_cgroup_fd").get<bool>();
        r.exec_argv = j.at("exec_argv").get<std::vector<std::string>>();
        r.stub = j.at("stub").get<bool>();
        r.security = decode_security(j.at("security"), bytes.substr(end + 1));
        return r;
    } catch (const json::exception& e) {
        throw Error(std::string("malformed spawn request: ") + e.what());
    }
}

std::string encode(const SpawnReply& r) {
    return json{{"id", r.id}, {"pid", r.pid}, {"error", r.error}, {"what", r.what}}.dump();
}

SpawnReply decode_spawn_reply(std::string_view bytes) {
    try {
        json j = json::parse(bytes);
        return SpawnReply{j.at("id").get<std::uint64_t>(), j.at("pid").get<pid_t>(),
                          j.at("error").get<int>(), j.at("what").get<std::string>()};
    } catch (const json::exception& e) {
        throw Error(std::string("malformed spawn reply: ") + e.what());
    }
}

}  // namespace rusty::lifecycle
