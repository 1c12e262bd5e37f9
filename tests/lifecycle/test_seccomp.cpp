// Seccomp: profiles compiled by lifecycle/seccomp.cpp and loaded, as the
// container init loads them, in a forked child of the test; then the
// built-in profile, security_opt and cap_add/cap_drop in real containers.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <array>
#include <filesystem>
#include <set>
#include <cstring>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "core/oci_spec.hpp"
#include "lifecycle/messages.hpp"
#include "lifecycle/seccomp.hpp"
#include "lifecycle/security.hpp"
#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {
namespace {

using lifecycle::CompiledSeccomp;
using lifecycle::compile_seccomp;

// What a child saw: its wait status and, per call it made, the result or
// -errno.
struct ChildRun {
    int status = 0;
    std::vector<long> results;
    bool exited_ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// The result of a raw system call: its value, or -errno.
long outcome(long rc) {
    return rc < 0 ? -errno : rc;
}

// Forks a child that sets no_new_privs, loads `compiled` as the init does
// (seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) with the bytes as they
// are), then runs `body`, which fills results[0..n) and returns n. Only
// raw system calls in the child: the test process may have threads.
template <typename Body>
ChildRun run_filtered(const CompiledSeccomp& compiled, Body body) {
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(pipe_fds[0]);
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ::_exit(120);
        sock_fprog prog{};
        prog.len = static_cast<unsigned short>(compiled.filter.size() / sizeof(sock_filter));
        prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(compiled.filter.data()));
        if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, compiled.flags, &prog) < 0) ::_exit(121);
        long results[16] = {};
        const int n = body(results);
        if (::write(pipe_fds[1], results, sizeof(long) * static_cast<std::size_t>(n)) < 0) ::_exit(122);
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    ChildRun run;
    long buffer[16];
    const ssize_t got = ::read(pipe_fds[0], buffer, sizeof buffer);
    ::close(pipe_fds[0]);
    REQUIRE(::waitpid(pid, &run.status, 0) == pid);
    for (ssize_t i = 0; i < got / static_cast<ssize_t>(sizeof(long)); ++i) run.results.push_back(buffer[i]);
    return run;
}

oci::SeccompRule rule(std::vector<std::string> names, std::string action, std::vector<oci::SeccompArg> args = {},
                      std::optional<std::uint32_t> errno_ret = std::nullopt) {
    oci::SeccompRule r;
    r.names = std::move(names);
    r.action = std::move(action);
    r.args = std::move(args);
    r.errno_ret = errno_ret;
    return r;
}

oci::SeccompArg arg(unsigned index, std::uint64_t value, std::string op, std::uint64_t value_two = 0) {
    oci::SeccompArg a;
    a.index = index;
    a.value = value;
    a.value_two = value_two;
    a.op = std::move(op);
    return a;
}

oci::Seccomp allow_by_default(std::vector<oci::SeccompRule> rules) {
    oci::Seccomp profile;
    profile.default_action = "SCMP_ACT_ALLOW";
    profile.syscalls = std::move(rules);
    return profile;
}

std::size_t instructions(const CompiledSeccomp& compiled) {
    return compiled.filter.size() / sizeof(sock_filter);
}

std::string error_of(const oci::Seccomp& profile) {
    try {
        compile_seccomp(profile);
    } catch (const Error& e) {
        return e.what();
    }
    return "(compiled)";
}

}  // namespace

