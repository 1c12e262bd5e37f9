#include "core/oci_spec.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/file.hpp"

namespace rusty::oci {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

[[noreturn]] void fail(const std::string& field, std::string problem) {
    throw SpecError(field, std::move(problem));
}

// A user-supplied string in double quotes, JSON-escaped so that quotes and
// control characters cannot garble a message.
std::string in_quotes(std::string_view text) {
    return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string element(const std::string& field, std::size_t index) {
    return field + "[" + std::to_string(index) + "]";
}

// What a value is, for "expected …, got …": the JSON type, or the number
// itself for a fraction ("got number" would confuse where an integer is due).
std::string got(const Json& value) {
    if (value.is_number_float()) return value.dump();
    return value.type_name();
}

// nlohmann's what() minus its "[json.exception.x.n] " tag and, for parse
// errors, the "parse error at line L, column C: " lead (we give the byte).
std::string nlohmann_reason(const Json::exception& error) {
    std::string_view message = error.what();
    if (std::size_t tag_end = message.find("] "); tag_end != std::string_view::npos)
        message.remove_prefix(tag_end + 2);
    if (message.starts_with("parse error")) {
        if (std::size_t colon = message.find(": "); colon != std::string_view::npos)
            message.remove_prefix(colon + 2);
    }
    return std::string(message);
}

// Where warnings go; nowhere for the standalone parsers, which have no
// Spec to put them in.
class Warnings {
public:
    explicit Warnings(std::vector<std::string>* out) : out_(out) {}
    void add(std::string warning) {
        if (out_) out_->push_back(std::move(warning));
    }

private:
    std::vector<std::string>* out_;
};

// Whether an ignored field says anything: podman and containerd write empty
// objects and false for fields they do not use, which deserve no warning.
bool meaningful(const Json& value) {
    if (value.is_null()) return false;
    if (value.is_boolean()) return value.get<bool>();
    if (value.is_string()) return !value.get_ref<const std::string&>().empty();
    if (value.is_object() || value.is_array()) return !value.empty();
    return true;
}

// One JSON object being read: remembers which keys were asked for, so that
// the others can be reported as unknown.
class Object {
public:
    Object(const Json& json, std::string field, Warnings& warnings)
        : json_(json), field_(std::move(field)), warnings_(warnings) {
        if (!json.is_object()) fail(field_, "expected an object, got " + got(json));
    }

    // The value under `key`; nullptr when absent or null (Go's decoder, which
    // every caller of runc goes through, treats null as absent too).
    const Json* get(std::string_view key) {
        read_.emplace_back(key);
        auto it = json_.find(std::string(key));
        if (it == json_.end() || it->is_null()) return nullptr;
        return &*it;
    }

    const Json& require(std::string_view key) {
        const Json* value = get(key);
        if (!value) fail(path(key), "required");
        return *value;
    }

    std::string path(std::string_view key) const {
        if (field_.empty()) return std::string(key);
        return field_ + "." + std::string(key);
    }

    // A field of the specification this runtime does not apply.
    void unsupported(std::string_view key) {
        if (const Json* value = get(key); value && meaningful(*value))
            warnings_.add(path(key) + " is not supported; ignored");
    }

    std::vector<std::string> unread() const {
        std::vector<std::string> keys;
        for (auto it = json_.begin(); it != json_.end(); ++it) {
            if (std::find(read_.begin(), read_.end(), it.key()) == read_.end()) keys.push_back(it.key());
        }
        return keys;
    }

    // The specification lets runtimes ignore properties they do not know.
    void warn_unknown() {
        for (const std::string& key : unread()) warnings_.add("unknown field " + in_quotes(path(key)));
    }

private:
    const Json& json_;
    std::string field_;
    Warnings& warnings_;
    std::vector<std::string> read_;
};

// ---- Scalars ---------------------------------------------------------------

const std::string& as_string(const Json& value, const std::string& field) {
    if (!value.is_string()) fail(field, "expected a string, got " + got(value));
    const std::string& text = value.get_ref<const std::string&>();
    // Everything ends up in C strings (paths, argv, environ, mount data).
    if (text.find('\0') != std::string::npos) fail(field, "must not contain a NUL byte");
    return text;
}

bool as_bool(const Json& value, const std::string& field) {
    if (!value.is_boolean()) fail(field, "expected a boolean, got " + got(value));
    return value.get<bool>();
}

template <typename T>
[[noreturn]] void out_of_range(const std::string& field, T low, T high, const std::string& value) {
    fail(field, "must be between " + std::to_string(low) + " and " + std::to_string(high) + ", got " + value);
}

// An integer that fits T, and [low, high] when given.
template <typename T>
T as_int(const Json& value, const std::string& field, T low = std::numeric_limits<T>::min(),
         T high = std::numeric_limits<T>::max()) {
    if (!value.is_number_integer()) fail(field, "expected an integer, got " + got(value));
    // nlohmann holds a parsed non-negative number as unsigned, a negative one
    // as signed; std::cmp_* compare either with T safely.
    if (value.is_number_unsigned()) {
        const std::uint64_t n = value.get<std::uint64_t>();
        if (std::cmp_less(n, low) || std::cmp_greater(n, high)) out_of_range(field, low, high, std::to_string(n));
    } else {
        const std::int64_t n = value.get<std::int64_t>();
        if (std::cmp_less(n, low) || std::cmp_greater(n, high)) out_of_range(field, low, high, std::to_string(n));
    }
    return value.get<T>();
}

const Json& as_array(const Json& value, const std::string& field) {
    if (!value.is_array()) fail(field, "expected an array, got " + got(value));
    return value;
}

std::vector<std::string> as_strings(const Json& value, const std::string& field) {
    if (!value.is_array()) fail(field, "expected an array of strings, got " + got(value));
    std::vector<std::string> strings;
    strings.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) strings.push_back(as_string(value[i], element(field, i)));
    return strings;
}

std::map<std::string, std::string> as_string_map(const Json& value, const std::string& field) {
    if (!value.is_object()) fail(field, "expected an object, got " + got(value));
    std::map<std::string, std::string> map;
    for (auto it = value.begin(); it != value.end(); ++it)
        map.emplace(it.key(), as_string(it.value(), field + "." + it.key()));
    return map;
}

// "/a//b/../c/" -> "/a/c".
std::string normal_path(const fs::path& path) {
    std::string text = path.lexically_normal().string();
    if (text.size() > 1 && text.back() == '/') text.pop_back();
    return text;
}

std::string as_absolute_path(const Json& value, const std::string& field) {
    const std::string& path = as_string(value, field);
    if (path.empty() || path.front() != '/') fail(field, "must be an absolute path");
    return normal_path(path);
}

std::vector<std::string> as_absolute_paths(const Json& value, const std::string& field) {
    std::vector<std::string> paths = as_strings(value, field);
    for (std::size_t i = 0; i < paths.size(); ++i) {
        if (paths[i].empty() || paths[i].front() != '/') fail(element(field, i), "must be an absolute path");
        paths[i] = normal_path(paths[i]);
    }
    return paths;
}

// The bundle as an absolute, normal directory: relative paths in
// config.json are resolved against it.
fs::path bundle_dir(const std::string& bundle) {
    fs::path dir = bundle.empty() ? fs::path(".") : fs::path(bundle);
    if (dir.is_relative()) {
        std::error_code error;
        fs::path absolute = fs::absolute(dir, error);
        if (!error) dir = absolute;
    }
    return dir.lexically_normal();
}

std::string resolve(const fs::path& bundle, const std::string& path) { return normal_path(bundle / path); }

// ---- Name tables -----------------------------------------------------------

struct Named {
    std::string_view name;
    int value;
};

#define RUSTY_NAMED(constant) Named{#constant, constant}

constexpr std::array capabilities_table = {
    RUSTY_NAMED(CAP_CHOWN),           RUSTY_NAMED(CAP_DAC_OVERRIDE),   RUSTY_NAMED(CAP_DAC_READ_SEARCH),
    RUSTY_NAMED(CAP_FOWNER),          RUSTY_NAMED(CAP_FSETID),         RUSTY_NAMED(CAP_KILL),
    RUSTY_NAMED(CAP_SETGID),          RUSTY_NAMED(CAP_SETUID),         RUSTY_NAMED(CAP_SETPCAP),
    RUSTY_NAMED(CAP_LINUX_IMMUTABLE), RUSTY_NAMED(CAP_NET_BIND_SERVICE), RUSTY_NAMED(CAP_NET_BROADCAST),
    RUSTY_NAMED(CAP_NET_ADMIN),       RUSTY_NAMED(CAP_NET_RAW),        RUSTY_NAMED(CAP_IPC_LOCK),
    RUSTY_NAMED(CAP_IPC_OWNER),       RUSTY_NAMED(CAP_SYS_MODULE),     RUSTY_NAMED(CAP_SYS_RAWIO),
    RUSTY_NAMED(CAP_SYS_CHROOT),      RUSTY_NAMED(CAP_SYS_PTRACE),     RUSTY_NAMED(CAP_SYS_PACCT),
    RUSTY_NAMED(CAP_SYS_ADMIN),       RUSTY_NAMED(CAP_SYS_BOOT),       RUSTY_NAMED(CAP_SYS_NICE),
    RUSTY_NAMED(CAP_SYS_RESOURCE),    RUSTY_NAMED(CAP_SYS_TIME),       RUSTY_NAMED(CAP_SYS_TTY_CONFIG),
    RUSTY_NAMED(CAP_MKNOD),           RUSTY_NAMED(CAP_LEASE),          RUSTY_NAMED(CAP_AUDIT_WRITE),
    RUSTY_NAMED(CAP_AUDIT_CONTROL),   RUSTY_NAMED(CAP_SETFCAP),        RUSTY_NAMED(CAP_MAC_OVERRIDE),
    RUSTY_NAMED(CAP_MAC_ADMIN),       RUSTY_NAMED(CAP_SYSLOG),         RUSTY_NAMED(CAP_WAKE_ALARM),
    RUSTY_NAMED(CAP_BLOCK_SUSPEND),   RUSTY_NAMED(CAP_AUDIT_READ),     RUSTY_NAMED(CAP_PERFMON),
    RUSTY_NAMED(CAP_BPF),             RUSTY_NAMED(CAP_CHECKPOINT_RESTORE),
};
static_assert(CAP_CHECKPOINT_RESTORE < 64, "capability sets are 64-bit masks");

constexpr std::array rlimits_table = {
    RUSTY_NAMED(RLIMIT_CPU),     RUSTY_NAMED(RLIMIT_FSIZE),      RUSTY_NAMED(RLIMIT_DATA),
    RUSTY_NAMED(RLIMIT_STACK),   RUSTY_NAMED(RLIMIT_CORE),       RUSTY_NAMED(RLIMIT_RSS),
    RUSTY_NAMED(RLIMIT_NPROC),   RUSTY_NAMED(RLIMIT_NOFILE),     RUSTY_NAMED(RLIMIT_MEMLOCK),
    RUSTY_NAMED(RLIMIT_AS),      RUSTY_NAMED(RLIMIT_LOCKS),      RUSTY_NAMED(RLIMIT_SIGPENDING),
    RUSTY_NAMED(RLIMIT_MSGQUEUE), RUSTY_NAMED(RLIMIT_NICE),      RUSTY_NAMED(RLIMIT_RTPRIO),
    RUSTY_NAMED(RLIMIT_RTTIME),
};

#undef RUSTY_NAMED

struct NamespaceName {
    std::string_view name;
    NamespaceType type;
};

constexpr std::array<NamespaceName, 8> namespaces_table = {{
    {"pid", NamespaceType::Pid},
    {"network", NamespaceType::Network},
    {"mount", NamespaceType::Mount},
    {"ipc", NamespaceType::Ipc},
    {"uts", NamespaceType::Uts},
    {"user", NamespaceType::User},
    {"cgroup", NamespaceType::Cgroup},
    {"time", NamespaceType::Time},
}};

// runc's parseMountOptions: `clear` options turn a flag off (and are kept in
// clear_flags for mount_setattr/remount), the others turn it on.
struct MountFlag {
    std::string_view name;
    bool clear;
    unsigned long flag;
};

constexpr std::array<MountFlag, 33> mount_flags = {{
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"sync", false, MS_SYNCHRONOUS},
    {"defaults", false, 0},  // mount(8)'s no-op; runc would pass it to the filesystem, which refuses it
}};

