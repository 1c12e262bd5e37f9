// Security fields of fleet.json: cap_add, cap_drop, privileged and
// security_opt - what each puts in the spec, and each error with its JSON
// pointer and problem text.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/spec.hpp"
#include "tests/core/config_helpers.hpp"
#include "tests/support/temp_dir.hpp"

using rusty::ContainerSpec;
using rusty::FleetSpec;
using rusty::kAllCapabilities;
using rusty::test::failure_of;
using rusty::test::parse;
using rusty::test::TempDir;
using rusty::test::web_plus;

namespace {

ContainerSpec web(std::string_view extra, const std::filesystem::path& base_dir = "/") {
    const FleetSpec fleet = parse(web_plus(extra), base_dir);
    REQUIRE(fleet.containers.size() == 1);
    return fleet.containers.front();
}

constexpr std::uint64_t bit(int n) {
    return std::uint64_t{1} << n;
}

// The capability numbers of linux/capability.h used below.
constexpr int kChown = 0, kKill = 5, kNetAdmin = 12, kSysPtrace = 19, kSysAdmin = 21, kSysTime = 25;

}  // namespace

TEST_CASE("security defaults: the default capability set, the built-in profile, no_new_privs", "[config][security]") {
    const ContainerSpec spec = web(R"("read_only": false)");
    CHECK(spec.cap_add_mask == 0);
    CHECK(spec.cap_drop_mask == 0);
    CHECK(spec.seccomp_profile.empty());
    CHECK(spec.no_new_privileges);
}

TEST_CASE("cap_add and cap_drop take Docker's spellings", "[config][security]") {
    const ContainerSpec spec =
        web(R"("cap_add": ["NET_ADMIN", "cap_sys_time", "CAP_SYS_PTRACE", "Sys_Admin"], "cap_drop": ["chown", "KILL"])");
    CHECK(spec.cap_add_mask == (bit(kNetAdmin) | bit(kSysTime) | bit(kSysPtrace) | bit(kSysAdmin)));
    CHECK(spec.cap_drop_mask == (bit(kChown) | bit(kKill)));
    CHECK(web(R"("cap_drop": ["ALL"], "cap_add": ["all"])").cap_drop_mask == kAllCapabilities);
    CHECK(web(R"("cap_add": ["all"])").cap_add_mask == kAllCapabilities);
    CHECK(web(R"("cap_add": [])").cap_add_mask == 0);
    // A reload sees the change.
    CHECK_FALSE(web(R"("cap_add": ["NET_ADMIN"])") == web(R"("cap_add": ["SYS_ADMIN"])"));
}

TEST_CASE("cap_add and cap_drop errors", "[config][security]") {
    auto failure = failure_of(web_plus(R"("cap_add": ["NET_ADMIN", "SYS_AMDIN"])"));
    CHECK(failure.pointer == "/containers/web/cap_add/1");
    CHECK(failure.problem == "unknown capability \"SYS_AMDIN\"; did you mean \"SYS_ADMIN\"?");

    failure = failure_of(web_plus(R"("cap_drop": ["CAP_NOPE_NOPE_NOPE"])"));
    CHECK(failure.pointer == "/containers/web/cap_drop/0");
    CHECK(failure.problem == "unknown capability \"CAP_NOPE_NOPE_NOPE\"");

    failure = failure_of(web_plus(R"("cap_drop": "CHOWN")"));
    CHECK(failure.pointer == "/containers/web/cap_drop");
    CHECK(failure.problem == "expected an array of capability names such as [\"NET_ADMIN\"]");

    failure = failure_of(web_plus(R"("cap_add": [21])"));
    CHECK(failure.pointer == "/containers/web/cap_add/0");
    CHECK(failure.problem == "expected a string");

    failure = failure_of(web_plus(R"("cap-add": ["CHOWN"])"));
    CHECK(failure.pointer == "/containers/web/cap-add");
    CHECK(failure.problem == "unknown field; did you mean \"cap_add\"?");
}

TEST_CASE("privileged: only false", "[config][security]") {
    CHECK(web(R"("privileged": false)") == web(R"("read_only": false)"));
    auto failure = failure_of(web_plus(R"("privileged": true)"));
    CHECK(failure.pointer == "/containers/web/privileged");
    CHECK(failure.problem ==
          "privileged containers are not supported; grant what the container needs with \"cap_add\" and "
          "\"security_opt\" (e.g. \"seccomp=unconfined\")");
    failure = failure_of(web_plus(R"("privileged": "no")"));
    CHECK(failure.pointer == "/containers/web/privileged");
    CHECK(failure.problem == "expected a boolean");
}

TEST_CASE("security_opt: seccomp and no-new-privileges", "[config][security]") {
    CHECK(web(R"("security_opt": ["seccomp=unconfined"])").seccomp_profile == "unconfined");
    CHECK(web(R"("security_opt": ["seccomp:unconfined"])").seccomp_profile == "unconfined");  // Docker's legacy form
    CHECK(web(R"("security_opt": ["seccomp=unconfined", "seccomp=builtin"])").seccomp_profile.empty());
    CHECK(web(R"("security_opt": ["no-new-privileges"])").no_new_privileges);
    CHECK(web(R"("security_opt": ["no-new-privileges:true"])").no_new_privileges);
    CHECK_FALSE(web(R"("security_opt": ["no-new-privileges:false"])").no_new_privileges);
    CHECK_FALSE(web(R"("security_opt": ["no-new-privileges=false"])").no_new_privileges);
    CHECK(web(R"("security_opt": [])") == web(R"("read_only": false)"));
}

