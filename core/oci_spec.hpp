// The validated model of an OCI bundle's config.json (runtime-spec 1.0 to
// 1.2), as rusty-runtime uses it. Plain data: core/oci_spec.cpp builds it
// from JSON, lifecycle/ turns it into the setup of a container.
//
// Field names follow the specification's, so that an error can name the
// field as the specification does: "process.capabilities.bounding[2]".
// Anything the model holds has been checked: absolute paths where the
// specification asks for them, known namespace types, known capability and
// rlimit names, numbers in range.
#pragma once

#include <sys/mount.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace rusty::oci {

// The newest specification version this model knows.
inline constexpr const char* kSpecVersion = "1.2.0";

struct User {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::optional<std::uint32_t> umask;  // unset: 0022
    std::vector<std::uint32_t> additional_gids;
};

// Capability sets as bit masks (bit n = capability number n, CAP_CHOWN = 0).
struct Capabilities {
    std::uint64_t bounding = 0;
    std::uint64_t effective = 0;
    std::uint64_t inheritable = 0;
    std::uint64_t permitted = 0;
    std::uint64_t ambient = 0;
};

struct Rlimit {
    int resource = 0;  // RLIMIT_*
    std::uint64_t soft = 0;
    std::uint64_t hard = 0;
};

struct ConsoleSize {
    unsigned height = 0;
    unsigned width = 0;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    User user;
    std::vector<std::string> args;  // never empty
    std::vector<std::string> env;   // "KEY=VALUE"
    std::string cwd = "/";          // absolute
    // Unset in config.json: no capabilities at all, as the specification says.
    Capabilities capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::optional<int> oom_score_adj;
    std::string apparmor_profile;  // accepted, not applied (no AppArmor here): a warning
    std::string selinux_label;     // idem
};

// One entry of `mounts`, its options already split into what mount(2) and
// mount_setattr(2) take.
struct Mount {
    std::string destination;  // absolute, inside the container
    std::string type;         // "bind" for bind mounts (also when options say bind and type is empty)
    std::string source;       // for binds: absolute host path (relative ones are resolved against the bundle)
    std::vector<std::string> options;  // as written
    unsigned long flags = 0;           // MS_* to set (MS_BIND, MS_REC, MS_RDONLY, MS_NOSUID…)
    unsigned long clear_flags = 0;     // MS_* the options turn off (rw, suid, dev, exec…)
    unsigned long propagation = 0;     // MS_PRIVATE, MS_SHARED, MS_SLAVE or MS_UNBINDABLE (| MS_REC); 0: none
    bool recursive_read_only = false;  // "rro": mount_setattr MOUNT_ATTR_RDONLY, AT_RECURSIVE
    std::string data;                  // the options mount(2) passes to the filesystem ("size=64k,mode=755")
    bool bind() const { return flags & MS_BIND; }
};

enum class NamespaceType { Pid, Network, Mount, Ipc, Uts, User, Cgroup, Time };
std::string_view to_string(NamespaceType type);

struct Namespace {
    NamespaceType type;
    std::string path;  // empty: create a new one; else join this one (absolute)
};

struct IdMapping {
    std::uint32_t container_id = 0;
    std::uint32_t host_id = 0;
    std::uint32_t size = 0;
};

struct Device {
    char type = 'c';  // 'c', 'b', 'u' or 'p'
    std::string path; // absolute, inside the container
    std::int64_t major = 0;
    std::int64_t minor = 0;
    std::uint32_t file_mode = 0666;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
};

// One rule of linux.resources.devices (the device cgroup's allow-list).
struct DeviceRule {
    bool allow = false;
    char type = 'a';                    // 'a', 'c' or 'b'
    std::optional<std::int64_t> major;  // unset: any ('*')
    std::optional<std::int64_t> minor;
    std::string access = "rwm";
};

// linux.resources: what the cgroup module can enforce. Memory and pids in
// bytes and tasks; cpu as CFS quota/period and shares. Fields left unset
// leave the kernel's default.
struct Resources {
    std::optional<std::int64_t> memory_limit;
    std::optional<std::int64_t> memory_reservation;
    std::optional<std::int64_t> memory_swap;  // memory + swap, -1 unlimited
    std::optional<std::uint64_t> cpu_shares;
    std::optional<std::int64_t> cpu_quota;
    std::optional<std::uint64_t> cpu_period;
    std::string cpuset_cpus;
    std::string cpuset_mems;
    std::optional<std::int64_t> pids_limit;
    std::vector<DeviceRule> devices;
    // Fields of linux.resources this runtime does not enforce (blockIO,
    // hugepageLimits, network, rdma, unified…), named for a warning.
    std::vector<std::string> ignored;
};

