// The supervisor binary refuses bad input before starting anything: exit
// status 2, the JSON pointer and the problem on stderr, no "started" line, no
// state directory. And `check` validates without starting.
#include <fstream>
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_helpers.hpp"

namespace fs = std::filesystem;
using namespace rusty::cli_test;

namespace {

// Nothing was started: no "started" line, and no state directory for the
// fleet (not even the --root: configuration errors come before any of it).
void check_nothing_started(const Scratch& scratch, const RunResult& r, const std::string& fleet_name) {
    INFO(r.describe());
    CHECK(r.out.find("started") == std::string::npos);
    CHECK_FALSE(fs::exists(scratch.root() / fleet_name));
    CHECK_FALSE(fs::exists(scratch.root()));
}

struct BadFleet {
    const char* what;
    std::string text;      // the file's content, written to <scratch>/bad.json
    std::string expected;  // the stderr line after "rusty-supervisor: "
};

// All use the fleet name "bad" (the file's stem, when the name is not read).
std::vector<BadFleet> bad_fleets(const Scratch& scratch) {
    return {
        {"unknown field", fleet("bad", R"({"web": {"image": "busybox", "comand": ["true"]}})"),
         "/containers/web/comand: unknown field; did you mean \"command\"?"},
        {"wrong type", fleet("bad", R"({"web": {"image": "busybox", "command": ["true"], "read_only": "yes"}})"),
         "/containers/web/read_only: expected a boolean"},
        {"wrong type in an array", fleet("bad", R"({"web": {"image": "busybox", "command": ["echo", 1]}})"),
         "/containers/web/command/1: expected a string"},
        {"duplicate container name",
         fleet("bad", R"({"web": {"image": "busybox", "command": "true"},
                          "web": {"image": "busybox", "command": "true"}})"),
         "/containers/web: duplicate container name \"web\""},
        {"missing rootfs", fleet("bad", R"({"web": {"rootfs": "nope", "command": ["true"]}})"),
         "/containers/web/rootfs: \"" + (scratch.path() / "nope").string() + "\": No such file or directory"},
        {"empty command", fleet("bad", R"({"web": {"image": "busybox", "command": []}})"),
         "/containers/web/command: empty command"},
        {"unknown image", fleet("bad", R"({"web": {"image": "nginx", "command": "true"}})"),
         "/containers/web/image: unknown image \"nginx\"; the built-in images are: busybox (use \"rootfs\" "
         "for your own root filesystem)"},
        {"invalid JSON", "{\"containers\": {\"web\": {\"image\": \"busybox\",\n",
         "invalid JSON at line 2, column 1: "},
        {"unknown top-level field",
         R"({"name": "bad", "version": "3.8", "containers": {"web": {"image": "busybox", "command": "true"}}})",
         "/version: unknown field"},
        // One good container before the bad one: still nothing starts.
        {"a later container is bad",
         fleet("bad", R"({"good": {"image": "busybox", "command": "true"},
                          "web": {"image": "busybox", "command": "true", "user": "Root"}})"),
         "/containers/web/user: invalid user \"Root\""},
    };
}

}  // namespace

TEST_CASE("a bad fleet.json: exit 2, pointer and problem on stderr, nothing started", "[cli]") {
    Scratch scratch;
    for (const BadFleet& bad : bad_fleets(scratch)) {
        DYNAMIC_SECTION(bad.what) {
            const fs::path file = scratch.write("bad.json", bad.text);
            for (const char* format : {"text", "json"}) {
                INFO("--log-format " << format);
                const RunResult r = run_supervisor(scratch.args(file, {"--log-format", format}));
                INFO(r.describe());
                REQUIRE_FALSE(r.timed_out);
                CHECK(r.exited);
                CHECK(r.exit_code == 2);
                CHECK_THAT(r.err, Catch::StartsWith("rusty-supervisor: " + bad.expected));
                CHECK(r.out.empty());
                check_nothing_started(scratch, r, "bad");
            }
        }
    }
}

TEST_CASE("check: a bad fleet.json gives exit 2 and the pointer", "[cli]") {
    Scratch scratch;
    for (const BadFleet& bad : bad_fleets(scratch)) {
        DYNAMIC_SECTION(bad.what) {
            const fs::path file = scratch.write("bad.json", bad.text);
            const RunResult r =
                run_supervisor({"--root", scratch.root().string(), "check", "--config", file.string()});
            INFO(r.describe());
            REQUIRE_FALSE(r.timed_out);
            CHECK(r.exited);
            CHECK(r.exit_code == 2);
            CHECK_THAT(r.err, Catch::StartsWith("rusty-supervisor: " + bad.expected));
            CHECK(r.out.empty());
            CHECK_FALSE(fs::exists(scratch.root()));
        }
    }
}

