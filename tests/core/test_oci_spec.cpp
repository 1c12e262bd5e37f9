// The OCI runtime-spec config.json parser (core/oci_spec.hpp): what it
// accepts, what it makes of it, and how it names the field it refuses.
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/oci_spec.hpp"
#include "tests/support/temp_dir.hpp"

using Json = nlohmann::json;
using namespace rusty::oci;

namespace {

// The least config.json that parses.
Json minimal_spec() {
    return Json::parse(R"({
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs"},
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"}
    })");
}

// `spec` with the value at JSON pointer `pointer` replaced (or added).
Json with(Json spec, const std::string& pointer, Json value) {
    spec[Json::json_pointer(pointer)] = std::move(value);
    return spec;
}

Json without(Json spec, const std::string& pointer) {
    const Json::json_pointer ptr(pointer);
    spec[ptr.parent_pointer()].erase(ptr.back());
    return spec;
}

// what() of the SpecError `spec` gives, or a note that it gave none.
std::string error_of(const Json& spec) {
    try {
        (void)parse_spec(spec.dump(), "/b");
    } catch (const SpecError& error) {
        return error.what();
    }
    return "(no error)";
}

bool has_warning(const Spec& spec, const std::string& warning) {
    return std::find(spec.warnings.begin(), spec.warnings.end(), warning) != spec.warnings.end();
}

std::uint64_t bit(int capability) { return std::uint64_t{1} << capability; }

// One mount with these options, parsed.
Mount mount_with(const Json& options, const std::string& type = "tmpfs") {
    const Json spec = with(minimal_spec(), "/mounts",
                           Json::array({{{"destination", "/m"}, {"type", type}, {"source", "/src"}, {"options", options}}}));
    return parse_spec(spec.dump(), "/b").mounts.at(0);
}

}  // namespace

// ---- The default spec ----------------------------------------------------------

TEST_CASE("default_spec_json is runc's spec and parses back", "[oci]") {
    const Json json = default_spec_json();
    CHECK(json["ociVersion"] == kSpecVersion);
    CHECK(json["hostname"] == "rusty");
    CHECK(json["process"]["args"] == Json::array({"sh"}));

    const Spec spec = parse_spec(json.dump(), "/b");
    CHECK(spec.warnings.empty());
    CHECK(spec.oci_version == "1.2.0");
    CHECK(spec.root_path == "/b/rootfs");
    CHECK(spec.root_readonly);
    CHECK(spec.hostname == "rusty");

    const Process& process = spec.process;
    CHECK(process.terminal);
    CHECK(process.args == std::vector<std::string>{"sh"});
    CHECK(process.env ==
          std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"});
    CHECK(process.cwd == "/");
    CHECK(process.user.uid == 0);
    CHECK(process.user.gid == 0);
    CHECK(process.no_new_privileges);
    const std::uint64_t runc_caps = bit(CAP_AUDIT_WRITE) | bit(CAP_KILL) | bit(CAP_NET_BIND_SERVICE);
    CHECK(process.capabilities.bounding == runc_caps);
    CHECK(process.capabilities.effective == runc_caps);
    CHECK(process.capabilities.permitted == runc_caps);
    CHECK(process.capabilities.inheritable == 0);
    CHECK(process.capabilities.ambient == 0);
    REQUIRE(process.rlimits.size() == 1);
    CHECK(process.rlimits[0].resource == RLIMIT_NOFILE);
    CHECK(process.rlimits[0].soft == 1024);
    CHECK(process.rlimits[0].hard == 1024);

    REQUIRE(spec.mounts.size() == 7);
    CHECK(spec.mounts[0].destination == "/proc");
    CHECK(spec.mounts[0].type == "proc");
    CHECK(spec.mounts[0].flags == 0);
    CHECK(spec.mounts[1].destination == "/dev");
    CHECK(spec.mounts[1].flags == (MS_NOSUID | MS_STRICTATIME));
    CHECK(spec.mounts[1].data == "mode=755,size=65536k");
    CHECK(spec.mounts[2].data == "newinstance,ptmxmode=0666,mode=0620,gid=5");
    CHECK(spec.mounts[3].source == "shm");  // not a bind: left as written
    CHECK(spec.mounts[5].flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
    CHECK(spec.mounts[6].destination == "/sys/fs/cgroup");
    CHECK(spec.mounts[6].flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));
    for (const Mount& mount : spec.mounts) CHECK_FALSE(mount.bind());

    const Linux& linux = spec.linux;
    REQUIRE(linux.namespaces.size() == 6);
    for (NamespaceType type : {NamespaceType::Pid, NamespaceType::Network, NamespaceType::Ipc, NamespaceType::Uts,
                               NamespaceType::Mount, NamespaceType::Cgroup}) {
        CHECK(linux.has(type));
        CHECK(linux.find(type)->path.empty());
    }
    CHECK_FALSE(linux.has(NamespaceType::User));
    CHECK(linux.find(NamespaceType::Time) == nullptr);
    REQUIRE(linux.resources.devices.size() == 1);
    CHECK_FALSE(linux.resources.devices[0].allow);
    CHECK(linux.resources.devices[0].type == 'a');
    CHECK_FALSE(linux.resources.devices[0].major);
    CHECK(linux.resources.devices[0].access == "rwm");
    CHECK(linux.masked_paths.size() == 10);
    CHECK(std::count(linux.masked_paths.begin(), linux.masked_paths.end(), "/proc/kcore") == 1);
    CHECK(linux.readonly_paths ==
          std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
    CHECK(linux.rootfs_propagation == 0);
    CHECK_FALSE(linux.seccomp);
}

// ---- A real caller's spec ------------------------------------------------------

// Shaped after what podman 4.3 writes for `podman run --ulimit nproc=… alpine`.
constexpr const char* podman_config = R"({
  "ociVersion": "1.0.2-dev",
  "process": {
    "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [1000, 10]},
    "args": ["/bin/sh", "-c", "sleep 100"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "container=podman", "HOME=/root"],
    "cwd": "/srv//app/",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                   "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"],
      "effective": ["CAP_CHOWN", "CAP_KILL"],
      "inheritable": [],
      "permitted": ["CAP_CHOWN", "CAP_KILL"],
      "ambient": []
    },
    "rlimits": [
      {"type": "RLIMIT_NOFILE", "hard": 20000, "soft": 20000},
      {"type": "RLIMIT_NPROC", "hard": 32768, "soft": 32768}
    ],
    "noNewPrivileges": false,
    "oomScoreAdj": 0,
    "apparmorProfile": "containers-default-0.50.0"
  },
  "root": {"path": "/var/lib/containers/storage/overlay/4f1a/merged"},
  "hostname": "4f1a2b3c4d5e",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"]},
    {"destination": "/dev/shm", "type": "bind", "source": "/var/lib/containers/storage/overlay-containers/4f1a/userdata/shm",
     "options": ["bind", "rprivate", "nosuid", "noexec", "nodev"]},
    {"destination": "/etc/resolv.conf", "type": "bind", "source": "/run/containers/storage/overlay-containers/4f1a/userdata/resolv.conf",
     "options": ["bind", "rprivate"]},
    {"destination": "/data", "type": "none", "source": "volumes/data", "options": ["rbind", "rslave", "ro"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]}
  ],
  "annotations": {"io.container.manager": "libpod", "org.opencontainers.image.stopSignal": "15"},
  "linux": {
    "sysctl": {"net.ipv4.ping_group_range": "0 0"},
    "resources": {"pids": {"limit": 2048}, "memory": {"limit": 536870912, "swap": 1073741824}},
    "cgroupsPath": "user.slice:libpod:4f1a",
    "namespaces": [
      {"type": "pid"},
      {"type": "network", "path": "/run/user/1000/netns/netns-0e5d"},
      {"type": "ipc"},
      {"type": "uts"},
      {"type": "mount"},
      {"type": "cgroup"}
    ],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 38,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "syscalls": [
        {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 131072, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
      ]
    },
    "maskedPaths": ["/proc/acpi", "/proc/kcore", "/sys/firmware"],
    "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
  }
})";