struct Propagation {
    std::string_view name;
    unsigned long flags;
};

constexpr std::array<Propagation, 8> propagations = {{
    {"private", MS_PRIVATE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
}};

// runc 1.2's recursive mount_setattr options other than rro/rrw: the model
// has no room for them, and silently dropping rnoexec or rnosuid would
// weaken the container.
constexpr std::array<std::string_view, 16> recursive_attributes = {
    "rnosuid",     "rsuid",     "rnodev",   "rdev",     "rnoexec",      "rexec",
    "rnodiratime", "rdiratime", "rrelatime", "rnorelatime", "rnoatime", "ratime",
    "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow",
};

constexpr std::array<std::string_view, 9> seccomp_actions = {
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
};

constexpr std::array<std::string_view, 23> seccomp_architectures = {
    "SCMP_ARCH_X86",       "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",   "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",      "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

constexpr std::array<std::string_view, 4> seccomp_flags = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

constexpr std::array<std::string_view, 7> seccomp_operators = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& words, std::string_view word) {
    return std::find(words.begin(), words.end(), word) != words.end();
}

std::optional<unsigned long> propagation_flags(std::string_view name) {
    for (const Propagation& propagation : propagations) {
        if (propagation.name == name) return propagation.flags;
    }
    return std::nullopt;
}

// ---- process ---------------------------------------------------------------

std::uint64_t parse_capability_set(const Json& value, const std::string& field) {
    const std::vector<std::string> names = as_strings(value, field);
    std::uint64_t mask = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::optional<int> number = capability_number(names[i]);
        if (!number) fail(element(field, i), "unknown capability " + in_quotes(names[i]));
        mask |= std::uint64_t{1} << *number;
    }
    return mask;
}

