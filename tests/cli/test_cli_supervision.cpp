// The real binary end to end: a running supervisor steered by its own client
// verbs through the control socket, and SIGHUP reloading fleet.json.
#include <signal.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/cli/cli_helpers.hpp"

namespace fs = std::filesystem;
using namespace rusty::cli_test;
using nlohmann::json;

namespace {

// One client verb against the fleet under `root`; its whole run.
RunResult client(const Scratch& scratch, std::vector<std::string> verb_args) {
    std::vector<std::string> args = {"--root", scratch.root().string()};
    args.insert(args.begin(), verb_args.begin(), verb_args.end());
    return run_supervisor(args);
}

// `ps --json` parsed, or null if it failed.
json ps(const Scratch& scratch) {
    const RunResult r = client(scratch, {"ps", "--json"});
    if (!r.exited || r.exit_code != 0) return json();
    return json::parse(r.out, nullptr, false);
}

json row(const json& rows, const std::string& name) {
    for (const json& r : rows)
        if (r.value("name", "") == name) return r;
    return json();
}

}  // namespace

TEST_CASE("client verbs steer a running supervisor - SIGHUP reloads its file", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("steered", R"({
        "keep": {"image": "busybox", "command": ["sleep", "100"]},
        "gone": {"image": "busybox", "command": ["sleep", "100"]}
    })"));
    Supervisor sup(scratch.args(file, {"--log-format", "json", "--stop-timeout", "0.2"}));
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("\"event\":\"started\"", 2));

    // ps: a table by default, one JSON array with --json.
    const RunResult table = client(scratch, {"ps"});
    INFO(table.describe());
    CHECK(table.exit_code == 0);
    CHECK(table.out.find("NAME") != std::string::npos);
    CHECK(table.out.find("keep") != std::string::npos);
    const json before = ps(scratch);
    REQUIRE(before.is_array());
    REQUIRE(before.size() == 2);
    const int keep_pid = row(before, "keep")["pid"];
    CHECK(keep_pid > 0);

    // An error names the container and exits 1.
    const RunResult unknown = client(scratch, {"pause", "nosuch"});
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.err.find("no container named \"nosuch\"") != std::string::npos);

    // SIGHUP: the new file's difference is applied; keep keeps its pid.
    scratch.write("fleet.json", fleet("steered", R"({
        "keep": {"image": "busybox", "command": ["sleep", "100"]},
        "new": {"image": "busybox", "command": ["sleep", "100"]}
    })"));
    sup.send_signal(SIGHUP);
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("\"container\":\"new\",\"event\":\"started\""));
    json after;
    for (int i = 0; i < 100 && !row(after, "new").is_object(); ++i) {
        after = ps(scratch);
        if (!row(after, "new").is_object() || row(after, "gone").is_object()) {
            after = json();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    REQUIRE(after.is_array());
    CHECK(after.size() == 2);
    CHECK(row(after, "keep")["pid"] == keep_pid);
    CHECK(row(after, "new")["state"] == "running");

    // An invalid file: logged, nothing changes.
    scratch.write("fleet.json", R"({"containers": {"keep": {"image": "busybox"}}})");
    sup.send_signal(SIGHUP);
    REQUIRE_OUTPUT(sup, sup.wait_for_stderr("reload refused, nothing changed"));
    CHECK(row(ps(scratch), "keep")["pid"] == keep_pid);

    // stop with no names: the whole fleet; the supervisor exits 0.
    const RunResult stop = client(scratch, {"stop"});
    INFO(stop.describe());
    CHECK(stop.exit_code == 0);
    const RunResult r = sup.wait();
    INFO(r.describe());
    CHECK(r.exited);
    CHECK(r.exit_code == 0);
    CHECK_FALSE(fs::exists(scratch.root() / "steered" / "control.sock"));
}
