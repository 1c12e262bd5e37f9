// The fleet as a whole: many containers, output forwarding, stopping (by
// request_stop() and by a signal), and what is left once it is gone.
#include <poll.h>
#include <signal.h>

#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {
namespace {

std::string pending_signals() {
    std::ifstream in("/proc/self/status");
    std::string line, r;
    while (std::getline(in, line))
        if (line.rfind("SigPnd:", 0) == 0 || line.rfind("ShdPnd:", 0) == 0) r += line + " ";
    return r;
}

TEST_CASE("200 containers: every one starts and exits, and nothing is left behind", "[lifecycle]") {
    TempDir root;
    // Built before the baselines: the image stays, as it should.
    warm_busybox_image(root.path());
    const std::size_t fds_before = open_fd_count();
    const std::size_t mounts_before = line_count("/proc/self/mountinfo");
    REQUIRE(child_pids().empty());

    constexpr int kCount = 200;
    Json containers;
    for (int i = 0; i < kCount; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "c%03d", i);
        containers[name] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
    }
    fs::path state_dir;
    {
        Recorder rec;
        RunResult r = run_fleet(fleet_json("many", containers), root.path(), rec);
        state_dir = r.state_dir;
        INFO(rec.dump());
        CHECK(r.result.all_succeeded);
        CHECK(rec.count(EventKind::Started) == kCount);
        CHECK(rec.count(EventKind::Exited) == kCount);
        CHECK(rec.count(EventKind::Failed) == 0);
        std::set<std::string> exited_ok;
        std::set<pid_t> pids;
        for (const Event& e : rec.events()) {
            if (e.kind == EventKind::Exited && e.exit_code == 0 && !e.signal) exited_ok.insert(e.container);
            if (e.kind == EventKind::Started) pids.insert(e.pid);
        }
        CHECK(exited_ok.size() == kCount);
        CHECK(pids.size() == kCount);
        // Each container: Started strictly before its Exited.
        for (auto it = containers.begin(); it != containers.end(); ++it) {
            auto events = rec.events_of(it.key());
            REQUIRE(events.size() == 2);
            CHECK(events[0].kind == EventKind::Started);
            CHECK(events[1].kind == EventKind::Exited);
        }
    }
    CHECK(child_pids().empty());  // containers and the helper all reaped
    CHECK(open_fd_count() == fds_before);
    CHECK(line_count("/proc/self/mountinfo") == mounts_before);
    CHECK_FALSE(fs::exists(state_dir));
}

TEST_CASE("output: each stream in order, an unterminated last line, a long line in pieces", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    constexpr int kBig = 100 * 1024;
    std::string big;
    for (int i = 0; i < kBig; ++i) big += static_cast<char>('a' + i % 26);
    Json containers;
    containers["mixed"] = sh(
        "i=0; while [ $i -lt 300 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done;"
        "printf 'last-out-no-newline'; printf 'last-err-no-newline' >&2");
    containers["big"] = sh(
        "echo begin;"
        "awk 'BEGIN { for (i = 0; i < " + std::to_string(kBig) +
        "; i++) printf \"%c\", 97 + i % 26; printf \"\\n\" }';"
        "echo end");
    containers["empty_lines"] = sh("printf 'a\\n\\n\\nb\\n'");
    containers["silent"] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
    run_fleet(fleet_json("output", containers), root.path(), rec);

    std::vector<std::string> want_out, want_err;
    for (int i = 0; i < 300; ++i) {
        want_out.push_back("out" + std::to_string(i));
        want_err.push_back("err" + std::to_string(i));
    }
    want_out.push_back("last-out-no-newline");
    want_err.push_back("last-err-no-newline");
    CHECK(rec.out("mixed") == want_out);
    CHECK(rec.err("mixed") == want_err);

    const auto& pieces = rec.out("big");
    REQUIRE(pieces.size() >= 3);
    CHECK(pieces.front() == "begin");
    CHECK(pieces.back() == "end");
    std::string joined;
    for (std::size_t i = 1; i + 1 < pieces.size(); ++i) {
        CHECK(pieces[i].size() <= 16 * 1024);
        CHECK_FALSE(pieces[i].empty());
        joined += pieces[i];
    }
    CHECK(pieces.size() > 3);  // in pieces
    CHECK(joined.size() == big.size());
    CHECK(joined == big);
    CHECK(rec.err("big").empty());

    CHECK(rec.out("empty_lines") == std::vector<std::string>{"a", "", "", "b"});
    CHECK(rec.out("silent").empty());
    CHECK(rec.err("silent").empty());
}

