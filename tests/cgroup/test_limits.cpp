// Resource limits as cgroup interface files (plan_limits), the check that the
// host can enforce them (check_limits), and FleetCgroups creating, limiting
// and removing cgroups.
//
// Nothing here touches the host's cgroups: the FleetCgroups cases run on a
// stand-in cgroupfs, a plain temp directory tree given to Layout::make. There
// a write creates the interface file, which is how the tests read back what
// was written.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/xattr.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cgroup/cgroup.hpp"
#include "cgroup/layout.hpp"
#include "cgroup/limits.hpp"
#include "core/error.hpp"
#include "core/file.hpp"
#include "core/spec.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace rusty::cgroup;
using rusty::ConfigError;
using rusty::read_file;
using rusty::ContainerSpec;
using rusty::FleetSpec;
using rusty::Resources;
using rusty::test::TempDir;
using Catch::Contains;
using Strings = std::vector<std::string>;

namespace {

constexpr std::int64_t MiB = 1024 * 1024;

// Every limit set: 64 MiB memory, 128 MiB memory + swap, a 32 MiB
// reservation, half a CPU, the default weight, CPUs 0-1, 100 tasks.
Resources all_limits() {
    Resources r;
    r.memory = 64 * MiB;
    r.memory_swap = 128 * MiB;
    r.memory_reservation = 32 * MiB;
    r.cpus = 0.5;
    r.cpu_shares = 1024;
    r.cpuset = "0-1";
    r.pids = 100;
    return r;
}

// "controller file=value" for each write, in order.
Strings writes_of(const LimitPlan& plan) {
    Strings out;
    for (const LimitWrite& w : plan.writes) out.push_back(w.controller + " " + w.file + "=" + w.value);
    return out;
}

// "field controller" for each write, in order.
Strings fields_of(const LimitPlan& plan) {
    Strings out;
    for (const LimitWrite& w : plan.writes) out.push_back(w.field + " " + w.controller);
    return out;
}

// "field controller" for each missing controller, in order.
Strings missing_of(const LimitPlan& plan) {
    Strings out;
    for (const MissingController& m : plan.missing) out.push_back(m.field + " " + m.controller);
    return out;
}

// The value planned for `file`, if any.
std::optional<std::string> planned(const LimitPlan& plan, const std::string& file) {
    for (const LimitWrite& w : plan.writes)
        if (w.file == file) return w.value;
    return std::nullopt;
}

std::ptrdiff_t position_of(const LimitPlan& plan, const std::string& file) {
    auto it = std::find_if(plan.writes.begin(), plan.writes.end(), [&](const LimitWrite& w) { return w.file == file; });
    return it == plan.writes.end() ? -1 : it - plan.writes.begin();
}

Layout v2_layout(const fs::path& root = "/stand-in/v2") {
    return Layout::make(root, {"memory", "pids", "cpu", "cpuset"}, {});
}

Layout v1_layout() {
    return Layout::make({}, {},
                        {{"memory", "/stand-in/memory"},
                         {"pids", "/stand-in/pids"},
                         {"cpu", "/stand-in/cpu,cpuacct"},
                         {"cpuacct", "/stand-in/cpu,cpuacct"},
                         {"cpuset", "/stand-in/cpuset"}});
}

Layout hybrid_layout() {
    return Layout::make("/stand-in/unified", {"hugetlb"},
                        {{"memory", "/stand-in/memory"},
                         {"pids", "/stand-in/pids"},
                         {"cpu", "/stand-in/cpu,cpuacct"},
                         {"cpuacct", "/stand-in/cpu,cpuacct"},
                         {"cpuset", "/stand-in/cpuset"}});
}

ContainerSpec container(std::string name, Resources r = {}) {
    ContainerSpec c;
    c.name = std::move(name);
    c.image = "busybox";
    c.argv = {"true"};
    c.resources = std::move(r);
    return c;
}

FleetSpec fleet_of(std::vector<ContainerSpec> containers, std::string parent = "/rusty") {
    FleetSpec fleet;
    fleet.name = "f";
    fleet.cgroup_parent = std::move(parent);
    fleet.containers = std::move(containers);
    return fleet;
}

struct Failure {
    std::string pointer;
    std::string problem;
};

// The ConfigError of check_limits, or a note that there was none.
Failure check_failure(const FleetSpec& fleet, const Layout& layout, unsigned online_cpus) {
    try {
        check_limits(fleet, layout, online_cpus);
    } catch (const ConfigError& error) {
        return {error.pointer(), error.problem()};
    }
    return {"(no error)", "(no error)"};
}

// The text of a file in the stand-in tree; "(missing)" if there is none.
std::string text_of(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) return "(missing)";
    return read_file(file);
}

// The words of a cgroup.subtree_control write, as a set.
std::set<std::string> words_of(const std::string& text) {
    std::istringstream in(text);
    std::set<std::string> out;
    for (std::string word; in >> word;) out.insert(word);
    return out;
}

bool present(const fs::path& path) {
    std::error_code ec;
    return fs::exists(path, ec);
}

// A stand-in cgroup2 root whose root cgroup enables `subtree_control`.
fs::path make_v2_root(const TempDir& tmp, const std::string& subtree_control = "cpuset cpu io memory pids") {
    const fs::path root = tmp.make_dir("v2");
    tmp.write("v2/cgroup.controllers", "cpuset cpu io memory pids\n");
    tmp.write("v2/cgroup.subtree_control", subtree_control + "\n");
    return root;
}

std::set<std::string> v2_controllers() { return {"cpuset", "cpu", "io", "memory", "pids"}; }

}  // namespace

