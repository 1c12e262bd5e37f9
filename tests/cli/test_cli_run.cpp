// Running good fleets through the binary: JSON and text output, exit status.
#include <signal.h>
#include <time.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli_helpers.hpp"

namespace fs = std::filesystem;
using namespace rusty::cli_test;
using nlohmann::json;

namespace {

// web writes to both streams and exits 3, ok exits 0, nope cannot exec.
const char* const kMixedFleet = R"({
    "web": {"image": "busybox", "command": ["sh", "-c", "echo hi; echo oops >&2; exit 3"]},
    "nope": {"image": "busybox", "command": ["/bin/nope"]},
    "a-long-name": {"image": "busybox", "command": "echo fine"}
})";

// An RFC 3339 UTC timestamp ("2026-11-30T00:49:01.123456789Z") as seconds
// since the epoch, or -1 if it is not one.
double parse_rfc3339_utc(const std::string& ts) {
    std::tm tm{};
    std::istringstream in(ts);
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    if (in.fail()) return -1;
    double frac = 0;
    std::string rest;
    std::getline(in, rest);
    if (rest.empty() || rest.back() != 'Z') return -1;
    rest.pop_back();
    if (!rest.empty()) {
        if (rest[0] != '.' || rest.size() < 2) return -1;
        for (std::size_t i = 1; i < rest.size(); ++i)
            if (rest[i] < '0' || rest[i] > '9') return -1;
        frac = std::stod("0" + rest);
    }
    return static_cast<double>(::timegm(&tm)) + frac;
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Every field of a JSON line that every line has: ts, container.
void check_common(const json& j, double t0, double t1) {
    INFO(j.dump());
    REQUIRE(j.is_object());
    REQUIRE(j.contains("ts"));
    REQUIRE(j["ts"].is_string());
    const std::string ts = j["ts"];
    CHECK_THAT(ts, Catch::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z)"));
    const double t = parse_rfc3339_utc(ts);
    CHECK(t >= t0 - 2);  // the same clock; a little slack for rounding
    CHECK(t <= t1 + 2);
    REQUIRE(j.contains("container"));
    CHECK(j["container"].is_string());
}

}  // namespace

TEST_CASE("json output: one JSON object per line, with the documented fields", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("mixed", kMixedFleet));
    const double t0 = now_seconds();
    const RunResult r = run_supervisor(scratch.args(file, {"--log-format", "json"}));
    const double t1 = now_seconds();
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exited);
    CHECK(r.exit_code == 1);
    CHECK(r.err.empty());
    CHECK_FALSE(r.out.empty());
    CHECK(r.out.back() == '\n');

    std::string bad;
    const std::vector<json> lines = json_lines(r.out, &bad);
    INFO("lines that are not JSON:\n" << bad);
    CHECK(bad.empty());
    CHECK(lines.size() == complete_lines(r.out).size());
    for (const json& j : lines) check_common(j, t0, t1);

    SECTION("events") {
        for (const json& j : lines) {
            if (!j.contains("event")) continue;
            INFO(j.dump());
            const std::string event = j["event"];
            CHECK((event == "started" || event == "exited" || event == "failed"));
            CHECK_FALSE(j.contains("stream"));
            CHECK_FALSE(j.contains("line"));
            if (event == "started" || event == "exited") {
                REQUIRE(j.contains("pid"));
                CHECK(j["pid"].is_number_integer());
                CHECK(j["pid"].get<long long>() > 0);
            }
            if (event == "started") {
                CHECK_FALSE(j.contains("exit_code"));
                CHECK_FALSE(j.contains("error"));
            }
            if (event == "exited") {
                REQUIRE(j.contains("exit_code"));
                REQUIRE(j.contains("signal"));
                CHECK(j["exit_code"].is_number_integer());
                CHECK(j["signal"].is_null());  // none of these was killed
            }
        }
        // web: started, exited 3, with the same pid.
        const auto web_started = events(lines, "started", "web");
        const auto web_exited = events(lines, "exited", "web");
        REQUIRE(web_started.size() == 1);
        REQUIRE(web_exited.size() == 1);
        CHECK(web_exited[0]["exit_code"] == 3);
        CHECK(web_exited[0]["pid"] == web_started[0]["pid"]);
        CHECK(events(lines, "failed", "web").empty());

        const auto ok_exited = events(lines, "exited", "a-long-name");
        REQUIRE(events(lines, "started", "a-long-name").size() == 1);
        REQUIRE(ok_exited.size() == 1);
        CHECK(ok_exited[0]["exit_code"] == 0);

        // nope: one failed event naming the exec, never started or exited.
        const auto nope_failed = events(lines, "failed", "nope");
        REQUIRE(nope_failed.size() == 1);
        CHECK(nope_failed[0]["error"] == "exec \"/bin/nope\": No such file or directory");
        CHECK(events(lines, "started", "nope").empty());
        CHECK(events(lines, "exited", "nope").empty());
    }

    SECTION("output lines") {
        std::vector<json> output;
        for (const json& j : lines)
            if (!j.contains("event")) output.push_back(j);
        for (const json& j : output) {
            INFO(j.dump());
            REQUIRE(j.contains("stream"));
            REQUIRE(j.contains("line"));
            CHECK((j["stream"] == "stdout" || j["stream"] == "stderr"));
            CHECK(j["line"].is_string());
        }
        auto has = [&](const char* container, const char* stream, const char* line) {
            for (const json& j : output)
                if (j["container"] == container && j["stream"] == stream && j["line"] == line) return true;
            return false;
        };
        CHECK(has("web", "stdout", "hi"));
        CHECK(has("web", "stderr", "oops"));
        CHECK(has("a-long-name", "stdout", "fine"));
        CHECK(output.size() == 3);
    }

    SECTION("order: a container's output comes between its started and its exited") {
        auto index_of = [&](auto&& pred) {
            for (std::size_t i = 0; i < lines.size(); ++i)
                if (pred(lines[i])) return static_cast<long>(i);
            return -1L;
        };
        const long started = index_of([](const json& j) { return j.value("event", "") == "started" && j["container"] == "web"; });
        const long hi = index_of([](const json& j) { return j.value("line", "") == "hi"; });
        const long oops = index_of([](const json& j) { return j.value("line", "") == "oops"; });
        const long exited = index_of([](const json& j) { return j.value("event", "") == "exited" && j["container"] == "web"; });
        CHECK(started >= 0);
        CHECK(started < hi);
        CHECK(started < oops);
        CHECK(hi < exited);
        CHECK(oops < exited);
    }
}

