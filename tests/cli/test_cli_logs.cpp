// `rusty-supervisor logs`: the containers' log files read back, against state
// directories written here as the supervisor writes them (a lock file, and
// <container>/container.log with its rotated container.log.N), so that no
// fleet needs to run: merging, padding, --tail, --since, --timestamps, the
// pieces of long lines, both file formats, finding the state directory, and
// -f across rotations until the supervisor's control socket goes.
#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "core/clock.hpp"
#include "core/log_record.hpp"

namespace fs = std::filesystem;
using namespace rusty::cli_test;
using rusty::LogDriver;
using SystemClock = std::chrono::system_clock;

namespace {

// The time of the test records: 2026-11-30T06:40:00Z plus `seconds`.
SystemClock::time_point at(double seconds) {
    return *rusty::parse_rfc3339("2026-11-30T06:40:00Z") +
           std::chrono::duration_cast<SystemClock::duration>(std::chrono::duration<double>(seconds));
}

struct Rec {
    SystemClock::time_point ts;
    std::string text;
    std::string stream = "stdout";
    bool partial = false;
};

// A fleet's state directory as the supervisor leaves it: its lock file and
// the containers' log files.
class StateDir {
public:
    explicit StateDir(fs::path dir) : dir_(std::move(dir)) {
        fs::create_directories(dir_);
        std::ofstream(dir_ / "lock").put('\n');
    }
    const fs::path& path() const { return dir_; }
    std::string arg() const { return dir_.string(); }

    // Appends `records` to <dir>/<container>/<file>.
    void append(const std::string& container, const std::vector<Rec>& records, const std::string& file = "container.log",
                LogDriver driver = LogDriver::Cri) const {
        fs::create_directories(dir_ / container);
        append_to(dir_ / container / file, records, driver);
    }
    static void append_to(const fs::path& file, const std::vector<Rec>& records, LogDriver driver = LogDriver::Cri) {
        std::string text;
        for (const Rec& r : records) rusty::logs::append_record(text, driver, rusty::rfc3339_nano(r.ts), r.stream, r.partial, r.text);
        std::ofstream out(file, std::ios::app | std::ios::binary);
        out << text;
        out.close();
        if (!out) FAIL("cannot write " << file);
    }
    // The supervisor runs: logs -f follows until this file goes.
    void start_supervisor() const { std::ofstream(dir_ / "control.sock").put('\n'); }
    void end_supervisor() const { fs::remove(dir_ / "control.sock"); }

private:
    fs::path dir_;
};

// Rotates as the supervisor does: live.N becomes live.N+1, …, live becomes
// live.1; the next append starts a new live file. Keeps them all.
void rotate_log(const fs::path& live) {
    auto numbered = [&](int n) { return fs::path(live.string() + "." + std::to_string(n)); };
    int last = 0;
    while (fs::exists(numbered(last + 1))) ++last;
    for (int n = last; n >= 1; --n) fs::rename(numbered(n), numbered(n + 1));
    fs::rename(live, numbered(1));
}

// "\"path\"", built in steps: GCC 12 warns (-Wrestrict) about "\"" + s + "\"".
std::string quoted(const fs::path& path) {
    std::string text = "\"";
    text += path.string();
    text += '"';
    return text;
}

RunResult logs(const StateDir& state, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"logs", "--state-dir", state.arg()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_supervisor(args);
}

// Runs logs with `extra` and checks it succeeds with `expected` on stdout.
void check_logs(const StateDir& state, std::vector<std::string> extra, const std::string& expected) {
    const RunResult r = logs(state, std::move(extra));
    INFO(r.describe());
    REQUIRE(r.exited);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out == expected);
}

}  // namespace

TEST_CASE("logs: the containers' lines merged in time order, the names padded", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.append("web", {{at(1), "web one"}, {at(3), "web two", "stderr"}, {at(5), "web three"}});
    state.append("database", {{at(2), "db one"}, {at(3), "db two"}, {at(4), "db three", "stderr"}});
    fs::create_directories(state.path() / "quiet");  // a container that wrote nothing: not listed
    std::ofstream(state.path() / "supervisor.json") << "{}";

    SECTION("every container") {
        // On a tie the first container in name order comes first.
        check_logs(state, {},
                   "web      | web one\n"
                   "database | db one\n"
                   "database | db two\n"
                   "web      | web two\n"
                   "database | db three\n"
                   "web      | web three\n");
    }
    SECTION("the containers named, padded to the longest of them") {
        check_logs(state, {"web"}, "web | web one\nweb | web two\nweb | web three\n");
        check_logs(state, {"web", "web"}, "web | web one\nweb | web two\nweb | web three\n");
    }
    SECTION("--no-color changes nothing on a pipe") {
        check_logs(state, {"--no-color", "web"}, "web | web one\nweb | web two\nweb | web three\n");
    }
}