TEST_CASE("output is fully delivered before the Exited event", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    std::size_t lines_at_exit = 0;
    rec.on_event_hook = [&](const Event& e) {
        if (e.kind == EventKind::Exited) lines_at_exit = rec.out(e.container).size();
    };
    Json containers;
    containers["burst"] = sh("i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done");
    run_fleet(fleet_json("drain", containers), root.path(), rec);
    CHECK(rec.out("burst").size() == 2000);
    CHECK(lines_at_exit == 2000);
}

TEST_CASE("request_stop: SIGTERM, then SIGKILL after the grace - a TERM trap exits 0", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    bool sleeper_started = false, trap_ready = false, stop_requested = false;
    std::chrono::system_clock::time_point stop_at;
    auto maybe_stop = [&] {
        if (sleeper_started && trap_ready && !stop_requested && fleet) {
            stop_requested = true;
            stop_at = std::chrono::system_clock::now();
            fleet->request_stop();
            fleet->request_stop();  // a second request changes nothing
        }
    };
    rec.on_event_hook = [&](const Event& e) {
        if (e.kind == EventKind::Started && e.container == "sleeper") sleeper_started = true;
        maybe_stop();
    };
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        // The trap is set only once the shell says so.
        if (c == "trapper" && line == "ready") trap_ready = true;
        maybe_stop();
    };
    Json containers;
    // As pid 1 without a handler, sleep ignores SIGTERM: only SIGKILL ends it.
    containers["sleeper"] = Json{{"image", "busybox"}, {"command", Json::array({"sleep", "100"})}};
    containers["trapper"] = sh("trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done");
    RunOptions opts;
    // Long enough for the trap to run (after the current `sleep 0.1`) even
    // on a loaded machine.
    opts.stop_grace = 1000ms;
    RunResult r = run_fleet(fleet_json("stop", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    CHECK(stop_requested);
    CHECK(r.result.stop_signal == 0);  // not stopped by a signal
    CHECK_FALSE(r.result.all_succeeded);
    Event sleeper = rec.only("sleeper", EventKind::Exited);
    CHECK(sleeper.signal == SIGKILL);
    CHECK_FALSE(sleeper.exit_code.has_value());
    // SIGKILL came only after the grace.
    CHECK(sleeper.ts - stop_at >= opts.stop_grace);
    Event trapper = rec.only("trapper", EventKind::Exited);
    CHECK(trapper.exit_code == 0);
    CHECK_FALSE(trapper.signal.has_value());
    CHECK(std::count(rec.out("trapper").begin(), rec.out("trapper").end(), "got-term") == 1);
    CHECK(trapper.ts - stop_at < opts.stop_grace);  // before the SIGKILL
    CHECK(r.elapsed < 20s);
}

TEST_CASE("request_stop with pid 1 ignoring SIGTERM and a 100 ms grace ends in SIGKILL", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    std::chrono::system_clock::time_point stop_at;
    int ready = 0;
    rec.on_output_hook = [&](const std::string&, OutputStream, std::string_view line) {
        if (line == "ready" && ++ready == 2) {
            stop_at = std::chrono::system_clock::now();
            fleet->request_stop();
        }
    };
    Json containers;
    containers["ignorer"] = sh("trap '' TERM; echo ready; while true; do sleep 0.1; done");
    containers["handler"] = sh("trap 'echo term-ignored' TERM; echo ready; while true; do sleep 0.1; done");
    RunOptions opts;
    opts.stop_grace = 100ms;
    run_fleet(fleet_json("stopkill", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    REQUIRE(ready == 2);
    for (const char* name : {"ignorer", "handler"}) {
        INFO(name);
        Event e = rec.only(name, EventKind::Exited);
        CHECK(e.signal == SIGKILL);
        CHECK_FALSE(e.exit_code.has_value());
        CHECK(e.ts - stop_at >= 100ms);
    }
}

TEST_CASE("request_stop before a container has started: it never starts, or stops at once", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    bool requested = false;
    rec.on_event_hook = [&](const Event& e) {
        if (!requested && e.kind == EventKind::Started) {
            requested = true;
            fleet->request_stop();
        }
    };
    Json containers;
    for (int i = 0; i < 20; ++i)
        containers["s" + std::to_string(i)] =
            Json{{"image", "busybox"}, {"command", Json::array({"sleep", "100"})}};
    RunOptions opts;
    opts.stop_grace = 50ms;
    RunResult r = run_fleet(fleet_json("early", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());
    CHECK(requested);
    CHECK(r.elapsed < 10s);
    // Every container that started was killed; none is left running.
    CHECK(rec.count(EventKind::Started) == rec.count(EventKind::Exited));
    CHECK(rec.count(EventKind::Failed) == 0);
    for (const Event& e : rec.events())
        if (e.kind == EventKind::Exited) CHECK(e.signal == SIGKILL);
    CHECK(child_pids().empty());
}

TEST_CASE("SIGTERM to the process stops the fleet when handle_signals is set", "[lifecycle][signals]") {
    TempDir root;
    Recorder rec;
    bool sleeper_started = false, trap_ready = false, raised = false;
    auto maybe_raise = [&] {
        if (sleeper_started && trap_ready && !raised) {
            raised = true;
            ::kill(::getpid(), SIGTERM);
        }
    };
    rec.on_event_hook = [&](const Event& e) {
        if (e.kind == EventKind::Started && e.container == "sleeper") sleeper_started = true;
        maybe_raise();
    };
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c == "trapper" && line == "ready") trap_ready = true;
        maybe_raise();
    };
    sigset_t before;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &before);
    REQUIRE_FALSE(sigismember(&before, SIGTERM));

    Json containers;
    containers["sleeper"] = Json{{"image", "busybox"}, {"command", Json::array({"sleep", "100"})}};
    containers["trapper"] = sh("trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done");
    RunOptions opts;
    opts.handle_signals = true;
    opts.stop_grace = 1000ms;
    RunResult r = run_fleet(fleet_json("sig", containers), root.path(), rec, opts);
    INFO(rec.dump());

    CHECK(raised);
    CHECK(r.result.stop_signal == SIGTERM);
    CHECK_FALSE(r.result.all_succeeded);
    CHECK(rec.only("sleeper", EventKind::Exited).signal == SIGKILL);
    CHECK(rec.only("trapper", EventKind::Exited).exit_code == 0);
    // The signal was consumed and the mask is back as it was.
    sigset_t after;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &after);
    CHECK_FALSE(sigismember(&after, SIGTERM));
    CHECK_FALSE(sigismember(&after, SIGINT));
    CHECK_FALSE(sigismember(&after, SIGCHLD));
    CHECK(pending_signals() == "SigPnd:\t0000000000000000 ShdPnd:\t0000000000000000 ");
}

