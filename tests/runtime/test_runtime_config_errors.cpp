// A bad config.json: create fails with exit 1 and a message naming the
// field, and leaves nothing behind (no state directory, no cgroup).
#include "tests/runtime/runtime_helpers.hpp"

using namespace rusty::runtime_test;

namespace {

// create must fail with every `needles` in its stderr and leave nothing.
void check_refused(Bundle& b, const std::string& id, std::initializer_list<std::string> needles) {
    Result r = b.rt({"create", "--bundle", b.dir().string(), id});
    INFO(r.describe());
    CHECK(r.code == 1);
    CHECK(contains(r.err, "level=error"));
    for (const std::string& n : needles) {
        INFO("expected in stderr: " << n);
        CHECK(contains(r.err, n));
    }
    CHECK(r.out.empty());
    CHECK(b.root_entries().empty());
    CHECK_NO_CGROUP(b.cgroup_path(id));
    CHECK_NO_CGROUP(b.cgroup_base());
}

}  // namespace

TEST_CASE("bad config.json is refused before anything is made", "[runtime]") {
    Bundle b("badconfig");
    b.config["linux"]["cgroupsPath"] = b.cgroup_path("bad");
    auto write = [&] { b.write_raw_config(b.config.dump(2)); };

    SECTION("invalid JSON") {
        b.write_raw_config("{\"ociVersion\": \"1.0.2\", \"process\": {");
        check_refused(b, "bad", {"invalid JSON"});
    }
    SECTION("process.args is a string") {
        b.config["process"]["args"] = "sh -c true";
        write();
        check_refused(b, "bad", {"process.args"});
    }
    SECTION("process.args is empty") {
        b.config["process"]["args"] = json::array();
        write();
        check_refused(b, "bad", {"process.args"});
    }
    SECTION("an unknown namespace type") {
        b.config["linux"]["namespaces"].push_back({{"type", "foo"}});
        write();
        check_refused(b, "bad", {"linux.namespaces[", "foo"});
    }
    SECTION("a relative mount destination") {
        b.config["mounts"][0]["destination"] = "relative";
        write();
        check_refused(b, "bad", {"mounts[0].destination"});
    }
    SECTION("a relative process.cwd") {
        b.config["process"]["cwd"] = "relative";
        write();
        check_refused(b, "bad", {"process.cwd"});
    }
    SECTION("no process") {
        b.config.erase("process");
        write();
        check_refused(b, "bad", {"process"});
    }
    SECTION("an unknown capability") {
        b.config["process"]["capabilities"]["bounding"].push_back("CAP_NO_SUCH_THING");
        write();
        check_refused(b, "bad", {"process.capabilities.bounding[", "CAP_NO_SUCH_THING"});
    }
    SECTION("an unknown rlimit") {
        b.config["process"]["rlimits"] = {{{"type", "RLIMIT_BOGUS"}, {"soft", 1}, {"hard", 1}}};
        write();
        check_refused(b, "bad", {"process.rlimits[0]", "RLIMIT_BOGUS"});
    }
    SECTION("no config.json at all") {
        check_refused(b, "bad", {"config.json"});
    }
    SECTION("process.terminal without --console-socket") {
        b.config["process"]["terminal"] = true;
        write();
        check_refused(b, "bad", {"console-socket"});
    }
    SECTION("a systemd cgroupsPath") {
        b.config["linux"]["cgroupsPath"] = "system.slice:rusty:bad";
        write();
        check_refused(b, "bad", {"cgroupsPath"});
    }
    SECTION("an invalid container id") {
        write();
        Result r = b.rt({"create", "--bundle", b.dir().string(), "a/b"});
        CHECK(r.code == 1);
        CHECK(contains(r.err, "invalid container id"));
        CHECK(b.root_entries().empty());
    }
}

TEST_CASE("create refuses an id that exists", "[runtime]") {
    Bundle b("dupid");
    b.set_args({"sleep", "100"});
    REQUIRE(b.create("dup").code == 0);
    const pid_t pid = b.init_pid("dup");
    Result again = b.create("dup");
    INFO(again.describe());
    CHECK(again.code == 1);
    CHECK(contains(again.err, "exists"));
    // The first container is untouched.
    CHECK(b.status("dup") == "created");
    CHECK(b.init_pid("dup") == pid);
    CHECK(process_alive(pid));
    CHECK(b.remove("dup").code == 0);
    CHECK_NO_CGROUP(b.cgroup_path("dup"));
}

TEST_CASE("delete --force clears what a create killed half way left; ids are never paths", "[runtime]") {
    Bundle b("stale");
    // A directory without state.json: a create killed before its end.
    fs::create_directories(b.root() / "half");
    Result plain = b.rt({"delete", "half"});
    CHECK(plain.code == 1);
    CHECK(contains(plain.err, "does not exist"));
    CHECK(fs::exists(b.root() / "half"));
    Result forced = b.rt({"delete", "--force", "half"});
    INFO(forced.describe());
    CHECK(forced.code == 0);
    CHECK_FALSE(fs::exists(b.root() / "half"));
    // The id can be used again.
    b.set_args({"true"});
    CHECK(b.create("half").code == 0);
    CHECK(b.remove("half", true).code == 0);

    // An id naming a path is refused before anything is touched, --force too.
    fs::create_directories(b.root() / "keep");
    for (const char* id : {"..", ".", "a/b", "../keep"}) {
        Result r = b.rt({"delete", "--force", id});
        INFO(id << ": " << r.describe());
        CHECK(r.code == 1);
        CHECK(contains(r.err, "invalid container id"));
    }
    CHECK(fs::exists(b.root() / "keep"));
    CHECK(fs::exists(b.tmp()));
}