TEST_CASE("logs: a container's lines keep their file order even when its clock went back", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.append("a", {{at(1), "a1"}, {at(5), "a2"}, {at(2), "a3 (clock went back)"}, {at(6), "a4"}});
    state.append("b", {{at(3), "b1"}});
    check_logs(state, {}, "a | a1\nb | b1\na | a2\na | a3 (clock went back)\na | a4\n");
}

TEST_CASE("logs: --tail counts each container's last lines across its rotated files", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.append("web", {{at(1), "w1"}, {at(2), "w2"}}, "container.log.2");  // oldest
    state.append("web", {{at(3), "w3"}, {at(4), "w4"}}, "container.log.1");
    state.append("web", {{at(5), "w5"}});
    state.append("db", {{at(2.5), "d1"}, {at(6), "d2"}});

    SECTION("the rotated files come first, oldest first") {
        check_logs(state, {"web"}, "web | w1\nweb | w2\nweb | w3\nweb | w4\nweb | w5\n");
    }
    SECTION("the last lines span the live file and the rotated ones") {
        check_logs(state, {"--tail", "3", "web"}, "web | w3\nweb | w4\nweb | w5\n");
    }
    SECTION("per container") {
        check_logs(state, {"--tail", "1"}, "web | w5\ndb  | d2\n");
        check_logs(state, {"-n", "2"}, "db  | d1\nweb | w4\nweb | w5\ndb  | d2\n");
    }
    SECTION("more than there are, all, and none") {
        const std::string all = "web | w1\nweb | w2\ndb  | d1\nweb | w3\nweb | w4\nweb | w5\ndb  | d2\n";
        check_logs(state, {"--tail", "100"}, all);
        check_logs(state, {"--tail", "all"}, all);
        check_logs(state, {"--tail", "0"}, "");
    }
    SECTION("with --since, the last of the lines since then") {
        check_logs(state, {"--tail", "2", "--since", "2026-11-30T06:40:02Z", "web"}, "web | w4\nweb | w5\n");
        check_logs(state, {"--tail", "5", "--since", "2026-11-30T06:40:04Z", "web"}, "web | w4\nweb | w5\n");
    }
}

TEST_CASE("logs: --since takes an RFC 3339 time, Unix seconds or a duration back from now", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");

    SECTION("RFC 3339, in UTC or with an offset; the bound is included") {
        state.append("web", {{at(1), "one"}, {at(2), "two"}, {at(3), "three"}});
        check_logs(state, {"--since", "2026-11-30T06:40:02Z"}, "web | two\nweb | three\n");
        check_logs(state, {"--since", "2026-11-30T07:40:02.5+01:00"}, "web | three\n");
        check_logs(state, {"--since", "2026-11-30T06:41:00Z"}, "");
    }
    SECTION("Unix seconds, with a fraction or not") {
        const SystemClock::time_point t0{std::chrono::seconds(1700000000)};
        state.append("web", {{t0, "zero"}, {t0 + std::chrono::milliseconds(700), "zero point seven"},
                             {t0 + std::chrono::seconds(2), "two"}});
        check_logs(state, {"--since", "1700000000"}, "web | zero\nweb | zero point seven\nweb | two\n");
        check_logs(state, {"--since", "1700000000.5"}, "web | zero point seven\nweb | two\n");
        check_logs(state, {"--since", "1700000001"}, "web | two\n");
    }
    SECTION("a duration back from now") {
        const SystemClock::time_point now = SystemClock::now();
        state.append("web", {{now - std::chrono::hours(5), "five hours ago"},
                             {now - std::chrono::minutes(80), "eighty minutes ago"},
                             {now - std::chrono::seconds(20), "twenty seconds ago"}});
        check_logs(state, {"--since", "10m"}, "web | twenty seconds ago\n");
        check_logs(state, {"--since", "1h30m"}, "web | eighty minutes ago\nweb | twenty seconds ago\n");
        check_logs(state, {"--since", "6h"}, "web | five hours ago\nweb | eighty minutes ago\nweb | twenty seconds ago\n");
    }
    SECTION("anything else is a usage error") {
        state.append("web", {{at(1), "one"}});
        for (const char* bad : {"yesterday", "10x", "1700000000.", "1.2.3", "2026-11-30", "99999999999", "1h-5m"}) {
            const RunResult r = logs(state, {"--since", bad});
            INFO(bad << "\n" << r.describe());
            CHECK(r.exit_code == 2);
            CHECK(r.out.empty());
            CHECK(r.err.find("--since") != std::string::npos);
        }
        check_logs(state, {"--since", "10"}, "web | one\n");  // Unix seconds: 1970
    }
}

