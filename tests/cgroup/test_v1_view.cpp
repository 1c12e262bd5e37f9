// The pure-v1 code paths against the real kernel. This host is hybrid (v1
// hierarchies for the controllers, a cgroup2 mount at /sys/fs/cgroup/unified
// for placement and events); a Fleet given a Layout made from its mountinfo
// without the cgroup2 line behaves exactly as on a host with no cgroup2 mount:
// its containers join v1 cgroups in memory, pids, cpu, cpuacct and freezer
// themselves (the init writes "0" to each cgroup.procs), a container ends
// with its init and whatever it left is killed by the v1 kill path (freeze,
// SIGKILL every pid, thaw), pause and resume use the v1 freezer, and OOM
// kills come through an eventfd registered in cgroup.event_control.
//
// As in the other fleet tests, hooks run on the reactor thread inside
// Fleet::run(); they only record (and act on the fleet), and every assertion
// is made once run() has returned.
#include <poll.h>
#include <signal.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
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

// The hierarchies a container joins on a pure-v1 host.
constexpr const char* kJoined[] = {"memory", "pids", "cpu", "cpuacct", "freezer"};

// The v2 directory the test's cgroup parent would have (on this host,
// /sys/fs/cgroup/unified/rusty-test-<pid>), or empty without a cgroup2 mount.
fs::path unified_test_dir() {
    const cgroup::Layout host = cgroup::Layout::detect();
    if (host.v2_root().empty()) return {};
    return host.v2_root() / test_cgroup_parent().substr(1);
}