TEST_CASE("a second SIGINT kills the fleet at once", "[lifecycle][signals]") {
    TempDir root;
    Recorder rec;
    std::chrono::system_clock::time_point second_at;
    bool ready = false, termed = false;
    rec.on_output_hook = [&](const std::string&, OutputStream, std::string_view line) {
        if (line == "ready" && !ready) {
            ready = true;
            ::kill(::getpid(), SIGINT);
        }
        // The first SIGINT was read (the container got its SIGTERM), so a
        // second one is not merged with it.
        if (line == "term" && !termed) {
            termed = true;
            second_at = std::chrono::system_clock::now();
            ::kill(::getpid(), SIGINT);
        }
    };
    Json containers;
    containers["handler"] = sh("trap 'echo term' TERM; echo ready; while true; do sleep 0.1; done");
    RunOptions opts;
    opts.handle_signals = true;
    opts.stop_grace = 10s;
    RunResult r = run_fleet(fleet_json("sigint", containers), root.path(), rec, opts);
    INFO(rec.dump());
    REQUIRE(ready);
    REQUIRE(termed);
    CHECK(r.result.stop_signal == SIGINT);
    Event e = rec.only("handler", EventKind::Exited);
    CHECK(e.signal == SIGKILL);
    CHECK(e.ts - second_at < 5s);  // not after the 10 s grace
    CHECK(pending_signals() == "SigPnd:\t0000000000000000 ShdPnd:\t0000000000000000 ");
}

