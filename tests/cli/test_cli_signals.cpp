// Stopping a running supervisor with signals, and a second supervisor on the
// same fleet.
#include <signal.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_helpers.hpp"

namespace fs = std::filesystem;
using namespace rusty::cli_test;
using nlohmann::json;

namespace {

const char* const kSleepers = R"({
    "one": {"image": "busybox", "command": ["sleep", "100"]},
    "two": {"image": "busybox", "command": ["sleep", "100"]}
})";

// Waits for both sleepers' started events and watches their pids.
void watch_sleepers(Supervisor& sup, ContainerWatch& containers, std::vector<pid_t>* pids = nullptr) {
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout("\"event\":\"started\"", 2));
    const auto started = events(json_lines(sup.out()), "started");
    REQUIRE(started.size() == 2);
    for (const json& e : started) {
        const pid_t pid = e["pid"].get<pid_t>();
        REQUIRE(containers.add(pid));
        if (pids) pids->push_back(pid);
    }
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

TEST_CASE("SIGTERM stops every container and exits 0", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("sleepers", kSleepers));
    ContainerWatch containers;
    Supervisor sup(scratch.args(file, {"--log-format", "json", "--stop-timeout", "0.2"}));
    std::vector<pid_t> pids;
    watch_sleepers(sup, containers, &pids);

    const auto t0 = Clock::now();
    sup.send_signal(SIGTERM);
    const RunResult r = sup.wait();
    const double took = seconds_since(t0);
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exited);
    CHECK(r.exit_code == 0);
    CHECK(took < 5.0);  // 0.2 s of grace, then SIGKILL
    INFO("survivors:\n" << containers.survivors());
    CHECK(containers.all_gone(5s));

    // sleep as pid 1 ignores SIGTERM, so both were killed after the grace.
    const auto lines = json_lines(r.out);
    for (const char* name : {"one", "two"}) {
        INFO(name);
        const auto exited = events(lines, "exited", name);
        REQUIRE(exited.size() == 1);
        CHECK(exited[0]["signal"] == "SIGKILL");
    }
    CHECK_FALSE(fs::exists(scratch.root() / "sleepers"));
}

TEST_CASE("SIGTERM: a container that handles it exits on its own, without waiting for the grace", "[cli]") {
    Scratch scratch;
    // A shell as pid 1 with a TERM trap: the signal reaches it, and it exits 0.
    const fs::path file = scratch.write(
        "fleet.json",
        fleet("polite", R"({"polite": {"image": "busybox",
            "command": ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done"]}})"));
    ContainerWatch containers;
    Supervisor sup(scratch.args(file, {"--log-format", "json", "--stop-timeout", "30"}));
    watch_started(sup, containers, "polite", "\"line\":\"ready\"");

    const auto t0 = Clock::now();
    sup.send_signal(SIGTERM);
    const RunResult r = sup.wait();
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK(seconds_since(t0) < 10.0);  // far from the 30 s grace
    const auto lines = json_lines(r.out);
    const auto exited = events(lines, "exited", "polite");
    REQUIRE(exited.size() == 1);
    CHECK(exited[0]["exit_code"] == 0);
    CHECK(exited[0]["signal"].is_null());
    CHECK(r.out.find("\"line\":\"bye\"") != std::string::npos);
    CHECK(containers.all_gone(5s));
}

TEST_CASE("SIGINT twice kills at once", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("sleepers", kSleepers));
    ContainerWatch containers;
    // --debug: the supervisor says when it has read the first SIGINT, so the
    // second is not sent while the first is still pending (the two would merge).
    Supervisor sup(scratch.args(file, {"--log-format", "json", "--stop-timeout", "30", "--debug"}));
    watch_sleepers(sup, containers);

    const auto t0 = Clock::now();
    sup.send_signal(SIGINT);
    REQUIRE_OUTPUT(sup, sup.wait_for_stderr("SIGINT: stopping the fleet"));
    // The first SIGINT only asked (sleep ignores SIGTERM as pid 1): still running.
    CHECK(sup.running());
    sup.send_signal(SIGINT);
    const RunResult r = sup.wait();
    const double took = seconds_since(t0);
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exited);
    CHECK(r.exit_code == 0);
    CHECK(took < 10.0);  // well before the 30 s grace
    std::string not_json;
    json_lines(r.out, &not_json);
    CHECK(not_json.empty());  // --debug goes to stderr only
    INFO("survivors:\n" << containers.survivors());
    CHECK(containers.all_gone(5s));
    for (const char* name : {"one", "two"}) {
        INFO(name);
        const auto exited = events(json_lines(r.out), "exited", name);
        REQUIRE(exited.size() == 1);
        CHECK(exited[0]["signal"] == "SIGKILL");
    }
}

