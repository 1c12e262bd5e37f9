// How container output reaches the supervisor's stdout: escaping, partial
// and long lines, bytes that are not UTF-8.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_helpers.hpp"

namespace fs = std::filesystem;
using namespace rusty::cli_test;
using nlohmann::json;

namespace {

// Runs one container "c" with `command` (a JSON array) and returns its
// output lines' "line" values, in order, from --log-format json.
std::vector<std::string> json_output_of(const std::string& command, std::string* raw = nullptr) {
    Scratch scratch;
    const fs::path file =
        scratch.write("fleet.json", fleet("out", R"({"c": {"image": "busybox", "command": )" + command + "}}"));
    const RunResult r = run_supervisor(scratch.args(file, {"--log-format", "json"}));
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    std::string bad;
    const auto lines = json_lines(r.out, &bad);
    INFO("not JSON:\n" << bad);
    CHECK(bad.empty());
    std::vector<std::string> out;
    for (const json& j : lines)
        if (j.contains("line")) out.push_back(j["line"]);
    if (raw) *raw = r.out;
    return out;
}

}  // namespace

TEST_CASE("json output: lines are escaped, never break the line format", "[cli]") {
    const auto lines = json_output_of(R"(["sh", "-c", "printf 'a\"b\\\\c\\tx\\033[1m\\n'; printf '{\"event\":\"started\"}\\n'"])");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "a\"b\\c\tx\033[1m");
    CHECK(lines[1] == R"({"event":"started"})");  // a line, not an event
}

TEST_CASE("json output: bytes that are not UTF-8 still give valid JSON", "[cli]") {
    std::string raw;
    const auto lines = json_output_of(R"(["sh", "-c", "printf 'x\\377\\376y\\n'; echo after"])", &raw);
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[0], Catch::StartsWith("x") && Catch::EndsWith("y"));
    CHECK(lines[1] == "after");
}

TEST_CASE("a last line without a newline is still printed", "[cli]") {
    SECTION("json") {
        const auto lines = json_output_of(R"(["sh", "-c", "echo one; printf two"])");
        CHECK(lines == std::vector<std::string>{"one", "two"});
    }
    SECTION("text") {
        Scratch scratch;
        const fs::path file = scratch.write(
            "fleet.json", fleet("out", R"({"c": {"image": "busybox", "command": ["sh", "-c", "printf partial"]}})"));
        const RunResult r = run_supervisor(scratch.args(file));
        INFO(r.describe());
        REQUIRE_FALSE(r.timed_out);
        CHECK(r.exit_code == 0);
        const auto lines = complete_lines(r.out);
        CHECK(line_index(lines, "c | partial") < line_index(lines, "c exited with code 0"));
    }
}

namespace {
// 40000 '0's and a newline in one write(2) (busybox echo), then "end".
const char* const kLongLine = R"(["sh", "-c", "x=$(printf %040000d 0); echo \"$x\"; echo end"])";
}  // namespace

TEST_CASE("a line over 16 KiB: nothing lost, nothing added", "[cli]") {
    const auto lines = json_output_of(kLongLine);
    REQUIRE(lines.size() >= 2);
    CHECK(lines.back() == "end");
    std::string joined;
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) joined += lines[i];
    CHECK(joined == std::string(40000, '0'));
}

// FleetObserver::on_output: "A line over 16 KiB arrives in pieces", also
// when the whole line and its newline come in one read.
TEST_CASE("a line over 16 KiB arrives in pieces of at most 16 KiB", "[cli]") {
    // 20000 characters and the newline in one write: read at once.
    const auto lines = json_output_of(R"(["sh", "-c", "x=$(printf %020000d 0); echo \"$x\"; echo end"])");
    REQUIRE(lines.size() >= 2);
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
        INFO("piece " << i);
        CHECK(lines[i].size() <= 16 * 1024);
    }
}

TEST_CASE("many containers: one started and one exited each, names padded", "[cli]") {
    Scratch scratch;
    std::string containers = "{";
    const int n = 12;
    for (int i = 0; i < n; ++i) {
        if (i) containers += ",";
        const std::string name = i == 0 ? "the-longest-name" : "c" + std::to_string(i);
        containers += "\"" + name + R"(": {"image": "busybox", "command": ["echo", "from )" + name + "\"]}";
    }
    containers += "}";
    const fs::path file = scratch.write("fleet.json", fleet("many", containers));
    const RunResult r = run_supervisor(scratch.args(file));
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    const auto lines = complete_lines(r.out);
    CHECK(lines.size() == 3 * n);
    for (int i = 1; i < n; ++i) {
        const std::string name = "c" + std::to_string(i);
        std::string prefix = name;
        prefix.resize(16, ' ');
        INFO(name);
        CHECK(std::count(lines.begin(), lines.end(), prefix + " | from " + name) == 1);
        CHECK(std::count(lines.begin(), lines.end(), name + " exited with code 0") == 1);
    }
    CHECK(std::count(lines.begin(), lines.end(), "the-longest-name | from the-longest-name") == 1);
}
