// How a container's command runs and ends: exit codes, signals, exec
// failures, PATH lookup, users, working directory and environment.
#include "image/image_store.hpp"
#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {
namespace {

TEST_CASE("exit codes and signals are reported exactly", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["code42"] = sh("exit 42");
    containers["code0"] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
    containers["code1"] = Json{{"image", "busybox"}, {"command", Json::array({"false"})}};
    containers["killed"] = Json{{"image", "busybox"}, {"command", Json::array({"sleep", "100"})}};
    int kill_rc = -1;
    rec.on_event_hook = [&](const Event& e) {
        // The pid is not reaped before its Exited event: still ours to signal.
        if (e.kind == EventKind::Started && e.container == "killed") kill_rc = ::kill(e.pid, SIGKILL);
    };
    RunResult r = run_fleet(fleet_json("codes", containers), root.path(), rec);
    INFO(rec.dump());

    CHECK(kill_rc == 0);
    CHECK_FALSE(r.result.all_succeeded);
    CHECK(r.result.stop_signal == 0);
    for (const char* name : {"code42", "code0", "code1", "killed"}) {
        INFO(name);
        CHECK(rec.events_of(name).size() == 2);  // Started, then Exited
    }
    Event e42 = rec.only("code42", EventKind::Exited);
    CHECK(e42.exit_code == 42);
    CHECK_FALSE(e42.signal.has_value());
    CHECK(e42.pid == rec.only("code42", EventKind::Started).pid);
    CHECK(e42.pid > 0);
    CHECK(rec.only("code0", EventKind::Exited).exit_code == 0);
    CHECK(rec.only("code1", EventKind::Exited).exit_code == 1);
    Event killed = rec.only("killed", EventKind::Exited);
    CHECK(killed.signal == SIGKILL);
    CHECK_FALSE(killed.exit_code.has_value());

    // The JSON form agrees.
    auto j = to_json(killed);
    CHECK(j["event"] == "exited");
    CHECK(j["signal"] == "SIGKILL");
    CHECK(j["exit_code"].is_null());
}

TEST_CASE("exec failures are Failed events with the exact error - commands are looked up in PATH",
          "[lifecycle]") {
    TempDir root;
    Recorder rec;
    auto cmd = [](std::vector<std::string> argv) {
        return Json{{"image", "busybox"}, {"command", argv}};
    };
    Json containers;
    containers["abs_missing"] = cmd({"/bin/nope"});
    containers["path_missing"] = cmd({"nope"});
    containers["path_true"] = cmd({"true"});
    containers["path_echo"] = cmd({"echo", "hello", "world"});
    containers["not_exec"] = cmd({"/etc/passwd"});
    containers["is_dir"] = cmd({"/etc"});
    RunResult r = run_fleet(fleet_json("exec", containers), root.path(), rec);
    INFO(rec.dump());

    CHECK_FALSE(r.result.all_succeeded);
    CHECK(rec.events_of("abs_missing").size() == 1);
    CHECK(rec.only("abs_missing", EventKind::Failed).error == "exec \"/bin/nope\": No such file or directory");
    CHECK(rec.events_of("path_missing").size() == 1);
    CHECK(rec.only("path_missing", EventKind::Failed).error == "exec \"nope\": No such file or directory");
    CHECK(rec.only("not_exec", EventKind::Failed).error == "exec \"/etc/passwd\": Permission denied");
    CHECK(rec.only("is_dir", EventKind::Failed).error == "exec \"/etc\": Permission denied");
    CHECK(rec.only("path_true", EventKind::Exited).exit_code == 0);
    CHECK(rec.only("path_echo", EventKind::Exited).exit_code == 0);
    CHECK(rec.out("path_echo") == std::vector<std::string>{"hello world"});
    // A Failed event names the init that failed; it printed nothing.
    CHECK(rec.only("abs_missing", EventKind::Failed).pid > 0);
    CHECK(rec.out("abs_missing").empty());
    CHECK(rec.err("abs_missing").empty());
    CHECK(state_left_besides_logs(r.state_dir).empty());
}

TEST_CASE("PATH lookup uses the container's PATH, not the supervisor's", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Json containers;
    // busybox has `true` in /bin: a PATH without /bin cannot find it.
    containers["no_bin"] = Json{{"image", "busybox"},
                                {"command", Json::array({"true"})},
                                {"environment", Json{{"PATH", "/nowhere"}}}};
    containers["empty_entry"] = Json{{"image", "busybox"},
                                     {"command", Json::array({"busybox", "true"})},
                                     {"working_dir", "/bin"},
                                     {"environment", Json{{"PATH", ":/nowhere"}}}};
    run_fleet(fleet_json("path", containers), root.path(), rec);
    INFO(rec.dump());
    CHECK(rec.only("no_bin", EventKind::Failed).error == "exec \"true\": No such file or directory");
    // An empty PATH entry means the working directory, as for execvp.
    CHECK(rec.only("empty_entry", EventKind::Exited).exit_code == 0);
}

TEST_CASE("user: names and ids from the container's /etc/passwd", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    const std::string script = "echo uid=$(id -u); echo gid=$(id -g); echo groups=$(id -G); echo home=$HOME;"
                               "echo whoami=$(id -un 2>/dev/null)";
    auto as = [&](const char* user) {
        Json c = sh(script);
        if (user) c["user"] = user;
        return c;
    };
    Json containers;
    containers["default"] = as(nullptr);
    containers["nobody"] = as("nobody");
    containers["numeric"] = as("1000:1000");
    containers["uid_only"] = as("1000");
    containers["name_group"] = as("nobody:tty");
    containers["bob"] = as("bob");
    containers["bob_group"] = as("nobody:nogroup-x");
    run_fleet(fleet_json("users", containers), root.path(), rec);
    INFO(rec.dump());

    CHECK(rec.value("default", "uid") == "0");
    CHECK(rec.value("default", "gid") == "0");
    CHECK(rec.value("default", "home") == "/root");
    CHECK(rec.value("nobody", "uid") == "65534");
    CHECK(rec.value("nobody", "gid") == "65534");
    CHECK(rec.value("nobody", "home") == "/nonexistent");
    CHECK(rec.value("numeric", "uid") == "1000");
    CHECK(rec.value("numeric", "gid") == "1000");
    CHECK(rec.value("numeric", "groups") == "1000");  // no supplementary group of the supervisor
    CHECK(rec.value("uid_only", "uid") == "1000");
    CHECK(rec.value("name_group", "uid") == "65534");
    CHECK(rec.value("name_group", "gid") == "5");
    for (const char* name : {"default", "nobody", "numeric", "uid_only", "name_group"}) {
        INFO(name);
        CHECK(rec.only(name, EventKind::Exited).exit_code == 0);
    }
    CHECK(rec.events_of("bob").size() == 1);
    CHECK_THAT(rec.only("bob", EventKind::Failed).error, Catch::Contains("\"bob\""));
    CHECK_THAT(rec.only("bob_group", EventKind::Failed).error, Catch::Contains("\"nogroup-x\""));
}

TEST_CASE("working_dir is created and is the cwd - environment values and defaults arrive", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["wd"] = sh("echo pwd=$(pwd); echo stat=$(stat -c '%U %a' /srv/app)");
    containers["wd"]["working_dir"] = "/srv/app";
    containers["wd_nobody"] = sh("echo pwd=$(pwd)");
    containers["wd_nobody"]["working_dir"] = "/data/deep/dir";
    containers["wd_nobody"]["user"] = "nobody";
    containers["env"] = Json{{"image", "busybox"},
                             {"command", Json::array({"env"})},
                             {"environment", Json{{"FOO", "bar baz"},
                                                  {"EMPTY", ""},
                                                  {"QUOTED", "a'b\"c $x"},
                                                  {"NUM", 5},
                                                  {"FLAG", true}}}};
    containers["env_override"] = Json{
        {"image", "busybox"},
        {"command", Json::array({"env"})},
        {"hostname", "box"},
        {"environment", Json{{"HOME", "/home/x"}, {"PATH", "/usr/bin:/bin"}, {"HOSTNAME", "other"}}}};
    run_fleet(fleet_json("env", containers), root.path(), rec);
    INFO(rec.dump());

    CHECK(rec.only("wd", EventKind::Exited).exit_code == 0);
    CHECK(rec.value("wd", "pwd") == "/srv/app");
    CHECK(rec.value("wd", "stat") == "root 755");
    CHECK(rec.only("wd_nobody", EventKind::Exited).exit_code == 0);
    CHECK(rec.value("wd_nobody", "pwd") == "/data/deep/dir");

    auto env_of = [&](const std::string& name) {
        const auto& lines = rec.out(name);
        return std::set<std::string>(lines.begin(), lines.end());
    };
    auto env = env_of("env");
    CHECK(env.count("FOO=bar baz") == 1);
    CHECK(env.count("EMPTY=") == 1);
    CHECK(env.count("QUOTED=a'b\"c $x") == 1);
    CHECK(env.count("NUM=5") == 1);
    CHECK(env.count("FLAG=true") == 1);
    CHECK(env.count("HOSTNAME=env") == 1);
    CHECK(env.count("HOME=/root") == 1);
    CHECK(env.count("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") == 1);
    // Exactly those: nothing leaks from the supervisor's environment.
    CHECK(env.size() == 8);

    auto over = env_of("env_override");
    CHECK(over == std::set<std::string>{"HOME=/home/x", "PATH=/usr/bin:/bin", "HOSTNAME=other"});
}

TEST_CASE("the init runs in its own session with umask 022, a clean signal mask and no ignored signal",
          "[lifecycle][signals]") {
    TempDir root;
    Recorder rec;
    // The supervisor blocks signals for its signalfd (handle_signals) and the
    // helper ignores terminal signals: neither may reach the command.
    struct IgnorePipe {
        struct sigaction old {};
        IgnorePipe() {
            struct sigaction ign {};
            ign.sa_handler = SIG_IGN;
            ::sigaction(SIGPIPE, &ign, &old);
        }
        ~IgnorePipe() { ::sigaction(SIGPIPE, &old, nullptr); }
    } ignore_pipe;
    Json containers;
    // No shell: the status of the init exactly as exec left it.
    containers["status"] = Json{{"image", "busybox"}, {"command", Json::array({"cat", "/proc/self/status"})}};
    containers["stat"] = Json{{"image", "busybox"}, {"command", Json::array({"cat", "/proc/self/stat"})}};
    containers["umask"] = sh("echo umask=$(umask); touch /f; echo mode=$(stat -c %a /f)");
    RunOptions opts;
    opts.handle_signals = true;
    run_fleet(fleet_json("proc", containers), root.path(), rec, opts);
    INFO(rec.dump());

    std::map<std::string, std::string> status;
    for (const std::string& line : rec.out("status")) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto words = split_words(line.substr(colon + 1));
        status[line.substr(0, colon)] = words.empty() ? "" : words.front();
    }
    CHECK(status["SigBlk"] == hex16(0));
    CHECK(status["SigIgn"] == hex16(0));
    CHECK(status["Pid"] == "1");
    // /proc/self/stat: "1 (cat) R 0 1 1 …": ppid 0, pgrp 1, session 1.
    REQUIRE(rec.out("stat").size() == 1);
    auto stat = split_words(rec.out("stat").front());
    REQUIRE(stat.size() > 6);
    CHECK(stat[0] == "1");
    CHECK(stat[3] == "0");
    CHECK(stat[4] == "1");
    CHECK(stat[5] == "1");
    CHECK(rec.value("umask", "umask") == "0022");
    CHECK(rec.value("umask", "mode") == "644");
}

