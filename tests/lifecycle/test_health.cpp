// Health checks (healthcheck, on_unhealthy) and readiness (ready: notify):
// the check runs inside the running container, its transitions are events,
// and dependents wait for service_healthy or READY=1.
#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {
namespace {

// A busybox container running `script`, with a healthcheck of `check`
// (CMD-SHELL) and the given fields.
Json checked(const std::string& script, const std::string& check, Json health = Json::object()) {
    Json c = sh(script);
    health["test"] = check;
    if (!health.contains("interval")) health["interval"] = "50ms";
    if (!health.contains("retries")) health["retries"] = 2;
    c["healthcheck"] = health;
    return c;
}

std::vector<EventKind> kinds_of(const Recorder& rec, const std::string& name) {
    std::vector<EventKind> kinds;
    for (const Event& e : rec.events_of(name)) kinds.push_back(e.kind);
    return kinds;
}

// The processes of this test (host pids) whose command line contains `text`.
std::size_t processes_running(const std::string& text) {
    std::size_t n = 0;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::ifstream in(entry.path() / "cmdline");
        std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find(text) != std::string::npos) ++n;
    }
    return n;
}

TEST_CASE("a health check runs inside the container - healthy once it passes", "[health]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    Json containers;
    // The flag file exists only in the container's own root, and the
    // hostname only in its UTS namespace: the check sees both, so it runs
    // inside. The first checks fail (no flag yet), within the 2 retries.
    containers["web"] = checked("sleep 0.12; touch /tmp/flag; exec sleep 30",
                                "test -f /tmp/flag && test \"$(hostname)\" = web-host && "
                                "test \"$(cat /proc/self/cgroup | wc -l)\" -ge 1",
                                Json{{"retries", 5}});
    containers["web"]["hostname"] = "web-host";
    rec.on_event_hook = [&](const Event& e) {
        if (e.kind == EventKind::Healthy) fleet->request_stop();
    };
    run_fleet(fleet_json("health", containers), root.path(), rec, {}, &fleet);
    INFO(rec.dump());
    CHECK(rec.count(EventKind::Healthy) == 1);
    CHECK(rec.count(EventKind::Unhealthy) == 0);
    const Event healthy = rec.only("web", EventKind::Healthy);
    CHECK(ms_between(rec.only("web", EventKind::Started), healthy) >= 100);
    CHECK(to_json(healthy)["event"] == "healthy");
}

TEST_CASE("health checks: unhealthy after retries with the check's output - on_unhealthy restarts", "[health]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    Json containers;
    containers["sick"] = checked("trap 'exit 143' TERM; while true; do sleep 0.05; done", "echo boom; exit 3");
    containers["sick"]["on_unhealthy"] = "restart";
    containers["sick"]["restart"] = "no";  // on_unhealthy restarts all the same
    containers["plain"] = checked("exec sleep 30", "echo nope >&2; exit 1", Json{{"retries", 1}});
    int started = 0;
    bool plain_unhealthy = false;
    rec.on_event_hook = [&](const Event& e) {
        if (e.container == "sick" && e.kind == EventKind::Started && ++started == 2 && plain_unhealthy)
            fleet->request_stop();
        if (e.container == "plain" && e.kind == EventKind::Unhealthy) {
            plain_unhealthy = true;
            if (started >= 2) fleet->request_stop();
        }
    };
    run_fleet(fleet_json("sick", containers), root.path(), rec, {}, &fleet);
    INFO(rec.dump());
    const std::vector<Event> sick = rec.events_of("sick");
    REQUIRE(sick.size() >= 4);
    CHECK(sick[0].kind == EventKind::Started);
    CHECK(sick[1].kind == EventKind::Unhealthy);
    CHECK(sick[1].reason == "exit code 3: boom");
    CHECK(sick[2].kind == EventKind::Exited);
    CHECK(sick[2].exit_code == 143);  // stopped with its stop signal, which it handled
    CHECK(sick[3].kind == EventKind::Started);
    CHECK(sick[3].restarts == 1);
    // Without on_unhealthy it is an event only; stderr counts as output.
    CHECK(rec.only("plain", EventKind::Unhealthy).reason == "exit code 1: nope");
    CHECK(rec.only("plain", EventKind::Started).restarts == 0);
}

TEST_CASE("health checks: a check over its timeout is killed and fails", "[health]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    Json containers;
    containers["slow"] = checked("exec sleep 30", "exec sleep 7.25", Json{{"timeout", "100ms"}, {"retries", 1}});
    std::size_t checks_left = 99;
    rec.on_event_hook = [&](const Event& e) {
        if (e.kind == EventKind::Unhealthy) {
            checks_left = processes_running("sleep 7.25");
            fleet->request_stop();
        }
    };
    run_fleet(fleet_json("slow", containers), root.path(), rec, {}, &fleet);
    INFO(rec.dump());
    CHECK(rec.only("slow", EventKind::Unhealthy).reason == "timed out after 100ms");
    CHECK(checks_left == 0);  // killed before it was reported
}

TEST_CASE("health checks: failures in the start period do not count", "[health]") {
    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    Json containers;
    containers["late"] = checked("exec sleep 30", "false",
                                 Json{{"start_period", "400ms"}, {"start_interval", "40ms"}, {"retries", 1}});
    containers["missing"] = checked("exec sleep 30", "true", Json{{"retries", 1}});
    containers["missing"]["healthcheck"]["test"] = Json::array({"CMD", "/no/such/check"});
    int unhealthy = 0;
    rec.on_event_hook = [&](const Event& e) {
        if (e.kind == EventKind::Unhealthy && ++unhealthy == 2) fleet->request_stop();
    };
    run_fleet(fleet_json("late", containers), root.path(), rec, {}, &fleet);
    INFO(rec.dump());
    const long long after = ms_between(rec.only("late", EventKind::Started), rec.only("late", EventKind::Unhealthy));
    CHECK(after >= 400);
    CHECK(after < 5000);
    // A check that cannot run is a failure, with the reason.
    CHECK(rec.only("missing", EventKind::Unhealthy).reason ==
          "exec \"/no/such/check\": No such file or directory");
}

