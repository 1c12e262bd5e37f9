// A fleet's cgroups against the real kernel: limits that hold (OOM kill,
// pids), the values written to the limit files, containers that outlive
// their init (pid: host), CPU quota, pause/resume, no leaks, and the lock
// that keeps two supervisors of one fleet apart.
//
// As in the lifecycle tests, hooks run on the reactor thread inside
// Fleet::run(); they only record (and act on the fleet), and every
// assertion is made once run() has returned.
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>

#include "cgroup/cgroup.hpp"
#include "cgroup/layout.hpp"
#include "reactor/awaitable.hpp"
#include "tests/cgroup/helpers.hpp"

namespace rusty::test {
namespace {

namespace asio = boost::asio;
using reactor::Task;
using Clock = std::chrono::steady_clock;

bool contains(const std::vector<std::string>& lines, std::string_view needle) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

TEST_CASE("a container over its mem_limit is OOM-killed, and its unlimited neighbour runs on", "[fleet-cgroups]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    pid_t hog_pid = 0;
    bool hog_waiting = false, neighbour_up = false, go_sent = false, hog_exited = false;
    bool after_line_after_hog_exit = false;
    // The hog allocates only once the neighbour runs: a signal from here,
    // when both have said so.
    auto maybe_go = [&] {
        if (hog_pid > 0 && hog_waiting && neighbour_up && !go_sent) go_sent = send_signal(hog_pid, SIGUSR1);
    };
    rec.on_event_hook = [&](const Event& e) {
        if (e.container == "hog" && e.kind == EventKind::Started) hog_pid = e.pid;
        if (e.container == "hog" && (e.kind == EventKind::Exited || e.kind == EventKind::Failed)) {
            hog_exited = true;
            fleet->request_stop();  // the neighbour's TERM trap prints "after"
        }
        maybe_go();
    };
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c == "hog" && line == "waiting") hog_waiting = true;
        if (c == "neighbour" && line == "up") neighbour_up = true;
        if (c == "neighbour" && line == "after") after_line_after_hog_exit = hog_exited;
        maybe_go();
    };
    Json containers;
    Json hog = sh(R"(trap 'go=1' USR1; echo waiting; while [ -z "$go" ]; do sleep 0.05; done;)"
                  R"( x=$(head -c 100000000 /dev/zero | tr '\0' a); echo survived ${#x})");
    hog["mem_limit"] = "32m";
    hog["memswap_limit"] = "32m";
    containers["hog"] = hog;
    containers["neighbour"] = sh("trap 'echo after; exit 0' TERM; echo up; while :; do sleep 0.1; done");
    RunOptions opts;
    opts.stop_grace = 3000ms;  // room for the trap, after the current `sleep 0.1`
    RunResult r = run_fleet(fleet_json("oom", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    REQUIRE(go_sent);
    Event hog_exit = rec.only("hog", EventKind::Exited);
    CHECK(hog_exit.reason == "OOMKilled");
    CHECK(hog_exit.signal == SIGKILL);
    CHECK_FALSE(contains(rec.out("hog"), "survived"));
    const auto hog_events = rec.events_of("hog");
    const auto ooms = std::count_if(hog_events.begin(), hog_events.end(),
                                    [](const Event& e) { return e.kind == EventKind::Oom; });
    CHECK(ooms >= 1);
    CHECK(hog_events.back().kind == EventKind::Exited);  // Oom before Exited

    Event neighbour_exit = rec.only("neighbour", EventKind::Exited);
    CHECK(neighbour_exit.exit_code == 0);
    CHECK(neighbour_exit.reason.empty());
    CHECK(neighbour_exit.ts > hog_exit.ts);
    CHECK(rec.out("neighbour") == std::vector<std::string>{"up", "after"});
    CHECK(after_line_after_hog_exit);
    CHECK(rec.count(EventKind::Oom) == static_cast<std::size_t>(ooms));  // none for the neighbour
    CHECK(r.elapsed < 20s);
}

TEST_CASE("a fork loop under pids_limit 20 cannot exceed 20 tasks", "[fleet-cgroups]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    std::vector<std::uint64_t> pids_seen;  // pids.current, sampled on each line
    std::string stats_error;
    rec.on_output_hook = [&](const std::string& c, OutputStream stream, std::string_view line) {
        if (c != "forker" || stream != OutputStream::Stdout) return;
        try {
            cgroup::Stats s = fleet->stats("forker");
            if (s.pids) pids_seen.push_back(*s.pids);
            else stats_error = "no pids in stats";
        } catch (const std::exception& e) {
            stats_error = e.what();
        }
        if (line.rfind("count=", 0) == 0) fleet->request_stop();
    };
    // The loop runs in a subshell: a failed fork ends the shell that tried.
    // The outer shell counts the forks through a file (builtins only: no
    // fork needed) and waits for its own `sleep 60` until the stop.
    Json forker = sh(
        "trap 'exit 0' TERM; : > /tmp/forks; sleep 60 &"
        " ( i=0; while [ $i -lt 40 ]; do sleep 3 & echo x >> /tmp/forks; echo forked=$i; i=$((i+1)); done );"
        " n=0; while read l; do n=$((n+1)); done < /tmp/forks; echo count=$n; wait");
    forker["pids_limit"] = 20;
    Json containers;
    containers["forker"] = forker;
    RunOptions opts;
    opts.stop_grace = 2000ms;
    RunResult r = run_fleet(fleet_json("forks", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    const std::string count_text = rec.value("forker", "count");
    REQUIRE(count_text.find_first_not_of("0123456789") == std::string::npos);
    const int count = std::stoi(count_text);
    CHECK(count <= 19);  // the init takes one of the 20
    CHECK(count >= 10);  // the limit, not something else, stopped the loop
    CHECK(count < 40);   // some forks failed
    CHECK(rec.values("forker", "forked").size() == static_cast<std::size_t>(count));
    CHECK(contains(rec.err("forker"), "can't fork"));

    CHECK(stats_error.empty());
    REQUIRE_FALSE(pids_seen.empty());
    const std::uint64_t most = *std::max_element(pids_seen.begin(), pids_seen.end());
    CHECK(most <= 20);
    CHECK(pids_seen.back() >= 2);  // read while the sleeps ran
    Event exit = rec.only("forker", EventKind::Exited);
    CHECK(exit.exit_code == 0);
    CHECK(r.elapsed < 20s);
}

TEST_CASE("the limit files hold the fleet.json values, and the init is in its v2 cgroup", "[fleet-cgroups]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    const cgroup::Layout layout = cgroup::Layout::detect();
    INFO(layout.describe());
    REQUIRE(layout.mode() == cgroup::Mode::Hybrid);  // this host's shape, which the expectations below assume
    pid_t init_pid = 0;
    std::string path;
    std::map<std::string, std::string> files;  // label -> content
    std::vector<std::string> procs;
    bool v2_dir_existed = false;
    rec.on_event_hook = [&](const Event& e) {
        if (e.container == "limits" && e.kind == EventKind::Started) init_pid = e.pid;
    };
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c != "limits" || line != "ready") return;
        path = fleet->cgroup_path("limits");
        const std::string rel = path.substr(path.find_first_not_of('/'));
        auto v1 = [&](const char* controller, const char* file) {
            auto root = layout.v1_root(controller);
            files[std::string(controller) + "/" + file] =
                root ? read_trimmed(*root / rel / file) : "<no v1 " + std::string(controller) + ">";
        };
        v1("memory", "memory.limit_in_bytes");
        v1("pids", "pids.max");
        v1("cpu", "cpu.cfs_quota_us");
        v1("cpu", "cpu.cfs_period_us");
        v1("cpu", "cpu.shares");
        const fs::path v2_dir = layout.v2_root() / rel;
        std::error_code ec;
        v2_dir_existed = fs::is_directory(v2_dir, ec);
        procs = split_words(read_trimmed(v2_dir / "cgroup.procs"));
        fleet->request_stop();
    };
    Json c = sh("trap 'exit 0' TERM; sleep 60 & echo ready; wait");
    c["mem_limit"] = "32m";
    c["pids_limit"] = 20;
    c["cpus"] = 0.5;
    c["cpu_shares"] = 512;
    Json containers;
    containers["limits"] = c;
    RunOptions opts;
    opts.stop_grace = 2000ms;
    run_fleet(fleet_json("files", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    REQUIRE(init_pid > 0);
    CHECK(path == test_cgroup_parent() + "/files/limits");
    CHECK(files["memory/memory.limit_in_bytes"] == "33554432");
    CHECK(files["pids/pids.max"] == "20");
    CHECK(files["cpu/cpu.cfs_quota_us"] == "50000");
    CHECK(files["cpu/cpu.cfs_period_us"] == "100000");
    CHECK(files["cpu/cpu.shares"] == "512");
    CHECK(v2_dir_existed);
    CHECK(std::find(procs.begin(), procs.end(), std::to_string(init_pid)) != procs.end());
    CHECK(procs.size() == 2);  // the init and its sleep
    CHECK(rec.only("limits", EventKind::Exited).exit_code == 0);
}

TEST_CASE("pid host: the container runs until the init's daemonized grandchild exits", "[fleet-cgroups]") {
    TempDir root;
    Recorder rec;
    Json c = sh("(setsid sleep 1.5 >/dev/null 2>&1 &); echo started");
    c["pid"] = "host";
    Json containers;
    containers["daemon"] = c;
    RunResult r = run_fleet(fleet_json("daemon", containers), root.path(), rec);
    INFO(rec.dump());

    Event started = rec.only("daemon", EventKind::Started);
    Event exited = rec.only("daemon", EventKind::Exited);
    CHECK(rec.out("daemon") == std::vector<std::string>{"started"});
    CHECK(seconds(exited.ts - started.ts) >= 1.4);
    CHECK(exited.exit_code == 0);  // the init's
    CHECK_FALSE(exited.signal.has_value());
    CHECK(exited.pid == started.pid);
    CHECK(r.result.all_succeeded);
    CHECK(r.elapsed < 10s);
}

TEST_CASE("pid host: stopping kills the init's daemonized grandchild too", "[fleet-cgroups]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    UniqueFd grandchild;
    pid_t gc_pid = 0;
    std::string gc_cmdline, gc_cgroups, container_cgroup, error;
    // Busybox runs applets through /proc/self/exe (comm "exe"): the command
    // line tells the grandchild has become `sleep 60`, which happens a moment
    // after the shell printed its pid; until then it is a forked shell.
    auto confirm_and_stop = [&]() -> Task<void> {
        const std::string proc = "/proc/" + std::to_string(gc_pid);
        const auto give_up = Clock::now() + 5s;
        for (;;) {
            gc_cmdline = read_trimmed(proc + "/cmdline");
            std::replace(gc_cmdline.begin(), gc_cmdline.end(), '\0', ' ');
            while (!gc_cmdline.empty() && gc_cmdline.back() == ' ') gc_cmdline.pop_back();
            if (gc_cmdline.rfind("sleep 60", 0) == 0 || Clock::now() > give_up) break;
            co_await reactor::sleep_for(10ms);
        }
        gc_cgroups = read_trimmed(proc + "/cgroup");
        container_cgroup = fleet->cgroup_path("daemon");
        fleet->request_stop();
    };
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c != "daemon" || line.rfind("gc=", 0) != 0 || gc_pid) return;
        gc_pid = std::stoi(std::string(line.substr(3)));
        // Pinned at once: the process stays in the container's cgroup until
        // the stop, so the pid cannot be reused meanwhile.
        grandchild.reset(sys::raw_pidfd_open(gc_pid));
        asio::co_spawn(fleet->executor(), confirm_and_stop(), [&](std::exception_ptr e) {
            if (!e) return;
            error = what(e);
            fleet->request_stop();
        });
    };
    Json c = sh("setsid sleep 60 >/dev/null 2>&1 & echo gc=$!; sleep 60");
    c["pid"] = "host";
    Json containers;
    containers["daemon"] = c;
    RunOptions opts;
    opts.stop_grace = 300ms;
    RunResult r = run_fleet(fleet_json("stopgc", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    CHECK(error.empty());
    REQUIRE(gc_pid > 0);
    REQUIRE(grandchild);
    CHECK(gc_cmdline == "sleep 60");
    INFO(gc_cgroups);
    const auto gc_lines = split_words(gc_cgroups);  // its v2 cgroup is the container's
    CHECK(std::find(gc_lines.begin(), gc_lines.end(), "0::" + container_cgroup) != gc_lines.end());
    // A pidfd polls readable once its process has exited.
    pollfd p{grandchild.get(), POLLIN, 0};
    CHECK(::poll(&p, 1, 2000) == 1);
    CHECK((p.revents & POLLIN) != 0);
    Event exited = rec.only("daemon", EventKind::Exited);
    CHECK(exited.signal == SIGTERM);  // the init's: the shell took the stop signal
    CHECK(r.elapsed < 10s);
}

TEST_CASE("cpus 0.2 caps a busy loop, pause stops its CPU use and resume restarts it", "[fleet-cgroups]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    Gate spinning, paused, resumed;
    struct Window {
        std::uint64_t usec = 0;
        double secs = 0;
    };
    std::optional<Window> running, frozen, thawed;
    bool paused_in_time = false, resumed_in_time = false, spawned = false;
    std::string error;

    auto usage = [&]() -> std::uint64_t {
        cgroup::Stats s = fleet->stats("spin");
        if (!s.cpu_usage_usec) throw Error("spin: no cpu_usage_usec in the stats");
        return *s.cpu_usage_usec;
    };
    auto window = [&](Clock::duration d) -> Task<Window> {
        const std::uint64_t u0 = usage();
        const auto t0 = Clock::now();
        co_await reactor::sleep_for(d);
        const std::uint64_t u1 = usage();
        co_return Window{u1 - u0, seconds(Clock::now() - t0)};
    };
    auto script = [&]() -> Task<void> {
        if (!co_await wait_for(spinning, 10s)) throw Error("the loop never started");
        co_await reactor::sleep_for(200ms);  // past the first, unthrottled period
        running = co_await window(1s);
        fleet->pause("spin");
        paused_in_time = co_await wait_for(paused, 5s);
        frozen = co_await window(500ms);
        fleet->resume("spin");
        resumed_in_time = co_await wait_for(resumed, 5s);
        thawed = co_await window(500ms);
        fleet->request_stop();
    };
    rec.on_event_hook = [&](const Event& e) {
        if (e.container != "spin") return;
        if (e.kind == EventKind::Paused) paused.fire();
        if (e.kind == EventKind::Resumed) resumed.fire();
        if (e.kind == EventKind::Started && !spawned) {
            spawned = true;
            asio::co_spawn(fleet->executor(), script(), [&](std::exception_ptr e) {
                if (!e) return;
                error = what(e);
                fleet->request_stop();
            });
        }
    };
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c == "spin" && line == "spinning") spinning.fire();
    };
    Json c = sh("trap 'exit 0' TERM; echo spinning; while :; do :; done");
    c["cpus"] = 0.2;
    Json containers;
    containers["spin"] = c;
    RunOptions opts;
    opts.stop_grace = 1000ms;
    RunResult r = run_fleet(fleet_json("cpu", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    CHECK(error.empty());
    CHECK(paused_in_time);
    CHECK(resumed_in_time);
    REQUIRE(running);
    REQUIRE(frozen);
    REQUIRE(thawed);
    const double rate = static_cast<double>(running->usec) / 1e6 / running->secs;
    INFO("running: " << running->usec << " us in " << running->secs << " s; frozen: " << frozen->usec << " us in "
                     << frozen->secs << " s; thawed: " << thawed->usec << " us in " << thawed->secs << " s");
    CHECK(rate >= 0.1);
    CHECK(rate <= 0.35);
    CHECK(frozen->usec < 10'000);
    CHECK(thawed->usec >= 30'000);  // ~100 ms expected in 0.5 s at 0.2 CPU
    CHECK(static_cast<double>(thawed->usec) / 1e6 / thawed->secs <= 0.35);

    std::vector<EventKind> kinds;
    for (const Event& e : rec.events_of("spin")) kinds.push_back(e.kind);
    CHECK(kinds == std::vector<EventKind>{EventKind::Started, EventKind::Paused, EventKind::Resumed,
                                          EventKind::Exited});
    CHECK(r.elapsed < 20s);
}

TEST_CASE("a fleet with limits leaves no fd, child or cgroup behind", "[fleet-cgroups]") {
    TempDir root;
    warm_busybox_image(root.path());  // the image stays, as it should
    const std::size_t fds_before = open_fd_count();
    REQUIRE(child_pids().empty());

    Json limited = sh("echo hi");
    limited["mem_limit"] = "32m";
    limited["memswap_limit"] = "64m";
    limited["mem_reservation"] = "16m";
    limited["pids_limit"] = 20;
    limited["cpus"] = 0.5;
    limited["cpu_shares"] = 512;
    Json hog = sh(R"(x=$(head -c 100000000 /dev/zero | tr '\0' a))");
    hog["mem_limit"] = "16m";
    hog["memswap_limit"] = "16m";
    Json daemon = sh("(setsid sleep 0.3 >/dev/null 2>&1 &); echo started");
    daemon["pid"] = "host";
    daemon["pids_limit"] = 10;
    Json containers;
    containers["limited"] = limited;
    containers["hog"] = hog;
    containers["daemon"] = daemon;
    {
        Recorder rec;
        run_fleet(fleet_json("leaks", containers), root.path(), rec);
        INFO(rec.dump());
        CHECK(rec.only("limited", EventKind::Exited).exit_code == 0);
        CHECK(rec.only("hog", EventKind::Exited).reason == "OOMKilled");
        CHECK(rec.only("daemon", EventKind::Exited).exit_code == 0);
        CHECK(rec.count(EventKind::Failed) == 0);
    }
    CHECK(child_pids().empty());
    CHECK(open_fd_count() == fds_before);
    CHECK_NO_TEST_CGROUPS();
}

TEST_CASE("a second supervisor of the same fleet and cgroup parent is refused, and the first runs on", "[fleet-cgroups]") {
    TempDir root1, root2, root3;
    const std::string json = fleet_json("twin", Json{{"only", sh("echo hi")}});
    auto options = [](const fs::path& state_root) {
        FleetOptions o;
        o.state_root = state_root;
        o.stop_grace = 200ms;
        o.handle_signals = false;
        o.cgroup_parent = test_cgroup_parent();
        return o;
    };
    const cgroup::Layout layout = cgroup::Layout::detect();
    REQUIRE_FALSE(layout.v2_root().empty());
    const fs::path fleet_dir = layout.v2_root() / test_cgroup_parent().substr(1) / "twin";
    // Tries to construct a second Fleet; returns what it threw ("" if nothing).
    auto second = [&](const fs::path& state_root) -> std::string {
        Recorder none;
        try {
            Fleet other(parse_fleet(json, state_root, "test"), options(state_root), none);
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    };

    Recorder rec;
    {
        Fleet first(parse_fleet(json, root1.path(), "test"), options(root1.path()), rec);
        struct stat held {};
        REQUIRE(::stat(fleet_dir.c_str(), &held) == 0);

        const std::string refused = second(root2.path());
        INFO(refused);
        CHECK(refused.find("in use by another supervisor") != std::string::npos);
        // Nothing of the first is disturbed: its locked directory is still
        // the one at the path, so a third supervisor is refused as well.
        struct stat now {};
        CHECK(::stat(fleet_dir.c_str(), &now) == 0);
        CHECK(now.st_ino == held.st_ino);
        const std::string third = second(root3.path());
        INFO(third);
        CHECK(third.find("in use by another supervisor") != std::string::npos);

        Watchdog watchdog(20s, rec);
        FleetResult result;
        try {
            result = first.run();
        } catch (...) {
            rec.kill_running();
            throw;
        }
        INFO(rec.dump());
        CHECK_FALSE(watchdog.fired());
        CHECK(result.all_succeeded);
        CHECK(rec.only("only", EventKind::Exited).exit_code == 0);
        CHECK(rec.out("only") == std::vector<std::string>{"hi"});
    }
    CHECK_NO_TEST_CGROUPS();
}

}  // namespace
}  // namespace rusty::test