TEST_CASE("a compiled profile is a program the kernel loads, and its rule answers with errnoRet",
          "[lifecycle][seccomp]") {
    const CompiledSeccomp compiled =
        compile_seccomp(allow_by_default({rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", {}, ENOSYS)}));
    REQUIRE(compiled.filter.size() % sizeof(sock_filter) == 0);
    CHECK(instructions(compiled) > 0);
    CHECK(compiled.flags == 0);

    TempDir dir;
    const std::string made = (dir.path() / "made").string();
    const ChildRun run = run_filtered(compiled, [&](long* r) {
        r[0] = outcome(::syscall(SYS_mkdir, made.c_str(), 0755));
        r[1] = outcome(::syscall(SYS_mkdirat, AT_FDCWD, made.c_str(), 0755));
        r[2] = outcome(::syscall(SYS_getpid));
        r[3] = outcome(::syscall(SYS_rmdir, made.c_str()));  // allowed: ENOENT from the kernel
        return 4;
    });
    REQUIRE(run.exited_ok());
    REQUIRE(run.results.size() == 4);
    CHECK(run.results[0] == -ENOSYS);
    CHECK(run.results[1] == -ENOSYS);
    CHECK(run.results[2] > 0);
    CHECK(run.results[3] == -ENOENT);
    CHECK_FALSE(fs::exists(made));
}

TEST_CASE("seccomp argument conditions: one index ORs, several indexes AND", "[lifecycle][seccomp]") {
    SECTION("one condition; errnoRet absent means EPERM") {
        const CompiledSeccomp compiled =
            compile_seccomp(allow_by_default({rule({"personality"}, "SCMP_ACT_ERRNO", {arg(0, 0xffff, "SCMP_CMP_EQ")})}));
        const ChildRun run = run_filtered(compiled, [](long* r) {
            r[0] = outcome(::syscall(SYS_personality, 0xffffUL));
            r[1] = outcome(::syscall(SYS_personality, 0xffffffffUL));  // the query: allowed
            return 2;
        });
        REQUIRE(run.exited_ok());
        CHECK(run.results == std::vector<long>{-EPERM, 0});
    }
    SECTION("two conditions on one index: either denies") {
        const CompiledSeccomp compiled = compile_seccomp(allow_by_default(
            {rule({"personality"}, "SCMP_ACT_ERRNO", {arg(0, 0xffff, "SCMP_CMP_EQ"), arg(0, 0xfffe, "SCMP_CMP_EQ")},
                  EACCES)}));
        const ChildRun run = run_filtered(compiled, [](long* r) {
            r[0] = outcome(::syscall(SYS_personality, 0xffffUL));
            r[1] = outcome(::syscall(SYS_personality, 0xfffeUL));
            r[2] = outcome(::syscall(SYS_personality, 0xffffffffUL));
            return 3;
        });
        REQUIRE(run.exited_ok());
        CHECK(run.results == std::vector<long>{-EACCES, -EACCES, 0});
    }
    SECTION("conditions on two indexes: both must hold") {
        // getpriority(PRIO_PROCESS, 4242424) is denied; either argument
        // alone is not.
        const CompiledSeccomp compiled = compile_seccomp(allow_by_default({rule(
            {"getpriority"}, "SCMP_ACT_ERRNO", {arg(0, PRIO_PROCESS, "SCMP_CMP_EQ"), arg(1, 4242424, "SCMP_CMP_EQ")})}));
        const ChildRun run = run_filtered(compiled, [](long* r) {
            r[0] = outcome(::syscall(SYS_getpriority, PRIO_PROCESS, 4242424));
            r[1] = outcome(::syscall(SYS_getpriority, PRIO_PGRP, 4242424));  // no such group: ESRCH
            r[2] = outcome(::syscall(SYS_getpriority, PRIO_PROCESS, 0));
            return 3;
        });
        REQUIRE(run.exited_ok());
        REQUIRE(run.results.size() == 3);
        CHECK(run.results[0] == -EPERM);
        CHECK(run.results[1] == -ESRCH);
        CHECK(run.results[2] > 0);
    }
    SECTION("MASKED_EQ: value is the mask, valueTwo the datum") {
        // Denied when bit 1 of the flags is set.
        const CompiledSeccomp compiled = compile_seccomp(
            allow_by_default({rule({"personality"}, "SCMP_ACT_ERRNO", {arg(0, 0x2, "SCMP_CMP_MASKED_EQ", 0x2)})}));
        const ChildRun run = run_filtered(compiled, [](long* r) {
            r[0] = outcome(::syscall(SYS_personality, 0x0002UL));
            r[1] = outcome(::syscall(SYS_personality, 0x0000UL));
            return 2;
        });
        REQUIRE(run.exited_ok());
        REQUIRE(run.results.size() == 2);
        CHECK(run.results[0] == -EPERM);
        CHECK(run.results[1] >= 0);
    }
}

TEST_CASE("SCMP_ACT_KILL_PROCESS ends the process with SIGSYS", "[lifecycle][seccomp]") {
    const CompiledSeccomp compiled = compile_seccomp(allow_by_default({rule({"getppid"}, "SCMP_ACT_KILL_PROCESS")}));
    const ChildRun run = run_filtered(compiled, [](long* r) {
        r[0] = ::syscall(SYS_getppid);
        return 1;
    });
    CHECK(WIFSIGNALED(run.status));
    CHECK(WTERMSIG(run.status) == SIGSYS);
    CHECK(run.results.empty());
}

TEST_CASE("profile rules runc skips are skipped; what cannot work is an error naming it", "[lifecycle][seccomp]") {
    SECTION("names libseccomp does not know, and rules that do what the default does") {
        oci::Seccomp profile = allow_by_default({rule({"no_such_syscall", "mkdir"}, "SCMP_ACT_ERRNO"),
                                                 rule({"getpid"}, "SCMP_ACT_ALLOW"),
                                                 rule({"arm_fadvise64_64"}, "SCMP_ACT_ERRNO")});
        profile.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"};
        CHECK_NOTHROW(compile_seccomp(profile));
    }
    SECTION("flags are passed to seccomp(2), not compiled") {
        oci::Seccomp profile = allow_by_default({rule({"mkdir"}, "SCMP_ACT_LOG")});
        profile.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
        const CompiledSeccomp compiled = compile_seccomp(profile);
        CHECK(compiled.flags == (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW));
        CHECK(run_filtered(compiled, [](long*) { return 0; }).exited_ok());
    }
    SECTION("SCMP_ACT_NOTIFY") {
        CHECK(error_of(allow_by_default({rule({"mkdir"}, "SCMP_ACT_NOTIFY")})) ==
              "seccomp: syscall \"mkdir\": SCMP_ACT_NOTIFY is not supported");
        oci::Seccomp profile;
        profile.default_action = "SCMP_ACT_NOTIFY";
        CHECK(error_of(profile) == "seccomp: defaultAction: SCMP_ACT_NOTIFY is not supported");
    }
    SECTION("an unknown action or operator") {
        CHECK(error_of(allow_by_default({rule({"mkdir"}, "SCMP_ACT_MAYBE")})) ==
              "seccomp: syscall \"mkdir\": unknown action \"SCMP_ACT_MAYBE\"");
        CHECK(error_of(allow_by_default({rule({"mkdir"}, "SCMP_ACT_ERRNO", {arg(0, 1, "SCMP_CMP_ABOUT")})})) ==
              "seccomp: syscall \"mkdir\": unknown operator \"SCMP_CMP_ABOUT\"");
    }
    SECTION("libseccomp's own refusal, with its errno") {
        // One condition, two actions.
        try {
            compile_seccomp(allow_by_default({rule({"mount"}, "SCMP_ACT_ERRNO", {arg(0, 1, "SCMP_CMP_EQ")}),
                                              rule({"mount"}, "SCMP_ACT_KILL_PROCESS", {arg(0, 1, "SCMP_CMP_EQ")})}));
            FAIL_CHECK("compiled");
        } catch (const Error& e) {
            CHECK(std::string(e.what()) == "seccomp_rule_add(\"mount\"): File exists");
            CHECK(e.sys_errno() == EEXIST);
        }
    }
    SECTION("a profile file") {
        TempDir dir;
        try {
            lifecycle::load_seccomp_profile(dir.path() / "missing.json");
            FAIL_CHECK("loaded");
        } catch (const Error& e) {
            CHECK(std::string(e.what()) ==
                  "seccomp profile \"" + (dir.path() / "missing.json").string() + "\": No such file or directory");
        }
        std::ofstream(dir.path() / "bad.json") << R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_NO"}]})";
        try {
            lifecycle::load_seccomp_profile(dir.path() / "bad.json");
            FAIL_CHECK("loaded");
        } catch (const Error& e) {
            CHECK(std::string(e.what()) == "seccomp profile \"" + (dir.path() / "bad.json").string() +
                                               "\": syscalls[0].action: unknown action \"SCMP_ACT_NO\"");
        }
        std::ofstream(dir.path() / "good.json") << R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]})";
        const oci::Seccomp good = lifecycle::load_seccomp_profile(dir.path() / "good.json");
        REQUIRE(good.syscalls.size() == 1);
        CHECK(good.syscalls[0].errno_ret == 38u);
    }
}