// ---- plan_limits -----------------------------------------------------------------

TEST_CASE("plan_limits: no limits, no writes", "[limits]") {
    const LimitPlan plan = plan_limits(Resources{}, v2_layout());
    CHECK(plan.writes.empty());
    CHECK(plan.missing.empty());
    CHECK(controllers_for(Resources{}).empty());
}

TEST_CASE("plan_limits on v2: every limit and its file", "[limits]") {
    const LimitPlan plan = plan_limits(all_limits(), v2_layout());
    CHECK(writes_of(plan) == Strings{
                                 "memory memory.max=67108864",
                                 "memory memory.swap.max=67108864",  // swap alone: 128m - 64m
                                 "memory memory.low=33554432",
                                 "cpu cpu.max=50000 100000",
                                 "cpu cpu.weight=39",
                                 "cpuset cpuset.cpus=0-1",
                                 "pids pids.max=100",
                             });
    CHECK(fields_of(plan) == Strings{"mem_limit memory", "memswap_limit memory", "mem_reservation memory", "cpus cpu",
                                     "cpu_shares cpu", "cpuset cpuset", "pids_limit pids"});
    CHECK(plan.missing.empty());
}

TEST_CASE("plan_limits on v2: memory.swap.max", "[limits]") {
    Resources r;
    r.memory = 64 * MiB;
    SECTION("-1 is max") {
        r.memory_swap = -1;
        CHECK(planned(plan_limits(r, v2_layout()), "memory.swap.max") == "max");
    }
    SECTION("equal to mem_limit is no swap") {
        r.memory_swap = 64 * MiB;
        CHECK(planned(plan_limits(r, v2_layout()), "memory.swap.max") == "0");
    }
    SECTION("the difference") {
        r.memory_swap = 1024 * MiB;
        CHECK(planned(plan_limits(r, v2_layout()), "memory.swap.max") == std::to_string(960 * MiB));
    }
    SECTION("without memswap_limit, as much swap again (Docker's default), skipped where unsupported") {
        const LimitPlan plan = plan_limits(r, v2_layout());
        CHECK(planned(plan, "memory.swap.max") == std::to_string(64 * MiB));
        for (const LimitWrite& w : plan.writes) CHECK(w.optional == (w.file == "memory.swap.max"));
    }
}

TEST_CASE("plan_limits on v2: cpu.max quota per 100 ms period", "[limits]") {
    auto cpu_max = [](double cpus) {
        Resources r;
        r.cpus = cpus;
        return planned(plan_limits(r, v2_layout()), "cpu.max");
    };
    CHECK(cpu_max(0.5) == "50000 100000");
    CHECK(cpu_max(1.5) == "150000 100000");
    CHECK(cpu_max(2) == "200000 100000");
    CHECK(cpu_max(0.01) == "1000 100000");
    CHECK(cpu_max(0.333) == "33300 100000");
}

TEST_CASE("plan_limits on v2: cpu_shares to cpu.weight as runc maps them", "[limits]") {
    auto weight = [](std::uint64_t shares) {
        Resources r;
        r.cpu_shares = shares;
        return planned(plan_limits(r, v2_layout()), "cpu.weight");
    };
    // 1 + ((shares - 2) * 9999) / 262142
    CHECK(weight(2) == "1");
    CHECK(weight(1024) == "39");
    CHECK(weight(512) == "20");
    CHECK(weight(262144) == "10000");
}

TEST_CASE("plan_limits on v1: the v1 files", "[limits]") {
    const LimitPlan plan = plan_limits(all_limits(), v1_layout());
    CHECK(plan.missing.empty());
    CHECK(planned(plan, "memory.limit_in_bytes") == "67108864");
    CHECK(planned(plan, "memory.memsw.limit_in_bytes") == "134217728");  // memory + swap, as given
    CHECK(planned(plan, "memory.soft_limit_in_bytes") == "33554432");
    CHECK(planned(plan, "cpu.cfs_period_us") == "100000");
    CHECK(planned(plan, "cpu.cfs_quota_us") == "50000");
    CHECK(planned(plan, "cpu.shares") == "1024");
    CHECK(planned(plan, "cpuset.cpus") == "0-1");
    CHECK(planned(plan, "pids.max") == "100");
    CHECK(plan.writes.size() == 8);
    // v1 refuses memory.memsw.limit_in_bytes below memory.limit_in_bytes.
    CHECK(position_of(plan, "memory.limit_in_bytes") < position_of(plan, "memory.memsw.limit_in_bytes"));
    // Not a single v2 file.
    for (const char* v2_file : {"memory.max", "memory.swap.max", "memory.low", "cpu.max", "cpu.weight"})
        CHECK_FALSE(planned(plan, v2_file));
    CHECK(fields_of(plan) == Strings{"mem_limit memory", "memswap_limit memory", "mem_reservation memory", "cpus cpu",
                                     "cpus cpu", "cpu_shares cpu", "cpuset cpuset", "pids_limit pids"});
}

TEST_CASE("plan_limits on v1: memswap_limit -1 is -1", "[limits]") {
    Resources r;
    r.memory = 64 * MiB;
    r.memory_swap = -1;
    CHECK(writes_of(plan_limits(r, v1_layout())) ==
          Strings{"memory memory.limit_in_bytes=67108864", "memory memory.memsw.limit_in_bytes=-1"});
}