TEST_CASE("a podman-like config.json parses to the right model", "[oci]") {
    const Spec spec = parse_spec(podman_config, "/var/lib/containers/storage/overlay-containers/4f1a/userdata");
    CHECK(spec.oci_version == "1.0.2-dev");
    CHECK(spec.root_path == "/var/lib/containers/storage/overlay/4f1a/merged");
    CHECK_FALSE(spec.root_readonly);
    CHECK(spec.hostname == "4f1a2b3c4d5e");
    CHECK(spec.annotations.at("io.container.manager") == "libpod");

    const Process& process = spec.process;
    CHECK(process.user.uid == 1000);
    CHECK(process.user.umask == 18u);
    CHECK(process.user.additional_gids == std::vector<std::uint32_t>{1000, 10});
    CHECK(process.args.size() == 3);
    CHECK(process.cwd == "/srv/app");
    CHECK(process.capabilities.effective == (bit(CAP_CHOWN) | bit(CAP_KILL)));
    CHECK((process.capabilities.bounding & bit(CAP_SYS_CHROOT)) != 0);
    CHECK((process.capabilities.bounding & bit(CAP_SYS_ADMIN)) == 0);
    CHECK(__builtin_popcountll(process.capabilities.bounding) == 11);
    REQUIRE(process.rlimits.size() == 2);
    CHECK(process.rlimits[1].resource == RLIMIT_NPROC);
    CHECK(process.rlimits[1].soft == 32768);
    CHECK(process.oom_score_adj == 0);
    CHECK(process.apparmor_profile == "containers-default-0.50.0");
    CHECK(has_warning(spec, "process.apparmorProfile is not supported; ignored"));

    REQUIRE(spec.mounts.size() == 8);
    const Mount& cgroup = spec.mounts[3];
    CHECK(cgroup.type == "cgroup");
    CHECK(cgroup.flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));
    CHECK(cgroup.propagation == (MS_PRIVATE | MS_REC));

    const Mount& shm = spec.mounts[4];
    CHECK(shm.bind());
    CHECK(shm.type == "bind");
    CHECK(shm.source == "/var/lib/containers/storage/overlay-containers/4f1a/userdata/shm");
    CHECK(shm.flags == (MS_BIND | MS_NOSUID | MS_NOEXEC | MS_NODEV));
    CHECK(shm.propagation == (MS_PRIVATE | MS_REC));
    CHECK(shm.data.empty());

    const Mount& data = spec.mounts[6];  // "none" + rbind: a recursive bind, source against the bundle
    CHECK(data.type == "bind");
    CHECK(data.source == "/var/lib/containers/storage/overlay-containers/4f1a/userdata/volumes/data");
    CHECK(data.flags == (MS_BIND | MS_REC | MS_RDONLY));
    CHECK(data.propagation == (MS_SLAVE | MS_REC));

    const Mount& tmp = spec.mounts[7];
    CHECK(tmp.clear_flags == MS_RDONLY);
    CHECK(tmp.flags == (MS_NOSUID | MS_NODEV));
    CHECK(tmp.data.empty());
    CHECK(has_warning(spec, "mounts[7].options[4]: \"tmpcopyup\" is not supported; ignored"));

    const Linux& linux = spec.linux;
    CHECK(linux.cgroups_path == "user.slice:libpod:4f1a");
    CHECK(linux.sysctl.at("net.ipv4.ping_group_range") == "0 0");
    CHECK(linux.resources.pids_limit == 2048);
    CHECK(linux.resources.memory_limit == 536870912);
    CHECK(linux.resources.memory_swap == 1073741824);
    CHECK_FALSE(linux.resources.memory_reservation);
    CHECK(linux.resources.ignored.empty());
    REQUIRE(linux.namespaces.size() == 6);
    CHECK(linux.find(NamespaceType::Network)->path == "/run/user/1000/netns/netns-0e5d");
    CHECK(linux.find(NamespaceType::Pid)->path.empty());

    REQUIRE(linux.seccomp);
    const Seccomp& seccomp = *linux.seccomp;
    CHECK(seccomp.default_action == "SCMP_ACT_ERRNO");
    CHECK(seccomp.default_errno_ret == 38u);
    CHECK(seccomp.architectures.size() == 3);
    REQUIRE(seccomp.syscalls.size() == 3);
    CHECK(seccomp.syscalls[0].names == std::vector<std::string>{"read", "write", "exit_group"});
    REQUIRE(seccomp.syscalls[1].args.size() == 1);
    CHECK(seccomp.syscalls[1].args[0].index == 0);
    CHECK(seccomp.syscalls[1].args[0].value == 131072);
    CHECK(seccomp.syscalls[1].args[0].op == "SCMP_CMP_EQ");
    CHECK(seccomp.syscalls[2].errno_ret == 1u);

    CHECK(spec.warnings.size() == 2);
}

