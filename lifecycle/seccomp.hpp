// Seccomp profiles (OCI linux.seccomp) compiled into the BPF program the
// container init loads (SecurityPlan::seccomp_filter), with libseccomp.
//
// compile_seccomp follows runc: a name unknown to libseccomp, or to the
// filter's architectures, is skipped; several conditions on one argument
// index make one rule each (any may match), conditions on distinct indexes
// one rule (all must match); a rule whose action is the default action is
// skipped. No_new_privs is not asked of libseccomp: the init sets it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/oci_spec.hpp"

namespace rusty::lifecycle {

struct CompiledSeccomp {
    // struct sock_filter[], as seccomp_export_bpf writes it.
    std::string filter;
    // SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER): the
    // profile's flags (TSYNC, LOG, SPEC_ALLOW), which the program cannot hold.
    unsigned flags = 0;
    bool operator==(const CompiledSeccomp&) const = default;
};

// Programs are cached in /run/rusty/seccomp (only if that directory is
// root's alone), keyed by the profile's every field, libseccomp's version
// and the architecture: compiling the built-in profile takes ~10 ms, which
// each one-shot start would pay.
// Throws rusty::Error naming what is wrong ("seccomp: syscall \"mkdir\":
// unknown action \"SCMP_ACT_FOO\"", "seccomp_rule_add(\"mount\"): Invalid
// argument"); SCMP_ACT_NOTIFY is not supported.
CompiledSeccomp compile_seccomp(const oci::Seccomp& profile);

// The built-in profile (lifecycle/seccomp-default.json, embedded at build
// time): Docker's default profile for Docker's default capabilities, its
// architectures narrowed to the native family (x86_64, x86, x32; or
// aarch64, arm) as Docker does.
oci::Seccomp default_seccomp_profile();
// The same for a container holding `capabilities` (bit n = capability n):
// as Docker's profile does, a capability beyond the default set also allows
// the system calls it governs (CAP_SYS_ADMIN: mount, unshare, setns, clone
// with namespace flags, clone3…; CAP_SYS_PTRACE: kcmp, pidfd_getfd…;
// CAP_SYS_TIME: settimeofday, clock_settime, adjtimex…).
oci::Seccomp default_seccomp_profile(std::uint64_t capabilities);
// The capabilities that change default_seccomp_profile(capabilities): the
// profile for `caps` is the one for `caps & seccomp_capability_gates()`.
std::uint64_t seccomp_capability_gates();
// The embedded JSON text.
std::string_view default_seccomp_profile_json();

// Reads a profile in the format of OCI linux.seccomp from `path` (a regular
// file of at most 1 MiB). Throws rusty::Error naming the path (unreadable,
// not JSON, or invalid).
oci::Seccomp load_seccomp_profile(const std::filesystem::path& path);

}  // namespace rusty::lifecycle