Capabilities parse_capabilities(const Json& value, const std::string& field, Warnings& warnings) {
    Object object(value, field, warnings);
    Capabilities caps;
    const std::pair<std::string_view, std::uint64_t*> sets[] = {
        {"bounding", &caps.bounding},   {"effective", &caps.effective}, {"inheritable", &caps.inheritable},
        {"permitted", &caps.permitted}, {"ambient", &caps.ambient},
    };
    for (const auto& [key, mask] : sets) {
        if (const Json* set = object.get(key)) *mask = parse_capability_set(*set, object.path(key));
    }
    object.warn_unknown();
    return caps;
}

std::vector<Rlimit> parse_rlimits(const Json& value, const std::string& field, Warnings& warnings) {
    as_array(value, field);
    std::vector<Rlimit> rlimits;
    for (std::size_t i = 0; i < value.size(); ++i) {
        Object object(value[i], element(field, i), warnings);
        Rlimit rlimit;
        const std::string type_field = object.path("type");
        const std::string& type = as_string(object.require("type"), type_field);
        const std::optional<int> resource = rlimit_number(type);
        if (!resource) fail(type_field, "unknown rlimit " + in_quotes(type));
        rlimit.resource = *resource;
        for (const Rlimit& earlier : rlimits) {
            if (earlier.resource == rlimit.resource) fail(type_field, "duplicate rlimit " + in_quotes(type));
        }
        rlimit.soft = as_int<std::uint64_t>(object.require("soft"), object.path("soft"));
        rlimit.hard = as_int<std::uint64_t>(object.require("hard"), object.path("hard"));
        if (rlimit.soft > rlimit.hard)
            fail(object.path("soft"), std::to_string(rlimit.soft) + " is above the hard limit " +
                                          std::to_string(rlimit.hard));
        object.warn_unknown();
        rlimits.push_back(rlimit);
    }
    return rlimits;
}

User parse_user(const Json& value, const std::string& field, Warnings& warnings) {
    Object object(value, field, warnings);
    User user;
    user.uid = as_int<std::uint32_t>(object.require("uid"), object.path("uid"));
    user.gid = as_int<std::uint32_t>(object.require("gid"), object.path("gid"));
    if (const Json* umask = object.get("umask")) user.umask = as_int<std::uint32_t>(*umask, object.path("umask"));
    if (const Json* gids = object.get("additionalGids")) {
        const std::string gids_field = object.path("additionalGids");
        as_array(*gids, gids_field);
        for (std::size_t i = 0; i < gids->size(); ++i)
            user.additional_gids.push_back(as_int<std::uint32_t>((*gids)[i], element(gids_field, i)));
    }
    object.unsupported("username");  // Windows only
    object.warn_unknown();
    return user;
}

std::vector<std::string> parse_env(const Json& value, const std::string& field) {
    std::vector<std::string> env = as_strings(value, field);
    for (std::size_t i = 0; i < env.size(); ++i) {
        const std::size_t equals = env[i].find('=');
        // runc refuses these when it builds the environment; say it up front.
        if (equals == std::string::npos || equals == 0)
            fail(element(field, i), "expected \"KEY=VALUE\", got " + in_quotes(env[i]));
    }
    return env;
}

