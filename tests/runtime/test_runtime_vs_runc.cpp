// The same bundle under rusty-runtime and under runc: what the container
// sees of its privileges, identity, limits and mounts must agree.
#include "tests/runtime/runtime_helpers.hpp"
#include "tests/support/skip.hpp"

using namespace rusty::runtime_test;

namespace {

const char* kProbe =
    "grep -E 'Cap|Seccomp|NoNewPrivs' /proc/self/status; echo \"id: $(id)\"; echo \"hostname: $(hostname)\"; "
    "echo \"nofile: $(ulimit -n)\"; echo MOUNTS; cat /proc/self/mountinfo | awk '{print $5, $6}' | sort";

struct Probe {
    std::map<std::string, std::string> fields;     // "CapEff" -> "…", "id" -> "…"
    std::map<std::string, std::string> mounts;     // mount point -> per-mount options
};

Probe parse(const std::string& out) {
    Probe p;
    bool in_mounts = false;
    for (const std::string& line : lines_of(out)) {
        if (line == "MOUNTS") {
            in_mounts = true;
            continue;
        }
        if (in_mounts) {
            const auto space = line.find(' ');
            p.mounts[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
            continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        p.fields[line.substr(0, colon)] = trim(line.substr(colon + 1));
    }
    return p;
}

// Mount points in one set and not the other, as text.
std::string mount_diff(const Probe& a, const Probe& b, bool skip_cgroup) {
    std::ostringstream s;
    auto skip = [&](const std::string& point) {
        return skip_cgroup && point.rfind("/sys/fs/cgroup/", 0) == 0;
    };
    for (const auto& [point, opts] : a.mounts)
        if (!skip(point) && !b.mounts.contains(point)) s << "  only rusty-runtime: " << point << " " << opts << "\n";
    for (const auto& [point, opts] : b.mounts)
        if (!skip(point) && !a.mounts.contains(point)) s << "  only runc: " << point << " " << opts << "\n";
    return s.str();
}

void compare(Bundle& b, const std::string& what) {
    Result rusty = b.run("cmp-rusty");
    Result runc = b.runc("run", "cmp-runc");
    INFO(what);
    INFO("rusty-runtime: " << rusty.describe());
    INFO("runc: " << runc.describe());
    REQUIRE(rusty.code == 0);
    REQUIRE(runc.code == 0);
    const Probe r = parse(rusty.out);
    const Probe c = parse(runc.out);

    std::vector<std::string> keys;
    for (const auto& [k, v] : c.fields)
        if (k.rfind("Cap", 0) == 0 || k.rfind("Seccomp", 0) == 0 || k == "NoNewPrivs") keys.push_back(k);
    for (const char* k : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Seccomp", "NoNewPrivs"})
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    keys.insert(keys.end(), {"id", "hostname", "nofile"});
    for (const std::string& k : keys) {
        INFO("field " << k);
        CHECK(r.fields.count(k) == 1);
        CHECK(r.fields.count(k) == c.fields.count(k));
        if (r.fields.count(k) && c.fields.count(k)) CHECK(r.fields.at(k) == c.fields.at(k));
    }

    // The set of mount points. /sys/fs/cgroup/* legitimately differs: runc
    // binds the whole host tree of every v1 hierarchy (and no
    // "unified" on a hybrid host), rusty-runtime shows the hierarchies the
    // container has joined and only its own cgroups in them. The
    // /sys/fs/cgroup mount itself is compared.
    const std::string diff = mount_diff(r, c, true);
    INFO("mount points that differ (excluding /sys/fs/cgroup/*):\n" << diff);
    CHECK(diff.empty());
    CHECK(r.mounts.contains("/sys/fs/cgroup"));
}

}  // namespace

TEST_CASE("rusty-runtime and runc agree on what a container sees", "[runtime]") {
    RUSTY_SKIP_IF(runc_binary().empty(), "runc is not installed");
    Bundle b("runc");
    b.set_shell(kProbe);

    SECTION("runc's default spec") { compare(b, "the default spec"); }
    SECTION("non-root user, ambient capabilities, seccomp, rlimits, extra mounts") {
        const json two = {"CAP_CHOWN", "CAP_KILL"};
        const json kill = {"CAP_KILL"};
        b.config["process"]["capabilities"] = {
            {"bounding", two}, {"effective", two}, {"permitted", two}, {"inheritable", kill}, {"ambient", kill}};
        b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}};
        b.config["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 512}, {"hard", 1024}}};
        b.config["hostname"] = "compare-host";
        b.config["linux"]["seccomp"] = {
            {"defaultAction", "SCMP_ACT_ALLOW"},
            {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}}}};
        b.add_tmpfs("/data", {"nosuid", "nodev", "size=1m", "mode=700"});
        b.bind_host_dir("ro-src", "/ro", {"bind", "ro"});
        compare(b, "a richer spec");
    }
    SECTION("noNewPrivileges false, no seccomp, root") {
        b.config["process"]["noNewPrivileges"] = false;
        compare(b, "noNewPrivileges false");
    }
}