TEST_CASE("SIGTERM then SIGINT also kills at once", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("sleepers", kSleepers));
    ContainerWatch containers;
    Supervisor sup(scratch.args(file, {"--stop-timeout", "30", "--debug"}));
    REQUIRE_OUTPUT(sup, sup.wait_for_stdout(" started (pid ", 2));
    for (const auto& line : complete_lines(sup.out()))
        if (auto at = line.find("(pid "); at != std::string::npos)
            REQUIRE(containers.add(static_cast<pid_t>(std::stol(line.substr(at + 5)))));

    const auto t0 = Clock::now();
    sup.send_signal(SIGTERM);
    REQUIRE_OUTPUT(sup, sup.wait_for_stderr("SIGTERM: stopping the fleet"));
    sup.send_signal(SIGINT);
    const RunResult r = sup.wait();
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK(seconds_since(t0) < 10.0);
    CHECK(r.out.find("one killed by SIGKILL\n") != std::string::npos);
    CHECK(r.out.find("two killed by SIGKILL\n") != std::string::npos);
    INFO("survivors:\n" << containers.survivors());
    CHECK(containers.all_gone(5s));
}

TEST_CASE("a second supervisor on the same fleet is refused, the first carries on", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("sleepers", kSleepers));
    ContainerWatch containers;
    Supervisor first(scratch.args(file, {"--log-format", "json", "--stop-timeout", "0.2"}));
    std::vector<pid_t> pids;
    watch_sleepers(first, containers, &pids);

    const fs::path info_file = scratch.root() / "sleepers" / "supervisor.json";
    auto recorded_pid = [&] {
        std::ifstream in(info_file);
        return json::parse(in, nullptr, false).value("pid", -1);
    };
    REQUIRE(recorded_pid() == first.pid());

    for (const char* format : {"text", "json"}) {
        INFO("second supervisor with --log-format " << format);
        const RunResult second = run_supervisor(scratch.args(file, {"--log-format", format}));
        INFO(second.describe());
        REQUIRE_FALSE(second.timed_out);
        CHECK(second.exited);
        CHECK(second.exit_code != 0);
        CHECK(second.exit_code != 2);  // not a usage error: the file is fine
        CHECK_THAT(second.err, Catch::Contains("already running"));
        CHECK_THAT(second.err, Catch::Contains("\"sleepers\""));
        CHECK(second.out.find("started") == std::string::npos);
    }

    // The first is undisturbed: running, its state and containers in place.
    CHECK(first.running());
    CHECK(recorded_pid() == first.pid());
    CHECK(fs::exists(scratch.root() / "sleepers" / "lock"));
    CHECK(fs::is_directory(scratch.root() / "sleepers" / "one"));
    CHECK(fs::is_directory(scratch.root() / "sleepers" / "two"));
    for (pid_t pid : pids) {
        INFO("container pid " << pid);
        CHECK(::kill(pid, 0) == 0);
    }
    CHECK(events(json_lines(first.out()), "exited").empty());

    // Then stop it: it ends normally, as if the second had never been.
    first.send_signal(SIGTERM);
    const RunResult r = first.wait();
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(containers.all_gone(5s));
    CHECK_FALSE(fs::exists(scratch.root() / "sleepers"));
}

TEST_CASE("the same fleet name under another --root runs side by side under another cgroup parent", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("sleepers", kSleepers));
    ContainerWatch containers;
    Supervisor first(scratch.args(file, {"--log-format", "json", "--stop-timeout", "0.2"}));
    watch_sleepers(first, containers);

    const fs::path quick = scratch.write(
        "quick.json", fleet("sleepers", R"({"q": {"image": "busybox", "command": "true"}})"));
    const std::string other_parent = rusty::test::test_cgroup_parent() + "/other";
    const RunResult other = run_supervisor({"--root", (scratch.path() / "other-root").string(), "--config",
                                            quick.string(), "--cgroup-parent", other_parent});
    INFO(other.describe());
    REQUIRE_FALSE(other.timed_out);
    CHECK(other.exit_code == 0);
    CHECK(first.running());

    // The same cgroup parent: the cgroups would be the first fleet's. Refused,
    // and the first fleet is left alone.
    const RunResult clash =
        run_supervisor({"--root", (scratch.path() / "third-root").string(), "--config", quick.string(),
                        "--cgroup-parent", rusty::test::test_cgroup_parent()});
    INFO(clash.describe());
    REQUIRE_FALSE(clash.timed_out);
    CHECK(clash.exit_code == 1);
    CHECK_THAT(clash.err, Catch::Contains("in use by another supervisor"));
    CHECK(first.running());

    first.send_signal(SIGTERM);
    const RunResult r = first.wait();
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(containers.all_gone(5s));
    CHECK_NO_TEST_CGROUPS();
}