Process parse_process_object(const Json& value, const std::string& field, Warnings& warnings) {
    Object object(value, field, warnings);
    Process process;
    if (const Json* terminal = object.get("terminal")) process.terminal = as_bool(*terminal, object.path("terminal"));
    if (const Json* size = object.get("consoleSize")) {
        Object console(*size, object.path("consoleSize"), warnings);
        ConsoleSize console_size;
        console_size.height = as_int<unsigned>(console.require("height"), console.path("height"));
        console_size.width = as_int<unsigned>(console.require("width"), console.path("width"));
        console.warn_unknown();
        process.console_size = console_size;
    }
    process.user = parse_user(object.require("user"), object.path("user"), warnings);

    const std::string args_field = object.path("args");
    process.args = as_strings(object.require("args"), args_field);
    if (process.args.empty()) fail(args_field, "must not be empty");

    if (const Json* env = object.get("env")) process.env = parse_env(*env, object.path("env"));
    process.cwd = as_absolute_path(object.require("cwd"), object.path("cwd"));
    if (const Json* caps = object.get("capabilities"))
        process.capabilities = parse_capabilities(*caps, object.path("capabilities"), warnings);
    if (const Json* rlimits = object.get("rlimits"))
        process.rlimits = parse_rlimits(*rlimits, object.path("rlimits"), warnings);
    if (const Json* nnp = object.get("noNewPrivileges"))
        process.no_new_privileges = as_bool(*nnp, object.path("noNewPrivileges"));
    if (const Json* oom = object.get("oomScoreAdj"))
        process.oom_score_adj = as_int<int>(*oom, object.path("oomScoreAdj"), -1000, 1000);
    if (const Json* profile = object.get("apparmorProfile")) {
        process.apparmor_profile = as_string(*profile, object.path("apparmorProfile"));
        if (!process.apparmor_profile.empty())
            warnings.add(object.path("apparmorProfile") + " is not supported; ignored");
    }
    if (const Json* label = object.get("selinuxLabel")) {
        process.selinux_label = as_string(*label, object.path("selinuxLabel"));
        if (!process.selinux_label.empty())
            warnings.add(object.path("selinuxLabel") + " is not supported; ignored");
    }
    for (std::string_view key : {"scheduler", "ioPriority", "execCPUAffinity", "commandLine"})
        object.unsupported(key);
    object.warn_unknown();
    return process;
}

// ---- mounts ----------------------------------------------------------------

void apply_mount_options(Mount& mount, const std::string& field, Warnings& warnings) {
    std::string data;
    for (std::size_t i = 0; i < mount.options.size(); ++i) {
        const std::string& option = mount.options[i];
        if (option.empty()) continue;
        auto flag = std::find_if(mount_flags.begin(), mount_flags.end(),
                                 [&](const MountFlag& f) { return f.name == option; });
        if (flag != mount_flags.end()) {
            // A later option undoes an earlier one ("ro,rw" is rw), as in runc.
            if (flag->clear) {
                mount.flags &= ~flag->flag;
                mount.clear_flags |= flag->flag;
            } else {
                mount.flags |= flag->flag;
                mount.clear_flags &= ~flag->flag;
            }
        } else if (std::optional<unsigned long> propagation = propagation_flags(option)) {
            mount.propagation = *propagation;
        } else if (option == "rro" || option == "rrw") {
            mount.recursive_read_only = option == "rro";
        } else if (contains(recursive_attributes, option)) {
            fail(element(field, i), "recursive mount option " + in_quotes(option) + " is not supported");
        } else if (option == "idmap" || option == "ridmap") {
            // Ignoring it would leave files owned by the wrong users.
            fail(element(field, i), "idmapped mounts are not supported");
        } else if (option == "tmpcopyup") {
            warnings.add(element(field, i) + ": \"tmpcopyup\" is not supported; ignored");
        } else {
            if (!data.empty()) data += ',';
            data += option;
        }
    }
    mount.data = std::move(data);
}

Mount parse_mount(const Json& value, const std::string& field, const fs::path& bundle, Warnings& warnings) {
    Object object(value, field, warnings);
    Mount mount;
    mount.destination = as_absolute_path(object.require("destination"), object.path("destination"));
    if (const Json* type = object.get("type")) mount.type = as_string(*type, object.path("type"));
    if (const Json* source = object.get("source")) mount.source = as_string(*source, object.path("source"));
    if (const Json* options = object.get("options")) mount.options = as_strings(*options, object.path("options"));
    for (std::string_view key : {"uidMappings", "gidMappings"}) {
        if (const Json* mappings = object.get(key); mappings && !as_array(*mappings, object.path(key)).empty())
            fail(object.path(key), "idmapped mounts are not supported");
    }
    apply_mount_options(mount, object.path("options"), warnings);
    if (mount.type == "bind") {
        mount.flags |= MS_BIND;
        mount.clear_flags &= ~static_cast<unsigned long>(MS_BIND);
    }
    if (mount.bind()) {
        // Any other type is meaningless for a bind mount (runc does the same).
        mount.type = "bind";
        if (mount.source.empty()) fail(object.path("source"), "required for a bind mount");
        mount.source = resolve(bundle, mount.source);
    }
    object.warn_unknown();
    return mount;
}

// ---- hooks -----------------------------------------------------------------