TEST_CASE("plan_limits on hybrid: limits go to v1 when v2 has no controller for them", "[limits]") {
    const LimitPlan hybrid = plan_limits(all_limits(), hybrid_layout());
    const LimitPlan v1 = plan_limits(all_limits(), v1_layout());
    CHECK(writes_of(hybrid) == writes_of(v1));
    CHECK(hybrid.missing.empty());

    SECTION("a controller the v2 root has goes to v2") {
        const Layout layout =
            Layout::make("/stand-in/unified", {"pids"}, {{"memory", "/stand-in/memory"}, {"pids", "/stand-in/pids"}});
        Resources r;
        r.memory = 64 * MiB;
        r.pids = 10;
        CHECK(writes_of(plan_limits(r, layout)) == Strings{"memory memory.limit_in_bytes=67108864",
                                                           "memory memory.memsw.limit_in_bytes=134217728",
                                                           "pids pids.max=10"});
    }
}

TEST_CASE("plan_limits: a limit without its controller is missing, the others are written", "[limits]") {
    SECTION("v2 with memory only") {
        const LimitPlan plan = plan_limits(all_limits(), Layout::make("/stand-in/v2", {"memory"}, {}));
        CHECK(writes_of(plan) == Strings{"memory memory.max=67108864", "memory memory.swap.max=67108864",
                                         "memory memory.low=33554432"});
        CHECK(missing_of(plan) == Strings{"cpus cpu", "cpu_shares cpu", "cpuset cpuset", "pids_limit pids"});
    }
    SECTION("v1 without cpuset") {
        const LimitPlan plan = plan_limits(
            all_limits(), Layout::make({}, {}, {{"memory", "/m"}, {"cpu", "/c"}, {"pids", "/p"}}));
        CHECK(missing_of(plan) == Strings{"cpuset cpuset"});
        CHECK_FALSE(planned(plan, "cpuset.cpus"));
        CHECK(planned(plan, "cpu.cfs_quota_us") == "50000");
    }
    SECTION("no cgroups at all") {
        const LimitPlan plan = plan_limits(all_limits(), Layout::make({}, {}, {}));
        CHECK(plan.writes.empty());
        CHECK(missing_of(plan) == Strings{"mem_limit memory", "memswap_limit memory", "mem_reservation memory",
                                          "cpus cpu", "cpu_shares cpu", "cpuset cpuset", "pids_limit pids"});
    }
    SECTION("the cpu quota is not written to v1 when cpu is missing") {
        Resources r;
        r.cpus = 1;
        const LimitPlan plan = plan_limits(r, Layout::make({}, {}, {{"memory", "/m"}}));
        CHECK(plan.writes.empty());
        CHECK(missing_of(plan) == Strings{"cpus cpu"});
    }
}

TEST_CASE("controllers_for: the controllers the limits need", "[limits]") {
    CHECK(controllers_for(all_limits()) == Strings{"memory", "cpu", "cpuset", "pids"});
    Resources r;
    r.memory_reservation = MiB;
    CHECK(controllers_for(r) == Strings{"memory"});
    r = {};
    r.cpu_shares = 100;
    CHECK(controllers_for(r) == Strings{"cpu"});
    r = {};
    r.cpuset = "0";
    r.pids = 5;
    CHECK(controllers_for(r) == Strings{"cpuset", "pids"});
}

// ---- check_limits ----------------------------------------------------------------

TEST_CASE("check_limits: every limit enforceable, no warnings", "[limits]") {
    const FleetSpec fleet = fleet_of({container("web", all_limits()), container("db")});
    CHECK(check_limits(fleet, v2_layout(), 2).empty());
    // memswap_limit aside: on v1 it needs a memory.memsw.* file (below).
    Resources r = all_limits();
    r.memory_swap.reset();
    CHECK(check_limits(fleet_of({container("web", r)}), hybrid_layout(), 2).empty());
}

TEST_CASE("check_limits: a missing controller is a ConfigError naming the field", "[limits]") {
    Resources r;
    r.pids = 10;
    r.memory = 64 * MiB;
    const FleetSpec fleet = fleet_of({container("db"), container("web", r)});
    const Layout layout = Layout::make("/stand-in/v2", {"memory", "cpu"}, {});
    const Failure failure = check_failure(fleet, layout, 2);
    CHECK(failure.pointer == "/containers/web/pids_limit");
    CHECK_THAT(failure.problem, Contains("pids controller"));
    CHECK_THAT(failure.problem, Contains("best_effort_limits"));
    CHECK_THAT(failure.problem, Contains(layout.describe()));

    SECTION("the first missing field of the first container at fault") {
        Resources both;
        both.memory = 64 * MiB;
        both.cpus = 1;
        const FleetSpec two = fleet_of({container("a", both)});
        const Failure first = check_failure(two, Layout::make("/stand-in/v2", {}, {}), 2);
        CHECK(first.pointer == "/containers/a/mem_limit");
        CHECK_THAT(first.problem, Contains("memory controller"));
    }
}

TEST_CASE("check_limits: with best_effort_limits a missing controller is a warning", "[limits]") {
    Resources r;
    r.pids = 10;
    r.cpus = 1;
    r.memory = 64 * MiB;
    FleetSpec fleet = fleet_of({container("web", r)});
    fleet.best_effort_limits = true;
    const std::vector<std::string> warnings = check_limits(fleet, Layout::make("/stand-in/v2", {"memory"}, {}), 2);
    REQUIRE(warnings.size() == 2);
    CHECK_THAT(warnings[0], Catch::StartsWith("/containers/web/cpus: "));
    CHECK_THAT(warnings[0], Contains("cpu controller"));
    CHECK_THAT(warnings[0], Contains("not enforced (best_effort_limits)"));
    CHECK_THAT(warnings[1], Catch::StartsWith("/containers/web/pids_limit: "));
    CHECK_THAT(warnings[1], Contains("pids controller"));
}