// /proc/<pid>/cmdline with its NULs as blanks, trimmed.
std::string cmdline_of(pid_t pid) {
    std::string text = read_trimmed("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(text.begin(), text.end(), '\0', ' ');
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

// "N:controllers:path" lines (/proc/<pid>/cgroup) -> controller -> path;
// "" names the v2 hierarchy.
std::map<std::string, std::string> cgroup_lines(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t a = line.find(':');
        const std::size_t b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        const std::string controllers = line.substr(a + 1, b - a - 1);
        const std::string path = line.substr(b + 1);
        if (controllers.empty()) out[""] = path;
        std::size_t start = 0;
        while (start <= controllers.size() && !controllers.empty()) {
            std::size_t comma = controllers.find(',', start);
            if (comma == std::string::npos) comma = controllers.size();
            out[controllers.substr(start, comma - start)] = path;
            start = comma + 1;
        }
    }
    return out;
}

std::string joined_paths(const std::map<std::string, std::string>& lines) {
    std::string s;
    for (const char* c : kJoined) {
        auto it = lines.find(c);
        s += std::string(c) + "=" + (it == lines.end() ? "<none>" : it->second) + " ";
    }
    return s;
}

bool has_pid(const std::string& procs, pid_t pid) {
    const auto pids = split_words(procs);
    return std::find(pids.begin(), pids.end(), std::to_string(pid)) != pids.end();
}

bool pidfd_exited(int pidfd, int timeout_ms) {
    pollfd p{pidfd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

// The test's own bound on a container that outlives what should end it:
// unless `ended` fires within `limit`, SIGKILLs the processes behind `pidfds`
// (started by this test's container, pinned by the test) and sets `rescued`,
// so that a failure costs seconds, not the `sleep 30`.
Task<void> rescue_after(Gate& ended, Clock::duration limit, std::vector<int> pidfds, bool& rescued) {
    if (co_await wait_for(ended, limit)) co_return;
    rescued = true;
    for (int fd : pidfds) sys::raw_pidfd_send_signal(fd, SIGKILL);
}

std::vector<EventKind> kinds_of(const Recorder& rec, const std::string& container) {
    std::vector<EventKind> kinds;
    for (const Event& e : rec.events_of(container)) kinds.push_back(e.kind);
    return kinds;
}

std::string kinds_text(const std::vector<EventKind>& kinds) {
    std::string s;
    for (EventKind k : kinds) s += std::string(to_string(k)) + " ";
    return s;
}

TEST_CASE("pure-v1 view of this host's real v1 hierarchies: a container gets memory, pids, cpu, cpuacct and "
          "freezer cgroups, its limits in the v1 files, and a cgroup namespace rooted at them",
          "[v1-view]") {
    const cgroup::Layout view = pure_v1_view();
    INFO(view.describe());
    REQUIRE(view.mode() == cgroup::Mode::V1);
    for (const char* c : kJoined) REQUIRE(view.v1_root(c));

    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    pid_t init_pid = 0;
    std::string path, init_cgroups, error;
    std::map<std::string, bool> dir_exists, init_in_procs;  // controller -> …
    std::map<std::string, std::string> files;
    bool unified_dir_existed = true, cpuset_dir_existed = true;
    std::optional<cgroup::Stats> stats;
    rec.on_event_hook = [&](const Event& e) {
        if (e.container == "limits" && e.kind == EventKind::Started) init_pid = e.pid;
    };
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c != "limits" || line != "ready") return;
        try {
            path = fleet->cgroup_path("limits");
            const std::string rel = path.substr(path.find_first_not_of('/'));
            for (const char* controller : kJoined) {
                const fs::path dir = *view.v1_root(controller) / rel;
                std::error_code ec;
                dir_exists[controller] = fs::is_directory(dir, ec);
                init_in_procs[controller] = has_pid(read_trimmed(dir / "cgroup.procs"), init_pid);
            }
            const fs::path memory = *view.v1_root("memory") / rel;
            files["memory.limit_in_bytes"] = read_trimmed(memory / "memory.limit_in_bytes");
            files["memory.memsw.limit_in_bytes"] = read_trimmed(memory / "memory.memsw.limit_in_bytes");
            files["pids.max"] = read_trimmed(*view.v1_root("pids") / rel / "pids.max");
            std::error_code ec;
            const fs::path unified = unified_test_dir();
            unified_dir_existed = !unified.empty() && fs::exists(unified, ec);
            cpuset_dir_existed = view.v1_root("cpuset") && fs::exists(*view.v1_root("cpuset") / rel, ec);
            init_cgroups = read_trimmed("/proc/" + std::to_string(init_pid) + "/cgroup");
            stats = fleet->stats("limits");
        } catch (const std::exception& e) {
            error = e.what();
        }
        fleet->request_stop();
    };
    // cat is a child of the init: same cgroups, same cgroup namespace.
    Json c = sh("trap 'exit 0' TERM; cat /proc/self/cgroup; sleep 60 & echo ready; wait");
    c["mem_limit"] = "32m";
    c["pids_limit"] = 20;
    Json containers;
    containers["limits"] = c;
    RunOptions opts = v1_options();
    opts.stop_grace = 3000ms;
    opts.limit = 20'000ms;
    RunResult r = run_fleet(fleet_json("v1files", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    CHECK(error.empty());
    REQUIRE(init_pid > 0);
    CHECK(path == test_cgroup_parent() + "/v1files/limits");
    for (const char* controller : kJoined) {
        INFO(controller);
        CHECK(dir_exists[controller]);
        CHECK(init_in_procs[controller]);
    }
    CHECK_FALSE(unified_dir_existed);  // nothing under /sys/fs/cgroup/unified
    CHECK_FALSE(cpuset_dir_existed);   // cpuset only with a cpuset limit
    CHECK(files["memory.limit_in_bytes"] == "33554432");
    CHECK(files["memory.memsw.limit_in_bytes"] == "67108864");  // as much swap again, as Docker does
    CHECK(files["pids.max"] == "20");

    // The host sees the init in the container's cgroups, and not in any v2
    // cgroup of the test's.
    INFO("init's /proc/<pid>/cgroup:\n" << init_cgroups);
    const auto host_view = cgroup_lines(init_cgroups);
    for (const char* controller : kJoined) {
        INFO(controller);
        CHECK(host_view.count(controller) == 1);
        if (host_view.count(controller)) CHECK(host_view.at(controller) == path);
    }
    if (host_view.count("")) CHECK(host_view.at("").find(test_cgroup_parent()) == std::string::npos);
    // Inside, its cgroup namespace is rooted at those cgroups.
    std::string inside_text;
    for (const std::string& line : rec.out("limits"))
        if (line != "ready") inside_text += line + "\n";
    INFO("the container's /proc/self/cgroup:\n" << inside_text);
    const auto inside = cgroup_lines(inside_text);
    INFO(joined_paths(inside));
    for (const char* controller : kJoined) {
        INFO(controller);
        CHECK(inside.count(controller) == 1);
        if (inside.count(controller)) CHECK(inside.at(controller) == "/");
    }

    // Statistics come from the v1 files: every figure known.
    REQUIRE(stats);
    INFO(cgroup::to_json(*stats).dump());
    CHECK(stats->memory_bytes.has_value());
    CHECK(stats->memory_peak_bytes.has_value());
    CHECK(stats->cpu_usage_usec.has_value());
    REQUIRE(stats->pids.has_value());
    CHECK(*stats->pids >= 2);  // the init and its sleep
    CHECK(*stats->pids <= 20);

    Event exited = rec.only("limits", EventKind::Exited);
    CHECK(exited.exit_code == 0);  // the TERM trap
    CHECK(rec.count(EventKind::Failed) == 0);
    CHECK(r.elapsed < 15s);
}

TEST_CASE("pure-v1 view of this host's real v1 hierarchies: with pid host the container ends with its init, "
          "and the v1 kill path kills its daemonized grandchild",
          "[v1-view]") {
    const cgroup::Layout view = pure_v1_view();
    REQUIRE(view.mode() == cgroup::Mode::V1);
    // The grandchild is daemonized (a subshell's child, in a session of its
    // own); the init waits only until it has become `sleep 30`, tells its
    // pid and exits.
    std::string redirect;
    SECTION("the grandchild's output goes to /dev/null, as a daemon's does") { redirect = " >/dev/null 2>&1"; }
    // Here the grandchild holds the output pipes open: the end of the run
    // must not wait for them to close before killing it.
    SECTION("the grandchild keeps the container's stdout and stderr") { redirect = ""; }
    const std::string script =
        "(setsid sleep 30" + redirect + " & echo $! > /tmp/gc); read gc < /tmp/gc; i=0;"
        " while [ $i -lt 500 ]; do case \"$(tr '\\0' ' ' < /proc/$gc/cmdline)\" in sleep*) break;; esac;"
        " sleep 0.01; i=$((i+1)); done; echo gc=$gc";
    INFO(script);

    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    UniqueFd grandchild;
    pid_t gc_pid = 0;
    std::string gc_cmdline, gc_cgroups, container_cgroup, error;
    bool gc_alive_at_line = false, gc_gone_at_exited = false, rescued = false;
    Gate ended;
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c != "daemon" || line.rfind("gc=", 0) != 0 || gc_pid) return;
        try {
            gc_pid = std::stoi(std::string(line.substr(3)));
            // Pinned at once; it stays in the container's cgroups (and so
            // alive) until the kill that follows the init's end.
            grandchild.reset(sys::raw_pidfd_open(gc_pid));
            gc_alive_at_line = grandchild && !pidfd_exited(grandchild.get(), 0);
            gc_cmdline = cmdline_of(gc_pid);
            gc_cgroups = read_trimmed("/proc/" + std::to_string(gc_pid) + "/cgroup");
            container_cgroup = fleet->cgroup_path("daemon");
        } catch (const std::exception& e) {
            error = e.what();
        }
        // The init exits right after this line: the container must end
        // well within 5 s.
        if (grandchild)
            asio::co_spawn(fleet->executor(), rescue_after(ended, 5s, {grandchild.get()}, rescued), asio::detached);
    };
    rec.on_event_hook = [&](const Event& e) {
        if (e.container != "daemon" || e.kind != EventKind::Exited) return;
        ended.fire();
        // Only a look: whether the kill was complete when Exited came.
        if (grandchild) gc_gone_at_exited = pidfd_exited(grandchild.get(), 0);
    };
    Json c = sh(script);
    c["pid"] = "host";
    Json containers;
    containers["daemon"] = c;
    RunOptions opts = v1_options();
    opts.stop_grace = 300ms;
    opts.limit = 20'000ms;
    RunResult r = run_fleet(fleet_json("v1daemon", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    CHECK(error.empty());
    REQUIRE(gc_pid > 0);
    REQUIRE(grandchild);
    CHECK(gc_alive_at_line);
    CHECK(gc_cmdline == "sleep 30");
    INFO("grandchild's /proc/<pid>/cgroup:\n" << gc_cgroups);
    const auto gc_lines = cgroup_lines(gc_cgroups);
    CHECK(container_cgroup == test_cgroup_parent() + "/v1daemon/daemon");
    for (const char* controller : kJoined) {
        INFO(controller);
        CHECK(gc_lines.count(controller) == 1);
        if (gc_lines.count(controller)) CHECK(gc_lines.at(controller) == container_cgroup);
    }
    // The container ended with its init, not 5 s later when the test
    // killed the grandchild itself.
    INFO("the test had to kill the grandchild itself: " << rescued);
    CHECK_FALSE(rescued);
    // A pidfd polls readable once its process has exited.
    INFO("grandchild gone when Exited was reported: " << gc_gone_at_exited);
    CHECK(pidfd_exited(grandchild.get(), 2000));
    Event started = rec.only("daemon", EventKind::Started);
    Event exited = rec.only("daemon", EventKind::Exited);
    CHECK(exited.exit_code == 0);  // the init's
    CHECK_FALSE(exited.signal.has_value());
    CHECK(exited.pid == started.pid);
    INFO("Started to Exited: " << seconds(exited.ts - started.ts) << " s");
    CHECK(seconds(exited.ts - started.ts) < 4);  // with its init, not with the `sleep 30`
    CHECK(r.result.all_succeeded);
    CHECK(r.elapsed < 15s);
}

TEST_CASE("pure-v1 view of this host's real v1 hierarchies: pause and resume through the v1 freezer stop and "
          "restart a busy loop's CPU use, and a stop while paused thaws it to take SIGTERM",
          "[v1-view]") {
    const cgroup::Layout view = pure_v1_view();
    REQUIRE(view.mode() == cgroup::Mode::V1);
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    Gate spinning;
    struct Window {
        std::uint64_t usec = 0;
        double secs = 0;
    };
    std::optional<Window> running, frozen, thawed;
    bool paused_at_once = false, resumed_at_once = false, paused_again_at_once = false, spawned = false;
    std::size_t paused_events = 0, resumed_events = 0;
    std::string state_paused, state_resumed, state_paused_again, error;
    std::optional<Clock::time_point> stop_at, exited_at;
    fs::path freezer_state;

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
    // freezer.state once it has settled (FREEZING is on the way to FROZEN).
    auto settled_state = [&](const char* want) -> Task<std::string> {
        const auto give_up = Clock::now() + 3s;
        std::string state = read_trimmed(freezer_state);
        while (state != want && Clock::now() < give_up) {
            co_await reactor::sleep_for(5ms);
            state = read_trimmed(freezer_state);
        }
        co_return state;
    };
    auto script = [&]() -> Task<void> {
        if (!co_await wait_for(spinning, 10s)) throw Error("the loop never started");
        const std::string path = fleet->cgroup_path("spin");
        freezer_state = *view.v1_root("freezer") / path.substr(1) / "freezer.state";
        running = co_await window(500ms);
        // No cgroup.events on v1: Paused and Resumed come with the request.
        std::size_t before = paused_events;
        fleet->pause("spin");
        paused_at_once = paused_events == before + 1;
        state_paused = co_await settled_state("FROZEN");
        frozen = co_await window(500ms);
        before = resumed_events;
        fleet->resume("spin");
        resumed_at_once = resumed_events == before + 1;
        state_resumed = co_await settled_state("THAWED");
        thawed = co_await window(500ms);
        before = paused_events;
        fleet->pause("spin");
        paused_again_at_once = paused_events == before + 1;
        state_paused_again = co_await settled_state("FROZEN");
        stop_at = Clock::now();
        fleet->request_stop();
    };
    rec.on_event_hook = [&](const Event& e) {
        if (e.container != "spin") return;
        if (e.kind == EventKind::Paused) ++paused_events;
        if (e.kind == EventKind::Resumed) ++resumed_events;
        if (e.kind == EventKind::Exited) exited_at = Clock::now();
        if (e.kind == EventKind::Started && !spawned) {
            spawned = true;
            asio::co_spawn(fleet->executor(), script(), [&](std::exception_ptr ex) {
                if (!ex) return;
                error = what(ex);
                fleet->request_stop();
            });
        }
    };
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c == "spin" && line == "spinning") spinning.fire();
    };
    // Half a CPU: enough to see, and leaves room on a shared 2-core machine.
    Json c = sh("trap 'exit 0' TERM; echo spinning; while :; do :; done");
    c["cpus"] = 0.5;
    Json containers;
    containers["spin"] = c;
    RunOptions opts = v1_options();
    opts.stop_grace = 4000ms;  // the TERM trap, not the kill, must end it
    opts.limit = 20'000ms;
    RunResult r = run_fleet(fleet_json("v1pause", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    CHECK(error.empty());
    CHECK(paused_at_once);
    CHECK(resumed_at_once);
    CHECK(paused_again_at_once);
    CHECK(state_paused == "FROZEN");
    CHECK(state_resumed == "THAWED");
    CHECK(state_paused_again == "FROZEN");
    REQUIRE(running);
    REQUIRE(frozen);
    REQUIRE(thawed);
    INFO("running: " << running->usec << " us in " << running->secs << " s; frozen: " << frozen->usec << " us in "
                     << frozen->secs << " s; thawed: " << thawed->usec << " us in " << thawed->secs << " s");
    CHECK(running->usec >= 30'000);  // ~250 ms expected in 0.5 s at 0.5 CPU
    CHECK(frozen->usec < 10'000);
    CHECK(thawed->usec >= 30'000);

    // The stop came while it was frozen: thawed, it took SIGTERM and its
    // trap ended it, well before the 4 s grace.
    REQUIRE(stop_at);
    REQUIRE(exited_at);
    INFO("stop to exit: " << seconds(*exited_at - *stop_at) << " s");
    CHECK(*exited_at - *stop_at < 2500ms);
    Event exited = rec.only("spin", EventKind::Exited);
    CHECK(exited.exit_code == 0);
    CHECK_FALSE(exited.signal.has_value());
    const auto kinds = kinds_of(rec, "spin");
    INFO(kinds_text(kinds));
    REQUIRE(kinds.size() >= 5);
    CHECK(std::vector<EventKind>(kinds.begin(), kinds.begin() + 4) ==
          std::vector<EventKind>{EventKind::Started, EventKind::Paused, EventKind::Resumed, EventKind::Paused});
    CHECK(kinds.back() == EventKind::Exited);
    CHECK(r.elapsed < 15s);
}

TEST_CASE("pure-v1 view of this host's real v1 hierarchies: a paused container that ignores SIGTERM is killed "
          "after the grace",
          "[v1-view]") {
    const cgroup::Layout view = pure_v1_view();
    REQUIRE(view.mode() == cgroup::Mode::V1);
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    bool paused = false, stopped = false;
    std::string state_paused, error;
    std::optional<Clock::time_point> stop_at, exited_at;
    auto pause_then_stop = [&]() -> Task<void> {
        fleet->pause("stubborn");
        const std::string path = fleet->cgroup_path("stubborn");
        const fs::path state = *view.v1_root("freezer") / path.substr(1) / "freezer.state";
        const auto give_up = Clock::now() + 3s;
        state_paused = read_trimmed(state);
        while (state_paused != "FROZEN" && Clock::now() < give_up) {
            co_await reactor::sleep_for(5ms);
            state_paused = read_trimmed(state);
        }
        stop_at = Clock::now();
        stopped = true;
        fleet->request_stop();
    };
    rec.on_event_hook = [&](const Event& e) {
        if (e.container != "stubborn") return;
        if (e.kind == EventKind::Paused) paused = true;
        if (e.kind == EventKind::Exited) exited_at = Clock::now();
    };
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c != "stubborn" || line != "spinning" || stopped) return;
        asio::co_spawn(fleet->executor(), pause_then_stop(), [&](std::exception_ptr ex) {
            if (!ex) return;
            error = what(ex);
            fleet->request_stop();
        });
    };
    Json c = sh("trap '' TERM; echo spinning; while :; do :; done");
    c["cpus"] = 0.5;
    Json containers;
    containers["stubborn"] = c;
    RunOptions opts = v1_options();
    opts.stop_grace = 600ms;
    opts.limit = 20'000ms;
    RunResult r = run_fleet(fleet_json("v1stubborn", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    CHECK(error.empty());
    CHECK(paused);
    CHECK(state_paused == "FROZEN");
    REQUIRE(stop_at);
    REQUIRE(exited_at);
    const double took = seconds(*exited_at - *stop_at);
    INFO("stop to exit: " << took << " s");
    CHECK(took >= 0.5);  // the grace ran: SIGTERM was ignored
    CHECK(took < 3.0);   // and the kill came right after it
    Event exited = rec.only("stubborn", EventKind::Exited);
    CHECK(exited.signal == SIGKILL);
    CHECK(r.elapsed < 15s);
}

TEST_CASE("pure-v1 view of this host's real v1 hierarchies: mem_limit 32m OOM-kills a hog, reported OOMKilled with "
          "an Oom event",
          "[v1-view]") {
    const cgroup::Layout view = pure_v1_view();
    REQUIRE(view.mode() == cgroup::Mode::V1);
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    pid_t hog_pid = 0;
    bool go_sent = false;
    std::size_t oom_events_while_running = 0;
    rec.on_event_hook = [&](const Event& e) {
        if (e.container != "hog") return;
        if (e.kind == EventKind::Started) hog_pid = e.pid;
        if (e.kind == EventKind::Oom) {
            // Whether the eventfd watch reported it while the container ran
            // (stats answer then), or the end of the run did.
            try {
                fleet->stats("hog");
                ++oom_events_while_running;
            } catch (const std::exception&) {
            }
        }
    };
    // The output pumps start after the OOM eventfd is registered: the hog
    // allocates only once told so, after its first line.
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c == "hog" && line == "waiting" && hog_pid > 0 && !go_sent) go_sent = send_signal(hog_pid, SIGUSR1);
    };
    Json hog = sh(R"(trap 'go=1' USR1; echo waiting; while [ -z "$go" ]; do sleep 0.05; done;)"
                  R"( x=$(head -c 100000000 /dev/zero | tr '\0' a); echo survived ${#x})");
    hog["mem_limit"] = "32m";
    Json containers;
    containers["hog"] = hog;
    RunOptions opts = v1_options();
    opts.limit = 20'000ms;
    RunResult r = run_fleet(fleet_json("v1oom", containers), root.path(), rec, opts, &fleet);
    INFO(rec.dump());

    REQUIRE(go_sent);
    Event exited = rec.only("hog", EventKind::Exited);
    CHECK(exited.reason == "OOMKilled");
    CHECK(exited.signal == SIGKILL);
    for (const std::string& line : rec.out("hog")) CHECK(line.find("survived") == std::string::npos);
    const auto kinds = kinds_of(rec, "hog");
    INFO(kinds_text(kinds));
    CHECK(std::count(kinds.begin(), kinds.end(), EventKind::Oom) >= 1);
    CHECK(kinds.back() == EventKind::Exited);  // Oom before Exited
    INFO("Oom events reported while the container ran (eventfd): " << oom_events_while_running);
    CHECK(rec.count(EventKind::Failed) == 0);
    CHECK(r.elapsed < 15s);
}

TEST_CASE("pure-v1 view of this host's real v1 hierarchies: stopping a pid-host container kills the children its "
          "init left, and leaves no fd, child or cgroup behind",
          "[v1-view]") {
    const cgroup::Layout view = pure_v1_view();
    REQUIRE(view.mode() == cgroup::Mode::V1);
    // The init takes the stop signal's default action: its children stay,
    // for the v1 kill path that follows its end.
    std::string script;
    // The children hold the output pipes open: neither the end of the run
    // nor the stop must wait for them to close before killing them.
    SECTION("children that keep the container's stdout and stderr: sh -c 'sleep 30 & sleep 30 & wait'") {
        script = "sleep 30 & a=$!; sleep 30 & b=$!; echo kids=$a $b; wait";
    }
    SECTION("children with their output elsewhere") {
        script = "sleep 30 >/dev/null 2>&1 & a=$!; sleep 30 >/dev/null 2>&1 & b=$!; echo kids=$a $b; wait";
    }
    INFO(script);

    TempDir root;
    {
        // The image stays, as it should: built before counting.
        Recorder warm;
        Json one;
        one["warm"] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
        run_fleet(fleet_json("v1warm", one), root.path(), warm, v1_options());
    }
    const std::size_t fds_before = open_fd_count();
    REQUIRE(child_pids().empty());

    bool kids_alive = false, kids_in_cgroup = false, kids_gone = false, rescued = false;
    std::string procs, error;
    std::vector<pid_t> kid_pids;
    std::optional<Clock::time_point> stop_at, exited_at;
    {
        Recorder rec;
        Fleet* fleet = nullptr;
        std::vector<UniqueFd> kids;
        Gate ended;
        rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
            if (c != "family" || line.rfind("kids=", 0) != 0 || !kids.empty()) return;
            std::vector<int> fds;
            try {
                const std::string path = fleet->cgroup_path("family");
                kids_alive = kids_in_cgroup = true;
                for (const std::string& word : split_words(std::string(line.substr(5)))) {
                    const pid_t pid = std::stoi(word);
                    kid_pids.push_back(pid);
                    kids.emplace_back(sys::raw_pidfd_open(pid));
                    if (kids.back()) fds.push_back(kids.back().get());
                    kids_alive = kids_alive && kids.back() && !pidfd_exited(kids.back().get(), 0);
                    const auto lines = cgroup_lines(read_trimmed("/proc/" + word + "/cgroup"));
                    for (const char* controller : kJoined)
                        kids_in_cgroup = kids_in_cgroup && lines.count(controller) && lines.at(controller) == path;
                }
                procs = read_trimmed(*view.v1_root("memory") / path.substr(1) / "cgroup.procs");
            } catch (const std::exception& e) {
                error = e.what();
            }
            stop_at = Clock::now();
            fleet->request_stop();
            // Stopped, it must end within the 4 s grace.
            asio::co_spawn(fleet->executor(), rescue_after(ended, 5s, fds, rescued), asio::detached);
        };
        rec.on_event_hook = [&](const Event& e) {
            if (e.container != "family" || e.kind != EventKind::Exited) return;
            exited_at = Clock::now();
            ended.fire();
        };
        Json c = sh(script);
        c["pid"] = "host";
        c["pids_limit"] = 10;
        Json containers;
        containers["family"] = c;
        RunOptions opts = v1_options();
        opts.stop_grace = 4000ms;
        opts.limit = 20'000ms;
        RunResult r = run_fleet(fleet_json("v1stop", containers), root.path(), rec, opts, &fleet);
        INFO(rec.dump());

        kids_gone = kids.size() == 2;
        for (const UniqueFd& fd : kids) kids_gone = kids_gone && fd && pidfd_exited(fd.get(), 2000);
        CHECK(error.empty());
        Event exited = rec.only("family", EventKind::Exited);
        CHECK(exited.signal == SIGTERM);  // the init's
        CHECK(rec.count(EventKind::Failed) == 0);
        REQUIRE(stop_at);
        REQUIRE(exited_at);
        INFO("stop to exit: " << seconds(*exited_at - *stop_at) << " s; the test had to kill the children itself: "
                              << rescued);
        CHECK_FALSE(rescued);
        CHECK(*exited_at - *stop_at < 2500ms);  // with the init, not after the 4 s grace
        CHECK(r.elapsed < 15s);
    }
    REQUIRE(kid_pids.size() == 2);
    CHECK(kids_alive);
    INFO("memory cgroup.procs before the stop: " << procs);
    CHECK(kids_in_cgroup);
    CHECK(split_words(procs).size() == 3);  // the init and its two sleeps
    for (pid_t pid : kid_pids) CHECK(has_pid(procs, pid));
    CHECK(kids_gone);
    CHECK(child_pids().empty());
    CHECK(open_fd_count() == fds_before);
    CHECK_NO_TEST_CGROUPS();
}

}  // namespace
}  // namespace rusty::test