struct SeccompArg {
    unsigned index = 0;
    std::uint64_t value = 0;
    std::uint64_t value_two = 0;
    std::string op;  // SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_GT, SCMP_CMP_GE, SCMP_CMP_MASKED_EQ
};

struct SeccompRule {
    std::vector<std::string> names;
    std::string action;  // SCMP_ACT_*
    std::optional<std::uint32_t> errno_ret;
    std::vector<SeccompArg> args;
};

struct Seccomp {
    std::string default_action;  // SCMP_ACT_*
    std::optional<std::uint32_t> default_errno_ret;
    std::vector<std::string> architectures;  // SCMP_ARCH_*
    std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
    std::vector<SeccompRule> syscalls;
};

struct Hook {
    std::string path;  // absolute
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
    std::vector<Hook> prestart;  // deprecated: run with createRuntime
    std::vector<Hook> create_runtime;
    std::vector<Hook> create_container;
    std::vector<Hook> start_container;
    std::vector<Hook> poststart;
    std::vector<Hook> poststop;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings;
    std::vector<IdMapping> gid_mappings;
    std::vector<Device> devices;
    std::string cgroups_path;  // as written: absolute, relative, or "slice:prefix:name"
    Resources resources;
    std::map<std::string, std::string> sysctl;
    std::optional<Seccomp> seccomp;
    unsigned long rootfs_propagation = 0;  // MS_* (| MS_REC); 0: rprivate, the default
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    std::string mount_label;                  // accepted, not applied: a warning
    std::optional<unsigned long> personality;  // PER_LINUX or PER_LINUX32
    bool has(NamespaceType type) const;
    const Namespace* find(NamespaceType type) const;
};

struct Spec {
    std::string oci_version;
    std::string root_path;  // absolute, the bundle's root.path resolved against the bundle
    bool root_readonly = false;
    std::string hostname;
    std::string domainname;
    Process process;
    std::vector<Mount> mounts;
    Hooks hooks;
    Linux linux;
    std::map<std::string, std::string> annotations;
    // Unknown or ignored fields, said once each to the user ("unknown field
    // \"foo\"", "linux.resources.blockIO is not enforced").
    std::vector<std::string> warnings;
};

// config.json past this size is refused rather than read (runc reads any);
// so are the other documents of runtime-spec a runtime is handed (exec's
// process.json, update's resources).
inline constexpr std::size_t kMaxConfigFile = std::size_t{64} << 20;

// A problem in config.json. `field` names it as the specification does
// ("process.args", "linux.namespaces[2].type"); what() reads
// "config.json: <field>: <problem>". A rusty::Error, with the errno when
// reading the file failed. Not a ConfigError: that one names fleet.json's
// fields by JSON pointer ("/containers/web/command") and means exit status
// 2 to the supervisor, while a field here is the specification's dotted
// name and the runtime exits 1 for it, as runc does.
class SpecError : public Error {
public:
    SpecError(std::string field, std::string problem, int sys_errno = 0);
    const std::string& field() const noexcept { return field_; }
    const std::string& problem() const noexcept { return problem_; }

private:
    std::string field_;
    std::string problem_;
};

// Parses config.json text. `bundle` (absolute) resolves root.path and the
// relative sources of bind mounts. Throws SpecError.
Spec parse_spec(std::string_view text, const std::string& bundle);
// Reads <bundle>/config.json. Throws SpecError (a missing or unreadable file
// is one too, field "").
Spec load_spec(const std::string& bundle);
// The process object alone (exec --process FILE): same rules as in config.json.
Process parse_process(const nlohmann::json& process, const std::string& field = "process");
// linux.resources alone (update --resources FILE).
Resources parse_resources(const nlohmann::json& resources, const std::string& field = "linux.resources");

// linux.seccomp alone (also the format of the supervisor's seccomp profiles).
Seccomp parse_seccomp(const nlohmann::json& seccomp, const std::string& field = "linux.seccomp");

// The capability number of "CAP_SYS_ADMIN"; nullopt when unknown.
std::optional<int> capability_number(std::string_view name);
// "CAP_SYS_ADMIN" for 21.
std::string capability_name(int number);
// RLIMIT_NOFILE for "RLIMIT_NOFILE"; nullopt when unknown.
std::optional<int> rlimit_number(std::string_view name);

// What `rusty-runtime spec` writes: runc's default config.json (a busybox
// `sh`, terminal on, runc's capability set, masked and read-only paths,
// pid, network, ipc, uts, mount and cgroup namespaces, hostname "rusty",
// ociVersion kSpecVersion).
nlohmann::json default_spec_json();

}  // namespace rusty::oci
