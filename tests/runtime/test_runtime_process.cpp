// config.json's process object and what the container sees of it:
// capabilities, user and groups, umask, rlimits, hostname, seccomp.
#include "tests/runtime/runtime_helpers.hpp"

using namespace rusty::runtime_test;

namespace {

// The five capability lines of /proc/self/status from the container's output.
std::map<std::string, std::string> cap_lines(const std::string& out) {
    std::map<std::string, std::string> caps;
    for (const char* name : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        caps[name] = line_after(out, std::string(name) + ":").value_or("<missing>");
    return caps;
}

}  // namespace

TEST_CASE("process.capabilities sets the five capability sets", "[runtime]") {
    Bundle b("caps");
    b.set_shell("grep -E '^Cap' /proc/self/status");

    SECTION("root: bounding, effective and permitted as given") {
        // CAP_CHOWN 0, CAP_KILL 5, CAP_NET_BIND_SERVICE 10.
        const json set = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
        b.config["process"]["capabilities"] = {{"bounding", set}, {"effective", set}, {"permitted", set}};
        Result r = b.run("caps");
        INFO(r.describe());
        REQUIRE(r.code == 0);
        auto caps = cap_lines(r.out);
        CHECK(caps["CapBnd"] == "0000000000000421");
        CHECK(caps["CapEff"] == "0000000000000421");
        CHECK(caps["CapPrm"] == "0000000000000421");
        CHECK(caps["CapInh"] == "0000000000000000");
        CHECK(caps["CapAmb"] == "0000000000000000");
    }
    SECTION("uid 1000: ambient CAP_KILL survives the execve") {
        const json two = {"CAP_CHOWN", "CAP_KILL"};
        const json kill = {"CAP_KILL"};
        b.config["process"]["capabilities"] = {
            {"bounding", two}, {"effective", two}, {"permitted", two}, {"inheritable", kill}, {"ambient", kill}};
        b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
        Result r = b.run("caps");
        INFO(r.describe());
        REQUIRE(r.code == 0);
        auto caps = cap_lines(r.out);
        CHECK(caps["CapBnd"] == "0000000000000021");
        CHECK(caps["CapInh"] == "0000000000000020");
        CHECK(caps["CapAmb"] == "0000000000000020");
        // The kernel's execve rule for a non-root user and a file without
        // capabilities: permitted and effective become the ambient set
        // (CAP_CHOWN, not ambient, is gone; runc gives the same).
        CHECK(caps["CapPrm"] == "0000000000000020");
        CHECK(caps["CapEff"] == "0000000000000020");
    }
    SECTION("no capabilities object: none at all") {
        b.config["process"].erase("capabilities");
        Result r = b.run("caps");
        INFO(r.describe());
        REQUIRE(r.code == 0);
        auto caps = cap_lines(r.out);
        for (const auto& [name, value] : caps) {
            INFO(name);
            CHECK(value == "0000000000000000");
        }
    }
}

TEST_CASE("process.user: uid, gid, additionalGids and umask", "[runtime]") {
    Bundle b("user");
    b.add_tmpfs("/tmp");
    b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}, {"umask", 077}};
    b.set_shell(
        "echo uid=$(id -u); echo gid=$(id -g); grep '^Groups:' /proc/self/status; "
        "touch /tmp/f; echo file=$(stat -c '%a %u:%g' /tmp/f); "
        "mkdir /tmp/d; echo dir=$(stat -c '%a' /tmp/d)");
    Result r = b.run("user");
    INFO(r.describe());
    REQUIRE(r.code == 0);
    CHECK(line_after(r.out, "uid=") == "1000");
    CHECK(line_after(r.out, "gid=") == "1000");
    CHECK(line_after(r.out, "Groups:") == "10 20");
    CHECK(line_after(r.out, "file=") == "600 1000:1000");
    CHECK(line_after(r.out, "dir=") == "700");
}

TEST_CASE("process.user: umask unset gives 0022", "[runtime]") {
    Bundle b("umask");
    b.add_tmpfs("/tmp");
    b.set_shell("touch /tmp/f; echo file=$(stat -c '%a' /tmp/f)");
    Result r = b.run("umask");
    INFO(r.describe());
    REQUIRE(r.code == 0);
    CHECK(line_after(r.out, "file=") == "644");
}

TEST_CASE("process.rlimits", "[runtime]") {
    Bundle b("rlimits");
    b.config["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 512}, {"hard", 1024}}};
    b.set_shell("echo soft=$(ulimit -n); echo hard=$(ulimit -Hn); grep 'Max open files' /proc/self/limits");
    Result r = b.run("rlimits");
    INFO(r.describe());
    REQUIRE(r.code == 0);
    CHECK(line_after(r.out, "soft=") == "512");
    CHECK(line_after(r.out, "hard=") == "1024");
    auto limits = line_after(r.out, "Max open files");
    REQUIRE(limits);
    std::istringstream fields(*limits);
    std::string soft, hard;
    fields >> soft >> hard;
    CHECK(soft == "512");
    CHECK(hard == "1024");
}

TEST_CASE("hostname from config.json", "[runtime]") {
    Bundle b("hostname");
    b.config["hostname"] = "rt-host-test";
    b.set_shell("hostname; cat /proc/sys/kernel/hostname; echo env=$HOSTNAME");
    Result r = b.run("hostname");
    INFO(r.describe());
    REQUIRE(r.code == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() >= 2);
    CHECK(lines[0] == "rt-host-test");
    CHECK(lines[1] == "rt-host-test");

    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    CHECK(std::string(host) != "rt-host-test");  // the host's own is untouched
}

TEST_CASE("linux.seccomp: an errno rule", "[runtime]") {
    Bundle b("seccomp");
    b.add_tmpfs("/tmp");
    b.config["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}}}};
    b.set_shell("mkdir /tmp/x 2>&1; echo mkdir=$?; touch /tmp/y && echo touch-ok; grep '^Seccomp:' /proc/self/status");
    Result r = b.run("seccomp");
    INFO(r.describe());
    REQUIRE(r.code == 0);
    CHECK(contains(r.out, "Function not implemented"));
    CHECK(line_after(r.out, "mkdir=") == "1");
    CHECK(contains(r.out, "touch-ok"));  // everything else allowed
    CHECK(line_after(r.out, "Seccomp:") == "2");
}

TEST_CASE("linux.seccomp absent: no filter", "[runtime]") {
    Bundle b("noseccomp");
    b.set_shell("grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status");
    Result r = b.run("noseccomp");
    INFO(r.describe());
    REQUIRE(r.code == 0);
    CHECK(line_after(r.out, "Seccomp:") == "0");
    CHECK(line_after(r.out, "NoNewPrivs:") == "1");  // the default spec's noNewPrivileges
}