TEST_CASE("check: a good fleet.json gives exit 0 and a summary, and starts nothing", "[cli]") {
    Scratch scratch;
    // Valid as configuration even though /bin/nope would fail at run time.
    const fs::path file = scratch.write(
        "fleet.json", fleet("demo", R"({"web": {"image": "busybox", "command": ["sh", "-c", "echo hi; exit 3"]},
                                       "nope": {"image": "busybox", "command": ["/bin/nope"]}})"));
    SECTION("check --config FILE") {
        const RunResult r = run_supervisor({"--root", scratch.root().string(), "check", "--config", file.string()});
        INFO(r.describe());
        REQUIRE_FALSE(r.timed_out);
        CHECK(r.exited);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::StartsWith("fleet \"demo\": 2 containers, configuration valid\ncgroups: "));
        CHECK_THAT(r.out, Catch::EndsWith(", under /rusty-supervisor/demo\n"));
        CHECK(r.err.empty());
        CHECK_FALSE(fs::exists(scratch.root()));
    }
    SECTION("check -c FILE, the name from the file's stem") {
        const fs::path unnamed = scratch.write(
            "My Fleet.json", R"({"services": {"w": {"image": "busybox", "command": "true"}}})");
        const RunResult r = run_supervisor({"--root", scratch.root().string(), "check", "-c", unnamed.string()});
        INFO(r.describe());
        REQUIRE_FALSE(r.timed_out);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::StartsWith("fleet \"my-fleet\": 1 containers, configuration valid\n"));
        CHECK_FALSE(fs::exists(scratch.root()));
    }
}

TEST_CASE("usage errors: exit 2 with a message, nothing started", "[cli]") {
    Scratch scratch;
    const fs::path good =
        scratch.write("fleet.json", fleet("good", R"({"web": {"image": "busybox", "command": "true"}})"));
    const std::string root = scratch.root().string();
    struct Usage {
        const char* what;
        std::vector<std::string> args;
        const char* expected;  // in stderr
    };
    const std::vector<Usage> cases = {
        {"unknown flag", {"--root", root, "--config", good.string(), "--bogus"}, "--bogus"},
        {"missing --config", {"--root", root}, "--config"},
        {"missing --config value", {"--root", root, "--config"}, "--config"},
        {"config file does not exist", {"--root", root, "--config", (scratch.path() / "nope.json").string()},
         "nope.json"},
        {"bad --log-format", {"--root", root, "--config", good.string(), "--log-format", "xml"}, "xml"},
        {"negative --stop-timeout", {"--root", root, "--config", good.string(), "--stop-timeout", "-1"},
         "--stop-timeout"},
        {"non-numeric --stop-timeout", {"--root", root, "--config", good.string(), "--stop-timeout", "soon"},
         "--stop-timeout"},
        // Both used to pass the check and overflow into an immediate kill.
        {"nan --stop-timeout", {"--root", root, "--config", good.string(), "--stop-timeout", "nan"},
         "--stop-timeout"},
        {"huge --stop-timeout", {"--root", root, "--config", good.string(), "--stop-timeout", "1e30"},
         "--stop-timeout"},
        {"stray argument", {"--root", root, "--config", good.string(), "extra"}, "extra"},
        {"check without --config", {"--root", root, "check"}, "--config"},
        {"relative --cgroup-parent", {"--root", root, "--config", good.string(), "--cgroup-parent", "x"},
         "--cgroup-parent"},
        {"--cgroup-parent with ..", {"--root", root, "--config", good.string(), "--cgroup-parent", "/a/.."},
         "--cgroup-parent"},
        {"unknown subcommand option", {"--root", root, "check", "--config", good.string(), "--bogus"}, "--bogus"},
    };
    for (const Usage& u : cases) {
        DYNAMIC_SECTION(u.what) {
            const RunResult r = run_supervisor(u.args);
            INFO(r.describe());
            REQUIRE_FALSE(r.timed_out);
            CHECK(r.exited);
            CHECK(r.exit_code == 2);
            CHECK_THAT(r.err, Catch::Contains(u.expected));
            CHECK(r.out.find("started") == std::string::npos);
            CHECK_FALSE(fs::exists(scratch.root()));
        }
    }
}

TEST_CASE("help and version: exit 0, nothing started", "[cli]") {
    Scratch scratch;
    SECTION("--help") {
        const RunResult r = run_supervisor({"--root", scratch.root().string(), "--help"});
        INFO(r.describe());
        REQUIRE_FALSE(r.timed_out);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::Contains("--config") && Catch::Contains("--log-format") &&
                              Catch::Contains("--stop-timeout") && Catch::Contains("check"));
    }
    SECTION("--version") {
        const RunResult r = run_supervisor({"--version"});
        INFO(r.describe());
        REQUIRE_FALSE(r.timed_out);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::StartsWith("rusty-supervisor "));
    }
    CHECK_FALSE(fs::exists(scratch.root()));
}

TEST_CASE("a --state-dir holding someone else's files is refused with exit 2 and left alone", "[cli]") {
    Scratch scratch;
    // A project folder with a web/ directory, and a container named web:
    // adopting the folder would delete web/ on the container's start.
    const fs::path project = scratch.root() / "project";
    fs::create_directories(project / "web");
    { std::ofstream(project / "web" / "index.html") << "precious\n"; }
    const fs::path file =
        scratch.write("f.json", fleet("proj", R"({"web": {"image": "busybox", "command": ["true"]}})"));
    const RunResult r = run_supervisor(scratch.args(file, {"--state-dir", project.string()}));
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("is not empty and holds no fleet state"));
    CHECK(r.out.empty());
    CHECK(fs::exists(project / "web" / "index.html"));
}