TEST_CASE("a closed stdout does not kill the supervisor and orphan its containers", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("sleepers", kSleepers));
    ContainerWatch containers;
    Supervisor sup(scratch.args(file, {"--log-format", "json", "--stop-timeout", "0.2"}));
    watch_sleepers(sup, containers);
    // As with `rusty-supervisor ... | head -2`: the reader is gone.
    sup.close_stdout();

    // The stop prints events to the closed stdout; the supervisor must still
    // see it through (SIGTERM, grace, SIGKILL) and end normally.
    sup.send_signal(SIGTERM);
    const RunResult r = sup.wait();
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.term_signal == 0);
    CHECK(r.exited);
    INFO("survivors:\n" << containers.survivors());
    CHECK(containers.all_gone(5s));
    CHECK_FALSE(fs::exists(scratch.root() / "sleepers"));
}

TEST_CASE("a closed stdout while a container writes", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write(
        "fleet.json",
        fleet("chatty", R"({"chatty": {"image": "busybox",
            "command": ["sh", "-c", "echo ready; while :; do echo more; sleep 0.01; done"]}})"));
    ContainerWatch containers;
    Supervisor sup(scratch.args(file, {"--log-format", "json", "--stop-timeout", "0.2"}));
    watch_started(sup, containers, "chatty", "\"line\":\"ready\"");
    sup.close_stdout();
    // Give it output to fail on: wait for a few lines' worth of time through
    // the pidfd of the container, which must not end.
    CHECK_FALSE(containers.all_gone(300ms));
    CHECK(sup.running());

    sup.send_signal(SIGTERM);
    const RunResult r = sup.wait();
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.term_signal == 0);
    CHECK(r.exited);
    INFO("survivors:\n" << containers.survivors());
    CHECK(containers.all_gone(5s));
}

TEST_CASE("SIGHUP is read and ignored", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("sleepers", kSleepers));
    ContainerWatch containers;
    Supervisor sup(scratch.args(file, {"--log-format", "json", "--stop-timeout", "0.2", "--debug"}));
    watch_sleepers(sup, containers);
    sup.send_signal(SIGHUP);
    REQUIRE_OUTPUT(sup, sup.wait_for_stderr("SIGHUP"));
    CHECK(sup.running());
    CHECK(events(json_lines(sup.out()), "exited").empty());
    sup.send_signal(SIGTERM);
    const RunResult r = sup.wait();
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK(containers.all_gone(5s));
}

TEST_CASE("a stop timeout of 0 kills at the first SIGTERM", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("sleepers", kSleepers));
    ContainerWatch containers;
    Supervisor sup(scratch.args(file, {"--log-format", "json", "--stop-timeout", "0"}));
    watch_sleepers(sup, containers);
    const auto t0 = Clock::now();
    sup.send_signal(SIGTERM);
    const RunResult r = sup.wait();
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK(seconds_since(t0) < 5.0);
    CHECK(containers.all_gone(5s));
}