TEST_CASE("a fleet is locked against a second supervisor - run() runs once",
          "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["a"] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
    FleetSpec spec = parse_fleet(fleet_json("locked", containers), root.path(), "x");
    FleetOptions options;
    options.state_root = root.path();
    options.handle_signals = false;
    {
        Fleet first(spec, options, rec);
        Recorder other;
        CHECK_THROWS_WITH(Fleet(spec, options, other), Catch::Contains("already running"));
        FleetResult result = first.run();
        CHECK(result.all_succeeded);
        CHECK_THROWS_WITH(first.run(), Catch::Contains("twice"));
    }
    CHECK_FALSE(fs::exists(root.path() / "locked"));
    CHECK(child_pids().empty());
}

TEST_CASE("output: no piece is over 16 KiB, and a 16 KiB line is one line", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    constexpr int kMax = 16 * 1024;
    Json containers;
    // dd writes the whole 40 KiB line and its newline with one write(2), so
    // the supervisor reads them in one go.
    containers["one_write"] = sh("head -c 40000 /dev/zero | tr '\\0' a > /tmp/l; echo >> /tmp/l;"
                                 "dd if=/tmp/l bs=65536 count=1 2>/dev/null; echo end");
    // Exactly 16 KiB, then the newline a little later, in a read of its own.
    containers["exact"] = sh("head -c " + std::to_string(kMax) +
                             " /dev/zero | tr '\\0' b; sleep 0.2; echo; echo next");
    run_fleet(fleet_json("pieces", containers), root.path(), rec);
    INFO(rec.dump());

    const auto& pieces = rec.out("one_write");
    REQUIRE_FALSE(pieces.empty());
    CHECK(pieces.back() == "end");
    std::string joined;
    for (std::size_t i = 0; i + 1 < pieces.size(); ++i) {
        INFO("piece " << i << " of " << pieces[i].size() << " bytes");
        CHECK(pieces[i].size() <= kMax);
        joined += pieces[i];
    }
    CHECK(joined == std::string(40000, 'a'));

    CHECK(rec.only("exact", EventKind::Exited).exit_code == 0);
    CHECK(rec.out("exact") == std::vector<std::string>{std::string(kMax, 'b'), "next"});
}

TEST_CASE("background processes die with the container's init", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Json containers;
    // The sleeps hold stdout and stderr open; they go with pid 1's namespace.
    containers["bg"] = sh("sleep 100 & sleep 100 >&2 & echo started-bg; exit 3");
    RunResult r = run_fleet(fleet_json("bg", containers), root.path(), rec);
    INFO(rec.dump());
    CHECK(rec.only("bg", EventKind::Exited).exit_code == 3);
    CHECK(rec.out("bg") == std::vector<std::string>{"started-bg"});
    CHECK(r.elapsed < 10s);
    CHECK(child_pids().empty());
}

TEST_CASE("a Fleet destroyed without run() leaves nothing behind", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    const std::size_t fds_before = open_fd_count();
    Json containers;
    containers["never"] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
    FleetOptions options;
    options.state_root = root.path();
    options.handle_signals = false;
    fs::path state_dir;
    {
        Fleet fleet(parse_fleet(fleet_json("idle", containers), root.path(), "x"), options, rec);
        state_dir = fleet.state_dir();
        CHECK(fs::is_directory(state_dir));
    }
    CHECK(rec.events().empty());
    CHECK_FALSE(fs::exists(state_dir));
    CHECK(child_pids().empty());
    CHECK(open_fd_count() == fds_before);
}