// ---- Paths ---------------------------------------------------------------------

TEST_CASE("root.path is resolved against the bundle and normalised", "[oci]") {
    auto root_of = [](const std::string& path, const std::string& bundle) {
        return parse_spec(with(minimal_spec(), "/root/path", path).dump(), bundle).root_path;
    };
    CHECK(root_of("rootfs", "/b") == "/b/rootfs");
    CHECK(root_of("rootfs/", "/b/") == "/b/rootfs");
    CHECK(root_of("./x/../rootfs", "/srv/bundle") == "/srv/bundle/rootfs");
    CHECK(root_of("../shared/rootfs", "/srv/bundle") == "/srv/shared/rootfs");
    CHECK(root_of("/abs//rootfs/.", "/b") == "/abs/rootfs");
}

TEST_CASE("mount destinations and other container paths are normalised", "[oci]") {
    Json spec = with(minimal_spec(), "/mounts", Json::parse(R"([{"destination": "/var//lib/../log/", "type": "tmpfs"}])"));
    spec = with(spec, "/process/cwd", "/home/./user/");
    const Spec parsed = parse_spec(spec.dump(), "/b");
    CHECK(parsed.mounts[0].destination == "/var/log");
    CHECK(parsed.process.cwd == "/home/user");
}

TEST_CASE("load_spec reads <bundle>/config.json", "[oci]") {
    rusty::test::TempDir dir("oci");
    dir.write("config.json", default_spec_json().dump(2));
    const Spec spec = load_spec(dir.path().string());
    CHECK(spec.root_path == (dir.path() / "rootfs").string());

    const std::string missing = (dir.path() / "nope").string();
    try {
        (void)load_spec(missing);
        FAIL("no error");
    } catch (const SpecError& error) {
        CHECK(error.field().empty());
        CHECK(error.problem() == "open " + missing + "/config.json: No such file or directory");
        CHECK(std::string(error.what()) == "config.json: open " + missing + "/config.json: No such file or directory");
    }
}

// ---- Mount options -------------------------------------------------------------

TEST_CASE("mount options split into flags, cleared flags, propagation and data as runc does", "[oci]") {
    struct Row {
        Json options;
        unsigned long flags;
        unsigned long clear_flags;
        unsigned long propagation;
        std::string data;
    };
    const std::vector<Row> rows = {
        {{"ro"}, MS_RDONLY, 0, 0, ""},
        {{"rw"}, 0, MS_RDONLY, 0, ""},
        {{"ro", "rw"}, 0, MS_RDONLY, 0, ""},
        {{"rw", "ro"}, MS_RDONLY, 0, 0, ""},
        {{"nosuid", "nodev", "noexec"}, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, 0, ""},
        {{"suid", "dev", "exec"}, 0, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, ""},
        {{"sync", "dirsync", "remount", "mand"}, MS_SYNCHRONOUS | MS_DIRSYNC | MS_REMOUNT | MS_MANDLOCK, 0, 0, ""},
        {{"async", "nomand"}, 0, MS_SYNCHRONOUS | MS_MANDLOCK, 0, ""},
        {{"noatime", "nodiratime", "relatime", "strictatime"},
         MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME, 0, 0, ""},
        {{"atime", "diratime", "norelatime", "nostrictatime"},
         0, MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME, 0, ""},
        {{"bind"}, MS_BIND, 0, 0, ""},
        {{"rbind"}, MS_BIND | MS_REC, 0, 0, ""},
        {{"private"}, 0, 0, MS_PRIVATE, ""},
        {{"rprivate"}, 0, 0, MS_PRIVATE | MS_REC, ""},
        {{"shared"}, 0, 0, MS_SHARED, ""},
        {{"rshared"}, 0, 0, MS_SHARED | MS_REC, ""},
        {{"slave"}, 0, 0, MS_SLAVE, ""},
        {{"rslave"}, 0, 0, MS_SLAVE | MS_REC, ""},
        {{"unbindable"}, 0, 0, MS_UNBINDABLE, ""},
        {{"runbindable"}, 0, 0, MS_UNBINDABLE | MS_REC, ""},
        {{"shared", "rslave"}, 0, 0, MS_SLAVE | MS_REC, ""},  // the last one wins
        {{"size=65536k", "mode=755"}, 0, 0, 0, "size=65536k,mode=755"},
        {{"nosuid", "newinstance", "ptmxmode=0666", "ro", "gid=5"}, MS_NOSUID | MS_RDONLY, 0, 0,
         "newinstance,ptmxmode=0666,gid=5"},
        {{"defaults", ""}, 0, 0, 0, ""},
        {Json::array(), 0, 0, 0, ""},
    };
    for (const Row& row : rows) {
        INFO("options " << row.options.dump());
        const Mount mount = mount_with(row.options);
        CHECK(mount.flags == row.flags);
        CHECK(mount.clear_flags == row.clear_flags);
        CHECK(mount.propagation == row.propagation);
        CHECK(mount.data == row.data);
        CHECK(mount.options.size() == row.options.size());
        CHECK_FALSE(mount.recursive_read_only);
    }
}

TEST_CASE("rro asks for a recursive read-only mount", "[oci]") {
    CHECK(mount_with({"rbind", "rro"}).recursive_read_only);
    CHECK_FALSE(mount_with({"rro", "rrw"}).recursive_read_only);
    CHECK(mount_with({"rbind", "rro"}).flags == (MS_BIND | MS_REC));
}

TEST_CASE("bind mounts: type bind or a bind option; relative sources against the bundle", "[oci]") {
    const Mount typed = mount_with(Json::array(), "bind");
    CHECK(typed.bind());
    CHECK(typed.type == "bind");
    CHECK(typed.flags == MS_BIND);

    const Mount untyped = mount_with({"rbind"}, "");
    CHECK(untyped.type == "bind");
    CHECK(untyped.flags == (MS_BIND | MS_REC));

    const Json relative = with(minimal_spec(), "/mounts",
                               Json::parse(R"([{"destination": "/d", "source": "./data/../vol", "options": ["bind"]},
                                               {"destination": "/t", "type": "tmpfs", "source": "tmpfs"}])"));
    const Spec spec = parse_spec(relative.dump(), "/srv/b");
    CHECK(spec.mounts[0].source == "/srv/b/vol");
    CHECK(spec.mounts[1].source == "tmpfs");
    CHECK_FALSE(spec.mounts[1].bind());
}

TEST_CASE("unsupported mount options: tmpcopyup warns, idmap and r* attributes fail", "[oci]") {
    const Json spec = with(minimal_spec(), "/mounts",
                           Json::parse(R"([{"destination": "/t", "type": "tmpfs", "options": ["tmpcopyup", "mode=1777"]}])"));
    const Spec parsed = parse_spec(spec.dump(), "/b");
    CHECK(parsed.mounts[0].data == "mode=1777");
    CHECK(has_warning(parsed, "mounts[0].options[0]: \"tmpcopyup\" is not supported; ignored"));

    auto mount_error = [](const Json& mount) { return error_of(with(minimal_spec(), "/mounts", Json::array({mount}))); };
    CHECK(mount_error({{"destination", "/d"}, {"source", "/s"}, {"options", {"rbind", "idmap"}}}) ==
          "config.json: mounts[0].options[1]: idmapped mounts are not supported");
    CHECK(mount_error({{"destination", "/d"}, {"source", "/s"}, {"options", {"rbind", "ridmap"}}}) ==
          "config.json: mounts[0].options[1]: idmapped mounts are not supported");
    CHECK(mount_error({{"destination", "/d"},
                       {"source", "/s"},
                       {"type", "bind"},
                       {"uidMappings", Json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}})}}) ==
          "config.json: mounts[0].uidMappings: idmapped mounts are not supported");
    CHECK(mount_error({{"destination", "/d"}, {"source", "/s"}, {"options", {"rbind", "rnoexec"}}}) ==
          "config.json: mounts[0].options[1]: recursive mount option \"rnoexec\" is not supported");
}

