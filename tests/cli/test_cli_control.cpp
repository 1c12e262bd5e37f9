// The client verbs (ps, stop, kill, events, …) without a running fleet:
// usage errors, finding the socket, and round trips against a fake fleet — a
// thread in this process that answers on a unix socket with canned replies.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli_helpers.hpp"
#include "core/fd.hpp"

namespace fs = std::filesystem;
using namespace rusty::cli_test;
using nlohmann::json;

namespace {

sockaddr_un address_of(const fs::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    return addr;
}

// A socket file nobody listens on, as a supervisor killed with SIGKILL leaves.
void make_stale_socket(const fs::path& path) {
    fs::create_directories(path.parent_path());
    rusty::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr = address_of(path);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
}

// What the fake fleet answers to a verb: lines to send (a JSON object with
// "ok" gets the request's id), then whether to close the connection.
struct Canned {
    std::vector<json> lines;
    bool close_after = false;
};

// Serves one connection at a time on `path` from a thread, answering each
// request with the canned lines for its verb (an error for other verbs) and
// recording the requests.
class FakeFleet {
public:
    FakeFleet(const fs::path& path, std::map<std::string, Canned> answers)
        : answers_(std::move(answers)), listener_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        fs::create_directories(path.parent_path());
        sockaddr_un addr = address_of(path);
        REQUIRE(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listener_.get(), 8) == 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeFleet() {
        stop_ = true;
        thread_.join();
    }
    std::vector<json> requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    // Waits up to 50 ms for `fd` to be readable; false if it is time to stop.
    bool wait_readable(int fd) {
        while (!stop_) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) return true;
        }
        return false;
    }
    void serve() {
        while (wait_readable(listener_.get())) {
            rusty::UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (conn) serve_connection(conn.get());
        }
    }
    void serve_connection(int fd) {
        std::string buffer;
        while (wait_readable(fd)) {
            char chunk[4096];
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) return;
            buffer.append(chunk, static_cast<std::size_t>(n));
            for (std::size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
                json request = json::parse(buffer.substr(0, nl));
                buffer.erase(0, nl + 1);
                {
                    std::lock_guard lock(mutex_);
                    requests_.push_back(request);
                }
                auto it = answers_.find(request.value("verb", ""));
                Canned canned = it != answers_.end()
                                    ? it->second
                                    : Canned{{{{"ok", false}, {"error", "unknown verb in the fake fleet"}}}, false};
                for (json line : canned.lines) {
                    if (line.is_object() && line.contains("ok")) line["id"] = request["id"];
                    std::string text = line.dump() + "\n";
                    if (::send(fd, text.data(), text.size(), MSG_NOSIGNAL) < 0) return;
                }
                if (canned.close_after) return;
            }
        }
    }

    std::map<std::string, Canned> answers_;
    rusty::UniqueFd listener_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<json> requests_;
    std::thread thread_;
};

json ok(json result) { return {{"ok", true}, {"result", std::move(result)}}; }

const json kPs = json::array({
    {{"name", "web"}, {"state", "running"}, {"pid", 4242}, {"restarts", 1}, {"started", "2020-01-01T00:00:00.5Z"},
     {"exit_code", nullptr}, {"signal", nullptr}, {"health", "healthy"}, {"ready", nullptr}, {"status", "serving"},
     {"cgroup", "/rusty-supervisor/demo/web"}},
    {{"name", "broken"}, {"state", "exited"}, {"pid", 0}, {"restarts", 0}, {"started", nullptr}, {"exit_code", 3},
     {"signal", nullptr}, {"health", nullptr}, {"ready", nullptr}, {"status", nullptr}, {"cgroup", nullptr}},
    {{"name", "hog"}, {"state", "exited"}, {"pid", 0}, {"restarts", 0}, {"started", nullptr}, {"exit_code", nullptr},
     {"signal", "SIGKILL"}, {"reason", "OOMKilled"}, {"health", nullptr}, {"ready", nullptr}, {"status", nullptr},
     {"cgroup", nullptr}},
});

// The line of `out` that starts with `name` followed by a blank.
std::string row_of(const std::string& out, const std::string& name) {
    for (const auto& line : complete_lines(out))
        if (line.starts_with(name + " ")) return line;
    return "<no row " + name + ">";
}

}  // namespace

