// linux.resources and `update --resources`: the limits in the container's
// cgroups, seen from the host and from inside through the cgroup mount.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "tests/runtime/runtime_helpers.hpp"
#include "tests/support/skip.hpp"

using namespace rusty::runtime_test;

namespace {

std::string memory_limit_file(const Bundle& b, const std::string& id) {
    return memory_v1_root() + b.cgroup_path(id) + "/memory.limit_in_bytes";
}

}  // namespace

TEST_CASE("linux.resources.memory.limit and update --resources (v1 memory)", "[runtime]") {
    RUSTY_SKIP_IF(memory_v1_root().empty(), "no v1 memory hierarchy on this host");
    Bundle b("memory");
    const fs::path shared = b.bind_host_dir("shared", "/shared");
    b.config["linux"]["resources"]["memory"] = {{"limit", 134217728}};
    b.set_shell("cat /sys/fs/cgroup/memory/memory.limit_in_bytes > /shared/limit; exec sleep 100");
    Result run = b.run("mem", {"--detach"});
    INFO(run.describe());
    REQUIRE(run.code == 0);

    const std::string host_file = memory_limit_file(b, "mem");
    CHECK(trim(read_file(host_file)) == "134217728");
    REQUIRE(eventually([&] { return !read_file(shared / "limit").empty(); }));
    // Inside: its own cgroup, mounted at /sys/fs/cgroup/memory.
    CHECK(trim(read_file(shared / "limit")) == "134217728");

    const fs::path resources = b.tmp() / "resources.json";
    std::ofstream(resources) << R"({"memory":{"limit":67108864}})";
    Result update = b.rt({"update", "--resources", resources.string(), "mem"});
    INFO(update.describe());
    REQUIRE(update.code == 0);
    CHECK(trim(read_file(host_file)) == "67108864");
    Result inside = b.rt({"exec", "mem", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"});
    INFO(inside.describe());
    CHECK(inside.code == 0);
    CHECK(trim(inside.out) == "67108864");

    // From stdin too.
    const fs::path more = b.tmp() / "more.json";
    std::ofstream(more) << R"({"memory":{"limit":100663296}})";
    Result from_stdin = b.rt({"update", "--resources", "-", "mem"}, kCommandTimeout, more);
    INFO(from_stdin.describe());
    CHECK(from_stdin.code == 0);
    CHECK(trim(read_file(host_file)) == "100663296");

    // A bad resources document changes nothing.
    std::ofstream(resources, std::ios::trunc) << R"({"memory":{"limit":"lots"}})";
    Result bad = b.rt({"update", "--resources", resources.string(), "mem"});
    CHECK(bad.code == 1);
    CHECK(contains(bad.err, "memory"));
    CHECK(trim(read_file(host_file)) == "100663296");

    CHECK(b.remove("mem", true).code == 0);
    CHECK_NO_CGROUP(b.cgroup_path("mem"));
}

TEST_CASE("update --resources sets a memory limit on a container started without one", "[runtime]") {
    RUSTY_SKIP_IF(memory_v1_root().empty(), "no v1 memory hierarchy on this host");
    Bundle b("memupdate");
    b.set_args({"sleep", "100"});
    Result run = b.run("mem2", {"--detach"});
    INFO(run.describe());
    REQUIRE(run.code == 0);
    const fs::path resources = b.tmp() / "resources.json";
    std::ofstream(resources) << R"({"memory":{"limit":67108864}})";
    Result update = b.rt({"update", "--resources", resources.string(), "mem2"});
    INFO(update.describe());
    // Either the limit is enforced (as runc does: it joins every hierarchy),
    // or update says it cannot be: a silent success that limits nothing is
    // wrong.
    if (update.code == 0) {
        const std::string host_file = memory_limit_file(b, "mem2");
        INFO("update exited 0; the container's memory cgroup file " << host_file);
        CHECK(fs::exists(host_file));
        CHECK(trim(read_file(host_file)) == "67108864");
    } else {
        CHECK(update.code == 1);
        CHECK(contains(update.err, "memory"));
    }
    CHECK(b.remove("mem2", true).code == 0);
    CHECK_NO_CGROUP(b.cgroup_path("mem2"));
}

TEST_CASE("linux.resources.pids.limit", "[runtime]") {
    Bundle b("pids");
    b.config["linux"]["resources"]["pids"] = {{"limit", 3}};
    // The shell and two sleeps fill the cgroup: the third fork fails, and
    // busybox sh gives up (exit 2).
    b.set_shell("sleep 2 & sleep 2 & sleep 2 & wait; echo all-forked");
    Result r = b.run("pids", {}, 30s);
    INFO(r.describe());
    CHECK(r.code != 0);
    CHECK(contains(r.err, "can't fork: Resource temporarily unavailable"));
    CHECK_FALSE(contains(r.out, "all-forked"));
    CHECK(b.root_entries().empty());
    CHECK_NO_CGROUP(b.cgroup_path("pids"));
}

TEST_CASE("linux.resources.devices: a device not allowed cannot be opened", "[runtime]") {
    // Only where the host has a v1 devices hierarchy (v2 would need an eBPF
    // program, which rusty-runtime does not load: it warns instead).
    RUSTY_SKIP_IF(::access("/sys/fs/cgroup/devices/devices.list", F_OK) != 0,
                  "no v1 devices hierarchy on this host");
    Bundle b("devices");
    b.add_tmpfs("/tmp", {"nosuid", "mode=1777"});  // device nodes allowed on it
    const json caps = {"CAP_MKNOD", "CAP_KILL"};
    b.config["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
    // The spec's devices: deny all (runc's default), so only runc's default
    // nodes open. /dev/loop-control (c 10:237) is not one of them; /dev/null
    // (c 1:3) is. (A block device would do as well, but this host refuses
    // block devices even to its own root.)
    b.set_shell(
        "mknod /tmp/lc c 10 237 && echo mknod-ok; (exec 3< /tmp/lc) && echo opened-loop-control; "
        "mknod /tmp/null2 c 1 3 && (exec 3< /tmp/null2) && echo null-ok");
    Result r = b.run("dev");
    INFO(r.describe());
    CHECK(r.code == 0);
    CHECK_FALSE(contains(r.out, "opened-loop-control"));
    CHECK(contains(r.err, "Operation not permitted"));
    CHECK(contains(r.out, "null-ok"));  // runc's default allow-list: c 1:3
    // The host has the controller: no warning that it is missing.
    CHECK_FALSE(contains(r.err, "no v1 devices controller"));

    // The expectation is runc's behaviour on the same bundle.
    if (!runc_binary().empty()) {
        Result c = b.runc("run", "dev-runc");
        INFO(c.describe());
        CHECK(c.code == 0);
        CHECK_FALSE(contains(c.out, "opened-loop-control"));
        CHECK(contains(c.out, "null-ok"));
    }
}
