// The start pool (lifecycle/stub_pool.hpp): stubs made ahead of time, claimed
// by starts and restarts. Whether a run came from a stub or from the helper,
// the container must be the same: its own namespaces, its cgroups named
// after it with its limits, and nothing left behind.
#include <signal.h>

#include <fstream>
#include <map>

#include "cgroup/layout.hpp"
#include "core/strings.hpp"
#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {
namespace {

using namespace std::chrono_literals;

// This process's children (it is the supervisor) named `comm`.
std::vector<pid_t> children_named(const std::string& comm) {
    std::vector<pid_t> found;
    for (const std::string& pid : child_pids()) {
        std::ifstream in("/proc/" + pid + "/comm");
        std::string name;
        if (std::getline(in, name) && name == comm) found.push_back(std::stoi(pid));
    }
    return found;
}

// /proc/<pid>/cgroup as hierarchy -> path ("memory" -> "/x/y", "" for v2).
std::map<std::string, std::string> cgroups_of(pid_t pid) {
    std::map<std::string, std::string> r;
    std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
    std::string line;
    while (std::getline(in, line)) {
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        const std::string controllers = line.substr(first + 1, second - first - 1);
        for (std::string_view c : split(controllers, ',')) r[std::string(c)] = line.substr(second + 1);
    }
    return r;
}

std::string read_trimmed(const fs::path& file) {
    std::ifstream in(file);
    std::string text;
    std::getline(in, text);
    return text;
}

// What the host sees of one run of a container, taken when it started.
struct Seen {
    std::map<std::string, std::string> cgroups;
    std::string memory_limit;  // v1 memory.limit_in_bytes or v2 memory.max
    std::string pids_limit;
    std::string net_ns;
};

Seen look_at(pid_t pid, const cgroup::Layout& layout) {
    Seen s;
    s.cgroups = cgroups_of(pid);
    s.net_ns = fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/net").string();
    auto dir_of = [&](const std::string& controller) -> std::optional<fs::path> {
        const cgroup::Version v = layout.where(controller);
        if (v == cgroup::Version::V1) return *layout.v1_root(controller) / s.cgroups[controller].substr(1);
        if (v == cgroup::Version::V2) return layout.v2_root() / s.cgroups[""].substr(1);
        return std::nullopt;
    };
    if (auto dir = dir_of("memory")) {
        s.memory_limit = read_trimmed(*dir / (layout.where("memory") == cgroup::Version::V1 ? "memory.limit_in_bytes"
                                                                                           : "memory.max"));
    }
    if (auto dir = dir_of("pids")) s.pids_limit = read_trimmed(*dir / "pids.max");
    return s;
}

TEST_CASE("restarts from pool stubs: own namespaces, cgroups named after the container, its limits", "[pool]") {
    TempDir root;
    const cgroup::Layout layout = cgroup::Layout::detect();
    Json c = sh("echo pid=$$; echo host=$(hostname); echo lo=$(cat /sys/class/net/lo/operstate); "
                "echo cg=$(cut -d: -f3 /proc/self/cgroup | sort -u | tr '\\n' ' '); sleep 0.1; exit 1");
    c["hostname"] = "pooled";
    c["mem_limit"] = "64m";
    c["pids_limit"] = 50;
    c["restart"] = "on-failure:4";
    // Time between runs for the pool to refill: it waits for 20 ms without
    // starts, then its stubs join their cgroups.
    c["restart_backoff"] = Json{{"initial", "300ms"}, {"max", "300ms"}};
    Json containers;
    containers["w"] = c;

    Recorder rec;
    std::vector<Seen> seen;
    rec.on_event_hook = [&](const Event& e) {
        if (e.kind == EventKind::Started) seen.push_back(look_at(e.pid, layout));
    };
    Fleet* fleet = nullptr;
    Fleet::PoolStats stats;
    rec.on_output_hook = [&](const std::string&, OutputStream, std::string_view) {
        if (fleet) stats = fleet->pool_stats();
    };
    RunResult r = run_fleet(fleet_json("pool", containers), root.path(), rec, {}, &fleet);
    INFO(rec.dump());
    REQUIRE(rec.count(EventKind::Started) == 5);
    CHECK(rec.count(EventKind::GaveUp) == 1);
    // The first start comes before the pool is filled; the restarts find it
    // full, each claiming a stub that is replaced before the next.
    CHECK(stats.claimed >= 3);
    CHECK(stats.made >= stats.claimed);
    const std::string host_net = host_namespace("net");
    for (std::size_t run = 0; run < seen.size(); ++run) {
        INFO("run " << run);
        CHECK(rec.values("w", "pid")[run] == "1");
        CHECK(rec.values("w", "host")[run] == "pooled");
        CHECK(rec.values("w", "lo")[run] == "unknown");  // loopback is up (it reports "unknown")
        // Inside, its own cgroups are the root of each hierarchy.
        CHECK(rec.values("w", "cg")[run] == "/");
        // Outside, in every hierarchy it uses, named after it.
        const std::string name = "/pool/w";
        for (const char* controller : {"memory", "pids"}) {
            if (layout.where(controller) != cgroup::Version::V1) continue;
            INFO(controller << " " << seen[run].cgroups[controller]);
            CHECK(seen[run].cgroups[controller].ends_with(name));
        }
        if (!layout.v2_root().empty()) CHECK(seen[run].cgroups[""].ends_with(name));
        if (layout.where("memory") != cgroup::Version::None) CHECK(seen[run].memory_limit == "67108864");
        if (layout.where("pids") != cgroup::Version::None) CHECK(seen[run].pids_limit == "50");
        CHECK(seen[run].net_ns != host_net);
    }
    // Every stub is gone with the fleet (run_fleet checks the cgroups).
    CHECK(children_named("rusty-stub").empty());
    CHECK(child_pids().empty());
}

TEST_CASE("the pool keeps its size ready while the fleet idles, and size 0 makes nothing", "[pool]") {
    TempDir root;
    for (const unsigned size : {0U, 2U, 3U}) {
        INFO("size " << size);
        Json containers;
        containers["w"] = sh("echo before; sleep 0.4; echo after");
        Json doc = Json::parse(fleet_json("pool", containers));
        doc["pool"] = Json{{"size", size}};
        Recorder rec;
        std::size_t stubs_seen = 99;
        Fleet* fleet = nullptr;
        Fleet::PoolStats stats;
        rec.on_output_hook = [&](const std::string&, OutputStream, std::string_view line) {
            if (line != "after") return;
            stubs_seen = children_named("rusty-stub").size();
            stats = fleet->pool_stats();
        };
        run_fleet(doc.dump(), root.path(), rec, {}, &fleet);
        CHECK(rec.out("w").size() == 2);
        CHECK(stubs_seen == size);
        CHECK(stats.ready == size);
        CHECK(stats.claimed == 0);
        CHECK(children_named("rusty-stub").empty());
    }
}

TEST_CASE("stubs killed while idle are replaced, and restarts go on", "[pool]") {
    TempDir root;
    Json c = sh("echo run; sleep 0.2; exit 1");
    c["restart"] = "on-failure:3";
    c["restart_backoff"] = Json{{"initial", "200ms"}, {"max", "200ms"}};
    Json containers;
    containers["w"] = c;
    Recorder rec;
    std::size_t killed = 0;
    Fleet* fleet = nullptr;
    Fleet::PoolStats stats;
    rec.on_output_hook = [&](const std::string&, OutputStream, std::string_view) {
        // The supervisor is this process: its stubs are our children.
        for (pid_t pid : children_named("rusty-stub")) killed += ::kill(pid, SIGKILL) == 0;
        stats = fleet->pool_stats();
    };
    run_fleet(fleet_json("pool", containers), root.path(), rec, {}, &fleet);
    INFO(rec.dump());
    CHECK(rec.out("w").size() == 4);
    CHECK(rec.count(EventKind::Failed) == 0);
    CHECK(killed >= 2);
    CHECK(stats.made >= 4);  // the first two, and their replacements
    CHECK(child_pids().empty());
}

TEST_CASE("a pids_limit of 1 is never started from a stub", "[pool]") {
    // The stub counts in the container's pids cgroup until it has exited.
    TempDir root;
    Json c = sh("echo run; exit 1");
    c["pids_limit"] = 1;
    c["restart"] = "on-failure:2";
    c["restart_backoff"] = Json{{"initial", "200ms"}, {"max", "200ms"}};
    Json containers;
    containers["w"] = c;
    Recorder rec;
    Fleet* fleet = nullptr;
    Fleet::PoolStats stats;
    rec.on_output_hook = [&](const std::string&, OutputStream, std::string_view) { stats = fleet->pool_stats(); };
    run_fleet(fleet_json("pool", containers), root.path(), rec, {}, &fleet);
    INFO(rec.dump());
    CHECK(rec.out("w").size() == 3);
    CHECK(stats.claimed == 0);
}

}  // namespace
}  // namespace rusty::test