TEST_CASE("client verbs: usage errors exit 2", "[cli]") {
    Scratch scratch;
    const std::string root = scratch.root().string();
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{"ps", "--bogus"}, "--bogus"},
        {{"frobnicate"}, "frobnicate"},
        {{"kill", "-s", "FOO", "web"}, "unknown signal \"FOO\""},
        {{"kill", "--signal", "0", "web"}, "unknown signal \"0\""},
        {{"kill", "--signal", "65"}, "unknown signal \"65\""},
        {{"stop", "-t", "-1"}, "--timeout"},
        {{"stop", "-t", "nan"}, "--timeout"},
        {{"restart", "--timeout", "soon"}, "--timeout"},
        {{"start"}, "NAME is required"},
        {{"pause"}, "NAME is required"},
        {{"ps", "--config", (scratch.path() / "missing.json").string()}, "missing.json"},
        {{}, "--config is required"},  // the run mode is unchanged
    };
    for (const Case& c : cases) {
        std::vector<std::string> args = c.args;
        args.insert(args.end(), {"--root", root});
        if (c.args.empty()) args = {};
        const RunResult r = run_supervisor(args, 10s);
        INFO(r.describe());
        CHECK(r.exited);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(c.message) != std::string::npos);
        CHECK(r.out.empty());
    }
}

TEST_CASE("client verbs: finding the fleet's socket", "[cli]") {
    Scratch scratch;
    const std::string root = scratch.root().string();

    SECTION("no fleet under --root") {
        for (bool exists : {false, true}) {
            if (exists) fs::create_directories(scratch.root() / "images");
            const RunResult r = run_supervisor({"ps", "--root", root}, 10s);
            INFO(r.describe());
            CHECK(r.exit_code == 1);
            CHECK(r.err == "rusty-supervisor: no fleet is running under " + root + "\n");
        }
    }
    SECTION("a named fleet that is not running") {
        const RunResult r = run_supervisor({"stop", "--fleet", "demo", "--root", root}, 10s);
        INFO(r.describe());
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("fleet \"demo\" is not running under " + root) != std::string::npos);
    }
    SECTION("several fleets: choose one") {
        FakeFleet a(scratch.root() / "alpha" / "control.sock", {{"ps", {{ok(json::array())}}}});
        FakeFleet b(scratch.root() / "beta" / "control.sock", {{"ps", {{ok(kPs)}}}});
        const RunResult r = run_supervisor({"ps", "--root", root}, 10s);
        INFO(r.describe());
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("several fleets are running under " + root + " (alpha, beta)") != std::string::npos);
        CHECK(r.err.find("--fleet") != std::string::npos);

        const RunResult by_name = run_supervisor({"ps", "--fleet", "beta", "--root", root}, 10s);
        INFO(by_name.describe());
        CHECK(by_name.exit_code == 0);
        CHECK(row_of(by_name.out, "web").find("4242") != std::string::npos);

        // -c names the fleet by its file's "name" (before or after the verb).
        const fs::path file = scratch.write("fleet.json", fleet("alpha", R"({"c": {"image": "busybox", "command": "true"}})"));
        const RunResult by_config = run_supervisor({"ps", "-c", file.string(), "--root", root, "--json"}, 10s);
        INFO(by_config.describe());
        CHECK(by_config.exit_code == 0);
        CHECK(by_config.out == "[]\n");
        const RunResult before = run_supervisor({"--root", root, "-c", file.string(), "ps", "--json"}, 10s);
        INFO(before.describe());
        CHECK(before.out == "[]\n");
    }
    SECTION("a stale socket: cannot connect, named") {
        make_stale_socket(scratch.root() / "demo" / "control.sock");
        const RunResult r = run_supervisor({"ps", "--root", root}, 10s);
        INFO(r.describe());
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("cannot connect to the control socket \"" + (scratch.root() / "demo" / "control.sock").string() +
                         "\": Connection refused") != std::string::npos);
    }
}