TEST_CASE("logs: --timestamps puts each line's time after the prefix", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.append("web", {{*rusty::parse_rfc3339("2026-11-30T06:40:05.123456789Z"), "hello"}});
    state.append("db", {{*rusty::parse_rfc3339("2026-11-30T06:40:06Z"), "world"}});
    check_logs(state, {"--timestamps"},
               "web | 2026-11-30T06:40:05.123456789Z hello\n"
               "db  | 2026-11-30T06:40:06.000000000Z world\n");
    check_logs(state, {"-t", "db"}, "db | 2026-11-30T06:40:06.000000000Z world\n");
}

TEST_CASE("logs: the pieces of a long line come out as one line", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    // 40 KiB in three pieces, with a stderr line between them: pieces join
    // per stream. The line takes the time of its first piece.
    std::string long_line;
    for (int i = 0; long_line.size() < 40 * 1024; ++i) long_line += std::to_string(i) + ",";
    const std::string a = long_line.substr(0, 16384), b = long_line.substr(16384, 16384), c = long_line.substr(32768);
    const auto driver = GENERATE(LogDriver::Cri, LogDriver::JsonFile);
    INFO((driver == LogDriver::Cri ? "cri" : "json-file"));

    SECTION("in one file") {
        state.append("web",
                     {{at(1), a, "stdout", true}, {at(2), "meanwhile on stderr", "stderr"}, {at(3), b, "stdout", true},
                      {at(4), c, "stdout", false}, {at(5), "after"}},
                     "container.log", driver);
        check_logs(state, {}, "web | meanwhile on stderr\nweb | " + long_line + "\nweb | after\n");
        check_logs(state, {"-t", "--tail", "2"},
                   "web | " + rusty::rfc3339_nano(at(1)) + " " + long_line + "\nweb | " + rusty::rfc3339_nano(at(5)) +
                       " after\n");
    }
    SECTION("across a rotation") {
        state.append("web", {{at(0), "before"}, {at(1), a, "stdout", true}}, "container.log.1", driver);
        state.append("web", {{at(3), b, "stdout", true}, {at(4), c, "stdout", false}}, "container.log", driver);
        check_logs(state, {}, "web | before\nweb | " + long_line + "\n");
        check_logs(state, {"--tail", "1"}, "web | " + long_line + "\n");
    }
    SECTION("a line whose end never came is printed at the end") {
        state.append("web", {{at(1), "complete"}, {at(2), "cut sh", "stdout", true}, {at(3), "ort", "stdout", true}},
                     "container.log", driver);
        check_logs(state, {}, "web | complete\nweb | cut short\n");
    }
}

TEST_CASE("logs: json-file and CRI logs read alike, malformed records skipped", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.append("docker", {{at(1), "from json-file"}, {at(3), "with \"quotes\" and \\ \t tabs", "stderr"}},
                 "container.log", LogDriver::JsonFile);
    state.append("kube", {{at(2), "from cri"}});
    std::ofstream(state.path() / "kube" / "container.log", std::ios::app)
        << "\n"
        << "garbage\n"
        << "2026-11-30T99:40:05Z stdout F bad time\n"
        << R"({"log":"no time\n","stream":"stdout"})" << "\n"
        << R"({"log":"cut short)" << "\n"
        << "2026-11-30T06:40:04Z stdout F from cri again\n";
    const RunResult r = logs(state);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(r.out ==
          "docker | from json-file\n"
          "kube   | from cri\n"
          "docker | with \"quotes\" and \\ \t tabs\n"
          "kube   | from cri again\n");
}

TEST_CASE("logs: a named container without a log is an error, the others still print", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.append("web", {{at(1), "hello"}});
    fs::create_directories(state.path() / "quiet");
    const RunResult r = logs(state, {"ghost", "web", "quiet"});
    INFO(r.describe());
    REQUIRE(r.exited);
    CHECK(r.exit_code == 1);
    CHECK(r.out == "web | hello\n");
    CHECK(r.err == "rusty-supervisor: no log for \"ghost\"\nrusty-supervisor: no log for \"quiet\"\n");
}

TEST_CASE("logs: a log file that cannot be read is reported with its errno", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.append("web", {{at(1), "hello"}});
    // A directory where the log should be: open works, read fails (EISDIR),
    // whoever runs the test (root reads files whatever their mode).
    fs::create_directories(state.path() / "db" / "container.log");
    const RunResult r = logs(state);
    INFO(r.describe());
    REQUIRE(r.exited);
    CHECK(r.exit_code == 1);
    CHECK(r.out == "web | hello\n");
    CHECK(r.err == "rusty-supervisor: cannot read " + quoted(state.path() / "db" / "container.log") + ": Is a directory\n");
}