TEST_CASE("a stop at any moment of the start-up ends the fleet with no survivor", "[cli]") {
    Scratch scratch;
    // A tag in every container's command line, to find a survivor that was
    // never reported started.
    const std::string tag = "rusty-cli-early-stop-" + scratch.path().filename().string();
    const std::string container = R"({"image": "busybox", "command": ["sh", "-c", "exec sleep 100", ")" + tag + "\"]}";
    const fs::path file = scratch.write(
        "fleet.json", fleet("early", "{\"a\": " + container + ", \"b\": " + container + ", \"c\": " + container + "}"));
    auto tagged_processes = [&] {
        std::vector<pid_t> found;
        for (const auto& entry : fs::directory_iterator("/proc")) {
            const std::string name = entry.path().filename().string();
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            std::ifstream in(entry.path() / "cmdline");
            std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (cmdline.find(tag) != std::string::npos) found.push_back(std::stoi(name));
        }
        return found;
    };
    // The signal goes out after 0 to ~3 containers reported started; a
    // deterministic spread over the phases of start-up.
    for (int started_before_signal = 0; started_before_signal <= 3; ++started_before_signal) {
        for (int sig : {SIGTERM, SIGINT}) {
            INFO("signal " << sig << " after " << started_before_signal << " started events");
            ContainerWatch containers;
            Supervisor sup(scratch.args(file, {"--log-format", "json", "--stop-timeout", "0.2"}));
            if (started_before_signal > 0)
                REQUIRE_OUTPUT(sup, sup.wait_for_stdout("\"event\":\"started\"", started_before_signal));
            sup.send_signal(sig);
            const RunResult r = sup.wait();
            INFO(r.describe());
            REQUIRE_FALSE(r.timed_out);
            // Before the supervisor reads signals, the default action ends it:
            // nothing has started then.
            if (!r.exited) {
                CHECK(r.term_signal == sig);
                CHECK(events(json_lines(r.out), "started").empty());
            } else {
                CHECK(r.exit_code == 0);
            }
            for (const auto& e : events(json_lines(r.out), "started")) containers.add(e["pid"].get<pid_t>());
            // Every started container has its exited event.
            for (const auto& e : events(json_lines(r.out), "started"))
                CHECK(events(json_lines(r.out), "exited", e["container"].get<std::string>()).size() == 1);
            CHECK(containers.all_gone(5s));
            auto survivors = tagged_processes();
            const auto deadline = Clock::now() + 5s;
            while (!survivors.empty() && Clock::now() < deadline) {
                std::this_thread::sleep_for(20ms);  // no event for a reparented orphan's reap
                survivors = tagged_processes();
            }
            INFO("tagged survivors: " << survivors.size() << (survivors.empty() ? "" : " e.g. pid " + std::to_string(survivors[0])));
            CHECK(survivors.empty());
            for (pid_t pid : survivors) ::kill(pid, SIGKILL);
            CHECK_FALSE(fs::exists(scratch.root() / "early" / "a"));
        }
    }
}

TEST_CASE("after a supervisor was killed, the fleet can run again", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("sleepers", kSleepers));
    {
        ContainerWatch containers;
        Supervisor crashed(scratch.args(file, {"--log-format", "json"}));
        watch_sleepers(crashed, containers);
        crashed.send_signal(SIGKILL);
        const RunResult r = crashed.wait();
        CHECK(r.term_signal == SIGKILL);
        // The orphaned containers live on (crash recovery would re-adopt
        // them); the test ends them, leaving their empty cgroups.
        containers.kill_all();
        CHECK(containers.all_gone(5s));
    }
    REQUIRE(fs::exists(scratch.root() / "sleepers" / "lock"));  // stale state left behind
    const fs::path quick =
        scratch.write("quick.json", fleet("sleepers", R"({"one": {"image": "busybox", "command": "echo again"}})"));
    const RunResult r = run_supervisor(scratch.args(quick));
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("one | again\n"));
    // The earlier run's empty cgroups, "two" included, are swept; the
    // parent, made by the supervisor that died, is kept (see README).
    rusty::test::remove_test_cgroup_parent();
    CHECK_NO_TEST_CGROUPS();
}

TEST_CASE("the state-dir option: used instead of ROOT/<name>, locked, removed at the end", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("sleepers", kSleepers));
    const fs::path state = scratch.path() / "my-state";
    ContainerWatch containers;
    Supervisor first({"--root", scratch.root().string(), "--state-dir", state.string(), "--config", file.string(),
                      "--log-format", "json", "--stop-timeout", "0.2", "--cgroup-parent",
                      rusty::test::test_cgroup_parent()});
    watch_sleepers(first, containers);
    CHECK(fs::exists(state / "supervisor.json"));
    CHECK(fs::is_directory(state / "one"));
    CHECK_FALSE(fs::exists(scratch.root() / "sleepers"));

    // Another root, the same state directory: still the same fleet.
    const RunResult second = run_supervisor({"--root", (scratch.path() / "root2").string(), "--state-dir",
                                             state.string(), "--config", file.string(), "--cgroup-parent",
                                             rusty::test::test_cgroup_parent()});
    INFO(second.describe());
    REQUIRE_FALSE(second.timed_out);
    CHECK(second.exit_code == 1);
    CHECK_THAT(second.err, Catch::Contains("already running"));
    CHECK(first.running());

    first.send_signal(SIGTERM);
    const RunResult r = first.wait();
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(containers.all_gone(5s));
    CHECK_FALSE(fs::exists(state));
}

TEST_CASE("a root that cannot be used: a message, exit 1, nothing started", "[cli]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("f", R"({"a": {"image": "busybox", "command": "true"}})"));
    const fs::path not_a_dir = scratch.write("plain-file", "x");
    const RunResult r = run_supervisor({"--root", not_a_dir.string(), "--config", file.string()});
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exited);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::StartsWith("rusty-supervisor: ") && Catch::Contains(not_a_dir.string()));
    CHECK(r.out.empty());
}