TEST_CASE("health checks: a check in flight ends with the init, pid: host too", "[health]") {
    TempDir root;
    Recorder rec;
    Json containers;
    // The check would run for 20 s; the init ends after 0.3 s. With the
    // host's pid namespace nothing else would end the check, and it would
    // hold the container's cgroup (and its exit) until its 30 s timeout.
    containers["short"] = checked("sleep 0.3", "exec sleep 20.5", Json{{"timeout", "30s"}});
    containers["short"]["pid"] = "host";
    RunResult r = run_fleet(fleet_json("short", containers), root.path(), rec);
    INFO(rec.dump());
    CHECK(rec.only("short", EventKind::Exited).exit_code == 0);
    CHECK(r.elapsed < std::chrono::seconds(10));
    CHECK(processes_running("sleep 20.5") == 0);
}

TEST_CASE("depends_on service_healthy: the dependent starts only once the check passed", "[health]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["db"] = checked("sleep 0.3; touch /tmp/up; exec sleep 30", "test -f /tmp/up");
    containers["app"] = sh("exit 0");
    containers["app"]["depends_on"] = Json{{"db", Json{{"condition", "service_healthy"}}}};
    Fleet* fleet = nullptr;
    rec.on_event_hook = [&](const Event& e) {
        if (e.container == "app" && e.kind == EventKind::Exited) fleet->request_stop();
    };
    run_fleet(fleet_json("healthy-dep", containers), root.path(), rec, {}, &fleet);
    INFO(rec.dump());
    const Event healthy = rec.only("db", EventKind::Healthy);
    const Event app = rec.only("app", EventKind::Started);
    CHECK(ms_between(rec.only("db", EventKind::Started), healthy) >= 300);
    CHECK(ms_between(healthy, app) >= 0);
    // Nothing of app came before db was healthy.
    CHECK(kinds_of(rec, "app") == std::vector<EventKind>{EventKind::Started, EventKind::Exited});
}

TEST_CASE("depends_on service_healthy: a dependency that ends unhealthy fails its dependent", "[health]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["db"] = checked("sleep 0.3", "false");
    containers["app"] = sh("exit 0");
    containers["app"]["depends_on"] = Json{{"db", Json{{"condition", "service_healthy"}}}};
    run_fleet(fleet_json("never-healthy", containers), root.path(), rec);
    INFO(rec.dump());
    CHECK(rec.only("app", EventKind::Failed).error == "dependency \"db\" never became healthy");
}

// A copy of the busybox image with rusty-test-notify in /bin.
fs::path notify_rootfs(const fs::path& root) {
    const fs::path rootfs = root / "notify-rootfs";
    fs::copy(warm_busybox_image(root), rootfs, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::copy_file(RUSTY_TEST_NOTIFY_BIN, rootfs / "bin" / "notify");
    return rootfs;
}

TEST_CASE("ready: notify - NOTIFY_SOCKET, READY=1 and STATUS=, and dependents wait for it", "[health]") {
    TempDir root;
    const fs::path rootfs = notify_rootfs(root.path());
    Recorder rec;
    Json containers;
    auto from_rootfs = [&](const std::string& script) {
        return Json{{"rootfs", rootfs.string()}, {"command", Json::array({"sh", "-c", script})}};
    };
    // Any user may notify: the socket is reachable as nobody too.
    containers["db"] = from_rootfs("echo socket=$NOTIFY_SOCKET; sleep 0.3; notify 'STATUS=warming up'; "
                                   "sleep 0.1; notify 'READY=1\\nSTATUS=serving'; exec sleep 30");
    containers["db"]["ready"] = "notify";
    containers["db"]["user"] = "nobody";
    containers["app"] = sh("exit 0");
    containers["app"]["depends_on"] = Json::array({"db"});
    Fleet* fleet = nullptr;
    rec.on_event_hook = [&](const Event& e) {
        if (e.container == "app" && e.kind == EventKind::Exited) fleet->request_stop();
    };
    run_fleet(fleet_json("notify", containers), root.path(), rec, {}, &fleet);
    INFO(rec.dump());
    CHECK(rec.value("db", "socket") == "/dev/rusty/notify.sock");
    const Event ready = rec.only("db", EventKind::Ready);
    CHECK(ready.reason == "serving");
    CHECK(ms_between(rec.only("db", EventKind::Started), ready) >= 400);
    CHECK(ms_between(ready, rec.only("app", EventKind::Started)) >= 0);
    CHECK(rec.err("db").empty());
}

TEST_CASE("ready: notify - a dependency that ends without READY=1 fails its dependent", "[health]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["db"] = sh("sleep 0.1");
    containers["db"]["ready"] = "notify";
    containers["app"] = sh("exit 0");
    containers["app"]["depends_on"] = Json::array({"db"});
    run_fleet(fleet_json("never-ready", containers), root.path(), rec);
    INFO(rec.dump());
    CHECK(rec.only("app", EventKind::Failed).error == "dependency \"db\" never sent READY=1");
    CHECK(rec.count(EventKind::Ready) == 0);
}

}  // namespace
}  // namespace rusty::test