TEST_CASE("check_limits: cpus and cpuset are bounded by the online CPUs", "[limits]") {
    Resources r;
    SECTION("cpus above the CPUs online") {
        r.cpus = 3;
        const Failure failure = check_failure(fleet_of({container("web", r)}), v2_layout(), 2);
        CHECK(failure.pointer == "/containers/web/cpus");
        CHECK_THAT(failure.problem, Contains("this host has 2"));
    }
    SECTION("cpus equal to the CPUs online") {
        r.cpus = 2;
        CHECK(check_limits(fleet_of({container("web", r)}), v2_layout(), 2).empty());
    }
    SECTION("cpuset naming CPU 2 of 0-1") {
        r.cpuset = "0,2";
        const Failure failure = check_failure(fleet_of({container("web", r)}), v2_layout(), 2);
        CHECK(failure.pointer == "/containers/web/cpuset");
        CHECK_THAT(failure.problem, Contains("names CPU 2"));
        CHECK_THAT(failure.problem, Contains("0-1"));
    }
    SECTION("cpuset within the CPUs online") {
        r.cpuset = "0-1";
        CHECK(check_limits(fleet_of({container("web", r)}), v2_layout(), 2).empty());
    }
    SECTION("best_effort_limits does not excuse them") {
        r.cpuset = "5";
        FleetSpec fleet = fleet_of({container("web", r)});
        fleet.best_effort_limits = true;
        CHECK(check_failure(fleet, v2_layout(), 4).pointer == "/containers/web/cpuset");
    }
}

TEST_CASE("stand-in v1 layout: memswap_limit needs swap accounting", "[limits]") {
    TempDir tmp("limits");
    const fs::path memory = tmp.make_dir("memory");
    Resources r;
    r.memory = 64 * MiB;
    r.memory_swap = 128 * MiB;
    FleetSpec fleet = fleet_of({container("web", r)});

    SECTION("without it: an error, or with best_effort_limits a warning and no write") {
        const Layout layout = Layout::make({}, {}, {{"memory", memory}}, false);
        const Failure failure = check_failure(fleet, layout, 2);
        CHECK(failure.pointer == "/containers/web/memswap_limit");
        CHECK_THAT(failure.problem, Contains("swapaccount=1"));
        CHECK_THAT(failure.problem, Contains("best_effort_limits"));

        fleet.best_effort_limits = true;
        const std::vector<std::string> warnings = check_limits(fleet, layout, 2);
        REQUIRE(warnings.size() == 1);
        CHECK_THAT(warnings[0], Catch::StartsWith("/containers/web/memswap_limit: "));
        CHECK_FALSE(planned(plan_limits(r, layout), "memory.memsw.limit_in_bytes"));
    }
    SECTION("with it") {
        const Layout layout = Layout::make({}, {}, {{"memory", memory}}, true);
        CHECK(check_limits(fleet, layout, 2).empty());
    }
    SECTION("mem_limit alone needs no swap accounting, and then gets no swap default") {
        const Layout layout = Layout::make({}, {}, {{"memory", memory}}, false);
        fleet.containers[0].resources.memory_swap.reset();
        CHECK(check_limits(fleet, layout, 2).empty());
        CHECK_FALSE(planned(plan_limits(fleet.containers[0].resources, layout), "memory.memsw.limit_in_bytes"));
    }
}

TEST_CASE("plan_limits: the default swap of a huge mem_limit does not overflow", "[limits]") {
    Resources r;
    r.memory = INT64_MAX - 1;
    const Layout v1 = Layout::make({}, {}, {{"memory", "/stand-in/memory"}});
    CHECK(planned(plan_limits(r, v1), "memory.memsw.limit_in_bytes") == "-1");
}

// ---- FleetCgroups: pure v2 --------------------------------------------------------

TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: create writes the limits and enables controllers",
          "[limits]") {
    TempDir tmp("limits");
    const fs::path root = make_v2_root(tmp);
    Resources r = all_limits();
    r.cpuset = "0";
    const FleetSpec spec = fleet_of({container("web", r)});
    FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
    CHECK(fleet.fleet_path() == "/rusty/f");

    fleet.lock();
    CHECK(fs::is_directory(root / "rusty/f"));
    ContainerCgroup cg = fleet.create(spec.containers[0]);

    CHECK(cg.path() == "/rusty/f/web");
    CHECK(cg.v2_dir() == root / "rusty/f/web");
    CHECK(cg.placement_fd() >= 0);
    CHECK(cg.join_files().empty());
    CHECK(cg.events_file() == root / "rusty/f/web/cgroup.events");
    REQUIRE(cg.memory_events());
    CHECK(cg.memory_events()->version == Version::V2);
    CHECK(cg.memory_events()->dir == root / "rusty/f/web");

    const fs::path leaf = root / "rusty/f/web";
    CHECK(text_of(leaf / "memory.max") == "67108864");
    CHECK(text_of(leaf / "memory.swap.max") == "67108864");
    CHECK(text_of(leaf / "memory.low") == "33554432");
    CHECK(text_of(leaf / "cpu.max") == "50000 100000");
    CHECK(text_of(leaf / "cpu.weight") == "39");
    CHECK(text_of(leaf / "cpuset.cpus") == "0");
    CHECK(text_of(leaf / "pids.max") == "100");
    // No v1 file in a v2 cgroup.
    CHECK_FALSE(present(leaf / "memory.limit_in_bytes"));

    // The controllers the fleet's limits need, enabled from the cgroup
    // parent down; a leaf hands nothing on.
    const std::set<std::string> enabled = {"+cpu", "+cpuset", "+memory", "+pids"};
    CHECK(words_of(text_of(root / "rusty/cgroup.subtree_control")) == enabled);
    CHECK(words_of(text_of(root / "rusty/f/cgroup.subtree_control")) == enabled);
    CHECK_FALSE(present(leaf / "cgroup.subtree_control"));
    // Never written above the cgroup parent.
    CHECK(text_of(root / "cgroup.subtree_control") == "cpuset cpu io memory pids\n");

    CHECK(cg.remove() == 0);
    CHECK_FALSE(present(leaf));
    CHECK(present(root / "rusty/f"));
    fleet.remove();
    CHECK_FALSE(present(root / "rusty/f"));
    CHECK_FALSE(present(root / "rusty"));
    CHECK(present(root));
    CHECK(text_of(root / "cgroup.subtree_control") == "cpuset cpu io memory pids\n");
}

TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: the limits' controllers, and memory, pids and cpu for "
          "statistics, are enabled",
          "[limits]") {
    TempDir tmp("limits");
    const fs::path root = make_v2_root(tmp);
    Resources mem;
    mem.memory = 64 * MiB;
    Resources pids;
    pids.pids = 10;
    const FleetSpec spec = fleet_of({container("a", mem), container("b", pids), container("c")});
    FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
    fleet.lock();
    ContainerCgroup a = fleet.create(spec.containers[0]);
    ContainerCgroup b = fleet.create(spec.containers[1]);
    ContainerCgroup c = fleet.create(spec.containers[2]);

    const std::set<std::string> enabled{"+cpu", "+memory", "+pids"};
    CHECK(words_of(text_of(root / "rusty/cgroup.subtree_control")) == enabled);
    CHECK(words_of(text_of(root / "rusty/f/cgroup.subtree_control")) == enabled);
    CHECK(text_of(root / "rusty/f/a/memory.max") == "67108864");
    CHECK_FALSE(present(root / "rusty/f/a/pids.max"));
    CHECK(text_of(root / "rusty/f/b/pids.max") == "10");
    CHECK_FALSE(present(root / "rusty/f/b/memory.max"));
    CHECK(fs::is_directory(root / "rusty/f/c"));
    CHECK(c.placement_fd() >= 0);
    // c has no memory limit, but the memory controller is on for the whole
    // fleet's subtree: its OOM events are still in memory.events.
    REQUIRE(c.memory_events());
    CHECK(c.memory_events()->version == Version::V2);

    a.remove();
    b.remove();
    c.remove();
    fleet.remove();
    CHECK_FALSE(present(root / "rusty"));
}

TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: a fleet without limits enables nothing", "[limits]") {
    TempDir tmp("limits");
    const fs::path root = make_v2_root(tmp, "");
    const FleetSpec spec = fleet_of({container("web")});
    FleetCgroups fleet(Layout::make(root, {}, {}), spec);
    fleet.lock();
    ContainerCgroup cg = fleet.create(spec.containers[0]);
    CHECK(fs::is_directory(root / "rusty/f/web"));
    CHECK(cg.placement_fd() >= 0);
    CHECK(cg.join_files().empty());
    CHECK_FALSE(cg.memory_events());
    CHECK_FALSE(present(root / "rusty/cgroup.subtree_control"));
    CHECK_FALSE(present(root / "rusty/f/cgroup.subtree_control"));
    CHECK(text_of(root / "cgroup.subtree_control") == "\n");
}

TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: the root's cgroup.subtree_control is read correctly",
          "[limits]") {
    TempDir tmp("limits");
    // As on a systemd host: longer than a std::string keeps inline.
    const fs::path root = make_v2_root(tmp, "cpuset cpu io memory hugetlb pids rdma misc");
    Resources r;
    r.cpus = 1;
    r.memory = 64 * MiB;
    const FleetSpec spec = fleet_of({container("web", r)});
    FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
    fleet.lock();
    std::optional<ContainerCgroup> cg;
    REQUIRE_NOTHROW(cg.emplace(fleet.create(spec.containers[0])));
    CHECK(text_of(root / "rusty/f/web/cpu.max") == "100000 100000");
    CHECK(words_of(text_of(root / "rusty/cgroup.subtree_control")) ==
          std::set<std::string>{"+cpu", "+memory", "+pids"});
}

TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: a controller the root does not enable is an error",
          "[limits]") {
    TempDir tmp("limits");
    const fs::path root = make_v2_root(tmp, "cpuset cpu io pids");
    Resources r;
    r.memory = 64 * MiB;
    const FleetSpec spec = fleet_of({container("web", r)});
    FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
    fleet.lock();
    try {
        fleet.create(spec.containers[0]);
        FAIL("create() did not throw");
    } catch (const rusty::Error& e) {
        const std::string message = e.what();
        CHECK_THAT(message, Contains("memory"));
        CHECK_THAT(message, Contains((root / "cgroup.subtree_control").string()));
    }
    CHECK_FALSE(present(root / "rusty/f/web"));
    CHECK(text_of(root / "cgroup.subtree_control") == "cpuset cpu io pids\n");
    fleet.remove();
    CHECK_FALSE(present(root / "rusty"));
}

TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: a deeper cgroup parent", "[limits]") {
    TempDir tmp("limits");
    const fs::path root = make_v2_root(tmp);
    Resources r;
    r.memory = 64 * MiB;
    const FleetSpec spec = fleet_of({container("web", r)}, "/a/b");

    SECTION("made by us: written from the top of what we made") {
        FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
        fleet.lock();
        ContainerCgroup cg = fleet.create(spec.containers[0]);
        const std::set<std::string> enabled{"+cpu", "+memory", "+pids"};
        CHECK(words_of(text_of(root / "a/cgroup.subtree_control")) == enabled);
        CHECK(words_of(text_of(root / "a/b/cgroup.subtree_control")) == enabled);
        CHECK(words_of(text_of(root / "a/b/f/cgroup.subtree_control")) == enabled);
        CHECK(text_of(root / "a/b/f/web/memory.max") == "67108864");
        cg.remove();
        fleet.remove();
        CHECK_FALSE(present(root / "a"));
    }
    SECTION("an ancestor the host made is read, not written, and kept") {
        tmp.make_dir("v2/a");
        tmp.write("v2/a/cgroup.subtree_control", "cpu memory\n");
        {
            FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
            fleet.lock();
            ContainerCgroup cg = fleet.create(spec.containers[0]);
            CHECK(text_of(root / "a/cgroup.subtree_control") == "cpu memory\n");
            // pids, wanted only for statistics, is not delegated by "a": skipped.
            CHECK(words_of(text_of(root / "a/b/cgroup.subtree_control")) == std::set<std::string>{"+cpu", "+memory"});
            cg.remove();
            fleet.remove();
        }
        CHECK(present(root / "a"));
        CHECK_FALSE(present(root / "a/b"));
    }
    SECTION("an ancestor the host made without the controller") {
        tmp.make_dir("v2/a");
        tmp.write("v2/a/cgroup.subtree_control", "cpu pids\n");
        FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
        fleet.lock();
        CHECK_THROWS_WITH(fleet.create(spec.containers[0]),
                          Contains("memory") && Contains((root / "a/cgroup.subtree_control").string()));
        CHECK(text_of(root / "a/cgroup.subtree_control") == "cpu pids\n");
    }
}

TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: a cgroup parent that existed is kept", "[limits]") {
    TempDir tmp("limits");
    const fs::path root = make_v2_root(tmp);
    tmp.make_dir("v2/rusty");
    const FleetSpec spec = fleet_of({container("web")});
    {
        FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
        fleet.lock();
        ContainerCgroup cg = fleet.create(spec.containers[0]);
        CHECK(fs::is_directory(root / "rusty/f/web"));
    }  // the destructor removes what it made
    CHECK_FALSE(present(root / "rusty/f"));
    CHECK(fs::is_directory(root / "rusty"));
}

TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: leftovers of an earlier run", "[limits]") {
    TempDir tmp("limits");
    const fs::path root = make_v2_root(tmp);
    const FleetSpec spec = fleet_of({container("web")});
    tmp.make_dir("v2/rusty/f/web");
    // The mark a supervisor of fleet "f" under "/rusty" leaves on its directory.
    const std::string mark = "/rusty/f";
    REQUIRE(::setxattr((root / "rusty/f").c_str(), "trusted.rusty-supervisor.fleet", mark.data(), mark.size(), 0) == 0);

    SECTION("an empty one is replaced") {
        tmp.write("v2/rusty/f/web/cgroup.procs", "");
        tmp.write("v2/rusty/f/web/memory.max", "12345");
        FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
        fleet.lock();
        ContainerCgroup cg = fleet.create(spec.containers[0]);
        CHECK(fs::is_directory(root / "rusty/f/web"));
        CHECK_FALSE(present(root / "rusty/f/web/memory.max"));
        CHECK(cg.placement_fd() >= 0);
    }
    SECTION("one holding processes is an error") {
        tmp.write("v2/rusty/f/web/cgroup.procs", "4242\n");
        FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
        fleet.lock();
        CHECK_THROWS_WITH(fleet.create(spec.containers[0]),
                          Contains("still holds processes") && Contains((root / "rusty/f/web").string()));
    }
    SECTION("a directory without the mark is someone else's: refused, untouched") {
        REQUIRE(::removexattr((root / "rusty/f").c_str(), "trusted.rusty-supervisor.fleet") == 0);
        tmp.write("v2/rusty/f/web/cgroup.procs", "");
        {
            FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
            CHECK_THROWS_WITH(fleet.lock(), Contains("was not made by a supervisor of this fleet"));
        }
        CHECK(fs::is_directory(root / "rusty/f/web"));
    }
}

TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: a second supervisor of the fleet cannot lock it",
          "[limits]") {
    TempDir tmp("limits");
    const fs::path root = make_v2_root(tmp);
    const FleetSpec spec = fleet_of({container("web")});
    FleetCgroups first(Layout::make(root, v2_controllers(), {}), spec);
    first.lock();
    FleetCgroups second(Layout::make(root, v2_controllers(), {}), spec);
    CHECK_THROWS_WITH(second.lock(), Contains("in use by another supervisor") && Contains("\"f\""));
    // Another fleet name under the same parent is fine.
    FleetSpec other = spec;
    other.name = "g";
    FleetCgroups third(Layout::make(root, v2_controllers(), {}), other);
    CHECK_NOTHROW(third.lock());
}

// On v2 a controller reaches a cgroup only when its parent enables it. The
// memory.events that memory_events() names (OOM reporting) exists only if the
// memory controller is on for the fleet's subtree.
TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: memory_events only where the memory controller is on",
          "[limits]") {
    TempDir tmp("limits");
    const fs::path root = make_v2_root(tmp);
    const FleetSpec spec = fleet_of({container("web")});  // no limits: no controller enabled
    FleetCgroups fleet(Layout::make(root, v2_controllers(), {}), spec);
    fleet.lock();
    ContainerCgroup cg = fleet.create(spec.containers[0]);
    const bool memory_on = words_of(text_of(root / "rusty/f/cgroup.subtree_control")).contains("+memory");
    INFO("rusty/f/cgroup.subtree_control: " << text_of(root / "rusty/f/cgroup.subtree_control"));
    CHECK((!cg.memory_events() || memory_on));
}

