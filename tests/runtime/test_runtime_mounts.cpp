// mounts, maskedPaths, readonlyPaths and namespaces joined by path, as the
// container sees them.
#include <sys/stat.h>

#include "tests/runtime/runtime_helpers.hpp"

using namespace rusty::runtime_test;

namespace {

struct MountLine {
    std::string point;
    std::string options;        // per-mount (field 6)
    std::string fstype;
    std::string super_options;  // after the " - " separator
};

std::optional<MountLine> find_mount(const std::string& mountinfo, const std::string& point) {
    std::optional<MountLine> found;
    for (const std::string& line : lines_of(mountinfo)) {
        std::istringstream in(line);
        std::vector<std::string> f;
        for (std::string w; in >> w;) f.push_back(w);
        if (f.size() < 7 || f[4] != point) continue;
        auto sep = std::find(f.begin(), f.end(), "-");
        MountLine m{f[4], f[5], "", ""};
        if (sep != f.end() && sep + 1 != f.end()) m.fstype = *(sep + 1);
        if (sep != f.end() && sep + 3 < f.end()) m.super_options = *(sep + 3);
        found = m;  // the last one at that point is the visible one
    }
    return found;
}

bool has_option(const std::string& options, const std::string& option) {
    std::istringstream in(options);
    for (std::string o; std::getline(in, o, ',');)
        if (o == option) return true;
    return false;
}

std::string ns_link(pid_t pid, const char* ns) {
    std::error_code ec;
    return fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + ns, ec).string();
}

}  // namespace

TEST_CASE("mounts: a tmpfs with options and a read-only bind", "[runtime]") {
    Bundle b("mounts");
    b.add_mount({{"destination", "/data"},
                 {"type", "tmpfs"},
                 {"source", "tmpfs"},
                 {"options", {"nosuid", "nodev", "size=1m", "mode=700"}}});
    const fs::path host = b.bind_host_dir("ro-src", "/ro", {"bind", "ro"});
    {
        std::ofstream(host / "hello") << "from the host\n";
    }
    b.set_shell(
        "cat /proc/self/mountinfo; echo ---; stat -c 'datamode=%a' /data; cat /ro/hello; "
        "touch /ro/new 2>&1; echo ro-write=$?; touch /data/ok && echo data-write-ok");
    Result r = b.run("mounts");
    INFO(r.describe());
    REQUIRE(r.code == 0);
    const std::string mountinfo = r.out.substr(0, r.out.find("---"));

    auto data = find_mount(mountinfo, "/data");
    REQUIRE(data);
    CHECK(data->fstype == "tmpfs");
    CHECK(has_option(data->options, "nosuid"));
    CHECK(has_option(data->options, "nodev"));
    CHECK(has_option(data->options, "rw"));
    CHECK(has_option(data->super_options, "size=1024k"));
    CHECK(has_option(data->super_options, "mode=700"));
    CHECK(line_after(r.out, "datamode=") == "700");
    CHECK(contains(r.out, "data-write-ok"));

    auto ro = find_mount(mountinfo, "/ro");
    REQUIRE(ro);
    CHECK(has_option(ro->options, "ro"));
    CHECK(contains(r.out, "from the host"));
    CHECK(contains(r.out, "Read-only file system"));
    CHECK(line_after(r.out, "ro-write=") == "1");
    CHECK_FALSE(fs::exists(host / "new"));
}