std::vector<Hook> parse_hook_list(const Json& value, const std::string& field, Warnings& warnings) {
    as_array(value, field);
    std::vector<Hook> hooks;
    for (std::size_t i = 0; i < value.size(); ++i) {
        Object object(value[i], element(field, i), warnings);
        Hook hook;
        hook.path = as_absolute_path(object.require("path"), object.path("path"));
        if (const Json* args = object.get("args")) hook.args = as_strings(*args, object.path("args"));
        if (const Json* env = object.get("env")) hook.env = parse_env(*env, object.path("env"));
        if (const Json* timeout = object.get("timeout"))
            hook.timeout = as_int<int>(*timeout, object.path("timeout"), 1, std::numeric_limits<int>::max());
        object.warn_unknown();
        hooks.push_back(std::move(hook));
    }
    return hooks;
}

Hooks parse_hooks(const Json& value, const std::string& field, Warnings& warnings) {
    Object object(value, field, warnings);
    Hooks hooks;
    const std::pair<std::string_view, std::vector<Hook>*> lists[] = {
        {"prestart", &hooks.prestart},
        {"createRuntime", &hooks.create_runtime},
        {"createContainer", &hooks.create_container},
        {"startContainer", &hooks.start_container},
        {"poststart", &hooks.poststart},
        {"poststop", &hooks.poststop},
    };
    for (const auto& [key, list] : lists) {
        if (const Json* entries = object.get(key)) *list = parse_hook_list(*entries, object.path(key), warnings);
    }
    object.warn_unknown();
    return hooks;
}

// ---- linux -----------------------------------------------------------------

std::vector<Namespace> parse_namespaces(const Json& value, const std::string& field, Warnings& warnings) {
    as_array(value, field);
    std::vector<Namespace> namespaces;
    for (std::size_t i = 0; i < value.size(); ++i) {
        Object object(value[i], element(field, i), warnings);
        const std::string type_field = object.path("type");
        const std::string& name = as_string(object.require("type"), type_field);
        auto known = std::find_if(namespaces_table.begin(), namespaces_table.end(),
                                  [&](const NamespaceName& entry) { return entry.name == name; });
        if (known == namespaces_table.end()) fail(type_field, "unknown namespace type " + in_quotes(name));
        Namespace ns{known->type, {}};
        for (const Namespace& earlier : namespaces) {
            if (earlier.type == ns.type) fail(type_field, "duplicate namespace type " + in_quotes(name));
        }
        if (const Json* path = object.get("path")) {
            // An empty path is Go's zero value: a new namespace.
            if (!as_string(*path, object.path("path")).empty())
                ns.path = as_absolute_path(*path, object.path("path"));
        }
        object.warn_unknown();
        namespaces.push_back(std::move(ns));
    }
    return namespaces;
}

std::vector<IdMapping> parse_id_mappings(const Json& value, const std::string& field, Warnings& warnings) {
    as_array(value, field);
    std::vector<IdMapping> mappings;
    for (std::size_t i = 0; i < value.size(); ++i) {
        Object object(value[i], element(field, i), warnings);
        IdMapping mapping;
        mapping.container_id = as_int<std::uint32_t>(object.require("containerID"), object.path("containerID"));
        mapping.host_id = as_int<std::uint32_t>(object.require("hostID"), object.path("hostID"));
        mapping.size = as_int<std::uint32_t>(object.require("size"), object.path("size"));
        object.warn_unknown();
        mappings.push_back(mapping);
    }
    return mappings;
}

char as_type_letter(const Json& value, const std::string& field, std::string_view letters, const char* expected) {
    const std::string& type = as_string(value, field);
    if (type.size() != 1 || letters.find(type[0]) == std::string_view::npos)
        fail(field, std::string("must be ") + expected + ", got " + in_quotes(type));
    return type[0];
}

std::vector<Device> parse_devices(const Json& value, const std::string& field, Warnings& warnings) {
    as_array(value, field);
    std::vector<Device> devices;
    for (std::size_t i = 0; i < value.size(); ++i) {
        Object object(value[i], element(field, i), warnings);
        Device device;
        device.type = as_type_letter(object.require("type"), object.path("type"), "cbup", "\"c\", \"b\", \"u\" or \"p\"");
        device.path = as_absolute_path(object.require("path"), object.path("path"));
        // A fifo has no device number.
        if (device.type == 'p') {
            if (const Json* major = object.get("major")) device.major = as_int<std::int64_t>(*major, object.path("major"));
            if (const Json* minor = object.get("minor")) device.minor = as_int<std::int64_t>(*minor, object.path("minor"));
        } else {
            device.major = as_int<std::int64_t>(object.require("major"), object.path("major"));
            device.minor = as_int<std::int64_t>(object.require("minor"), object.path("minor"));
        }
        if (const Json* mode = object.get("fileMode"))
            device.file_mode = as_int<std::uint32_t>(*mode, object.path("fileMode"));
        if (const Json* uid = object.get("uid")) device.uid = as_int<std::uint32_t>(*uid, object.path("uid"));
        if (const Json* gid = object.get("gid")) device.gid = as_int<std::uint32_t>(*gid, object.path("gid"));
        object.warn_unknown();
        devices.push_back(std::move(device));
    }
    return devices;
}

std::vector<DeviceRule> parse_device_rules(const Json& value, const std::string& field, Warnings& warnings) {
    as_array(value, field);
    std::vector<DeviceRule> rules;
    for (std::size_t i = 0; i < value.size(); ++i) {
        Object object(value[i], element(field, i), warnings);
        DeviceRule rule;
        rule.allow = as_bool(object.require("allow"), object.path("allow"));
        if (const Json* type = object.get("type"))
            rule.type = as_type_letter(*type, object.path("type"), "acb", "\"a\", \"c\" or \"b\"");
        if (const Json* major = object.get("major")) rule.major = as_int<std::int64_t>(*major, object.path("major"));
        if (const Json* minor = object.get("minor")) rule.minor = as_int<std::int64_t>(*minor, object.path("minor"));
        if (const Json* access = object.get("access")) {
            const std::string& text = as_string(*access, object.path("access"));
            if (text.find_first_not_of("rwm") != std::string::npos)
                fail(object.path("access"), "must be made of \"r\", \"w\" and \"m\", got " + in_quotes(text));
            // Go's zero value: the default, everything.
            if (!text.empty()) rule.access = text;
        }
        object.warn_unknown();
        rules.push_back(std::move(rule));
    }
    return rules;
}