TEST_CASE("a container's output is reported after its Started event", "[lifecycle]") {
    TempDir root;
    // One sequence for events and output alike.
    struct Sequencer : Recorder {
        std::vector<std::string> order;
        void on_event(const Event& e) override {
            order.push_back(e.container + " " + std::string(to_string(e.kind)));
            Recorder::on_event(e);
        }
        void on_output(const std::string& c, OutputStream s, std::string_view line) override {
            order.push_back(c + " output");
            Recorder::on_output(c, s, line);
        }
    } rec;
    Json containers;
    for (int i = 0; i < 10; ++i) {
        containers["e" + std::to_string(i)] = Json{{"image", "busybox"}, {"command", Json::array({"echo", "hi"})}};
    }
    run_fleet(fleet_json("order", containers), root.path(), rec);
    for (int i = 0; i < 10; ++i) {
        std::string name = "e" + std::to_string(i);
        INFO(name);
        auto started = std::find(rec.order.begin(), rec.order.end(), name + " started");
        auto output = std::find(rec.order.begin(), rec.order.end(), name + " output");
        auto exited = std::find(rec.order.begin(), rec.order.end(), name + " exited");
        REQUIRE(started != rec.order.end());
        REQUIRE(output != rec.order.end());
        REQUIRE(exited != rec.order.end());
        CHECK(started < output);
        CHECK(output < exited);
    }
}

TEST_CASE("a dead helper fails every container instead of hanging", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Json containers;
    for (int i = 0; i < 5; ++i)
        containers["h" + std::to_string(i)] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
    FleetOptions options;
    options.state_root = root.path();
    options.handle_signals = false;
    FleetResult result;
    {
        Fleet fleet(parse_fleet(fleet_json("nohelper", containers), root.path(), "x"), options, rec);
        // The helper, forked by this Fleet, is the test's only child.
        auto children = child_pids();
        REQUIRE(children.size() == 1);
        UniqueFd helper = sys::pidfd_open(std::stoi(children.front()));
        REQUIRE(sys::pidfd_send_signal(helper.get(), SIGKILL));
        pollfd p{helper.get(), POLLIN, 0};
        REQUIRE(::poll(&p, 1, 10'000) == 1);  // dead (the Fleet reaps it)
        Watchdog watchdog(30s, rec);
        result = fleet.run();
        CHECK_FALSE(watchdog.fired());
    }
    INFO(rec.dump());
    CHECK_FALSE(result.all_succeeded);
    CHECK(rec.count(EventKind::Failed) == 5);
    CHECK(rec.count(EventKind::Started) == 0);
    for (const Event& e : rec.events()) CHECK_THAT(e.error, Catch::Contains("helper"));
    CHECK(child_pids().empty());
    CHECK_FALSE(fs::exists(root.path() / "nohelper"));
}

TEST_CASE("a fleet named \"images\" cannot delete the shared busybox image", "[lifecycle]") {
    TempDir root;
    const fs::path image = warm_busybox_image(root.path());
    REQUIRE(fs::is_symlink(image / "bin/sh"));
    Recorder rec;
    Json containers;
    containers["busybox"] = sh("echo ran");
    // Refused (or, were it run, run without touching the image).
    try {
        run_fleet(fleet_json("images", containers), root.path(), rec);
    } catch (const Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("overlaps the image directory"));
    }
    INFO(rec.dump());
    CHECK(rec.count(EventKind::Failed) == 0);
    CHECK(fs::is_symlink(image / "bin/sh"));
    CHECK(fs::is_regular_file(image / "bin/busybox"));
    CHECK(fs::is_regular_file(image / "etc/passwd"));
    CHECK(child_pids().empty());
}

TEST_CASE("container names that are the fleet's own state files are refused before anything starts",
          "[lifecycle]") {
    TempDir root;
    for (const char* name : {"lock", "supervisor.json"}) {
        INFO(name);
        Recorder rec;
        Json containers;
        containers["web"] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
        containers[name] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
        FleetOptions options;
        options.state_root = root.path();
        options.handle_signals = false;
        CHECK_THROWS_WITH(Fleet(parse_fleet(fleet_json("names", containers), root.path(), "x"), options, rec),
                          Catch::Contains("reserved"));
        CHECK(rec.events().empty());
        CHECK_FALSE(fs::exists(root.path() / "names"));
    }
    CHECK(child_pids().empty());
}

}  // namespace
}  // namespace rusty::test
