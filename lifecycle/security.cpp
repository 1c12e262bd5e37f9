#include "lifecycle/security.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include <linux/capability.h>

#include "core/error.hpp"
#include "core/file.hpp"
#include "lifecycle/seccomp.hpp"

namespace rusty::lifecycle {
namespace {

std::uint64_t capabilities_for(const ContainerSpec& spec) {
    const std::uint64_t all = kernel_capabilities();
    const std::uint64_t add = spec.cap_add_mask;
    const std::uint64_t drop = spec.cap_drop_mask;
    // Docker's order (oci/caps TweakCapabilities): add ALL wins, then drop ALL.
    if (add == kAllCapabilities) return all & ~(drop == kAllCapabilities ? 0 : drop);
    if (drop == kAllCapabilities) return add;
    return (SecurityPlan::default_capabilities() & ~drop) | add;
}

std::mutex cache_mutex;

// The built-in profile, per set of the capabilities that change it: one
// compilation per process for containers with the default set.
// Programs as plans hold them: one copy of the bytes, shared by every plan.
struct Program {
    SharedBytes filter;
    unsigned flags = 0;
};

Program shared(CompiledSeccomp compiled) { return {std::move(compiled.filter), compiled.flags}; }

SharedBytes compiled_default(std::uint64_t capabilities, unsigned& flags) {
    static std::map<std::uint64_t, Program> cache;
    const std::uint64_t key = capabilities & seccomp_capability_gates();
    std::lock_guard lock(cache_mutex);
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, shared(compile_seccomp(default_seccomp_profile(key)))).first;
    flags = it->second.flags;
    return it->second.filter;
}

// A profile file, compiled again only when the file changed (another inode,
// size or modification time): a start costs a stat.
SharedBytes compiled_file(const std::string& path, unsigned& flags) {
    struct Entry {
        std::tuple<dev_t, ino_t, off_t, long, long> identity;
        Program compiled;
    };
    static std::map<std::string, Entry> cache;
    struct stat info;
    if (::stat(path.c_str(), &info) < 0)
        throw Error("seccomp profile \"" + path + "\": " + errno_text(errno), errno);
    const auto identity = std::make_tuple(info.st_dev, info.st_ino, info.st_size, static_cast<long>(info.st_mtim.tv_sec),
                                          static_cast<long>(info.st_mtim.tv_nsec));
    std::lock_guard lock(cache_mutex);
    auto it = cache.find(path);
    if (it == cache.end() || it->second.identity != identity) {
        Entry entry{identity, shared(compile_seccomp(load_seccomp_profile(path)))};
        it = cache.insert_or_assign(path, std::move(entry)).first;
    }
    flags = it->second.compiled.flags;
    return it->second.compiled.filter;
}

}  // namespace

std::uint64_t kernel_capabilities() {
    static const std::uint64_t mask = [] {
        int last = CAP_LAST_CAP;
        if (const std::optional<std::string> text = try_read_file("/proc/sys/kernel/cap_last_cap")) {
            const int read = std::atoi(text->c_str());
            if (read > 0 && read < 64) last = read;
        }
        return last >= 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (last + 1)) - 1;
    }();
    return mask;
}

SecurityPlan security_for(const ContainerSpec& spec) {
    SecurityPlan plan = SecurityPlan::defaults();
    const std::uint64_t caps = capabilities_for(spec);
    plan.cap_bounding = plan.cap_effective = plan.cap_permitted = caps;
    plan.cap_inheritable = plan.cap_ambient = 0;
    plan.no_new_privileges = spec.no_new_privileges;
    if (spec.seccomp_profile == kSeccompUnconfined) {
        plan.seccomp_filter.clear();
        plan.seccomp_flags = 0;
    } else if (spec.seccomp_profile.empty()) {
        plan.seccomp_filter = compiled_default(caps, plan.seccomp_flags);
    } else {
        plan.seccomp_filter = compiled_file(spec.seccomp_profile, plan.seccomp_flags);
    }
    return plan;
}

}  // namespace rusty::lifecycle
