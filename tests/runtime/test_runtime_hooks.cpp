// OCI hooks: their order, the state JSON on their stdin, and a failing
// createRuntime hook undoing the create.
#include <sys/stat.h>

#include "tests/runtime/runtime_helpers.hpp"

using namespace rusty::runtime_test;

namespace {

// A hook script that appends "<name> <state JSON>" to `log`. `shell` is
// the interpreter: the host's /bin/sh, or the rootfs's busybox sh for a
// startContainer hook, which runs inside the container.
void write_hook(const fs::path& script, const std::string& shell, const std::string& name, const std::string& log,
                int exit_code = 0, const std::string& delay = "") {
    std::ofstream out(script);
    out << "#!" << shell << "\n"
        << "state=$(cat)\n"
        << (delay.empty() ? "" : "sleep " + delay + "\n")
        << "printf '%s %s\\n' '" << name << "' \"$state\" >> " << log << "\n"
        << "exit " << exit_code << "\n";
    out.close();
    fs::permissions(script, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
}

json hook(const fs::path& path) { return {{"path", path.string()}, {"args", {path.filename().string()}}}; }

struct Entry {
    std::string name;
    json state;
};

std::vector<Entry> read_log(const fs::path& log) {
    std::vector<Entry> out;
    for (const std::string& line : lines_of(read_file(log))) {
        const auto space = line.find(' ');
        if (space == std::string::npos) {
            out.push_back({line, json()});
            continue;
        }
        out.push_back({line.substr(0, space), json::parse(line.substr(space + 1), nullptr, false)});
    }
    return out;
}

}  // namespace

TEST_CASE("hooks run in order with the state on stdin", "[runtime]") {
    Bundle b("hooks");
    const fs::path logdir = b.bind_host_dir("hooklog", "/hooklog");
    const fs::path log = logdir / "log";
    const fs::path scripts = b.tmp() / "scripts";
    fs::create_directories(scripts);
    for (const char* name : {"createRuntime", "createContainer", "poststart", "poststop"})
        write_hook(scripts / name, "/bin/sh", name, log.string());
    // startContainer runs inside the container: a busybox script in the
    // rootfs, writing to the same log through the bind mount.
    fs::create_directories(b.rootfs() / "hooks");
    // It takes a moment, as a real one would: the runtime must wait for it
    // (and for the command's exec) before its poststart hooks.
    write_hook(b.rootfs() / "hooks" / "startContainer", "/bin/sh", "startContainer", "/hooklog/log", 0, "0.3");

    b.config["hooks"] = {{"createRuntime", {hook(scripts / "createRuntime")}},
                         {"createContainer", {hook(scripts / "createContainer")}},
                         {"startContainer", {{{"path", "/hooks/startContainer"}}}},
                         {"poststart", {hook(scripts / "poststart")}},
                         {"poststop", {hook(scripts / "poststop")}}};
    b.set_shell("echo command >> /hooklog/log");

    Result r = b.run("hooked");
    INFO(r.describe());
    INFO("log:\n" << read_file(log));
    REQUIRE(r.code == 0);
    const auto entries = read_log(log);
    std::vector<std::string> order;
    for (const Entry& e : entries) order.push_back(e.name);
    // poststart runs once the command has been exec'd, but the command's
    // own echo may come before or after it: the hooks' order among
    // themselves is what the runtime-spec fixes.
    std::vector<std::string> hooks_only;
    for (const std::string& n : order)
        if (n != "command") hooks_only.push_back(n);
    CHECK(hooks_only ==
          std::vector<std::string>{"createRuntime", "createContainer", "startContainer", "poststart", "poststop"});
    CHECK(std::count(order.begin(), order.end(), "command") == 1);
    // The command runs after startContainer and before poststop.
    const auto pos = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
    CHECK(pos("command") > pos("startContainer"));
    CHECK(pos("command") < pos("poststop"));

    pid_t pid = 0;
    for (const Entry& e : entries) {
        if (e.name == "command") continue;
        INFO(e.name << ": " << e.state.dump());
        REQUIRE(e.state.is_object());
        CHECK(e.state.value("id", "") == "hooked");
        CHECK(e.state.value("bundle", "") == b.dir().string());
        CHECK(e.state.contains("ociVersion"));
        if (e.name == "poststop") {
            CHECK(e.state.value("status", "") == "stopped");
            continue;
        }
        REQUIRE(e.state.contains("pid"));
        const pid_t p = e.state["pid"].get<pid_t>();
        CHECK(p > 0);
        if (pid == 0) pid = p;
        CHECK(p == pid);  // the init's host pid, the same for every hook
    }
    for (const Entry& e : entries) {
        if (e.name == "createRuntime" || e.name == "createContainer") {
            INFO(e.name);
            CHECK(e.state.value("status", "") == "creating");
        }
        // startContainer runs during `start`, once `create` has finished: the
        // container is "created" (runtime-spec's lifecycle; runc says so too).
        if (e.name == "startContainer") CHECK(e.state.value("status", "") == "created");
        if (e.name == "poststart") CHECK(e.state.value("status", "") == "running");
    }
    CHECK(b.root_entries().empty());
    CHECK_NO_CGROUP(b.cgroup_path("hooked"));
}

TEST_CASE("a failing createRuntime hook fails the create and leaves nothing", "[runtime]") {
    Bundle b("hookfail");
    const fs::path log = b.tmp() / "log";
    const fs::path script = b.tmp() / "fail-hook";
    write_hook(script, "/bin/sh", "createRuntime", log.string(), 1);
    b.config["hooks"] = {{"createRuntime", {hook(script)}}};
    b.set_args({"sleep", "100"});

    Result r = b.create("bad");
    INFO(r.describe());
    CHECK(r.code == 1);
    CHECK(contains(r.err, "level=error"));
    CHECK(contains(r.err, "createRuntime"));
    CHECK(contains(read_file(log), "createRuntime"));  // it did run
    CHECK(b.root_entries().empty());
    CHECK_NO_CGROUP(b.cgroup_path("bad"));
    Result st = b.state("bad");
    CHECK(st.code == 1);
    CHECK(contains(st.err, "container does not exist"));
}
