// What a container sees from inside: its pid, hostname, /proc, mount table,
// namespaces, network, privileges, /proc and /sys hardening, /dev and fds.
// Each container prints "key=value" lines that the test checks afterwards.
#include <linux/capability.h>

#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {
namespace {

const char* const kNamespaces[] = {"ipc", "net", "uts", "mnt", "pid", "cgroup"};

std::string ns_script() {
    std::string s;
    for (const char* ns : kNamespaces) s += std::string("echo ns_") + ns + "=$(readlink /proc/self/ns/" + ns + ");";
    return s;
}

// Docker's default capability set, the one containers keep.
// Docker's default set less CAP_MKNOD (no devices cgroup yet to make it safe).
constexpr std::uint64_t kDockerCaps =
    (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_FOWNER) | (1ull << CAP_FSETID) |
    (1ull << CAP_KILL) | (1ull << CAP_SETGID) | (1ull << CAP_SETUID) | (1ull << CAP_SETPCAP) |
    (1ull << CAP_NET_BIND_SERVICE) | (1ull << CAP_NET_RAW) | (1ull << CAP_SYS_CHROOT) |
    (1ull << CAP_AUDIT_WRITE) | (1ull << CAP_SETFCAP);

// mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
struct Mount {
    std::string point, options, fstype;
};
std::vector<Mount> parse_mountinfo(const std::vector<std::string>& lines) {
    std::vector<Mount> mounts;
    for (const std::string& line : lines) {
        auto w = split_words(line);
        auto dash = std::find(w.begin(), w.end(), "-");
        if (w.size() < 6 || dash == w.end() || dash + 1 == w.end()) continue;
        mounts.push_back({w[4], w[5], *(dash + 1)});
    }
    return mounts;
}

TEST_CASE("a container sees itself isolated: pid 1, its hostname, its /proc, its mounts, its namespaces",
          "[lifecycle]") {
    TempDir root;
    Recorder rec;
    const std::string script =
        "echo pid=$$;"
        "echo hostname=$(hostname);"
        "for d in /proc/[0-9]*; do echo proc=${d#/proc/}; done;"
        "while read -r l; do echo \"mnt=$l\"; done < /proc/self/mountinfo;" +
        ns_script();
    Json containers;
    containers["iso_box"] = sh(script);
    containers["named"] = sh("echo hostname=$(hostname); echo uname=$(uname -n)");
    containers["named"]["hostname"] = "custom.example";
    run_fleet(fleet_json("iso", containers), root.path(), rec);
    INFO(rec.dump());

    CHECK(rec.only("iso_box", EventKind::Exited).exit_code == 0);
    CHECK(rec.value("iso_box", "pid") == "1");
    // The default hostname is the container's name, '_' made '-'.
    CHECK(rec.value("iso_box", "hostname") == "iso-box");
    CHECK(rec.value("named", "hostname") == "custom.example");
    CHECK(rec.value("named", "uname") == "custom.example");
    // The shell expanded the glob itself: the only process is pid 1.
    CHECK(rec.values("iso_box", "proc") == std::vector<std::string>{"1"});

    auto mounts = parse_mountinfo(rec.values("iso_box", "mnt"));
    REQUIRE_FALSE(mounts.empty());
    int roots = 0;
    for (const Mount& m : mounts) {
        INFO("mount point " << m.point << " (" << m.fstype << ")");
        if (m.point == "/") {
            ++roots;
            CHECK(m.fstype == "overlay");
            continue;
        }
        // Only what the container's init mounted: /proc, /dev, /sys and below.
        bool own = m.point.rfind("/proc", 0) == 0 || m.point.rfind("/dev", 0) == 0 ||
                   m.point.rfind("/sys", 0) == 0;
        CHECK(own);
        CHECK(m.point.rfind("/work", 0) != 0);
    }
    CHECK(roots == 1);

    for (const char* ns : kNamespaces) {
        INFO("namespace " << ns);
        std::string inside = rec.value("iso_box", std::string("ns_") + ns);
        CHECK(inside.rfind(std::string(ns) + ":[", 0) == 0);
        CHECK(inside != host_namespace(ns));
    }
}

TEST_CASE("network none has only loopback, up - network host shares the host's namespace", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    const std::string script =
        "for i in /sys/class/net/*; do echo if=${i#/sys/class/net/}; done;"
        "while read -r l; do echo \"netdev=$l\"; done < /proc/net/dev;"
        "echo lo_flags=$(cat /sys/class/net/lo/flags);"
        "echo ns_net=$(readlink /proc/self/ns/net)";
    Json containers;
    containers["none"] = sh(script);
    containers["host"] = sh("echo ns_net=$(readlink /proc/self/ns/net)");
    containers["host"]["network"] = "host";
    run_fleet(fleet_json("net", containers), root.path(), rec);
    INFO(rec.dump());

    CHECK(rec.values("none", "if") == std::vector<std::string>{"lo"});
    // /proc/net/dev: two header lines, then one line per interface.
    auto netdev = rec.values("none", "netdev");
    REQUIRE(netdev.size() == 3);
    CHECK(netdev[2].rfind("lo:", 0) == 0);
    std::string flags = rec.value("none", "lo_flags");
    REQUIRE(flags.rfind("0x", 0) == 0);
    CHECK((std::stoul(flags, nullptr, 16) & 0x1) == 0x1);  // IFF_UP
    CHECK(rec.value("none", "ns_net") != host_namespace("net"));
    CHECK(rec.value("host", "ns_net") == host_namespace("net"));
}

TEST_CASE("a container runs with no_new_privs and Docker's capability set less CAP_MKNOD", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    // Read by the shell itself (pid 1) and by a child it runs.
    const std::string script =
        "while read -r k v; do case $k in NoNewPrivs:|Cap*:) echo \"init_${k%:}=$v\";; esac; done"
        " < /proc/self/status;"
        "grep -E '^(NoNewPrivs|Cap[A-Za-z]+):' /proc/self/status | while read -r k v; do echo \"child_${k%:}=$v\"; done";
    Json containers;
    containers["caps"] = sh(script);
    containers["nonroot"] = sh(script);
    containers["nonroot"]["user"] = "1000";
    run_fleet(fleet_json("caps", containers), root.path(), rec);
    INFO(rec.dump());

    const std::string docker = hex16(kDockerCaps);
    for (const char* who : {"init", "child"}) {
        std::string p = who;
        INFO(p);
        CHECK(rec.value("caps", p + "_NoNewPrivs") == "1");
        CHECK(rec.value("caps", p + "_CapBnd") == docker);
        CHECK(rec.value("caps", p + "_CapEff") == docker);
        CHECK(rec.value("caps", p + "_CapPrm") == docker);
        CHECK(rec.value("caps", p + "_CapInh") == hex16(0));
        CHECK(rec.value("caps", p + "_CapAmb") == hex16(0));
        // A non-root user keeps the bounding set but no capability at all.
        CHECK(rec.value("nonroot", p + "_NoNewPrivs") == "1");
        CHECK(rec.value("nonroot", p + "_CapBnd") == docker);
        CHECK(rec.value("nonroot", p + "_CapEff") == hex16(0));
        CHECK(rec.value("nonroot", p + "_CapPrm") == hex16(0));
    }
}

TEST_CASE("/proc and /sys are hardened: kcore masked, /proc/sys and /sys read-only", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    // The masked files and directories this kernel has (this VM's kernel has
    // no /proc/kcore: then it must not appear inside either).
    const std::vector<std::string> masked_files = {"/proc/kcore", "/proc/keys", "/proc/timer_list",
                                                   "/proc/latency_stats", "/proc/sched_debug"};
    const std::vector<std::string> masked_dirs = {"/proc/acpi", "/proc/scsi", "/sys/firmware",
                                                  "/sys/devices/virtual/powercap"};
    std::string script =
        // The container's own uts namespace: harmless even if it were writable.
        "echo procsys_err=$( (echo x > /proc/sys/kernel/hostname) 2>&1 );"
        "echo procsys_hostname=$(cat /proc/sys/kernel/hostname);"
        "echo sys_err=$( (echo 65536 > /sys/class/net/lo/mtu) 2>&1 );"
        "echo sys_touch_err=$(touch /sys/rusty-probe 2>&1);"
        "echo proc_write_ok=$( (echo x > /proc/self/comm) 2>&1 && echo yes);";
    for (const auto& f : masked_files)
        script += "if [ -e " + f + " ]; then echo \"file " + f + "=$(stat -c %t:%T " + f + ") $(cat " + f +
                  " | wc -c)\"; else echo \"file " + f + "=absent\"; fi;";
    for (const auto& d : masked_dirs)
        script += "if [ -e " + d + " ]; then echo \"dir " + d + "=$(ls -A " + d + " | wc -l)\"; echo \"dirw " + d +
                  "=$(touch " + d + "/rusty-probe 2>&1)\"; else echo \"dir " + d + "=absent\"; fi;";
    Json containers;
    containers["hard"] = sh(script);
    run_fleet(fleet_json("hard", containers), root.path(), rec);
    INFO(rec.dump());

    for (const auto& f : masked_files) {
        INFO(f);
        if (fs::exists(f)) CHECK(rec.value("hard", "file " + f) == "1:3 0");  // /dev/null bound over it
        else CHECK(rec.value("hard", "file " + f) == "absent");
    }
    for (const auto& d : masked_dirs) {
        INFO(d);
        if (fs::exists(d)) {
            CHECK(rec.value("hard", "dir " + d) == "0");  // an empty tmpfs over it, the same for all
            CHECK_THAT(rec.value("hard", "dirw " + d), Catch::Contains("Read-only file system"));
        } else {
            CHECK(rec.value("hard", "dir " + d) == "absent");
        }
    }
    CHECK_THAT(rec.value("hard", "procsys_err"), Catch::Contains("Read-only file system"));
    CHECK(rec.value("hard", "procsys_hostname") == "hard");
    CHECK_THAT(rec.value("hard", "sys_err"), Catch::Contains("Read-only file system"));
    CHECK_THAT(rec.value("hard", "sys_touch_err"), Catch::Contains("Read-only file system"));
    // /proc itself stays writable where the kernel allows it.
    CHECK(rec.value("hard", "proc_write_ok") == "yes");
}

TEST_CASE("/dev holds the standard nodes and mounts - only fds 0, 1 and 2 are open", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    const std::string script =
        "for f in /dev/* /dev/.*; do echo dev=${f#/dev/}; done;"
        "for f in null zero full random urandom tty; do echo node_$f=$(stat -c '%F %t:%T' /dev/$f); done;"
        "echo ptmx=$(readlink /dev/ptmx);"
        "echo zero_read=$(head -c 5 /dev/zero | wc -c);"
        "echo null_write=$(echo x > /dev/null && echo ok);"
        "echo shm_write=$(echo x > /dev/shm/probe && cat /dev/shm/probe);"
        "while read -r l; do echo \"mnt=$l\"; done < /proc/self/mountinfo;"
        // ls has the directory it lists open as well (fd 3).
        "echo self_fds=$(ls /proc/self/fd | tr '\\n' ' ');"
        // pid 1's own fds, listed by a child writing straight to stdout: a
        // command substitution, a pipe or a redirection would add one to pid 1.
        "echo init-fds-begin; ls -1 /proc/1/fd; echo init-fds-end;"
        "echo stdin=$(stat -L -c '%F %t:%T' /proc/1/fd/0)";
    Json containers;
    containers["dev"] = sh(script);
    run_fleet(fleet_json("dev", containers), root.path(), rec);
    INFO(rec.dump());

    auto dev = rec.values("dev", "dev");
    std::set<std::string> entries(dev.begin(), dev.end());
    for (const char* name : {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "mqueue"}) {
        INFO("/dev/" << name);
        CHECK(entries.count(name) == 1);
    }
    CHECK(rec.value("dev", "node_null") == "character special file 1:3");
    CHECK(rec.value("dev", "node_zero") == "character special file 1:5");
    CHECK(rec.value("dev", "node_full") == "character special file 1:7");
    CHECK(rec.value("dev", "node_random") == "character special file 1:8");
    CHECK(rec.value("dev", "node_urandom") == "character special file 1:9");
    CHECK(rec.value("dev", "node_tty") == "character special file 5:0");
    CHECK(rec.value("dev", "ptmx") == "pts/ptmx");
    CHECK(rec.value("dev", "zero_read") == "5");
    CHECK(rec.value("dev", "null_write") == "ok");
    CHECK(rec.value("dev", "shm_write") == "x");

    std::map<std::string, std::string> fstype_at;
    for (const Mount& m : parse_mountinfo(rec.values("dev", "mnt"))) fstype_at[m.point] = m.fstype;
    CHECK(fstype_at["/dev"] == "tmpfs");
    CHECK(fstype_at["/dev/pts"] == "devpts");
    CHECK(fstype_at["/dev/shm"] == "tmpfs");
    CHECK(fstype_at["/dev/mqueue"] == "mqueue");
    CHECK(fstype_at["/proc"] == "proc");
    CHECK(fstype_at["/sys"] == "sysfs");

    CHECK(split_words(rec.value("dev", "self_fds")) == std::vector<std::string>{"0", "1", "2", "3"});
    const auto& out = rec.out("dev");
    auto begin = std::find(out.begin(), out.end(), "init-fds-begin");
    auto end = std::find(out.begin(), out.end(), "init-fds-end");
    REQUIRE(begin != out.end());
    REQUIRE(end != out.end());
    CHECK(std::vector<std::string>(begin + 1, end) == std::vector<std::string>{"0", "1", "2"});
    CHECK(rec.value("dev", "stdin") == "character special file 1:3");  // /dev/null
}

TEST_CASE("/sys is mounted read-only and /proc/sys bind-mounted read-only", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["ro"] = sh("while read -r l; do echo \"mnt=$l\"; done < /proc/self/mountinfo");
    run_fleet(fleet_json("ro", containers), root.path(), rec);
    INFO(rec.dump());

    std::map<std::string, std::string> options_at;
    for (const Mount& m : parse_mountinfo(rec.values("ro", "mnt"))) options_at[m.point] = m.options;
    for (const char* point : {"/sys", "/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"}) {
        INFO(point);
        if (!fs::exists(point)) continue;  // not on this kernel (no sysrq here)
        REQUIRE(options_at.count(point) == 1);
        CHECK(options_at[point].rfind("ro", 0) == 0);
    }
    CHECK(options_at["/"].rfind("rw", 0) == 0);
    CHECK(options_at["/proc"].rfind("rw", 0) == 0);
}

}  // namespace
}  // namespace rusty::test