TEST_CASE("maskedPaths and readonlyPaths", "[runtime]") {
    Bundle b("masked");
    b.config["hostname"] = "masked-host";
    // Masked files that exist on this kernel (a masked path that does not
    // exist is skipped, as runc does: /proc/kcore is absent without
    // CONFIG_PROC_KCORE).
    std::vector<std::string> files;
    for (const char* f : {"/proc/kcore", "/proc/keys", "/proc/timer_list"})
        if (fs::exists(f)) files.push_back(f);
    REQUIRE_FALSE(files.empty());
    std::string script = "cat /proc/self/mountinfo; echo ---; ";
    for (const std::string& f : files)
        script += "echo \"" + f + " $(stat -L -c '%F %t:%T' " + f + ") size=$(cat " + f + " | wc -c)\"; ";
    script +=
        "echo acpi=$(ls -A /proc/acpi 2>/dev/null | wc -l); "
        "echo intruder > /proc/sys/kernel/hostname 2>/dev/null; echo sysw=$?; "
        "echo host=$(hostname)";
    b.set_shell(script);
    Result r = b.run("masked");
    INFO(r.describe());
    REQUIRE(r.code == 0);

    for (const std::string& f : files) {
        INFO(f);
        // /dev/null bound over it: a character device 1:3, empty to read.
        CHECK(line_after(r.out, f + " ") == "character special file 1:3 size=0");
    }
    const std::string mountinfo = r.out.substr(0, r.out.find("---"));
    if (fs::exists("/proc/acpi")) {
        CHECK(line_after(r.out, "acpi=") == "0");
        auto acpi = find_mount(mountinfo, "/proc/acpi");
        REQUIRE(acpi);
        CHECK(has_option(acpi->options, "ro"));
    }
    auto sys = find_mount(mountinfo, "/proc/sys");
    REQUIRE(sys);
    CHECK(has_option(sys->options, "ro"));
    CHECK(line_after(r.out, "sysw=") == "1");
    CHECK(line_after(r.out, "host=") == "masked-host");
    for (const char* p : {"/proc/bus", "/proc/fs", "/proc/irq"}) {
        if (!fs::exists(p)) continue;
        INFO(p);
        auto m = find_mount(mountinfo, p);
        REQUIRE(m);
        CHECK(has_option(m->options, "ro"));
    }
}

TEST_CASE("namespaces: joined by path, or the host's when not listed", "[runtime]") {
    Bundle a("ns-a");
    a.set_args({"sleep", "100"});
    Result ra = a.run("nsa", {"--detach"});
    INFO(ra.describe());
    REQUIRE(ra.code == 0);
    const pid_t pid_a = a.init_pid("nsa");
    REQUIRE(pid_a > 0);
    const std::string net_a = ns_link(pid_a, "net");
    REQUIRE(contains(net_a, "net:["));
    const std::string host_net = fs::read_symlink("/proc/self/ns/net").string();
    CHECK(net_a != host_net);  // A has a network namespace of its own

    SECTION("joined: B's network namespace is A's") {
        Bundle bb("ns-b");
        for (json& ns : bb.config["linux"]["namespaces"])
            if (ns["type"] == "network") ns["path"] = "/proc/" + std::to_string(pid_a) + "/ns/net";
        bb.set_shell("readlink /proc/self/ns/net; readlink /proc/self/ns/uts");
        Result r = bb.run("nsb");
        INFO(r.describe());
        REQUIRE(r.code == 0);
        const auto lines = lines_of(r.out);
        REQUIRE(lines.size() >= 2);
        CHECK(lines[0] == net_a);
        CHECK(lines[1] != ns_link(pid_a, "uts"));  // only the one asked for is shared
    }
    SECTION("not listed: the host's network namespace") {
        Bundle c("ns-c");
        auto& list = c.config["linux"]["namespaces"];
        list.erase(std::remove_if(list.begin(), list.end(), [](const json& ns) { return ns["type"] == "network"; }),
                   list.end());
        c.set_shell("readlink /proc/self/ns/net; readlink /proc/self/ns/pid");
        Result r = c.run("nsc");
        INFO(r.describe());
        REQUIRE(r.code == 0);
        const auto lines = lines_of(r.out);
        REQUIRE(lines.size() >= 2);
        CHECK(lines[0] == host_net);
        CHECK(lines[1] != fs::read_symlink("/proc/self/ns/pid").string());
    }
    SECTION("a path that does not exist fails the create") {
        Bundle d("ns-d");
        for (json& ns : d.config["linux"]["namespaces"])
            if (ns["type"] == "network") ns["path"] = "/proc/999999999/ns/net";
        Result r = d.create("nsd");
        INFO(r.describe());
        CHECK(r.code == 1);
        CHECK(contains(r.err, "linux.namespaces["));
        CHECK(d.root_entries().empty());
        CHECK_NO_CGROUP(d.cgroup_path("nsd"));
    }
}