TEST_CASE("logs: a container.log symlink names a log file kept elsewhere, with its rotations", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    const fs::path elsewhere = scratch.make_dir("var/log") / "app.log";
    StateDir::append_to(fs::path(elsewhere.string() + ".1"), {{at(1), "rotated"}});
    StateDir::append_to(elsewhere, {{at(2), "live"}});
    fs::create_directories(state.path() / "app");
    fs::create_symlink(elsewhere, state.path() / "app" / "container.log");
    // The rotated files beside the link are not the log's.
    StateDir::append_to(state.path() / "app" / "container.log.1", {{at(0), "not this one"}});
    check_logs(state, {}, "app | rotated\napp | live\n");
    check_logs(state, {"app"}, "app | rotated\napp | live\n");
}

TEST_CASE("logs: the state directory is found under --root", "[logs]") {
    Scratch scratch;
    const fs::path root = scratch.root();
    fs::create_directories(root / "images");  // no lock: not a fleet
    StateDir alpha(root / "alpha");
    alpha.append("web", {{at(1), "from alpha"}});
    auto run = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"logs", "--root", root.string()});
        return run_supervisor(args);
    };

    SECTION("the only fleet") {
        const RunResult r = run({});
        INFO(r.describe());
        CHECK(r.exit_code == 0);
        CHECK(r.out == "web | from alpha\n");
    }
    SECTION("several fleets: choose with --fleet, --config or --socket") {
        StateDir beta(root / "beta");
        beta.append("db", {{at(1), "from beta"}});
        const RunResult several = run({});
        INFO(several.describe());
        CHECK(several.exit_code == 2);
        CHECK(several.out.empty());
        CHECK(several.err == "rusty-supervisor: several fleets under " + root.string() +
                                 " (alpha, beta): choose one with --fleet NAME or --config FILE\n");

        const RunResult by_name = run({"--fleet", "beta"});
        INFO(by_name.describe());
        CHECK(by_name.out == "db | from beta\n");
        const fs::path config = scratch.write("fleet.json", fleet("beta", R"({"db": {"image": "busybox", "command": "true"}})"));
        const RunResult by_config = run({"--config", config.string()});
        INFO(by_config.describe());
        CHECK(by_config.out == "db | from beta\n");
        const RunResult by_socket = run({"--socket", (root / "alpha" / "control.sock").string()});  // need not exist
        INFO(by_socket.describe());
        CHECK(by_socket.out == "web | from alpha\n");
    }
    SECTION("no fleet, or a fleet without state") {
        const RunResult unknown = run({"--fleet", "gamma"});
        INFO(unknown.describe());
        CHECK(unknown.exit_code == 2);
        CHECK(unknown.err.find(quoted(root / "gamma")) != std::string::npos);

        fs::remove(alpha.path() / "lock");
        const RunResult none = run({});
        INFO(none.describe());
        CHECK(none.exit_code == 2);
        CHECK(none.err == "rusty-supervisor: no fleet under " + root.string() + "\n");

        const RunResult missing = run_supervisor({"logs", "--state-dir", (scratch.path() / "nowhere").string()});
        INFO(missing.describe());
        CHECK(missing.exit_code == 2);
        CHECK(missing.err.find(quoted(scratch.path() / "nowhere")) != std::string::npos);
    }
}

TEST_CASE("logs -f: follows appends and rotations until the supervisor ends, every line once", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.start_supervisor();
    const fs::path live = state.path() / "web" / "container.log";
    auto rotate = [&] { rotate_log(live); };
    state.append("db", {{at(0), "db ready"}});
    state.append("web", {{at(1), "line 1"}}, "container.log.1");
    state.append("web", {{at(2), "line 2"}});

    Supervisor sup({"logs", "-f", "--state-dir", state.arg()});
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("line 2"));

    state.append("web", {{at(3), "line 3"}, {at(4), "line 4"}});
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("line 4"));

    // Written just before a rotation, so probably read from the old file
    // after it was renamed; and a line whose pieces straddle the rotation.
    state.append("web", {{at(5), "line 5"}, {at(6), "line 6 be", "stdout", true}});
    rotate();
    state.append("web", {{at(7), "gins and ends", "stdout", false}, {at(8), "line 7"}});
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("line 7"));

    // Two rotations in a row between two polls.
    state.append("web", {{at(9), "line 8"}});
    rotate();
    state.append("web", {{at(10), "line 9"}});
    rotate();
    state.append("web", {{at(11), "line 10"}, {at(12), "line 11 never ends", "stderr", true}});
    state.append("db", {{at(12), "db done"}});
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("line 10"));
    CHECK(sup.running());

    // A last line after the supervisor ended is still printed, and so is the
    // line whose end never came.
    state.append("web", {{at(13), "line 12"}});
    state.end_supervisor();
    const RunResult r = sup.wait(10s);
    INFO(r.describe());
    REQUIRE(r.exited);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out ==
          "db  | db ready\n"
          "web | line 1\n"
          "web | line 2\n"
          "web | line 3\n"
          "web | line 4\n"
          "web | line 5\n"
          "web | line 6 begins and ends\n"
          "web | line 7\n"
          "web | line 8\n"
          "web | line 9\n"
          "web | line 10\n"
          "db  | db done\n"
          "web | line 12\n"
          "web | line 11 never ends\n");
}