TEST_CASE("client verbs: round trips against a fake fleet", "[cli]") {
    Scratch scratch;
    const fs::path socket = scratch.path() / "fake.sock";
    const json event_started = {{"ts", "2026-11-30T00:49:01.123456789Z"}, {"container", "web"}, {"event", "started"},
                                {"pid", 12}, {"restarts", 0}};
    const json event_exited = {{"ts", "2026-11-30T00:49:02Z"}, {"container", "web"}, {"event", "exited"}, {"pid", 12},
                               {"exit_code", nullptr}, {"signal", "SIGKILL"}, {"reason", "OOMKilled"}, {"restarts", 0}};
    const json event_new = {{"container", "web"}, {"event", "teleported"}, {"reason", "to the moon"}};
    FakeFleet fake(socket, {
        {"ps", {{ok(kPs)}}},
        {"stats", {{ok(json::array({{{"name", "web"}, {"memory_bytes", 12'897'484}, {"memory_peak_bytes", 1'610'612'736},
                                     {"cpu_usage_usec", 1'234'567}, {"pids", 3}},
                                    {{"name", "db"}, {"memory_bytes", nullptr}, {"memory_peak_bytes", nullptr},
                                     {"cpu_usage_usec", nullptr}, {"pids", nullptr}}}))}}},
        {"kill", {{ok(json::array({{{"name", "web"}, {"ok", true}},
                                   {{"name", "db"}, {"ok", false}, {"error", "db: not running"}}}))}}},
        {"stop", {{ok(json::array({{{"name", "web"}, {"ok", true}}}))}, true}},
        {"restart", {{json{{"ok", false}, {"error", "the fleet is stopping"}}}}},
        {"reload", {{ok({{"started", {"new"}}, {"stopped", json::array()}, {"restarted", {"web", "db"}},
                         {"unchanged", {"cache"}}})}}},
        {"events", {{ok("subscribed"), {{"event", event_started}}, {{"event", event_exited}}, {{"event", event_new}}},
                    true}},
    });
    const std::string sock = socket.string();
    auto run = [&](std::vector<std::string> args) {
        args.insert(args.end(), {"--socket", sock});
        RunResult r = run_supervisor(args, 10s);
        INFO(r.describe());
        CHECK(r.exited);
        return r;
    };

    SECTION("ps: a table, and one JSON array with --json") {
        RunResult r = run({"ps"});
        CHECK(r.exit_code == 0);
        std::vector<std::string> lines = complete_lines(r.out);
        REQUIRE(lines.size() == 4);
        CHECK(lines[0].starts_with("NAME    STATE    HEALTH   PID   RESTARTS  STATUS"));
        CHECK_THAT(row_of(r.out, "web"), Catch::Matches(R"(web +running +healthy +4242 +1 +up \d+d\d\dh, serving)"));
        CHECK_THAT(row_of(r.out, "broken"), Catch::Matches(R"(broken +exited +- +- +0 +exit code 3)"));
        CHECK_THAT(row_of(r.out, "hog"), Catch::Matches(R"(hog +exited +- +- +0 +killed by SIGKILL \(OOMKilled\))"));
        const json request = fake.requests().back();
        CHECK(request["verb"] == "ps");
        CHECK(request["args"] == json({{"names", json::array()}}));
        CHECK(request.contains("id"));

        RunResult j = run({"ps", "--json"});
        CHECK(j.exit_code == 0);
        CHECK(json::parse(j.out) == kPs);
        CHECK(complete_lines(j.out).size() == 1);
    }
    SECTION("stats: human sizes") {
        RunResult r = run({"stats", "web", "db"});
        CHECK(r.exit_code == 0);
        CHECK_THAT(row_of(r.out, "web"), Catch::Matches(R"(web +12\.3MiB +1\.5GiB +1\.23s +3)"));
        CHECK_THAT(row_of(r.out, "db"), Catch::Matches(R"(db +- +- +- +-)"));
        CHECK(fake.requests().back()["args"] == json({{"names", {"web", "db"}}}));
    }
    SECTION("kill: the signal sent by name; a container that failed makes it exit 1") {
        RunResult r = run({"kill", "-s", "hup", "web", "db"});
        CHECK(r.exit_code == 1);
        CHECK(r.out == "web: sent SIGHUP\n");
        CHECK(r.err == "rusty-supervisor: db: not running\n");
        CHECK(fake.requests().back()["args"] == json({{"names", {"web", "db"}}, {"signal", "SIGHUP"}}));
        run({"kill", "--signal", "40"});
        CHECK(fake.requests().back()["args"] == json({{"names", json::array()}, {"signal", "40"}}));
    }
    SECTION("stop: the timeout in seconds; stopping all waits for the fleet to close") {
        RunResult r = run({"stop", "-t", "2.5"});
        CHECK(r.exit_code == 0);
        CHECK(r.out == "web stopped\n");
        CHECK(fake.requests().back()["args"] == json({{"names", json::array()}, {"timeout", 2.5}}));
    }
    SECTION("an error reply: printed, exit 1") {
        RunResult r = run({"restart", "web"});
        CHECK(r.exit_code == 1);
        CHECK(r.out.empty());
        CHECK(r.err == "rusty-supervisor: the fleet is stopping\n");
        RunResult unknown = run({"pause", "web"});
        CHECK(unknown.exit_code == 1);
        CHECK(unknown.err == "rusty-supervisor: unknown verb in the fake fleet\n");
    }
    SECTION("reload: a summary") {
        RunResult r = run({"reload"});
        CHECK(r.exit_code == 0);
        CHECK(r.out == "started: new\nrestarted: web, db\nunchanged: cache\n");
        CHECK(fake.requests().back()["args"] == json::object());
    }
    SECTION("events: lines until the fleet ends the stream, then exit 0") {
        RunResult r = run({"events"});
        CHECK(r.exit_code == 0);
        CHECK(r.out ==
              "web started (pid 12)\n"
              "web killed by SIGKILL (out of memory: the OOM killer struck)\n"
              "web teleported: to the moon\n");
        RunResult j = run({"events", "--json"});
        CHECK(j.exit_code == 0);
        CHECK(json_lines(j.out) == std::vector<json>{event_started, event_exited, event_new});
        // Names filter the stream (client side).
        RunResult other = run({"events", "db"});
        CHECK(other.exit_code == 0);
        CHECK(other.out.empty());
        CHECK(json_lines(run({"events", "--json", "web", "db"}).out).size() == 3);
    }
}