Resources parse_resources_object(const Json& value, const std::string& field, Warnings& warnings) {
    Object object(value, field, warnings);
    Resources resources;
    auto not_enforced = [&](Object& parent, std::string_view key) {
        if (const Json* ignored = parent.get(key); ignored && meaningful(*ignored)) {
            resources.ignored.push_back(parent.path(key));
            warnings.add(parent.path(key) + " is not enforced");
        }
    };
    auto unknown = [&](Object& parent) {
        for (const std::string& key : parent.unread()) {
            resources.ignored.push_back(parent.path(key));
            warnings.add("unknown field " + in_quotes(parent.path(key)));
        }
    };

    if (const Json* memory_json = object.get("memory")) {
        Object memory(*memory_json, object.path("memory"), warnings);
        if (const Json* v = memory.get("limit")) resources.memory_limit = as_int<std::int64_t>(*v, memory.path("limit"));
        if (const Json* v = memory.get("reservation"))
            resources.memory_reservation = as_int<std::int64_t>(*v, memory.path("reservation"));
        if (const Json* v = memory.get("swap")) resources.memory_swap = as_int<std::int64_t>(*v, memory.path("swap"));
        for (std::string_view key :
             {"kernel", "kernelTCP", "swappiness", "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"})
            not_enforced(memory, key);
        unknown(memory);
    }
    if (const Json* cpu_json = object.get("cpu")) {
        Object cpu(*cpu_json, object.path("cpu"), warnings);
        if (const Json* v = cpu.get("shares")) resources.cpu_shares = as_int<std::uint64_t>(*v, cpu.path("shares"));
        if (const Json* v = cpu.get("quota")) resources.cpu_quota = as_int<std::int64_t>(*v, cpu.path("quota"));
        if (const Json* v = cpu.get("period")) resources.cpu_period = as_int<std::uint64_t>(*v, cpu.path("period"));
        if (const Json* v = cpu.get("cpus")) resources.cpuset_cpus = as_string(*v, cpu.path("cpus"));
        if (const Json* v = cpu.get("mems")) resources.cpuset_mems = as_string(*v, cpu.path("mems"));
        for (std::string_view key : {"realtimeRuntime", "realtimePeriod", "burst", "idle"}) not_enforced(cpu, key);
        unknown(cpu);
    }
    if (const Json* pids_json = object.get("pids")) {
        Object pids(*pids_json, object.path("pids"), warnings);
        if (const Json* v = pids.get("limit")) resources.pids_limit = as_int<std::int64_t>(*v, pids.path("limit"));
        unknown(pids);
    }
    if (const Json* devices = object.get("devices"))
        resources.devices = parse_device_rules(*devices, object.path("devices"), warnings);
    for (std::string_view key : {"blockIO", "hugepageLimits", "network", "rdma", "unified"}) not_enforced(object, key);
    unknown(object);
    return resources;
}

Seccomp parse_seccomp_object(const Json& value, const std::string& field, Warnings& warnings) {
    Object object(value, field, warnings);
    Seccomp seccomp;
    auto action = [](const Json& json, const std::string& action_field) {
        const std::string& name = as_string(json, action_field);
        if (!contains(seccomp_actions, name)) fail(action_field, "unknown action " + in_quotes(name));
        return name;
    };

    seccomp.default_action = action(object.require("defaultAction"), object.path("defaultAction"));
    if (const Json* errno_ret = object.get("defaultErrnoRet"))
        seccomp.default_errno_ret = as_int<std::uint32_t>(*errno_ret, object.path("defaultErrnoRet"));
    if (const Json* architectures = object.get("architectures")) {
        const std::string arch_field = object.path("architectures");
        seccomp.architectures = as_strings(*architectures, arch_field);
        for (std::size_t i = 0; i < seccomp.architectures.size(); ++i) {
            if (!contains(seccomp_architectures, seccomp.architectures[i]))
                fail(element(arch_field, i), "unknown architecture " + in_quotes(seccomp.architectures[i]));
        }
    }
    if (const Json* flags = object.get("flags")) {
        const std::string flags_field = object.path("flags");
        seccomp.flags = as_strings(*flags, flags_field);
        for (std::size_t i = 0; i < seccomp.flags.size(); ++i) {
            if (!contains(seccomp_flags, seccomp.flags[i]))
                fail(element(flags_field, i), "unknown flag " + in_quotes(seccomp.flags[i]));
        }
    }
    if (const Json* syscalls = object.get("syscalls")) {
        const std::string syscalls_field = object.path("syscalls");
        as_array(*syscalls, syscalls_field);
        for (std::size_t i = 0; i < syscalls->size(); ++i) {
            Object entry((*syscalls)[i], element(syscalls_field, i), warnings);
            SeccompRule rule;
            const std::string names_field = entry.path("names");
            rule.names = as_strings(entry.require("names"), names_field);
            if (rule.names.empty()) fail(names_field, "must not be empty");
            for (std::size_t n = 0; n < rule.names.size(); ++n) {
                if (rule.names[n].empty()) fail(element(names_field, n), "must not be empty");
            }
            rule.action = action(entry.require("action"), entry.path("action"));
            if (const Json* errno_ret = entry.get("errnoRet"))
                rule.errno_ret = as_int<std::uint32_t>(*errno_ret, entry.path("errnoRet"));
            if (const Json* args = entry.get("args")) {
                const std::string args_field = entry.path("args");
                as_array(*args, args_field);
                for (std::size_t a = 0; a < args->size(); ++a) {
                    Object arg_object((*args)[a], element(args_field, a), warnings);
                    SeccompArg arg;
                    // A system call has six argument registers.
                    arg.index = as_int<unsigned>(arg_object.require("index"), arg_object.path("index"), 0, 5);
                    arg.value = as_int<std::uint64_t>(arg_object.require("value"), arg_object.path("value"));
                    if (const Json* two = arg_object.get("valueTwo"))
                        arg.value_two = as_int<std::uint64_t>(*two, arg_object.path("valueTwo"));
                    const std::string op_field = arg_object.path("op");
                    arg.op = as_string(arg_object.require("op"), op_field);
                    if (!contains(seccomp_operators, arg.op)) fail(op_field, "unknown operator " + in_quotes(arg.op));
                    arg_object.warn_unknown();
                    rule.args.push_back(std::move(arg));
                }
            }
            entry.warn_unknown();
            seccomp.syscalls.push_back(std::move(rule));
        }
    }
    // SCMP_ACT_NOTIFY's agent: nothing here passes it the listener fd.
    object.unsupported("listenerPath");
    object.unsupported("listenerMetadata");
    object.warn_unknown();
    return seccomp;
}