TEST_CASE("the built-in profile: Docker's default in effect", "[lifecycle][seccomp]") {
    const oci::Seccomp profile = lifecycle::default_seccomp_profile();
    CHECK(profile.default_action == "SCMP_ACT_ERRNO");
    CHECK(profile.default_errno_ret == 1u);
    // Narrowed to the native family.
#if defined(__x86_64__)
    CHECK(profile.architectures == std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"});
#endif
    const CompiledSeccomp compiled = compile_seccomp(profile);
    INFO("instructions: " << instructions(compiled));
    CHECK(instructions(compiled) < BPF_MAXINSNS);
    // The spawn request carries it in hex, well inside the helper's 64 KiB.
    CHECK(compiled.filter.size() * 2 < 40 * 1024);

    TempDir dir;
    const std::string file = (dir.path() / "f").string();
    const std::string missing = (dir.path() / "missing").string();
    const ChildRun run = run_filtered(compiled, [&](long* r) {
        r[0] = outcome(::syscall(SYS_unshare, CLONE_NEWNS));
        r[1] = outcome(::syscall(SYS_getpid));
        const long fd = outcome(::syscall(SYS_openat, AT_FDCWD, file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        r[2] = fd;
        if (fd >= 0) ::syscall(SYS_close, fd);
        // A target that does not exist: were the filter to let it through,
        // the kernel would say ENOENT and mount nothing.
        r[3] = outcome(::syscall(SYS_mount, "none", missing.c_str(), "tmpfs", 0UL, nullptr));
        r[4] = outcome(::syscall(SYS_clone3, nullptr, 0UL));  // ENOSYS, so libc falls back to clone
        r[5] = outcome(::syscall(SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0));
        const long unix_socket = outcome(::syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        r[6] = unix_socket;
        if (unix_socket >= 0) ::syscall(SYS_close, unix_socket);
        // clone as fork does it: allowed; with a namespace flag: not.
        const long child = outcome(::syscall(SYS_clone, SIGCHLD, 0UL, 0UL, 0UL, 0UL));
        if (child == 0) ::syscall(SYS_exit_group, 0);
        r[7] = child;
        if (child > 0) ::syscall(SYS_wait4, child, nullptr, 0, nullptr);
        const long ns_child = outcome(::syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0UL, 0UL, 0UL, 0UL));
        if (ns_child == 0) ::syscall(SYS_exit_group, 0);
        r[8] = ns_child;
        r[9] = outcome(::syscall(SYS_personality, 0xffffffffUL));
        r[10] = outcome(::syscall(SYS_personality, 0x0040000UL));  // ADDR_COMPAT_LAYOUT alone: not one of Docker's
        r[11] = outcome(::syscall(SYS_setns, 0, 0));
        r[12] = outcome(::syscall(SYS_keyctl, 0, 0, 0, 0, 0));
        r[13] = outcome(::syscall(SYS_ptrace, PTRACE_PEEKDATA, 999999999, 0UL, 0UL));  // no such process
        return 14;
    });
    REQUIRE(run.exited_ok());
    REQUIRE(run.results.size() == 14);
    CHECK(run.results[0] == -EPERM);   // unshare
    CHECK(run.results[1] > 0);         // getpid
    CHECK(run.results[2] >= 0);        // openat
    CHECK(run.results[3] == -EPERM);   // mount
    CHECK(run.results[4] == -ENOSYS);  // clone3
    CHECK(run.results[5] == -EPERM);   // socket(AF_VSOCK)
    CHECK(run.results[6] >= 0);        // socket(AF_UNIX)
    CHECK(run.results[7] > 0);         // clone(SIGCHLD)
    CHECK(run.results[8] == -EPERM);   // clone(CLONE_NEWNS)
    CHECK(run.results[9] >= 0);        // personality query
    CHECK(run.results[10] == -EPERM);
    CHECK(run.results[11] == -EPERM);  // setns
    CHECK(run.results[12] == -EPERM);  // keyctl
    CHECK(run.results[13] == -ESRCH);  // ptrace: allowed, as Docker on kernels >= 4.8
    CHECK(fs::exists(file));
}

TEST_CASE("the built-in profile follows capabilities as Docker's does", "[lifecycle][seccomp]") {
    const std::uint64_t sys_admin = std::uint64_t{1} << CAP_SYS_ADMIN;
    const oci::Seccomp with_admin = lifecycle::default_seccomp_profile(lifecycle::SecurityPlan::default_capabilities() | sys_admin);
    const CompiledSeccomp compiled = compile_seccomp(with_admin);
    const ChildRun run = run_filtered(compiled, [](long* r) {
        r[0] = outcome(::syscall(SYS_unshare, CLONE_NEWNS));
        r[1] = outcome(::syscall(SYS_clone3, nullptr, 0UL));  // now the kernel's answer
        r[2] = outcome(::syscall(SYS_settimeofday, nullptr, nullptr));
        return 3;
    });
    REQUIRE(run.exited_ok());
    REQUIRE(run.results.size() == 3);
    CHECK(run.results[0] == 0);
    CHECK(run.results[1] != -ENOSYS);
    CHECK(run.results[2] == -EPERM);  // CAP_SYS_TIME's, not CAP_SYS_ADMIN's
    // The default set changes nothing.
    CHECK(lifecycle::default_seccomp_profile(lifecycle::SecurityPlan::default_capabilities()).syscalls.size() ==
          lifecycle::default_seccomp_profile().syscalls.size());
}

TEST_CASE("security_for: capabilities, no_new_privs and a program compiled once", "[lifecycle][seccomp]") {
    ContainerSpec spec;
    const lifecycle::SecurityPlan defaults = lifecycle::SecurityPlan::defaults();
    const lifecycle::SecurityPlan plan = lifecycle::security_for(spec);
    CHECK(plan.cap_bounding == defaults.cap_bounding);
    CHECK(plan.cap_effective == defaults.cap_effective);
    CHECK(plan.cap_permitted == defaults.cap_permitted);
    CHECK(plan.cap_ambient == 0);
    CHECK(plan.no_new_privileges);
    CHECK_FALSE(plan.seccomp_filter.empty());
    CHECK(plan.masked_paths == defaults.masked_paths);

    // Cached: a second start costs no compilation.
    const auto t0 = std::chrono::steady_clock::now();
    const lifecycle::SecurityPlan again = lifecycle::security_for(spec);
    CHECK(std::chrono::steady_clock::now() - t0 < 2ms);
    CHECK(again == plan);

    spec.cap_drop_mask = std::uint64_t{1} << CAP_CHOWN;
    spec.cap_add_mask = std::uint64_t{1} << CAP_SYS_ADMIN;
    const lifecycle::SecurityPlan tweaked = lifecycle::security_for(spec);
    CHECK(tweaked.cap_bounding == ((defaults.cap_bounding & ~(std::uint64_t{1} << CAP_CHOWN)) | (std::uint64_t{1} << CAP_SYS_ADMIN)));
    CHECK(tweaked.seccomp_filter != plan.seccomp_filter);  // CAP_SYS_ADMIN's calls allowed

    spec.cap_drop_mask = kAllCapabilities;
    spec.cap_add_mask = std::uint64_t{1} << CAP_KILL;
    CHECK(lifecycle::security_for(spec).cap_bounding == (std::uint64_t{1} << CAP_KILL));
    spec.cap_add_mask = kAllCapabilities;
    spec.cap_drop_mask = std::uint64_t{1} << CAP_SYS_ADMIN;
    CHECK(lifecycle::security_for(spec).cap_bounding == (lifecycle::kernel_capabilities() & ~(std::uint64_t{1} << CAP_SYS_ADMIN)));

    spec = ContainerSpec{};
    spec.seccomp_profile = kSeccompUnconfined;
    spec.no_new_privileges = false;
    const lifecycle::SecurityPlan unconfined = lifecycle::security_for(spec);
    CHECK(unconfined.seccomp_filter.empty());
    CHECK_FALSE(unconfined.no_new_privileges);
}

namespace {

std::uint64_t cap_bnd(const Recorder& rec, const std::string& container) {
    const std::string hex = rec.value(container, "bnd");
    INFO(container << " bnd=" << hex);
    REQUIRE(hex.size() == 16);
    return std::stoull(hex, nullptr, 16);
}

// Prints the seccomp mode, no_new_privs and CapBnd, and whether a mount
// namespace could be made.
Json probe() {
    return sh("awk '/^Seccomp:/ {print \"seccomp=\" $2} /^NoNewPrivs:/ {print \"nnp=\" $2} "
              "/^CapBnd:/ {print \"bnd=\" $2}' /proc/self/status;"
              "unshare -m true 2>/dev/null && echo unshare=yes || echo unshare=no");
}

}  // namespace

TEST_CASE("containers get the built-in seccomp profile unless security_opt says otherwise",
          "[lifecycle][seccomp][security]") {
    TempDir root;
    std::ofstream(root.path() / "no-mkdir.json")
        << R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]})";
    Recorder rec;
    Json containers;
    containers["default"] = probe();
    containers["unconfined"] = probe();
    containers["unconfined"]["security_opt"] = Json::array({"seccomp=unconfined"});
    containers["file"] = sh("mkdir /tmp/d 2>/dev/null && echo mkdir=yes || echo mkdir=no;"
                            "awk '/^Seccomp:/ {print \"seccomp=\" $2}' /proc/self/status");
    containers["file"]["security_opt"] = Json::array({"seccomp=no-mkdir.json"});
    containers["nochown"] = probe();
    containers["nochown"]["cap_drop"] = Json::array({"CHOWN"});
    containers["admin"] = probe();
    containers["admin"]["cap_add"] = Json::array({"SYS_ADMIN"});
    containers["privs"] = probe();
    containers["privs"]["security_opt"] = Json::array({"no-new-privileges:false"});
    run_fleet(fleet_json("seccomp", containers), root.path(), rec);
    INFO(rec.dump());

    const std::uint64_t chown = std::uint64_t{1} << 0, sys_admin = std::uint64_t{1} << 21;
    CHECK(rec.value("default", "seccomp") == "2");
    CHECK(rec.value("default", "nnp") == "1");
    CHECK(rec.value("default", "unshare") == "no");
    CHECK(cap_bnd(rec, "default") == lifecycle::SecurityPlan::default_capabilities());

    CHECK(rec.value("unconfined", "seccomp") == "0");
    // No filter, but still no CAP_SYS_ADMIN.
    CHECK(rec.value("unconfined", "unshare") == "no");

    CHECK(rec.value("file", "seccomp") == "2");
    CHECK(rec.value("file", "mkdir") == "no");

    CHECK(rec.value("nochown", "seccomp") == "2");
    CHECK((cap_bnd(rec, "nochown") & chown) == 0);
    CHECK(cap_bnd(rec, "nochown") == (lifecycle::SecurityPlan::default_capabilities() & ~chown));

    CHECK(rec.value("admin", "seccomp") == "2");
    CHECK((cap_bnd(rec, "admin") & sys_admin) != 0);
    // As with Docker, CAP_SYS_ADMIN also opens what the profile keeps for it.
    CHECK(rec.value("admin", "unshare") == "yes");

    CHECK(rec.value("privs", "seccomp") == "2");
    CHECK(rec.value("privs", "nnp") == "0");
    CHECK(rec.value("privs", "unshare") == "no");
}

}  // namespace rusty::test