TEST_CASE("security_opt: a seccomp profile file is read and checked with fleet.json", "[config][security]") {
    TempDir dir("security-config");
    const std::filesystem::path profile = dir.path() / "profiles" / "strict.json";
    std::filesystem::create_directories(profile.parent_path());
    std::ofstream(profile) << R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]})";

    SECTION("relative to fleet.json's directory, stored absolute") {
        CHECK(web(R"("security_opt": ["seccomp=profiles/strict.json"])", dir.path()).seccomp_profile == profile.string());
        CHECK(web(R"("security_opt": ["seccomp=)" + profile.string() + R"("])").seccomp_profile == profile.string());
    }
    SECTION("a missing file") {
        const auto failure =
            failure_of(web_plus(R"("security_opt": ["no-new-privileges", "seccomp=)" + (dir.path() / "nope.json").string() + R"("])"));
        CHECK(failure.pointer == "/containers/web/security_opt/1");
        CHECK(failure.problem == "\"" + (dir.path() / "nope.json").string() + "\": No such file or directory");
    }
    SECTION("not JSON") {
        std::ofstream(dir.path() / "bad.json") << "{\"defaultAction\": ";
        const auto failure = failure_of(web_plus(R"("security_opt": ["seccomp=)" + (dir.path() / "bad.json").string() + R"("])"));
        CHECK(failure.pointer == "/containers/web/security_opt/0");
        CHECK(failure.problem.starts_with("\"" + (dir.path() / "bad.json").string() + "\": invalid JSON at line 1, column "));
    }
    SECTION("an invalid profile: the field named as in the profile") {
        std::ofstream(dir.path() / "bad.json") << R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOPE"}]})";
        const auto failure = failure_of(web_plus(R"("security_opt": ["seccomp=)" + (dir.path() / "bad.json").string() + R"("])"));
        CHECK(failure.pointer == "/containers/web/security_opt/0");
        CHECK(failure.problem ==
              "\"" + (dir.path() / "bad.json").string() + "\": syscalls[0].action: unknown action \"SCMP_ACT_NOPE\"");
    }
    SECTION("a valid profile the supervisor cannot apply") {
        std::ofstream(dir.path() / "notify.json") << R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})";
        const auto failure = failure_of(web_plus(R"("security_opt": ["seccomp=)" + (dir.path() / "notify.json").string() + R"("])"));
        CHECK(failure.pointer == "/containers/web/security_opt/0");
        CHECK(failure.problem ==
              "\"" + (dir.path() / "notify.json").string() + "\": syscalls[0].action: SCMP_ACT_NOTIFY is not supported");
    }
    SECTION("a directory") {
        const auto failure = failure_of(web_plus(R"("security_opt": ["seccomp=)" + dir.path().string() + R"("])"));
        CHECK(failure.pointer == "/containers/web/security_opt/0");
        CHECK(failure.problem == "\"" + dir.path().string() + "\": not a regular file of at most 1 MiB");
    }
}

TEST_CASE("security_opt errors", "[config][security]") {
    auto failure = failure_of(web_plus(R"("security_opt": ["seccomp="])"));
    CHECK(failure.pointer == "/containers/web/security_opt/0");
    CHECK(failure.problem == "expected \"seccomp=unconfined\" or \"seccomp=<profile.json>\"");

    failure = failure_of(web_plus(R"("security_opt": ["seccomp=unconfined", "no-new-privileges:maybe"])"));
    CHECK(failure.pointer == "/containers/web/security_opt/1");
    CHECK(failure.problem == "invalid value \"maybe\"; expected \"no-new-privileges\", \"no-new-privileges:true\" or "
                             "\"no-new-privileges:false\"");

    failure = failure_of(web_plus(R"("security_opt": ["label=disable"])"));
    CHECK(failure.pointer == "/containers/web/security_opt/0");
    CHECK(failure.problem == "\"label=disable\" is not supported (no AppArmor or SELinux here, and /proc and /sys "
                             "paths are always masked)");

    failure = failure_of(web_plus(R"("security_opt": ["seccomp-unconfined"])"));
    CHECK(failure.pointer == "/containers/web/security_opt/0");
    CHECK(failure.problem == "unknown security option \"seccomp-unconfined\"; allowed: \"seccomp=unconfined\", "
                             "\"seccomp=<profile.json>\", \"no-new-privileges[:true|false]\"");

    failure = failure_of(web_plus(R"("security_opt": "seccomp=unconfined")"));
    CHECK(failure.pointer == "/containers/web/security_opt");
    CHECK(failure.problem == "expected an array of strings such as [\"seccomp=unconfined\"]");

    failure = failure_of(web_plus(R"("seccomp": "unconfined")"));
    CHECK(failure.pointer == "/containers/web/seccomp");
    CHECK(failure.problem == "unknown field; did you mean \"security_opt\"?");
}