// ---- Errors name the field -----------------------------------------------------

TEST_CASE("every refusal names the field as the specification does", "[oci]") {
    struct Case {
        std::string pointer;  // what to change in the minimal spec
        Json value;
        std::string what;
    };
    const std::vector<Case> cases = {
        {"/ociVersion", 1, "config.json: ociVersion: expected a string, got number"},
        {"/root", "rootfs", "config.json: root: expected an object, got string"},
        {"/root/path", "", "config.json: root.path: required"},
        {"/root/readonly", "yes", "config.json: root.readonly: expected a boolean, got string"},
        {"/process/args", 5, "config.json: process.args: expected an array of strings, got number"},
        {"/process/args", Json::array(), "config.json: process.args: must not be empty"},
        {"/process/args", {"sh", 1}, "config.json: process.args[1]: expected a string, got number"},
        {"/process/args", {std::string("a\0b", 3)}, "config.json: process.args[0]: must not contain a NUL byte"},
        {"/process/cwd", "srv", "config.json: process.cwd: must be an absolute path"},
        {"/process/terminal", 1, "config.json: process.terminal: expected a boolean, got number"},
        {"/process/env", {"PATH=/bin", "FOO"}, "config.json: process.env[1]: expected \"KEY=VALUE\", got \"FOO\""},
        {"/process/env", {"=x"}, "config.json: process.env[0]: expected \"KEY=VALUE\", got \"=x\""},
        {"/process/user/uid", -1, "config.json: process.user.uid: must be between 0 and 4294967295, got -1"},
        {"/process/user/uid", 4294967296, "config.json: process.user.uid: must be between 0 and 4294967295, got 4294967296"},
        {"/process/user/gid", "0", "config.json: process.user.gid: expected an integer, got string"},
        {"/process/user/gid", 1.5, "config.json: process.user.gid: expected an integer, got 1.5"},
        {"/process/user/additionalGids", {1, -2}, "config.json: process.user.additionalGids[1]: must be between 0 and 4294967295, got -2"},
        {"/process/consoleSize", {{"height", 24}}, "config.json: process.consoleSize.width: required"},
        {"/process/capabilities/bounding", {"CAP_KILL", "CAP_FOO"},
         "config.json: process.capabilities.bounding[1]: unknown capability \"CAP_FOO\""},
        {"/process/capabilities/ambient", "CAP_KILL",
         "config.json: process.capabilities.ambient: expected an array of strings, got string"},
        {"/process/rlimits", Json::parse(R"([{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}])"),
         "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
        {"/process/rlimits", Json::parse(R"([{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}])"),
         "config.json: process.rlimits[0].soft: 2048 is above the hard limit 1024"},
        {"/process/rlimits",
         Json::parse(R"([{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}, {"type": "RLIMIT_NOFILE", "soft": 2, "hard": 2}])"),
         "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\""},
        {"/process/rlimits", Json::parse(R"([{"type": "RLIMIT_CORE", "soft": 0}])"),
         "config.json: process.rlimits[0].hard: required"},
        {"/process/oomScoreAdj", 1001, "config.json: process.oomScoreAdj: must be between -1000 and 1000, got 1001"},
        {"/process/oomScoreAdj", -1001, "config.json: process.oomScoreAdj: must be between -1000 and 1000, got -1001"},
        {"/mounts", {{"destination", "/x"}}, "config.json: mounts: expected an array, got object"},
        {"/mounts", Json::parse(R"([{"destination": "proc", "type": "proc"}])"),
         "config.json: mounts[0].destination: must be an absolute path"},
        {"/mounts", Json::parse(R"([{"type": "proc"}])"), "config.json: mounts[0].destination: required"},
        {"/mounts", Json::parse(R"([{"destination": "/d", "options": ["bind"]}])"),
         "config.json: mounts[0].source: required for a bind mount"},
        {"/mounts", Json::parse(R"([{"destination": "/d", "options": "ro"}])"),
         "config.json: mounts[0].options: expected an array of strings, got string"},
        {"/hostname", "box", "config.json: hostname: cannot be set without a UTS namespace in linux.namespaces"},
        {"/annotations", {{"a", true}}, "config.json: annotations.a: expected a string, got boolean"},
        {"/hooks/prestart", Json::parse(R"([{"path": "hook"}])"),
         "config.json: hooks.prestart[0].path: must be an absolute path"},
        {"/hooks/poststop", Json::parse(R"([{"path": "/bin/hook", "timeout": 0}])"),
         "config.json: hooks.poststop[0].timeout: must be between 1 and 2147483647, got 0"},
        {"/hooks/createRuntime", Json::parse(R"([{"path": "/bin/hook", "args": [1]}])"),
         "config.json: hooks.createRuntime[0].args[0]: expected a string, got number"},
        {"/linux/namespaces", Json::parse(R"([{"type": "pid"}, {"type": "network"}, {"type": "foo"}])"),
         "config.json: linux.namespaces[2].type: unknown namespace type \"foo\""},
        {"/linux/namespaces", Json::parse(R"([{"type": "pid"}, {"type": "pid", "path": "/proc/1/ns/pid"}])"),
         "config.json: linux.namespaces[1].type: duplicate namespace type \"pid\""},
        {"/linux/namespaces", Json::parse(R"([{"type": "network", "path": "run/netns/x"}])"),
         "config.json: linux.namespaces[0].path: must be an absolute path"},
        {"/linux/namespaces", Json::parse(R"([{"path": "/run/netns/x"}])"), "config.json: linux.namespaces[0].type: required"},
        {"/linux/uidMappings", Json::parse(R"([{"containerID": 0, "hostID": 100000}])"),
         "config.json: linux.uidMappings[0].size: required"},
        {"/linux/gidMappings", Json::parse(R"([{"containerID": 0, "hostID": -1, "size": 1}])"),
         "config.json: linux.gidMappings[0].hostID: must be between 0 and 4294967295, got -1"},
        {"/linux/devices", Json::parse(R"([{"type": "x", "path": "/dev/x"}])"),
         "config.json: linux.devices[0].type: must be \"c\", \"b\", \"u\" or \"p\", got \"x\""},
        {"/linux/devices", Json::parse(R"([{"type": "c", "path": "/dev/fuse", "minor": 229}])"),
         "config.json: linux.devices[0].major: required"},
        {"/linux/devices", Json::parse(R"([{"type": "c", "path": "dev/fuse", "major": 10, "minor": 229}])"),
         "config.json: linux.devices[0].path: must be an absolute path"},
        {"/linux/sysctl", {{"net.ipv4.ip_forward", 1}},
         "config.json: linux.sysctl.net.ipv4.ip_forward: expected a string, got number"},
        {"/linux/rootfsPropagation", "bogus", "config.json: linux.rootfsPropagation: unknown propagation \"bogus\""},
        {"/linux/personality", {{"domain", "LINUX64"}},
         "config.json: linux.personality.domain: unknown personality domain \"LINUX64\""},
        {"/linux/maskedPaths", {"/proc/kcore", "proc/keys"}, "config.json: linux.maskedPaths[1]: must be an absolute path"},
        {"/linux/readonlyPaths", "/proc/sys",
         "config.json: linux.readonlyPaths: expected an array of strings, got string"},
        {"/linux/resources/devices", Json::parse(R"([{"access": "rwm"}])"),
         "config.json: linux.resources.devices[0].allow: required"},
        {"/linux/resources/devices", Json::parse(R"([{"allow": true, "access": "rwx"}])"),
         "config.json: linux.resources.devices[0].access: must be made of \"r\", \"w\" and \"m\", got \"rwx\""},
        {"/linux/resources/devices", Json::parse(R"([{"allow": true, "type": "u"}])"),
         "config.json: linux.resources.devices[0].type: must be \"a\", \"c\" or \"b\", got \"u\""},
        {"/linux/resources/memory/limit", "1g", "config.json: linux.resources.memory.limit: expected an integer, got string"},
        {"/linux/resources/cpu/shares", -2,
         "config.json: linux.resources.cpu.shares: must be between 0 and 18446744073709551615, got -2"},
        {"/linux/resources/pids", 5, "config.json: linux.resources.pids: expected an object, got number"},
        {"/linux/seccomp", {{"syscalls", Json::array()}}, "config.json: linux.seccomp.defaultAction: required"},
        {"/linux/seccomp", {{"defaultAction", "SCMP_ACT_FOO"}},
         "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\""},
        {"/linux/seccomp", Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]})"),
         "config.json: linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_Z80\""},
        {"/linux/seccomp", Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FOO"]})"),
         "config.json: linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\""},
        {"/linux/seccomp", Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]})"),
         "config.json: linux.seccomp.syscalls[0].names: must not be empty"},
        {"/linux/seccomp", Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"]}]})"),
         "config.json: linux.seccomp.syscalls[0].action: required"},
        {"/linux/seccomp",
         Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_KILL_ME"}]})"),
         "config.json: linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_KILL_ME\""},
        {"/linux/seccomp",
         Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]})"),
         "config.json: linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5, got 6"},
        {"/linux/seccomp",
         Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_ALMOST"}]}]})"),
         "config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_ALMOST\""},
    };
    for (const Case& c : cases) {
        INFO(c.pointer << " = " << c.value.dump());
        CHECK(error_of(with(minimal_spec(), c.pointer, c.value)) == c.what);
    }
}