// The supervisor that failed to lock ends (Fleet::~Fleet calls remove()); the
// directory it could not lock belongs to the one holding the lock, and must
// stay: removed, the holder would keep a lock on a directory no one else finds.
TEST_CASE("stand-in cgroupfs (a temp directory tree), v2: a supervisor that failed to lock leaves the fleet's "
          "directory alone",
          "[limits]") {
    TempDir tmp("limits");
    const fs::path root = make_v2_root(tmp);
    const FleetSpec spec = fleet_of({container("web")});
    FleetCgroups first(Layout::make(root, v2_controllers(), {}), spec);
    first.lock();
    struct stat locked {};
    REQUIRE(::stat((root / "rusty/f").c_str(), &locked) == 0);
    {
        FleetCgroups second(Layout::make(root, v2_controllers(), {}), spec);
        CHECK_THROWS(second.lock());
        second.remove();
    }
    struct stat now {};
    CHECK(::stat((root / "rusty/f").c_str(), &now) == 0);
    CHECK(now.st_ino == locked.st_ino);
}

// The cgroupfs root of a Layout is a mount point and so exists; if it does
// not, lock() and create() must fail with an error, not retry forever.
// Run in a child process: unbounded recursion would crash the test runner.
TEST_CASE("stand-in cgroupfs (a temp directory tree): a missing hierarchy root is an error", "[limits]") {
    TempDir tmp("limits");
    const fs::path root = tmp.path() / "no-such-root";
    const FleetSpec spec = fleet_of({container("web")});
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        struct rlimit no_core {};
        ::setrlimit(RLIMIT_CORE, &no_core);
        for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE}) ::signal(sig, SIG_DFL);
        ::alarm(20);
        int status = 3;
        try {
            FleetCgroups fleet(Layout::make(root, {}, {}), spec);
            fleet.lock();
            status = 1;  // no error
        } catch (const rusty::Error&) {
            status = 0;
        } catch (...) {
            status = 2;
        }
        ::_exit(status);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    INFO("exited: " << WIFEXITED(status) << ", status " << (WIFEXITED(status) ? WEXITSTATUS(status) : 0)
                    << ", signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

// ---- FleetCgroups: pure v1 --------------------------------------------------------

TEST_CASE("stand-in cgroupfs (a temp directory tree), v1: a cgroup per controller, v1 files", "[limits]") {
    TempDir tmp("limits");
    const fs::path memory = tmp.make_dir("memory");
    const fs::path pids = tmp.make_dir("pids");
    const fs::path cpu = tmp.make_dir("cpu");
    const fs::path cpuset = tmp.make_dir("cpuset");
    tmp.write("cpuset/cpuset.cpus", "0-1\n");
    tmp.write("cpuset/cpuset.mems", "0\n");
    const Layout layout =
        Layout::make({}, {}, {{"memory", memory}, {"pids", pids}, {"cpu", cpu}, {"cpuset", cpuset}});
    REQUIRE(layout.mode() == Mode::V1);

    Resources limited;
    limited.memory = 64 * MiB;
    limited.memory_swap = 128 * MiB;
    limited.memory_reservation = 32 * MiB;
    limited.cpus = 0.5;
    limited.cpu_shares = 512;
    limited.pids = 50;
    Resources pinned;
    pinned.cpuset = "1";
    const FleetSpec spec = fleet_of({container("web", limited), container("pinned", pinned), container("plain")});
    FleetCgroups fleet(layout, spec);
    fleet.lock();

    SECTION("limits; no cpuset cgroup without a cpuset") {
        ContainerCgroup cg = fleet.create(spec.containers[0]);
        CHECK(cg.placement_fd() == -1);
        CHECK(cg.v2_dir().empty());
        CHECK(cg.join_files() == Strings{(cpu / "rusty/f/web/cgroup.procs").string(),
                                         (memory / "rusty/f/web/cgroup.procs").string(),
                                         (pids / "rusty/f/web/cgroup.procs").string()});
        CHECK_FALSE(present(cpuset / "rusty"));
        CHECK(text_of(memory / "rusty/f/web/memory.limit_in_bytes") == "67108864");
        CHECK(text_of(memory / "rusty/f/web/memory.memsw.limit_in_bytes") == "134217728");
        CHECK(text_of(memory / "rusty/f/web/memory.soft_limit_in_bytes") == "33554432");
        CHECK(text_of(cpu / "rusty/f/web/cpu.cfs_period_us") == "100000");
        CHECK(text_of(cpu / "rusty/f/web/cpu.cfs_quota_us") == "50000");
        CHECK(text_of(cpu / "rusty/f/web/cpu.shares") == "512");
        CHECK(text_of(pids / "rusty/f/web/pids.max") == "50");
        CHECK_FALSE(present(memory / "rusty/f/web/memory.max"));
        REQUIRE(cg.memory_events());
        CHECK(cg.memory_events()->version == Version::V1);
        CHECK(cg.memory_events()->dir == memory / "rusty/f/web");

        CHECK(cg.remove() == 0);
        for (const fs::path& root : {memory, pids, cpu}) CHECK_FALSE(present(root / "rusty/f/web"));
    }
    SECTION("a cpuset: the cpuset hierarchy too, each new level with its parent's CPUs and nodes") {
        ContainerCgroup cg = fleet.create(spec.containers[1]);
        CHECK(cg.join_files() == Strings{(cpu / "rusty/f/pinned/cgroup.procs").string(),
                                         (cpuset / "rusty/f/pinned/cgroup.procs").string(),
                                         (memory / "rusty/f/pinned/cgroup.procs").string(),
                                         (pids / "rusty/f/pinned/cgroup.procs").string()});
        CHECK(text_of(cpuset / "rusty/cpuset.cpus") == "0-1\n");
        CHECK(text_of(cpuset / "rusty/cpuset.mems") == "0\n");
        CHECK(text_of(cpuset / "rusty/f/cpuset.cpus") == "0-1\n");
        CHECK(text_of(cpuset / "rusty/f/cpuset.mems") == "0\n");
        CHECK(text_of(cpuset / "rusty/f/pinned/cpuset.cpus") == "1");
        CHECK(text_of(cpuset / "rusty/f/pinned/cpuset.mems") == "0\n");
        CHECK(cg.remove() == 0);
        CHECK_FALSE(present(cpuset / "rusty/f/pinned"));
    }
    SECTION("no limits: still memory, pids and cpu, for kill, pause and statistics") {
        ContainerCgroup cg = fleet.create(spec.containers[2]);
        CHECK(cg.join_files().size() == 3);
        CHECK(fs::is_directory(memory / "rusty/f/plain"));
        CHECK(fs::is_empty(memory / "rusty/f/plain"));
        CHECK(cg.remove() == 0);
    }

    fleet.remove();
    for (const fs::path& root : {memory, pids, cpu, cpuset}) {
        INFO(root);
        CHECK_FALSE(present(root / "rusty"));
        CHECK(present(root));
    }
    CHECK(text_of(cpuset / "cpuset.cpus") == "0-1\n");
}

TEST_CASE("stand-in cgroupfs (a temp directory tree), v1: co-mounted controllers share one cgroup", "[limits]") {
    TempDir tmp("limits");
    const fs::path cpu_cpuacct = tmp.make_dir("cpu,cpuacct");
    const fs::path memory = tmp.make_dir("memory");
    const Layout layout = Layout::make({}, {}, {{"cpu", cpu_cpuacct}, {"cpuacct", cpu_cpuacct}, {"memory", memory}});
    Resources r;
    r.cpu_shares = 2048;
    const FleetSpec spec = fleet_of({container("web", r)});
    FleetCgroups fleet(layout, spec);
    fleet.lock();
    ContainerCgroup cg = fleet.create(spec.containers[0]);
    CHECK(cg.join_files() == Strings{(cpu_cpuacct / "rusty/f/web/cgroup.procs").string(),
                                     (memory / "rusty/f/web/cgroup.procs").string()});
    CHECK(text_of(cpu_cpuacct / "rusty/f/web/cpu.shares") == "2048");
    cg.remove();
    fleet.remove();
    CHECK_FALSE(present(cpu_cpuacct / "rusty"));
    CHECK_FALSE(present(memory / "rusty"));
}

// ---- FleetCgroups: hybrid ---------------------------------------------------------

TEST_CASE("stand-in cgroupfs (a temp directory tree), hybrid: v2 for placement, v1 for the limits", "[limits]") {
    TempDir tmp("limits");
    const fs::path unified = tmp.make_dir("unified");
    tmp.write("unified/cgroup.controllers", "");
    tmp.write("unified/cgroup.subtree_control", "");
    const fs::path memory = tmp.make_dir("memory");
    const Layout layout = Layout::make(unified, {}, {{"memory", memory}});
    REQUIRE(layout.mode() == Mode::Hybrid);

    Resources capped;
    capped.memory = 64 * MiB;
    const FleetSpec spec = fleet_of({container("plain"), container("capped", capped)});
    FleetCgroups fleet(layout, spec);
    fleet.lock();

    ContainerCgroup plain = fleet.create(spec.containers[0]);
    CHECK(plain.placement_fd() >= 0);
    CHECK(plain.v2_dir() == unified / "rusty/f/plain");
    CHECK(plain.join_files().empty());
    CHECK_FALSE(plain.memory_events());
    CHECK_FALSE(present(memory / "rusty/f/plain"));

    ContainerCgroup cg = fleet.create(spec.containers[1]);
    CHECK(cg.placement_fd() >= 0);
    CHECK(fs::is_directory(unified / "rusty/f/capped"));
    CHECK(cg.join_files() == Strings{(memory / "rusty/f/capped/cgroup.procs").string()});
    CHECK(text_of(memory / "rusty/f/capped/memory.limit_in_bytes") == "67108864");
    CHECK_FALSE(present(unified / "rusty/f/capped/memory.max"));
    REQUIRE(cg.memory_events());
    CHECK(cg.memory_events()->version == Version::V1);
    // No controller of v2 is used: nothing is enabled there.
    CHECK_FALSE(present(unified / "rusty/cgroup.subtree_control"));
    CHECK(text_of(unified / "cgroup.subtree_control").empty());

    CHECK(plain.remove() == 0);
    CHECK(cg.remove() == 0);
    CHECK_FALSE(present(unified / "rusty/f/capped"));
    CHECK_FALSE(present(memory / "rusty/f/capped"));
    fleet.remove();
    CHECK_FALSE(present(unified / "rusty"));
    CHECK_FALSE(present(memory / "rusty"));
    CHECK(present(unified));
    CHECK(present(memory));
}