TEST_CASE("json output: a container killed by a signal", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write(
        "fleet.json", fleet("killed", R"({"victim": {"image": "busybox", "command": ["sleep", "100"]}})"));
    ContainerWatch containers;
    Supervisor sup(scratch.args(file, {"--log-format", "json"}));
    const pid_t pid = watch_started(sup, containers, "victim", "\"event\":\"started\"");
    // SIGKILL from outside the container's pid namespace ends even its pid 1.
    REQUIRE(::kill(pid, SIGKILL) == 0);

    const RunResult r = sup.wait();
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exited);
    CHECK(r.exit_code == 1);  // killed is not success
    const auto exited = events(json_lines(r.out), "exited", "victim");
    REQUIRE(exited.size() == 1);
    CHECK(exited[0]["pid"] == pid);
    CHECK(exited[0]["signal"] == "SIGKILL");
    CHECK(exited[0]["exit_code"].is_null());
    CHECK(containers.all_gone(5s));
}

TEST_CASE("text output: compose-like prefixes and event lines", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("mixed", kMixedFleet));
    const RunResult r = run_supervisor(scratch.args(file));
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exited);
    CHECK(r.exit_code == 1);
    CHECK(r.err.empty());
    CHECK(r.out.find('\033') == std::string::npos);  // no colour on a pipe

    const std::vector<std::string> lines = complete_lines(r.out);
    // Names padded to the longest, "a-long-name" (11 characters).
    const std::vector<std::string> expected = {
        "web         | hi",
        "web         | oops",
        "web exited with code 3",
        "a-long-name | fine",
        "a-long-name exited with code 0",
        "nope: exec \"/bin/nope\": No such file or directory",
    };
    for (const auto& want : expected) {
        INFO("expected line: " << want);
        CHECK(std::count(lines.begin(), lines.end(), want) == 1);
    }
    // Each started line once, with a pid; nothing else.
    std::size_t started = 0;
    for (const auto& line : lines) {
        if (line.find(" started ") == std::string::npos) continue;
        ++started;
        CHECK_THAT(line, Catch::Matches(R"((web|a-long-name) started \(pid [1-9][0-9]*\))"));
    }
    CHECK(started == 2);
    CHECK(lines.size() == expected.size() + started);

    const std::size_t web_started = line_index(lines, "web started (pid ");
    CHECK(web_started < line_index(lines, "web         | hi"));
    CHECK(line_index(lines, "web         | hi") < line_index(lines, "web exited with code 3"));
    CHECK(line_index(lines, "web         | oops") < line_index(lines, "web exited with code 3"));
}