TEST_CASE("required fields", "[oci]") {
    CHECK(error_of(without(minimal_spec(), "/ociVersion")) == "config.json: ociVersion: required");
    CHECK(error_of(without(minimal_spec(), "/root")) == "config.json: root: required");
    CHECK(error_of(without(minimal_spec(), "/root/path")) == "config.json: root.path: required");
    CHECK(error_of(without(minimal_spec(), "/process")) == "config.json: process: required");
    CHECK(error_of(without(minimal_spec(), "/process/args")) == "config.json: process.args: required");
    CHECK(error_of(without(minimal_spec(), "/process/cwd")) == "config.json: process.cwd: required");
    CHECK(error_of(without(minimal_spec(), "/process/user")) == "config.json: process.user: required");
    CHECK(error_of(without(minimal_spec(), "/process/user/gid")) == "config.json: process.user.gid: required");
    // null is absent, as for Go's decoder
    CHECK(error_of(with(minimal_spec(), "/process/args", nullptr)) == "config.json: process.args: required");
}

TEST_CASE("JSON syntax errors and a document that is not an object", "[oci]") {
    try {
        (void)parse_spec(R"({"ociVersion": "1.2.0",)", "/b");
        FAIL("no error");
    } catch (const SpecError& error) {
        CHECK(error.field().empty());
        const std::string what = error.what();
        CHECK(what.rfind("config.json: invalid JSON at byte 24: ", 0) == 0);
        CHECK(what.find("syntax error") != std::string::npos);
    }
    CHECK(error_of(Json::array()) == "config.json: expected an object, got array");
    try {
        (void)parse_spec("", "/b");
        FAIL("no error");
    } catch (const SpecError& error) {
        CHECK(std::string(error.what()).rfind("config.json: invalid JSON at byte 1: ", 0) == 0);
    }
}

