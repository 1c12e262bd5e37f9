#include "lifecycle/seccomp.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/file.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/strings.hpp"
// Generated at configure time from lifecycle/seccomp-default.json (CMakeLists.txt).
#include "lifecycle/seccomp_default_json.hpp"

namespace rusty::lifecycle {
namespace {

constexpr off_t kMaxProfileSize = 1 << 20;

std::string json_quoted(std::string_view text) {
    return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Frees the libseccomp context whatever happens.
class FilterContext {
public:
    explicit FilterContext(std::uint32_t default_action) : ctx_(::seccomp_init(default_action)) {
        // seccomp_init says nothing more than NULL: a bad action or no memory.
        if (!ctx_) throw Error("seccomp_init: cannot make a filter with this default action", EINVAL);
    }
    ~FilterContext() { ::seccomp_release(ctx_); }
    FilterContext(const FilterContext&) = delete;
    FilterContext& operator=(const FilterContext&) = delete;
    scmp_filter_ctx get() const { return ctx_; }

private:
    scmp_filter_ctx ctx_;
};

// libseccomp returns -errno.
[[noreturn]] void fail_libseccomp(const std::string& what, int rc) {
    throw Error(what + ": " + errno_text(-rc), -rc);
}

// SCMP_ACT_* for an action name. `where` names the field for messages:
// "seccomp: defaultAction", "seccomp: syscall \"mkdir\"". errnoRet applies
// to SCMP_ACT_ERRNO and SCMP_ACT_TRACE (EPERM when absent, as runc); other
// actions ignore it, as runc does.
std::uint32_t action_of(const std::string& action, std::optional<std::uint32_t> errno_ret, const std::string& where) {
    auto ret = [&]() -> std::uint32_t {
        const std::uint32_t value = errno_ret.value_or(EPERM);
        if (value > 0xFFFF)
            throw Error(where + ": errnoRet " + std::to_string(value) + " is out of range (0 to 65535)");
        return value;
    };
    if (action == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (action == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret());
    if (action == "SCMP_ACT_KILL" || action == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
    if (action == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (action == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (action == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (action == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret());
    if (action == "SCMP_ACT_NOTIFY") throw Error(where + ": SCMP_ACT_NOTIFY is not supported");
    throw Error(where + ": unknown action " + json_quoted(action));
}

std::optional<scmp_compare> compare_of(std::string_view op) {
    if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
    if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
    if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
    if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
    if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
    if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
    if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
    return std::nullopt;
}

// SCMP_ARCH_* token of "SCMP_ARCH_X86_64"; 0 when unknown.
std::uint32_t arch_token(std::string_view name) {
    constexpr std::string_view prefix = "SCMP_ARCH_";
    if (!name.starts_with(prefix)) return 0;
    std::string lower(name.substr(prefix.size()));
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return ::seccomp_arch_resolve_name(lower.c_str());
}

unsigned flag_of(std::string_view flag) {
    if (flag == "SECCOMP_FILTER_FLAG_TSYNC") return SECCOMP_FILTER_FLAG_TSYNC;
    if (flag == "SECCOMP_FILTER_FLAG_LOG") return SECCOMP_FILTER_FLAG_LOG;
    if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    throw Error("seccomp: flags: " + json_quoted(flag) + " is not supported");
}

void add_rule(scmp_filter_ctx ctx, const oci::SeccompRule& rule, std::size_t index, std::uint32_t default_action) {
    const std::string where =
        "seccomp: " + (rule.names.empty() ? "syscalls[" + std::to_string(index) + "]" : "syscall " + json_quoted(rule.names.front()));
    const std::uint32_t action = action_of(rule.action, rule.errno_ret, where);

    std::vector<scmp_arg_cmp> conditions;
    std::array<unsigned, 6> per_index{};
    for (const oci::SeccompArg& arg : rule.args) {
        if (arg.index >= per_index.size())
            throw Error(where + ": argument index " + std::to_string(arg.index) + " is out of range (0 to 5)");
        const std::optional<scmp_compare> op = compare_of(arg.op);
        if (!op) throw Error(where + ": unknown operator " + json_quoted(arg.op));
        ++per_index[arg.index];
        // MASKED_EQ: (arg & value) == valueTwo; the others compare with value.
        conditions.push_back(scmp_arg_cmp{arg.index, *op, arg.value, arg.value_two});
    }
    // libseccomp refuses a rule that does what the default does.
    if (action == default_action) return;
    // As runc: conditions on one index can never all hold at once, so they
    // are alternatives, a rule each; on distinct indexes, one rule (all hold).
    const bool alternatives = std::any_of(per_index.begin(), per_index.end(), [](unsigned n) { return n > 1; });

    for (const std::string& name : rule.names) {
        // Unknown to libseccomp: skipped, as runc does. Known but absent from
        // an architecture of the filter: libseccomp leaves that one out.
        const int nr = ::seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) continue;
        auto add = [&](unsigned count, const scmp_arg_cmp* args) {
            const int rc = ::seccomp_rule_add_array(ctx, action, nr, count, args);
            if (rc < 0) fail_libseccomp("seccomp_rule_add(" + json_quoted(name) + ")", rc);
        };
        if (alternatives) {
            for (const scmp_arg_cmp& condition : conditions) add(1, &condition);
        } else {
            add(static_cast<unsigned>(conditions.size()), conditions.data());
        }
    }
}

// Docker's profile allows these only to a container holding the capability
// ("includes": {"caps": [...]}), or in their conditional form without it
// (clone, clone3). Capabilities of Docker's default set are not listed: the
// built-in profile already allows what they govern (chroot).
struct CapabilityGate {
    int capability;
    std::string_view syscalls;  // space-separated
};
constexpr std::array<CapabilityGate, 13> kCapabilityGates = {{
    {CAP_DAC_READ_SEARCH, "open_by_handle_at name_to_handle_at"},
    {CAP_SYS_ADMIN,
     "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr "
     "move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog "
     "umount umount2 unshare"},
    {CAP_SYS_BOOT, "reboot"},
    {CAP_SYS_MODULE, "delete_module init_module finit_module"},
    {CAP_SYS_PACCT, "acct"},
    {CAP_SYS_PTRACE, "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"},
    {CAP_SYS_RAWIO, "iopl ioperm"},
    {CAP_SYS_TIME, "settimeofday stime clock_settime clock_settime64 adjtimex clock_adjtime clock_adjtime64"},
    {CAP_SYS_TTY_CONFIG, "vhangup"},
    {CAP_SYS_NICE, "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"},
    {CAP_SYSLOG, "syslog"},
    {CAP_BPF, "bpf"},
    {CAP_PERFMON, "perf_event_open"},
}};

oci::Seccomp parse_profile_text(std::string_view text, const std::string& source) {
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& error) {
        std::string_view message = error.what();
        if (const std::size_t end = message.find("] "); end != std::string_view::npos) message.remove_prefix(end + 2);
        throw Error(source + ": invalid JSON: " + std::string(message));
    }
    try {
        return oci::parse_seccomp(json, "");
    } catch (const oci::SpecError& error) {
        // The field as the profile's own: "syscalls[2].action", not
        // "seccomp.syscalls[2].action".
        std::string field = error.field();
        if (field == "seccomp") field.clear();
        else if (field.starts_with("seccomp.")) field.erase(0, 8);
        throw Error(source + ": " + (field.empty() ? "" : field + ": ") + error.problem());
    }
}

// Everything the program depends on, as text: the profile's every field,
// libseccomp's version and the native architecture. Equal texts compile to
// equal programs.
std::string fingerprint(const oci::Seccomp& p) {
    const scmp_version* v = ::seccomp_version();
    std::string f = "rusty-seccomp 1 libseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                    std::to_string(v->micro) + " native " + std::to_string(SCMP_ARCH_NATIVE) + "\n";
    auto field = [&f](const std::string& text) { (f += json_quoted(text)) += ' '; };
    auto number = [&f](std::optional<std::uint64_t> n) { (f += n ? std::to_string(*n) : "-") += ' '; };
    field(p.default_action);
    number(p.default_errno_ret);
    for (const auto& a : p.architectures) field(a);
    f += "| ";
    for (const auto& flag : p.flags) field(flag);
    for (const oci::SeccompRule& r : p.syscalls) {
        f += "\n";
        for (const auto& name : r.names) field(name);
        f += "| ";
        field(r.action);
        number(r.errno_ret);
        for (const oci::SeccompArg& a : r.args) {
            number(a.index);
            number(a.value);
            number(a.value_two);
            field(a.op);
        }
    }
    return f;
}

// Compiled programs are kept in a directory only root can write, on a
// tmpfs (gone at reboot, with the kernel that may change): compiling the
// built-in profile takes ~10 ms, reading it back ~0.05 ms, and both the
// one-shot front ends (rusty-runtime, rusty-supervisor on one file) would
// pay the compile at every start. A file holds the whole fingerprint, so a
// hash collision is a miss, never another program.
constexpr const char* kCacheDir = "/run/rusty/seccomp";

bool cache_dir_trusted(bool create) {
    for (const char* dir : {"/run/rusty", kCacheDir}) {
        if (create && ::mkdir(dir, 0700) < 0 && errno != EEXIST) return false;
        struct stat st {};
        if (::lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 022) != 0)
            return false;
    }
    return true;
}

std::string cache_file(const std::string& fp) {
    char name[32];
    std::snprintf(name, sizeof name, "/%016zx.bpf", std::hash<std::string>{}(fp));
    return kCacheDir + std::string(name);
}

std::optional<CompiledSeccomp> cache_read(const std::string& fp) {
    if (!cache_dir_trusted(false)) return std::nullopt;
    UniqueFd fd(::open(cache_file(fp).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string bytes;
    try {
        bytes = read_fd(fd.get(), "seccomp cache");
    } catch (const Error&) {
        return std::nullopt;
    }
    // fingerprint NUL flags NUL program
    if (bytes.size() <= fp.size() + 1 || bytes.compare(0, fp.size(), fp) != 0 || bytes[fp.size()] != '\0')
        return std::nullopt;
    const std::size_t flags_end = bytes.find('\0', fp.size() + 1);
    if (flags_end == std::string::npos) return std::nullopt;
    CompiledSeccomp c;
    c.flags = static_cast<unsigned>(std::strtoul(bytes.c_str() + fp.size() + 1, nullptr, 10));
    c.filter = bytes.substr(flags_end + 1);
    if (c.filter.empty() || c.filter.size() % sizeof(sock_filter) != 0) return std::nullopt;
    return c;
}

void cache_write(const std::string& fp, const CompiledSeccomp& c) {
    if (!cache_dir_trusted(true)) return;
    try {
        write_file_atomic(cache_file(fp), fp + '\0' + std::to_string(c.flags) + '\0' + c.filter);
    } catch (const Error&) {
        // A full /run: compile again next time.
    }
}

CompiledSeccomp compile_uncached(const oci::Seccomp& profile) {
    const std::uint32_t default_action =
        action_of(profile.default_action, profile.default_errno_ret, "seccomp: defaultAction");
    FilterContext filter(default_action);
    scmp_filter_ctx ctx = filter.get();
    // The init sets no_new_privs itself (or, without it, loads the filter
    // while it still holds CAP_SYS_ADMIN).
    if (int rc = ::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); rc < 0)
        fail_libseccomp("seccomp_attr_set(SCMP_FLTATR_CTL_NNP)", rc);
    // System calls sorted into a binary tree rather than runc's linear list:
    // a longer program (about 1200 instructions for the built-in profile
    // against 970), but the kernel's load, which runs the program for every
    // system call number to fill its cache of constant verdicts, takes a
    // third of the time (about 0.25 ms against 0.75 ms on every container
    // start), and calls the cache cannot answer take log(n) comparisons.
    if (int rc = ::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
        fail_libseccomp("seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE)", rc);

    for (const std::string& name : profile.architectures) {
        const std::uint32_t arch = arch_token(name);
        if (arch == 0) throw Error("seccomp: architectures: unknown architecture " + json_quoted(name));
        // The native one is there from the start.
        if (int rc = ::seccomp_arch_add(ctx, arch); rc < 0 && rc != -EEXIST)
            fail_libseccomp("seccomp_arch_add(" + json_quoted(name) + ")", rc);
    }

    CompiledSeccomp compiled;
    // Load-time flags: the program cannot carry them, so the init passes
    // them to seccomp(2).
    for (const std::string& flag : profile.flags) compiled.flags |= flag_of(flag);

    for (std::size_t i = 0; i < profile.syscalls.size(); ++i) add_rule(ctx, profile.syscalls[i], i, default_action);

    UniqueFd memfd(::memfd_create("rusty-seccomp", MFD_CLOEXEC));
    if (!memfd) throw_sys("memfd_create(seccomp program)");
    if (int rc = ::seccomp_export_bpf(ctx, memfd.get()); rc < 0) fail_libseccomp("seccomp_export_bpf", rc);
    if (::lseek(memfd.get(), 0, SEEK_SET) < 0) throw_sys("lseek(seccomp program)");
    compiled.filter = read_fd(memfd.get(), "seccomp program");
    if (compiled.filter.empty() || compiled.filter.size() % sizeof(sock_filter) != 0)
        throw Error("seccomp_export_bpf: wrote " + std::to_string(compiled.filter.size()) +
                    " bytes, not a whole number of instructions");
    if (compiled.filter.size() / sizeof(sock_filter) > BPF_MAXINSNS)
        throw Error("seccomp: the program has " + std::to_string(compiled.filter.size() / sizeof(sock_filter)) +
                    " instructions; the kernel takes at most " + std::to_string(BPF_MAXINSNS));
    return compiled;
}

}  // namespace

CompiledSeccomp compile_seccomp(const oci::Seccomp& profile) {
    const std::string fp = fingerprint(profile);
    if (std::optional<CompiledSeccomp> cached = cache_read(fp)) return *cached;
    CompiledSeccomp compiled = compile_uncached(profile);
    cache_write(fp, compiled);
    return compiled;
}

std::string_view default_seccomp_profile_json() {
    return embedded::kSeccompDefaultJson;
}

oci::Seccomp default_seccomp_profile() {
    oci::Seccomp profile = parse_profile_text(default_seccomp_profile_json(), "built-in seccomp profile");
    // As Docker's archMap: the native architecture and those its kernel also
    // runs (32-bit and x32 on x86_64, arm on aarch64); the others would only
    // lengthen the program.
    const std::uint32_t native = ::seccomp_arch_native();
    std::vector<std::uint32_t> family = {native};
    if (native == SCMP_ARCH_X86_64) family = {SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32};
    if (native == SCMP_ARCH_AARCH64) family = {SCMP_ARCH_AARCH64, SCMP_ARCH_ARM};
    std::erase_if(profile.architectures, [&](const std::string& name) {
        return std::find(family.begin(), family.end(), arch_token(name)) == family.end();
    });
    return profile;
}

oci::Seccomp default_seccomp_profile(std::uint64_t capabilities) {
    oci::Seccomp profile = default_seccomp_profile();
    std::set<std::string, std::less<>> allowed;
    for (const CapabilityGate& gate : kCapabilityGates) {
        if (!(capabilities & (std::uint64_t{1} << gate.capability))) continue;
        for (std::string_view name : split(gate.syscalls, ' ')) allowed.emplace(name);
    }
    if (allowed.empty()) return profile;
    // Their conditional rules (clone without namespace flags, clone3's
    // ENOSYS) give way to an unconditional allow.
    for (oci::SeccompRule& rule : profile.syscalls)
        std::erase_if(rule.names, [&](const std::string& name) { return allowed.contains(name); });
    std::erase_if(profile.syscalls, [](const oci::SeccompRule& rule) { return rule.names.empty(); });
    oci::SeccompRule rule;
    rule.names.assign(allowed.begin(), allowed.end());
    rule.action = "SCMP_ACT_ALLOW";
    profile.syscalls.push_back(std::move(rule));
    return profile;
}

std::uint64_t seccomp_capability_gates() {
    std::uint64_t mask = 0;
    for (const CapabilityGate& gate : kCapabilityGates) mask |= std::uint64_t{1} << gate.capability;
    return mask;
}

oci::Seccomp load_seccomp_profile(const std::filesystem::path& path) {
    const std::string source = "seccomp profile " + json_quoted(path.string());
    std::string text;
    try {
        // Not a FIFO or a device, whose read could block or never end.
        text = read_regular_file(path, kMaxProfileSize);
    } catch (const Error& error) {
        const int err = error.sys_errno();
        if (err == EINVAL || err == EFBIG) throw Error(source + ": not a regular file of at most 1 MiB");
        throw Error(source + ": " + errno_text(err), err);
    }
    return parse_profile_text(text, source);
}

}  // namespace rusty::lifecycle