TEST_CASE("logs -f: --tail limits what comes before the new lines", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.start_supervisor();
    state.append("web", {{at(1), "old 1"}, {at(2), "old 2"}, {at(3), "old 3"}});
    Supervisor sup({"logs", "-f", "--tail", "1", "--state-dir", state.arg()});
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("old 3"));
    state.append("web", {{at(4), "new 1"}});
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("new 1"));
    state.end_supervisor();
    const RunResult r = sup.wait(10s);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(r.out == "web | old 3\nweb | new 1\n");
}

TEST_CASE("logs -f: once the supervisor has ended, prints what there is and returns", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.append("web", {{at(1), "done"}, {at(2), "cut", "stdout", true}});
    const auto started = std::chrono::steady_clock::now();
    const RunResult r = run_supervisor({"logs", "-f", "--state-dir", state.arg()}, 10s);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(r.out == "web | done\nweb | cut\n");
    CHECK(std::chrono::steady_clock::now() - started < 5s);
}

TEST_CASE("logs -f: no line lost or repeated when the files rotate faster than it polls", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.start_supervisor();
    const fs::path live = state.path() / "web" / "container.log";
    state.append("web", {{at(0), "start"}});
    Supervisor sup({"logs", "-f", "--state-dir", state.arg()});
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("start"));

    // 2000 lines, a rotation every 40, written as fast as we can: several
    // rotations come between two of its polls.
    std::string expected = "web | start\n";
    for (int i = 1; i <= 2000; ++i) {
        state.append("web", {{at(i), "line " + std::to_string(i)}});
        expected += "web | line " + std::to_string(i) + "\n";
        if (i % 40 == 0) rotate_log(live);
    }
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("line 2000"));
    state.end_supervisor();
    const RunResult r = sup.wait(10s);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(r.out == expected);
}

TEST_CASE("logs -f: a live file truncated in place is read again from its start", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.start_supervisor();
    const fs::path live = state.path() / "web" / "container.log";
    state.append("web", {{at(1), "before the truncation, a long line to make the file longer"}});
    Supervisor sup({"logs", "-f", "--state-dir", state.arg()});
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("before"));
    fs::resize_file(live, 0);  // as logrotate's copytruncate
    state.append("web", {{at(2), "after"}});
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("after"));
    state.end_supervisor();
    const RunResult r = sup.wait(10s);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(r.out == "web | before the truncation, a long line to make the file longer\nweb | after\n");
}

TEST_CASE("logs: on a terminal the prefixes are coloured as compose's, unless --no-color", "[logs]") {
    Scratch scratch;
    StateDir state(scratch.path() / "fleet");
    state.append("api", {{at(1), "one"}});
    state.append("web", {{at(2), "two"}});
    // script(1) (util-linux, always there on Debian) gives it a terminal.
    auto on_terminal = [&](const std::string& extra) {
        const std::string command = "env -u NO_COLOR timeout 20 script -qec '" + std::string(RUSTY_SUPERVISOR_BIN) +
                                    " logs " + extra + " --state-dir " + state.arg() + "' /dev/null";
        std::FILE* pipe = ::popen(command.c_str(), "r");
        REQUIRE(pipe);
        std::string out;
        std::array<char, 4096> chunk;
        while (std::size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) out.append(chunk.data(), n);
        CHECK(::pclose(pipe) == 0);
        return out;
    };
    const std::string coloured = on_terminal("");
    CHECK(coloured == "\033[36mapi |\033[0m one\r\n\033[33mweb |\033[0m two\r\n");
    CHECK(on_terminal("--no-color") == "api | one\r\nweb | two\r\n");
}