// ---- Lenience ------------------------------------------------------------------

TEST_CASE("unknown fields give warnings, not errors", "[oci]") {
    Json spec = minimal_spec();
    spec["foo"] = 1;
    spec["process"]["bar"] = {{"x", 1}};
    spec["mounts"] = Json::parse(R"([{"destination": "/t", "type": "tmpfs", "baz": true}])");
    spec["linux"] = Json::parse(R"({"qux": [], "resources": {"cpu": {"turbo": 1}}})");
    const Spec parsed = parse_spec(spec.dump(), "/b");
    CHECK(has_warning(parsed, "unknown field \"foo\""));
    CHECK(has_warning(parsed, "unknown field \"process.bar\""));
    CHECK(has_warning(parsed, "unknown field \"mounts[0].baz\""));
    CHECK(has_warning(parsed, "unknown field \"linux.qux\""));
    CHECK(has_warning(parsed, "unknown field \"linux.resources.cpu.turbo\""));
    CHECK(parsed.linux.resources.ignored == std::vector<std::string>{"linux.resources.cpu.turbo"});
    CHECK(parsed.warnings.size() == 5);
}

TEST_CASE("known fields this runtime does not apply give warnings", "[oci]") {
    Json spec = minimal_spec();
    spec["solaris"] = {{"milestone", "x"}};
    spec["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
    spec["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}};
    spec["linux"] = Json::parse(R"({
        "mountLabel": "system_u:object_r:container_file_t:s0",
        "intelRdt": {"closID": "x"},
        "resources": {
            "blockIO": {"weight": 500},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
            "unified": {},
            "network": null,
            "memory": {"limit": 1048576, "kernel": 0, "disableOOMKiller": false}
        }
    })");
    const Spec parsed = parse_spec(spec.dump(), "/b");
    CHECK(has_warning(parsed, "solaris is not supported; ignored"));
    CHECK(has_warning(parsed, "process.selinuxLabel is not supported; ignored"));
    CHECK(has_warning(parsed, "process.scheduler is not supported; ignored"));
    CHECK(has_warning(parsed, "linux.mountLabel is not supported; ignored"));
    CHECK(has_warning(parsed, "linux.intelRdt is not supported; ignored"));
    CHECK(has_warning(parsed, "linux.resources.blockIO is not enforced"));
    CHECK(has_warning(parsed, "linux.resources.hugepageLimits is not enforced"));
    CHECK(has_warning(parsed, "linux.resources.memory.kernel is not enforced"));
    CHECK(parsed.process.selinux_label == "system_u:system_r:container_t:s0");
    CHECK(parsed.linux.mount_label == "system_u:object_r:container_file_t:s0");
    // Empty, null and false say nothing: no warning for unified, network or disableOOMKiller.
    CHECK(parsed.linux.resources.ignored == std::vector<std::string>{"linux.resources.memory.kernel",
                                                                     "linux.resources.blockIO",
                                                                     "linux.resources.hugepageLimits"});
    CHECK(parsed.linux.resources.memory_limit == 1048576);
    CHECK(parsed.warnings.size() == 8);
}

TEST_CASE("null stands for an absent optional field", "[oci]") {
    Json spec = minimal_spec();
    spec["hostname"] = nullptr;
    spec["process"]["capabilities"] = nullptr;
    spec["process"]["rlimits"] = nullptr;
    spec["linux"] = {{"resources", nullptr}, {"seccomp", nullptr}};
    const Spec parsed = parse_spec(spec.dump(), "/b");
    CHECK(parsed.hostname.empty());
    CHECK(parsed.process.capabilities.bounding == 0);
    CHECK_FALSE(parsed.linux.seccomp);
    CHECK(parsed.warnings.empty());
}

// ---- The rest of linux ----------------------------------------------------------

TEST_CASE("linux: devices, id mappings, propagation, personality, sysctl", "[oci]") {
    Json spec = minimal_spec();
    spec["hostname"] = "h";
    spec["domainname"] = "example.org";
    spec["linux"] = Json::parse(R"({
        "namespaces": [{"type": "user"}, {"type": "uts", "path": ""}, {"type": "time"}],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 1}],
        "devices": [
            {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
            {"type": "p", "path": "/dev/fifo"}
        ],
        "rootfsPropagation": "rslave",
        "personality": {"domain": "LINUX32"},
        "sysctl": {"net.ipv4.ip_forward": "1"},
        "resources": {"devices": [{"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}]}
    })");
    const Spec parsed = parse_spec(spec.dump(), "/b");
    const Linux& linux = parsed.linux;
    CHECK(parsed.domainname == "example.org");
    CHECK(linux.has(NamespaceType::User));
    CHECK(linux.find(NamespaceType::Uts)->path.empty());
    CHECK(linux.has(NamespaceType::Time));
    REQUIRE(linux.uid_mappings.size() == 1);
    CHECK(linux.uid_mappings[0].host_id == 100000);
    CHECK(linux.uid_mappings[0].size == 65536);
    CHECK(linux.gid_mappings[0].host_id == 200000);
    REQUIRE(linux.devices.size() == 2);
    CHECK(linux.devices[0].type == 'c');
    CHECK(linux.devices[0].major == 10);
    CHECK(linux.devices[0].minor == 229);
    CHECK(linux.devices[0].file_mode == 0666);
    CHECK(linux.devices[1].type == 'p');
    CHECK(linux.devices[1].file_mode == 0666);
    CHECK(linux.rootfs_propagation == (MS_SLAVE | MS_REC));
    CHECK(linux.personality == static_cast<unsigned long>(PER_LINUX32));
    CHECK(linux.sysctl.at("net.ipv4.ip_forward") == "1");
    REQUIRE(linux.resources.devices.size() == 1);
    CHECK(linux.resources.devices[0].allow);
    CHECK(linux.resources.devices[0].type == 'c');
    CHECK(linux.resources.devices[0].major == 10);
    CHECK(linux.resources.devices[0].access == "rw");

    const Json linux32 = with(minimal_spec(), "/linux/personality", {{"domain", "LINUX"}});
    CHECK(parse_spec(linux32.dump(), "/b").linux.personality == static_cast<unsigned long>(PER_LINUX));
}

TEST_CASE("hooks", "[oci]") {
    const Json spec = with(minimal_spec(), "/hooks", Json::parse(R"({
        "prestart": [{"path": "/usr/bin/netns-hook", "args": ["netns-hook", "up"], "env": ["A=1"], "timeout": 5}],
        "createRuntime": [{"path": "/bin/a"}, {"path": "/bin/b"}],
        "createContainer": [{"path": "/bin/c"}],
        "startContainer": [{"path": "/bin/d"}],
        "poststart": [{"path": "/bin/e"}],
        "poststop": [{"path": "/bin/f", "timeout": 30}]
    })"));
    const Hooks hooks = parse_spec(spec.dump(), "/b").hooks;
    REQUIRE(hooks.prestart.size() == 1);
    CHECK(hooks.prestart[0].path == "/usr/bin/netns-hook");
    CHECK(hooks.prestart[0].args == std::vector<std::string>{"netns-hook", "up"});
    CHECK(hooks.prestart[0].env == std::vector<std::string>{"A=1"});
    CHECK(hooks.prestart[0].timeout == 5);
    CHECK(hooks.create_runtime.size() == 2);
    CHECK(hooks.create_container[0].path == "/bin/c");
    CHECK(hooks.start_container[0].path == "/bin/d");
    CHECK(hooks.poststart[0].path == "/bin/e");
    CHECK(hooks.poststop[0].timeout == 30);
    CHECK_FALSE(hooks.create_runtime[0].timeout);
}

// ---- The standalone parsers ------------------------------------------------------

TEST_CASE("parse_process: an exec --process file", "[oci]") {
    const Json process = Json::parse(R"({
        "terminal": true, "consoleSize": {"height": 24, "width": 80},
        "user": {"uid": 33, "gid": 33}, "args": ["ps", "aux"], "env": ["PATH=/bin"], "cwd": "/",
        "capabilities": {"bounding": ["CAP_SYS_ADMIN"], "ambient": ["CAP_NET_RAW"]}
    })");
    const Process parsed = parse_process(process);
    CHECK(parsed.terminal);
    REQUIRE(parsed.console_size);
    CHECK(parsed.console_size->height == 24);
    CHECK(parsed.console_size->width == 80);
    CHECK(parsed.user.uid == 33);
    CHECK(parsed.capabilities.bounding == bit(CAP_SYS_ADMIN));
    CHECK(parsed.capabilities.ambient == bit(CAP_NET_RAW));
    CHECK_FALSE(parsed.user.umask);

    try {
        (void)parse_process(Json{{"args", {"ps"}}, {"cwd", "/"}});
        FAIL("no error");
    } catch (const SpecError& error) {
        CHECK(error.field() == "process.user");
        CHECK(error.problem() == "required");
    }
    try {
        (void)parse_process(Json::array());
        FAIL("no error");
    } catch (const SpecError& error) {
        CHECK(std::string(error.what()) == "config.json: process: expected an object, got array");
    }
}

TEST_CASE("parse_resources: an update --resources document", "[oci]") {
    const Json resources = Json::parse(R"({
        "memory": {"limit": 268435456, "reservation": 134217728, "swap": -1},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0", "realtimeRuntime": 950000},
        "pids": {"limit": -1},
        "blockIO": {"weight": 500},
        "rdma": {"mlx5_0": {"hcaHandles": 3}}
    })");
    const Resources parsed = parse_resources(resources);
    CHECK(parsed.memory_limit == 268435456);
    CHECK(parsed.memory_reservation == 134217728);
    CHECK(parsed.memory_swap == -1);
    CHECK(parsed.cpu_shares == 512u);
    CHECK(parsed.cpu_quota == 50000);
    CHECK(parsed.cpu_period == 100000u);
    CHECK(parsed.cpuset_cpus == "0-1");
    CHECK(parsed.cpuset_mems == "0");
    CHECK(parsed.pids_limit == -1);
    CHECK(parsed.ignored == std::vector<std::string>{"linux.resources.cpu.realtimeRuntime", "linux.resources.blockIO",
                                                     "linux.resources.rdma"});

    try {
        (void)parse_resources(Json{{"memory", {{"limit", "1g"}}}}, "resources");
        FAIL("no error");
    } catch (const SpecError& error) {
        CHECK(error.field() == "resources.memory.limit");
    }
    CHECK(parse_resources(Json::object()).devices.empty());
}