TEST_CASE("compiled programs are cached in /run/rusty/seccomp; a damaged entry is compiled again", "[seccomp]") {
    namespace fs = std::filesystem;
    // A profile no other test or program has: its own cache entry.
    rusty::oci::Seccomp profile;
    profile.default_action = "SCMP_ACT_ALLOW";
    rusty::oci::SeccompRule rule;
    rule.names = {"mkdir"};
    rule.action = "SCMP_ACT_ERRNO";
    rule.errno_ret = 1000 + static_cast<std::uint32_t>(::getpid() % 3000);
    profile.syscalls.push_back(rule);

    const fs::path dir = "/run/rusty/seccomp";
    auto entries = [&] {
        std::set<fs::path> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path());
        return out;
    };
    const std::set<fs::path> before = entries();
    const rusty::lifecycle::CompiledSeccomp first = rusty::lifecycle::compile_seccomp(profile);
    std::set<fs::path> added;
    for (const fs::path& p : entries())
        if (!before.contains(p)) added.insert(p);
    REQUIRE(added.size() == 1);
    const fs::path entry = *added.begin();
    CHECK((fs::status(dir).permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
    std::ifstream in(entry, std::ios::binary);
    const std::string stored((std::istreambuf_iterator<char>(in)), {});
    CHECK(stored.size() > first.filter.size());
    CHECK(stored.compare(stored.size() - first.filter.size(), first.filter.size(), first.filter) == 0);

    // Read back: the same program.
    CHECK(rusty::lifecycle::compile_seccomp(profile) == first);
    // Damaged (half an instruction cut off): compiled again, and rewritten.
    fs::resize_file(entry, fs::file_size(entry) - 3);
    CHECK(rusty::lifecycle::compile_seccomp(profile) == first);
    CHECK(fs::file_size(entry) == stored.size());
    fs::remove(entry);
}