TEST_CASE("state.json and supervisor.json describe the running fleet", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    nlohmann::json state, supervisor;
    fs::path state_dir = root.path() / "st";
    rec.on_event_hook = [&](const Event& e) {
        if (e.kind != EventKind::Started) return;
        std::ifstream s(state_dir / e.container / "state.json");
        state = nlohmann::json::parse(s, nullptr, false);
        std::ifstream v(state_dir / "supervisor.json");
        supervisor = nlohmann::json::parse(v, nullptr, false);
    };
    Json containers;
    containers["one"] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
    RunResult r = run_fleet(fleet_json("st", containers), root.path(), rec);
    INFO(rec.dump() << state.dump() << supervisor.dump());
    CHECK(state.value("name", "") == "one");
    CHECK(state.value("state", "") == "running");
    CHECK(state.value("pid", 0) == rec.only("one", EventKind::Started).pid);
    CHECK(supervisor.value("name", "") == "st");
    CHECK(supervisor.value("pid", 0) == ::getpid());
    CHECK(state_left_besides_logs(r.state_dir).empty());
}

TEST_CASE("user: supplementary groups and names come from the rootfs's own /etc files", "[lifecycle]") {
    TempDir root;
    const fs::path rootfs = root.path() / "rootfs";
    fs::copy(image::ImageStore(root.path() / "images").ensure("busybox"), rootfs,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    std::ofstream(rootfs / "etc/passwd", std::ios::app) << "bob:x:1001:1002:Bob:/home/bob:/bin/sh\n";
    std::ofstream(rootfs / "etc/group", std::ios::app)
        << "bobs:x:1002:\nstaff:x:50:alice,bob\nwheel:x:10:bob\nother:x:60:alice\n";
    auto as = [&](const char* user) {
        return Json{{"rootfs", rootfs.string()},
                    {"user", user},
                    {"command", Json::array({"sh", "-c", "echo ids=$(id -u):$(id -g) groups=$(id -G) home=$HOME"})}};
    };
    Recorder rec;
    Json containers;
    containers["bob"] = as("bob");
    containers["bob_staff"] = as("bob:staff");
    containers["uid"] = as("1001");
    run_fleet(fleet_json("groups", containers), root.path(), rec);
    INFO(rec.dump());
    // id -G: the gid, then the supplementary groups (the kernel sorts them).
    CHECK(rec.value("bob", "ids") == "1001:1002 groups=1002 10 50 home=/home/bob");
    CHECK(rec.value("bob_staff", "ids") == "1001:50 groups=50 10 home=/home/bob");
    CHECK(rec.value("uid", "ids") == "1001:1002 groups=1002 10 50 home=/home/bob");
}


TEST_CASE("a spawn request too large for the helper fails only its own container", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["huge"] = sh("echo never");
    containers["huge"]["environment"] = Json{{"BIG", std::string(70 * 1024, 'x')}};
    containers["fine"] = sh("echo fine");
    run_fleet(fleet_json("huge", containers), root.path(), rec);
    CHECK_THAT(rec.only("huge", EventKind::Failed).error, Catch::Contains("over the 64 KiB limit"));
    // The helper survived: its neighbour still started.
    rec.only("fine", EventKind::Started);
    CHECK(rec.out("fine") == std::vector<std::string>{"fine"});
}

}  // namespace
}  // namespace rusty::test