unsigned long parse_personality(const Json& value, const std::string& field, Warnings& warnings) {
    Object object(value, field, warnings);
    const std::string domain_field = object.path("domain");
    const std::string& domain = as_string(object.require("domain"), domain_field);
    unsigned long persona;
    if (domain == "LINUX")
        persona = PER_LINUX;
    else if (domain == "LINUX32")
        persona = PER_LINUX32;
    else
        fail(domain_field, "unknown personality domain " + in_quotes(domain));
    // The specification defines no flags yet; runc ignores them too.
    if (const Json* flags = object.get("flags"); flags && !as_strings(*flags, object.path("flags")).empty())
        warnings.add(object.path("flags") + " is not supported; ignored");
    object.warn_unknown();
    return persona;
}

Linux parse_linux(const Json& value, const std::string& field, Warnings& warnings) {
    Object object(value, field, warnings);
    Linux linux;
    if (const Json* v = object.get("namespaces")) linux.namespaces = parse_namespaces(*v, object.path("namespaces"), warnings);
    if (const Json* v = object.get("uidMappings"))
        linux.uid_mappings = parse_id_mappings(*v, object.path("uidMappings"), warnings);
    if (const Json* v = object.get("gidMappings"))
        linux.gid_mappings = parse_id_mappings(*v, object.path("gidMappings"), warnings);
    if (const Json* v = object.get("devices")) linux.devices = parse_devices(*v, object.path("devices"), warnings);
    if (const Json* v = object.get("cgroupsPath")) linux.cgroups_path = as_string(*v, object.path("cgroupsPath"));
    if (const Json* v = object.get("resources"))
        linux.resources = parse_resources_object(*v, object.path("resources"), warnings);
    if (const Json* v = object.get("sysctl")) linux.sysctl = as_string_map(*v, object.path("sysctl"));
    if (const Json* v = object.get("seccomp")) linux.seccomp = parse_seccomp_object(*v, object.path("seccomp"), warnings);
    if (const Json* v = object.get("rootfsPropagation")) {
        const std::string propagation_field = object.path("rootfsPropagation");
        const std::string& name = as_string(*v, propagation_field);
        if (!name.empty()) {
            std::optional<unsigned long> flags = propagation_flags(name);
            if (!flags) fail(propagation_field, "unknown propagation " + in_quotes(name));
            linux.rootfs_propagation = *flags;
        }
    }
    if (const Json* v = object.get("maskedPaths")) linux.masked_paths = as_absolute_paths(*v, object.path("maskedPaths"));
    if (const Json* v = object.get("readonlyPaths"))
        linux.readonly_paths = as_absolute_paths(*v, object.path("readonlyPaths"));
    if (const Json* v = object.get("mountLabel")) {
        linux.mount_label = as_string(*v, object.path("mountLabel"));
        if (!linux.mount_label.empty()) warnings.add(object.path("mountLabel") + " is not supported; ignored");
    }
    if (const Json* v = object.get("personality")) linux.personality = parse_personality(*v, object.path("personality"), warnings);
    for (std::string_view key : {"intelRdt", "timeOffsets", "netDevices", "memoryPolicy"}) object.unsupported(key);
    object.warn_unknown();
    return linux;
}

// ---- the document ----------------------------------------------------------

Spec parse_document(const Json& document, const fs::path& bundle) {
    Spec spec;
    Warnings warnings(&spec.warnings);
    Object object(document, "", warnings);

    spec.oci_version = as_string(object.require("ociVersion"), "ociVersion");
    if (spec.oci_version.empty()) fail("ociVersion", "required");

    Object root(object.require("root"), "root", warnings);
    const std::string& root_path = as_string(root.require("path"), "root.path");
    if (root_path.empty()) fail("root.path", "required");
    spec.root_path = resolve(bundle, root_path);
    if (const Json* readonly = root.get("readonly")) spec.root_readonly = as_bool(*readonly, "root.readonly");
    root.warn_unknown();

    if (const Json* mounts = object.get("mounts")) {
        as_array(*mounts, "mounts");
        for (std::size_t i = 0; i < mounts->size(); ++i)
            spec.mounts.push_back(parse_mount((*mounts)[i], element("mounts", i), bundle, warnings));
    }
    spec.process = parse_process_object(object.require("process"), "process", warnings);
    if (const Json* hostname = object.get("hostname")) spec.hostname = as_string(*hostname, "hostname");
    if (const Json* domainname = object.get("domainname")) spec.domainname = as_string(*domainname, "domainname");
    if (const Json* hooks = object.get("hooks")) spec.hooks = parse_hooks(*hooks, "hooks", warnings);
    if (const Json* annotations = object.get("annotations"))
        spec.annotations = as_string_map(*annotations, "annotations");
    if (const Json* linux = object.get("linux")) spec.linux = parse_linux(*linux, "linux", warnings);
    for (std::string_view key : {"solaris", "windows", "vm", "zos"}) object.unsupported(key);
    object.warn_unknown();

    // runc refuses these too, but only once the container is half made.
    const Namespace* uts = spec.linux.find(NamespaceType::Uts);
    if (!spec.hostname.empty() && !uts) fail("hostname", "cannot be set without a UTS namespace in linux.namespaces");
    if (!spec.domainname.empty() && !uts)
        fail("domainname", "cannot be set without a UTS namespace in linux.namespaces");
    return spec;
}

