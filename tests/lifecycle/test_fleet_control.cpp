// The control socket of a running fleet: the verbs of `rusty-supervisor ps`,
// `stop`, `start`, `restart`, `kill`, `pause`, `unpause`, `stats`, `events`
// and `reload`, driven by a client thread while the fleet runs on the
// test's main thread. The client only records; every check is made after
// the fleet has ended.
#include "tests/lifecycle/helpers.hpp"
#include "tests/support/control_client.hpp"

namespace rusty::test {
namespace {

using nlohmann::json;

// Runs `script` on its own thread once `count` containers have printed
// "armed" (their traps are set: a pid 1 ignores a SIGTERM it does not
// handle): the fleet keeps serving on the main thread meanwhile. A failure
// is kept as text for the test to report.
class ClientThread {
public:
    ClientThread(Recorder& rec, std::size_t count, std::function<void()> script)
        : script_(std::move(script)) {
        rec.on_output_hook = [this, count](const std::string&, OutputStream, std::string_view line) {
            if (line == "armed" && ++armed_ == count) {
                thread_ = std::thread([this] {
                    try {
                        script_();
                    } catch (const std::exception& error) {
                        failure = error.what();
                    }
                });
            }
        };
    }
    ~ClientThread() { join(); }
    void join() {
        if (thread_.joinable()) thread_.join();
    }
    std::string failure;

private:
    std::function<void()> script_;
    std::size_t armed_ = 0;
    std::thread thread_;
};

// The ps row of `name`, null if none.
json row_of(const json& ps, const std::string& name) {
    for (const json& row : ps)
        if (row.value("name", "") == name) return row;
    return json();
}

// Polls ps until `name`'s state is `state` (at most 5 s); returns its row.
json wait_state(ControlClient& client, const std::string& name, const std::string& state) {
    for (int i = 0; i < 500; ++i) {
        json row = row_of(client.result("ps"), name);
        if (row.value("state", "") == state) return row;
        std::this_thread::sleep_for(10ms);
    }
    throw std::runtime_error(name + " never reached state " + state);
}

TEST_CASE("control socket: ps, pause, stop, start, restart and kill steer a running fleet", "[control-fleet]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["idle"] = sh("echo armed; exec sleep 30");
    containers["polite"] = sh("trap 'exit 7' TERM; echo armed; while true; do sleep 0.05; done");
    json first_ps, paused, resumed, stopped, stop_reply, started_again, restarted, stats, unknown, bad_signal, killed;
    fs::path socket;
    ClientThread client(rec, 2, [&] {
        ControlClient c(socket);
        first_ps = c.result("ps");
        c.result("pause", {{"names", {"idle"}}});
        paused = wait_state(c, "idle", "paused");
        c.result("unpause", {{"names", {"idle"}}});
        resumed = wait_state(c, "idle", "running");
        stats = c.result("stats");
        stop_reply = c.result("stop", {{"names", {"polite"}}, {"timeout", 5}});
        stopped = row_of(c.result("ps"), "polite");  // the reply waits for the end
        c.result("start", {{"names", {"polite"}}});
        started_again = wait_state(c, "polite", "running");
        const int idle_pid = row_of(c.result("ps"), "idle")["pid"];
        c.result("restart", {{"names", {"idle"}}, {"timeout", 0.1}});
        for (int i = 0; i < 500; ++i) {
            restarted = row_of(c.result("ps"), "idle");
            if (restarted["state"] == "running" && restarted["pid"] != idle_pid && restarted["pid"] != 0) break;
            std::this_thread::sleep_for(10ms);
        }
        unknown = c.call("stop", {{"names", {"nosuch"}}});
        bad_signal = c.call("kill", {{"names", {"idle"}}, {"signal", "SIGFOO"}});
        // SIGKILL (kill's default) ends a container with no restart; the
        // last one ending ends the fleet.
        killed = c.result("kill");
    });
    socket = root.path() / "steer" / "control.sock";
    RunResult r = run_fleet(fleet_json("steer", containers), root.path(), rec);
    client.join();
    INFO(rec.dump());
    REQUIRE(client.failure == "");

    REQUIRE(first_ps.size() == 2);
    CHECK(first_ps[0]["name"] == "idle");
    CHECK(first_ps[0]["state"] == "running");
    CHECK(first_ps[0]["pid"] == rec.events_of("idle").front().pid);
    CHECK(first_ps[0]["restarts"] == 0);
    CHECK(first_ps[0]["started"].is_string());
    CHECK(first_ps[0]["cgroup"] == test_cgroup_parent() + "/steer/idle");
    CHECK(first_ps[1]["name"] == "polite");
    CHECK(paused["state"] == "paused");
    CHECK(resumed["state"] == "running");
    CHECK(rec.count(EventKind::Paused) == 1);
    CHECK(rec.count(EventKind::Resumed) == 1);
    REQUIRE(stats.size() == 2);
    CHECK(stats[0]["name"] == "idle");
    CHECK(stats[0].contains("memory_bytes"));

    CHECK(stop_reply == json::array({{{"name", "polite"}, {"ok", true}}}));
    CHECK(stopped["state"] == "stopped");
    CHECK(stopped["exit_code"] == 7);  // its own code: it handled SIGTERM
    CHECK(started_again["pid"] != first_ps[1]["pid"]);
    CHECK(restarted["state"] == "running");
    CHECK(restarted["pid"] != first_ps[0]["pid"]);

    CHECK(unknown["ok"] == false);
    CHECK(unknown["error"] == "no container named \"nosuch\" in fleet \"steer\"");
    CHECK(bad_signal["ok"] == false);
    CHECK(bad_signal["error"] ==
          "\"signal\": unknown signal \"SIGFOO\"; expected e.g. \"SIGHUP\", \"HUP\" or 1");
    CHECK(killed.size() == 2);
    // idle ran twice (start, restart), polite twice (start, start).
    CHECK(rec.events_of("idle").back().kind == EventKind::Exited);
    CHECK(rec.events_of("idle").back().signal == SIGKILL);
    CHECK(rec.count(EventKind::Started) == 4);
    CHECK_FALSE(r.result.stopped);
}

TEST_CASE("control socket: verbs that stop and start containers take turns", "[control-fleet]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["slow"] = sh("trap 'sleep 0.3; exit 7' TERM; echo armed; while true; do sleep 0.05; done");
    containers["other"] = sh("echo armed; exec sleep 30");
    json stop_reply, start_reply, restarted, row;
    fs::path socket = root.path() / "turns" / "control.sock";
    ClientThread client(rec, 2, [&] {
        ControlClient first(socket), second(socket);
        // The stop takes 0.3 s; a start sent meanwhile waits for it, then
        // finds the container ended and starts it, instead of "already running".
        first.send_line(json{{"verb", "stop"}, {"args", {{"names", {"slow"}}, {"timeout", 5}}}}.dump());
        std::this_thread::sleep_for(50ms);
        start_reply = second.result("start", {{"names", {"slow"}}});
        stop_reply = json::parse(first.read_line().value());
        row = wait_state(second, "slow", "running");
        // A name given twice counts once.
        restarted = second.result("restart", {{"names", {"other", "other"}}, {"timeout", 0.1}});
        second.result("stop");
    });
    run_fleet(fleet_json("turns", containers), root.path(), rec);
    client.join();
    INFO(rec.dump());
    REQUIRE(client.failure == "");
    CHECK(stop_reply["result"] == json::array({{{"name", "slow"}, {"ok", true}}}));
    CHECK(start_reply == json::array({{{"name", "slow"}, {"ok", true}}}));
    CHECK(rec.events_of("slow")[1].exit_code == 7);  // stopped first, with its own code
    CHECK(row["state"] == "running");
    CHECK(restarted == json::array({{{"name", "other"}, {"ok", true}}}));
}

TEST_CASE("control socket: stop with no names stops the fleet, in order, and the connection ends", "[control-fleet]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["db"] = sh("trap 'exit 0' TERM; echo armed; while true; do sleep 0.05; done");
    containers["web"] = sh("trap 'exit 0' TERM; echo armed; while true; do sleep 0.05; done");
    containers["web"]["depends_on"] = Json::array({"db"});
    json reply;
    bool closed = false;
    fs::path socket = root.path() / "whole" / "control.sock";
    ClientThread client(rec, 2, [&] {
        ControlClient c(socket);
        reply = c.result("stop");
        closed = !c.read_line().has_value();  // EOF once the fleet has ended
    });
    RunResult r = run_fleet(fleet_json("whole", containers), root.path(), rec);
    client.join();
    INFO(rec.dump());
    REQUIRE(client.failure == "");
    CHECK(reply.size() == 2);
    CHECK(closed);
    CHECK(r.result.stopped);
    CHECK(r.result.all_succeeded);
    CHECK(ms_between(rec.only("web", EventKind::Exited), rec.only("db", EventKind::Exited)) >= 0);
    CHECK_FALSE(fs::exists(socket));
}

TEST_CASE("reload: add, remove and change one container each - the rest keep their pid", "[control-fleet]") {
    TempDir root;
    Recorder rec;
    const fs::path file = root.path() / "fleet.json";
    auto write = [&](const std::string& text) {
        std::ofstream(file.string() + ".tmp") << text;
        fs::rename(file.string() + ".tmp", file);
    };
    Json v1;
    v1["keep"] = sh("echo armed; exec sleep 30");
    v1["change"] = sh("echo version=1; echo armed; exec sleep 30");
    v1["gone"] = sh("echo armed; exec sleep 30");
    Json v2;
    v2["keep"] = v1["keep"];
    v2["change"] = sh("echo version=2; exec sleep 30");
    v2["new"] = sh("exec sleep 30");
    write(fleet_json("reload", v1));

    json before, invalid, summary, after, events_seen = json::array();
    fs::path socket = root.path() / "reload" / "control.sock";
    ClientThread client(rec, 3, [&] {
        ControlClient c(socket);
        ControlClient events(socket);
        events.result("events");
        before = c.result("ps");
        // An invalid file is reported and changes nothing.
        write(R"({"name": "reload", "containers": {"keep": {"image": "busybox", "command": 5}}})");
        invalid = c.call("reload");
        write(fleet_json("reload", v2));
        summary = c.result("reload");
        wait_state(c, "new", "running");
        after = wait_state(c, "change", "running");
        after = c.result("ps");
        c.result("stop");
        while (std::optional<std::string> line = events.read_line()) events_seen.push_back(json::parse(*line));
    });
    RunOptions options;
    options.config_path = file;
    RunResult r = run_fleet(fleet_json("reload", v1), root.path(), rec, options);
    client.join();
    INFO(rec.dump());
    REQUIRE(client.failure == "");

    CHECK(invalid["ok"] == false);
    CHECK(invalid["error"] == "/containers/keep/command: expected a string or an array of strings");
    CHECK(summary == json{{"started", {"new"}}, {"stopped", {"gone"}}, {"restarted", {"change"}}, {"unchanged", {"keep"}}});
    REQUIRE(after.size() == 3);
    CHECK(after[0]["name"] == "keep");
    CHECK(after[0]["pid"] == row_of(before, "keep")["pid"]);  // untouched
    CHECK(after[1]["name"] == "change");
    CHECK(after[1]["pid"] != row_of(before, "change")["pid"]);
    CHECK(after[2]["name"] == "new");
    CHECK(rec.values("change", "version") == std::vector<std::string>{"1", "2"});
    CHECK(rec.events_of("keep").size() == 2);  // started, then exited at the final stop
    CHECK(rec.only("gone", EventKind::Exited).signal == SIGKILL);  // sleep as pid 1 ignores SIGTERM
    CHECK_FALSE(fs::exists(r.state_dir / "gone"));
    // The events stream saw the reload's starts, then the fleet's end.
    std::set<std::string> started;
    for (const json& line : events_seen)
        if (line.contains("event") && line["event"]["event"] == "started") started.insert(line["event"]["container"]);
    CHECK(started == std::set<std::string>{"change", "new"});
}

}  // namespace
}  // namespace rusty::test
