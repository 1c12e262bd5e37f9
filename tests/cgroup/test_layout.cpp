#include <catch2/catch.hpp>

#include "cgroup/layout.hpp"

using namespace rusty::cgroup;

namespace {
constexpr const char* kHybrid =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
}

TEST_CASE("hybrid mountinfo: controllers on v1, placement on the v2 mount", "[layout]") {
    Layout layout = Layout::from_mountinfo(kHybrid, "hugetlb");
    CHECK(layout.mode() == Mode::Hybrid);
    CHECK(layout.v2_root() == "/sys/fs/cgroup/unified");
    CHECK(layout.where("memory") == Version::V1);
    CHECK(layout.where("cpu") == Version::V1);
    CHECK(*layout.v1_root("cpuacct") == "/sys/fs/cgroup/cpu,cpuacct");
    CHECK(layout.where("hugetlb") == Version::V2);
    CHECK(layout.where("cpuset") == Version::None);
    CHECK_FALSE(layout.stand_in());
}

TEST_CASE("pure v2 and pure v1 are told apart", "[layout]") {
    Layout v2 = Layout::from_mountinfo("30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
                                       "cpuset cpu io memory pids");
    CHECK(v2.mode() == Mode::V2);
    CHECK(v2.where("memory") == Version::V2);
    CHECK(v2.where("freezer") == Version::None);

    Layout v1 = Layout::from_mountinfo(
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "36 31 0:33 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n",
        "");
    CHECK(v1.mode() == Mode::V1);
    CHECK(v1.where("memory") == Version::V1);
    CHECK(v1.v2_root().empty());
}

TEST_CASE("a cgroup mount of a sub-cgroup is not a hierarchy root; paths are unescaped", "[layout]") {
    Layout layout = Layout::from_mountinfo(
        "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "36 31 0:33 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n",
        "");
    CHECK(layout.where("memory") == Version::None);
    CHECK(layout.v2_root() == "/mnt/my cgroups");
}

TEST_CASE("this host's layout is detected from /proc/self/mountinfo", "[layout][host]") {
    Layout layout = Layout::detect();
    INFO(layout.describe());
    CHECK(layout.mode() != Mode::None);
}