TEST_CASE("text output: a killed container", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write(
        "fleet.json", fleet("killed", R"({"victim": {"image": "busybox", "command": ["sleep", "100"]}})"));
    ContainerWatch containers;
    Supervisor sup(scratch.args(file));
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("victim started (pid "));
    const std::string line = complete_lines(sup.out()).front();
    const pid_t pid = static_cast<pid_t>(std::stol(line.substr(line.find("(pid ") + 5)));
    REQUIRE(containers.add(pid));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    const RunResult r = sup.wait();
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);
    CHECK(complete_lines(r.out).back() == "victim killed by SIGKILL");
}

TEST_CASE("exit status: 0 when all exit 0, 1 when one fails", "[cli]") {
    Scratch scratch;
    struct Case {
        const char* what;
        const char* containers;
        int status;
    };
    const std::vector<Case> cases = {
        {"all exit 0",
         R"({"a": {"image": "busybox", "command": "true"}, "b": {"image": "busybox", "command": ["sh", "-c", "exit 0"]}})",
         0},
        {"one exits non-zero",
         R"({"a": {"image": "busybox", "command": "true"}, "b": {"image": "busybox", "command": ["sh", "-c", "exit 7"]}})",
         1},
        {"one cannot start",
         R"({"a": {"image": "busybox", "command": "true"}, "b": {"image": "busybox", "command": "/bin/nope"}})", 1},
        {"the only one cannot start", R"({"b": {"image": "busybox", "command": "/bin/nope"}})", 1},
        {"exit 1 is not 0", R"({"a": {"image": "busybox", "command": "false"}})", 1},
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.what) {
            const fs::path file = scratch.write("fleet.json", fleet("status", c.containers));
            for (const char* format : {"text", "json"}) {
                const RunResult r = run_supervisor(scratch.args(file, {"--log-format", format}));
                INFO("--log-format " << format << "\n" << r.describe());
                REQUIRE_FALSE(r.timed_out);
                CHECK(r.exited);
                CHECK(r.exit_code == c.status);
                // The fleet's state goes with it; the image stays.
                CHECK_FALSE(fs::exists(scratch.root() / "status"));
                CHECK(fs::is_directory(scratch.root() / "images" / "busybox"));
            }
        }
    }
}

TEST_CASE("a container's background processes end with it, and the fleet ends", "[cli]") {
    Scratch scratch;
    // a leaves a sleeper behind (it dies with a's pid namespace); b closes
    // its stdout and stderr early and exits later.
    const fs::path file = scratch.write("fleet.json", fleet("bg", R"({
        "a": {"image": "busybox", "command": ["sh", "-c", "sleep 100 & echo bye"]},
        "b": {"image": "busybox", "command": ["sh", "-c", "exec >&- 2>&-; sleep 0.2"]}})"));
    const RunResult r = run_supervisor(scratch.args(file));
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    const auto lines = complete_lines(r.out);
    CHECK(std::count(lines.begin(), lines.end(), "a | bye") == 1);
    CHECK(std::count(lines.begin(), lines.end(), "a exited with code 0") == 1);
    CHECK(std::count(lines.begin(), lines.end(), "b exited with code 0") == 1);
}

TEST_CASE("the example fleet runs as the README tells", "[cli]") {
    Scratch scratch;
    const fs::path example = fs::path(RUSTY_SOURCE_DIR) / "examples/fleet.json";
    const RunResult r = run_supervisor(scratch.args(example, {"--log-format", "json"}));
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);  // hungry, broken and typo fail on purpose

    std::map<std::string, json> last;  // container -> its last event
    for (const std::string& line : complete_lines(r.out)) {
        const json j = json::parse(line);
        if (j.contains("event")) last[j.at("container").get<std::string>()] = j;
    }
    CHECK(last["web"]["exit_code"] == 0);
    CHECK(last["client"]["exit_code"] == 0);
    // client waits for web's health check to pass (service_healthy).
    const std::vector<std::string> lines = complete_lines(r.out);
    const std::size_t healthy = line_index(lines, R"("container":"web","event":"healthy")");
    const std::size_t client_started = line_index(lines, R"("container":"client","event":"started")");
    CHECK(healthy < lines.size());
    CHECK(healthy < client_started);
    CHECK(last["whoami"]["exit_code"] == 0);
    CHECK(last["readonly"]["exit_code"] == 0);
    CHECK(last["hungry"]["event"] == "exited");
    CHECK(last["hungry"]["reason"] == "OOMKilled");
    CHECK(last["broken"]["exit_code"] == 3);
    CHECK(last["typo"]["event"] == "failed");
    CHECK_THAT(r.out, Catch::Contains("hi: I am nobody on isolated, pid 1, in /tmp/work"));
    CHECK_NO_TEST_CGROUPS();
}