TEST_CASE("parse_seccomp: actions, flags, errno returns", "[oci]") {
    const Json seccomp = Json::parse(R"({
        "defaultAction": "SCMP_ACT_KILL_PROCESS",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC",
                  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "syscalls": [
            {"names": ["clone"], "action": "SCMP_ACT_TRACE", "errnoRet": 1,
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["getpid"], "action": "SCMP_ACT_LOG"},
            {"names": ["kill"], "action": "SCMP_ACT_TRAP"},
            {"names": ["mount"], "action": "SCMP_ACT_NOTIFY"},
            {"names": ["umount2"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["reboot"], "action": "SCMP_ACT_KILL"}
        ]
    })");
    const Seccomp parsed = parse_seccomp(seccomp);
    CHECK(parsed.default_action == "SCMP_ACT_KILL_PROCESS");
    CHECK_FALSE(parsed.default_errno_ret);
    CHECK(parsed.flags.size() == 4);
    CHECK(parsed.architectures == std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"});
    REQUIRE(parsed.syscalls.size() == 6);
    CHECK(parsed.syscalls[0].action == "SCMP_ACT_TRACE");
    CHECK(parsed.syscalls[0].errno_ret == 1u);
    CHECK(parsed.syscalls[0].args[0].value == 2114060288u);
    CHECK(parsed.syscalls[0].args[0].op == "SCMP_CMP_MASKED_EQ");
    CHECK(parsed.syscalls[3].action == "SCMP_ACT_NOTIFY");

    try {
        (void)parse_seccomp(Json{{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", {{{"names", "kill"}}}}}, "profile");
        FAIL("no error");
    } catch (const SpecError& error) {
        CHECK(std::string(error.what()) == "config.json: profile.syscalls[0].names: expected an array of strings, got string");
    }
}

// ---- Name tables -----------------------------------------------------------------

TEST_CASE("capability, rlimit and namespace names", "[oci]") {
    CHECK(capability_number("CAP_CHOWN") == 0);
    CHECK(capability_number("CAP_SYS_ADMIN") == CAP_SYS_ADMIN);
    CHECK(capability_number("CAP_CHECKPOINT_RESTORE") == 40);
    CHECK_FALSE(capability_number("CAP_FOO"));
    CHECK_FALSE(capability_number("cap_chown"));
    CHECK_FALSE(capability_number("CHOWN"));
    for (int number = 0; number <= CAP_LAST_CAP; ++number) {
        INFO("capability " << number);
        CHECK(capability_number(capability_name(number)) == number);
    }
    CHECK(capability_name(21) == "CAP_SYS_ADMIN");
    CHECK(capability_name(63) == "63");

    CHECK(rlimit_number("RLIMIT_NOFILE") == RLIMIT_NOFILE);
    CHECK(rlimit_number("RLIMIT_NPROC") == RLIMIT_NPROC);
    CHECK(rlimit_number("RLIMIT_RTTIME") == RLIMIT_RTTIME);
    CHECK(rlimit_number("RLIMIT_CPU") == RLIMIT_CPU);
    CHECK_FALSE(rlimit_number("RLIMIT_FOO"));

    CHECK(to_string(NamespaceType::Pid) == "pid");
    CHECK(to_string(NamespaceType::Network) == "network");
    CHECK(to_string(NamespaceType::Mount) == "mount");
    CHECK(to_string(NamespaceType::Ipc) == "ipc");
    CHECK(to_string(NamespaceType::Uts) == "uts");
    CHECK(to_string(NamespaceType::User) == "user");
    CHECK(to_string(NamespaceType::Cgroup) == "cgroup");
    CHECK(to_string(NamespaceType::Time) == "time");
}

TEST_CASE("SpecError reads config.json: <field>: <problem>", "[oci]") {
    const SpecError error("linux.namespaces[2].type", "unknown namespace type \"foo\"");
    CHECK(std::string(error.what()) == "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"");
    CHECK(error.field() == "linux.namespaces[2].type");
    CHECK(error.problem() == "unknown namespace type \"foo\"");
    CHECK(std::string(SpecError("", "open /b/config.json: No such file or directory").what()) ==
          "config.json: open /b/config.json: No such file or directory");
}