// Runs a parser, turning the odd nlohmann exception our checks did not
// foresee into a SpecError, so that only SpecError escapes.
template <typename Parse>
auto guarded(const std::string& field, Parse&& parse) -> decltype(parse()) {
    try {
        return parse();
    } catch (const Json::exception& error) {
        throw SpecError(field, nlohmann_reason(error));
    }
}

}  // namespace

// ---- public ----------------------------------------------------------------

namespace {
std::string spec_message(const std::string& field, const std::string& problem) {
    std::string message = "config.json: ";
    if (!field.empty()) message += field + ": ";
    return message + problem;
}
}  // namespace

SpecError::SpecError(std::string field, std::string problem, int sys_errno)
    : Error(spec_message(field, problem), sys_errno), field_(std::move(field)), problem_(std::move(problem)) {}

std::string_view to_string(NamespaceType type) {
    for (const NamespaceName& entry : namespaces_table) {
        if (entry.type == type) return entry.name;
    }
    return "unknown";
}

bool Linux::has(NamespaceType type) const { return find(type) != nullptr; }

const Namespace* Linux::find(NamespaceType type) const {
    for (const Namespace& ns : namespaces) {
        if (ns.type == type) return &ns;
    }
    return nullptr;
}

std::optional<int> capability_number(std::string_view name) {
    for (const Named& cap : capabilities_table) {
        if (cap.name == name) return cap.value;
    }
    return std::nullopt;
}

std::string capability_name(int number) {
    for (const Named& cap : capabilities_table) {
        if (cap.value == number) return std::string(cap.name);
    }
    // Newer than our headers: the number is still meaningful to the kernel.
    return std::to_string(number);
}

std::optional<int> rlimit_number(std::string_view name) {
    for (const Named& rlimit : rlimits_table) {
        if (rlimit.name == name) return rlimit.value;
    }
    return std::nullopt;
}

Spec parse_spec(std::string_view text, const std::string& bundle) {
    Json document;
    try {
        document = Json::parse(text.begin(), text.end());
    } catch (const Json::parse_error& error) {
        throw SpecError("", "invalid JSON at byte " + std::to_string(error.byte) + ": " + nlohmann_reason(error));
    } catch (const Json::exception& error) {
        throw SpecError("", "invalid JSON: " + nlohmann_reason(error));
    }
    const fs::path dir = bundle_dir(bundle);
    return guarded("", [&] { return parse_document(document, dir); });
}

Spec load_spec(const std::string& bundle) {
    std::string path = bundle;
    if (!path.empty() && path.back() != '/') path += '/';
    path += "config.json";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        throw SpecError("", "open " + path + ": " + errno_text(err), err);
    }
    std::string text;
    try {
        text = read_fd(fd.get(), path, kMaxConfigFile);
    } catch (const Error& error) {
        throw SpecError("", "read " + path + ": " + errno_text(error.sys_errno()), error.sys_errno());
    }
    return parse_spec(text, bundle);
}

Process parse_process(const nlohmann::json& process, const std::string& field) {
    Warnings none(nullptr);
    return guarded(field, [&] { return parse_process_object(process, field, none); });
}

Resources parse_resources(const nlohmann::json& resources, const std::string& field) {
    Warnings none(nullptr);
    return guarded(field, [&] { return parse_resources_object(resources, field, none); });
}

Seccomp parse_seccomp(const nlohmann::json& seccomp, const std::string& field) {
    Warnings none(nullptr);
    return guarded(field, [&] { return parse_seccomp_object(seccomp, field, none); });
}

nlohmann::json default_spec_json() {
    const Json runc_caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    auto mount = [](const char* destination, const char* type, const char* source, Json options) {
        Json m = {{"destination", destination}, {"type", type}, {"source", source}};
        if (!options.empty()) m["options"] = std::move(options);
        return m;
    };
    return Json{
        {"ociVersion", kSpecVersion},
        {"process",
         {
             {"terminal", true},
             {"user", {{"uid", 0}, {"gid", 0}}},
             {"args", Json::array({"sh"})},
             {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
             {"cwd", "/"},
             {"capabilities", {{"bounding", runc_caps}, {"effective", runc_caps}, {"permitted", runc_caps}}},
             {"rlimits", Json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
             {"noNewPrivileges", true},
         }},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "rusty"},
        {"mounts",
         Json::array({
             mount("/proc", "proc", "proc", Json::array()),
             mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
             mount("/dev/pts", "devpts", "devpts",
                   {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
             mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
             mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
             mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
             mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
         })},
        {"linux",
         {
             {"resources", {{"devices", Json::array({{{"allow", false}, {"access", "rwm"}}})}}},
             {"namespaces", Json::array({{{"type", "pid"}},
                                         {{"type", "network"}},
                                         {{"type", "ipc"}},
                                         {{"type", "uts"}},
                                         {{"type", "mount"}},
                                         {{"type", "cgroup"}}})},
             {"maskedPaths",
              {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
               "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
             {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
         }},
    };
}

}  // namespace rusty::oci
