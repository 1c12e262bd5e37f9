#include "lifecycle/messages.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace rusty::lifecycle {

using nlohmann::json;

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
std::string encode(const SpawnRequest& r) {
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
    };
    return j.dump();
}

SpawnRequest decode_spawn_request(std::string_view bytes) {
    try {
        json j = json::parse(bytes);
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
