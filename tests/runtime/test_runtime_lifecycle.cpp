// rusty-runtime's lifecycle verbs against the real binary: create, start,
// state, kill, delete, run, pause/resume, ps, list, features, spec, and that
// a cycle leaks nothing into the caller.
#include <sys/stat.h>

#include "tests/runtime/runtime_helpers.hpp"

using namespace rusty::runtime_test;

namespace {

// The number of entries in /proc/self/fd.
std::size_t open_fds() {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
        (void)e;
        ++n;
    }
    return n;
}

// Children of this process that are zombies.
std::vector<pid_t> zombie_children() {
    std::vector<pid_t> out;
    const pid_t self = ::getpid();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        const std::string name = e.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        std::string stat = read_file(e.path() / "stat");
        const auto paren = stat.rfind(')');
        if (paren == std::string::npos) continue;
        std::istringstream fields(stat.substr(paren + 2));
        char state = 0;
        pid_t ppid = 0;
        fields >> state >> ppid;
        if (ppid == self && state == 'Z') out.push_back(std::stoi(name));
    }
    return out;
}

std::size_t mount_count() { return lines_of(read_file("/proc/self/mountinfo")).size(); }

}  // namespace

TEST_CASE("create, start, kill and delete: the container's command runs only after start", "[runtime]") {
    Bundle b("lifecycle");
    const fs::path shared = b.bind_host_dir("shared", "/shared");
    b.set_shell("touch /shared/started; exec sleep 100");

    Result created = b.create("c1");
    INFO(created.describe());
    REQUIRE(created.code == 0);

    auto st = b.state_json("c1");
    REQUIRE(st);
    CHECK(st->value("status", "") == "created");
    CHECK(st->value("id", "") == "c1");
    CHECK(st->value("bundle", "") == b.dir().string());
    const pid_t pid = st->value("pid", 0);
    REQUIRE(pid > 0);
    CHECK(fs::exists("/proc/" + std::to_string(pid)));
    CHECK(process_alive(pid));
    // The cgroup leaf exists while the container does.
    CHECK_FALSE(existing_cgroup_dirs(b.cgroup_path("c1")).empty());

    // Not run yet: give it time it would need to touch the file.
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(fs::exists(shared / "started"));

    Result started = b.start("c1");
    INFO(started.describe());
    REQUIRE(started.code == 0);
    CHECK(eventually([&] { return fs::exists(shared / "started"); }));
    CHECK(b.status("c1") == "running");
    CHECK(b.init_pid("c1") == pid);

    // A second start is refused.
    Result again = b.start("c1");
    CHECK(again.code == 1);
    CHECK(contains(again.err, "level=error"));

    Result killed = b.kill("c1", "SIGKILL");
    INFO(killed.describe());
    REQUIRE(killed.code == 0);
    CHECK(b.wait_status("c1", "stopped"));
    CHECK(b.init_pid("c1") == 0);  // runc reports pid 0 for a stopped container

    Result deleted = b.remove("c1");
    INFO(deleted.describe());
    REQUIRE(deleted.code == 0);

    Result gone = b.state("c1");
    CHECK(gone.code == 1);
    CHECK(contains(gone.err, "container does not exist"));
    CHECK(contains(gone.err, "level=error"));
    CHECK(contains(gone.err, "time=\""));
    CHECK(b.root_entries().empty());
    CHECK_NO_CGROUP(b.cgroup_path("c1"));
}

TEST_CASE("kill works on a created container", "[runtime]") {
    Bundle b("killcreated");
    b.set_args({"sleep", "100"});
    Result created = b.create("c2");
    INFO(created.describe());
    REQUIRE(created.code == 0);
    const pid_t pid = b.init_pid("c2");
    REQUIRE(pid > 0);
    CHECK(b.status("c2") == "created");

    Result killed = b.kill("c2", "KILL");
    INFO(killed.describe());
    CHECK(killed.code == 0);
    CHECK(b.wait_status("c2", "stopped"));
    CHECK(eventually([&] { return !process_alive(pid); }));

    Result deleted = b.remove("c2");
    INFO(deleted.describe());
    CHECK(deleted.code == 0);
    CHECK(b.state("c2").code == 1);
    CHECK(b.root_entries().empty());
    CHECK_NO_CGROUP(b.cgroup_path("c2"));
}

TEST_CASE("delete refuses a running container unless forced", "[runtime]") {
    Bundle b("deleteforce");
    b.set_args({"sleep", "100"});
    Result run = b.run("c3", {"--detach"});
    INFO(run.describe());
    REQUIRE(run.code == 0);
    REQUIRE(b.wait_status("c3", "running"));
    const pid_t pid = b.init_pid("c3");
    REQUIRE(pid > 0);

    Result refused = b.remove("c3");
    CHECK(refused.code == 1);
    CHECK(contains(refused.err, "not stopped"));
    CHECK(process_alive(pid));
    CHECK(b.status("c3") == "running");

    Result forced = b.remove("c3", true);
    INFO(forced.describe());
    CHECK(forced.code == 0);
    CHECK(eventually([&] { return !process_alive(pid); }));
    Result gone = b.state("c3");
    CHECK(gone.code == 1);
    CHECK(contains(gone.err, "container does not exist"));
    CHECK(b.root_entries().empty());
    CHECK_NO_CGROUP(b.cgroup_path("c3"));

    // --force on a container that is gone is no error (as runc).
    CHECK(b.remove("c3", true).code == 0);
    // Without --force it is.
    Result plain = b.remove("c3");
    CHECK(plain.code == 1);
    CHECK(contains(plain.err, "container does not exist"));
}

TEST_CASE("run in the foreground returns the container's exit status", "[runtime]") {
    Bundle b("runfg");
    SECTION("exit 7") {
        b.set_shell("echo out-line; echo err-line >&2; exit 7");
        Result r = b.run("c4");
        INFO(r.describe());
        CHECK(r.code == 7);
        CHECK(contains(r.out, "out-line"));
        CHECK(contains(r.err, "err-line"));
    }
    SECTION("exit 0") {
        b.set_shell("echo fine");
        Result r = b.run("c4");
        INFO(r.describe());
        CHECK(r.code == 0);
        CHECK(trim(r.out) == "fine");
    }
    SECTION("a command missing from the rootfs fails the run") {
        b.set_args({"/bin/no-such-command"});
        Result r = b.run("c4");
        INFO(r.describe());
        CHECK(r.code == 1);
        CHECK(contains(r.err, "no-such-command"));
    }
    // run deletes the container afterwards.
    CHECK(b.state("c4").code == 1);
    CHECK(b.root_entries().empty());
    CHECK_NO_CGROUP(b.cgroup_path("c4"));
}

TEST_CASE("pause and resume, and ps lists the init", "[runtime]") {
    Bundle b("pause");
    const fs::path shared = b.bind_host_dir("shared", "/shared");
    // Counts while it runs: a paused container's counter stands still.
    b.set_shell("i=0; while true; do i=$((i+1)); echo $i > /shared/tick; sleep 0.05; done");
    Result run = b.run("c5", {"--detach"});
    INFO(run.describe());
    REQUIRE(run.code == 0);
    REQUIRE(b.wait_status("c5", "running"));
    const pid_t pid = b.init_pid("c5");
    REQUIRE(pid > 0);

    Result ps = b.rt({"ps", "--format", "json", "c5"});
    INFO(ps.describe());
    REQUIRE(ps.code == 0);
    json pids = json::parse(ps.out, nullptr, false);
    REQUIRE(pids.is_array());
    CHECK(std::find(pids.begin(), pids.end(), json(pid)) != pids.end());

    REQUIRE(eventually([&] { return fs::exists(shared / "tick"); }));
    Result paused = b.rt({"pause", "c5"});
    INFO(paused.describe());
    REQUIRE(paused.code == 0);
    CHECK(b.status("c5") == "paused");
    std::this_thread::sleep_for(200ms);
    const std::string frozen_at = read_file(shared / "tick");
    std::this_thread::sleep_for(400ms);
    CHECK(read_file(shared / "tick") == frozen_at);

    // Pausing twice, or resuming a running container, is an error.
    CHECK(b.rt({"pause", "c5"}).code == 1);

    Result resumed = b.rt({"resume", "c5"});
    INFO(resumed.describe());
    REQUIRE(resumed.code == 0);
    CHECK(b.status("c5") == "running");
    CHECK(eventually([&] { return read_file(shared / "tick") != frozen_at; }, 5s));
    CHECK(b.rt({"resume", "c5"}).code == 1);

    CHECK(b.remove("c5", true).code == 0);
    CHECK_NO_CGROUP(b.cgroup_path("c5"));
}

TEST_CASE("list, features and spec", "[runtime]") {
    Bundle b("list");
    b.set_args({"sleep", "100"});
    REQUIRE(b.create("alpha").code == 0);
    REQUIRE(b.run("beta", {"--detach"}).code == 0);

    Result list = b.rt({"list", "--format", "json"});
    INFO(list.describe());
    REQUIRE(list.code == 0);
    json all = json::parse(list.out, nullptr, false);
    REQUIRE(all.is_array());
    std::map<std::string, std::string> status;
    for (const json& s : all) status[s.value("id", "")] = s.value("status", "");
    CHECK(status["alpha"] == "created");
    CHECK(status["beta"] == "running");
    CHECK(all.size() == 2);

    Result quiet = b.rt({"list", "-q"});
    CHECK(quiet.code == 0);
    CHECK(lines_of(quiet.out) == std::vector<std::string>{"alpha", "beta"});

    Result features = b.rt({"features"});
    INFO(features.describe());
    REQUIRE(features.code == 0);
    json f = json::parse(features.out, nullptr, false);
    REQUIRE(f.is_object());
    CHECK(f.value("ociVersionMax", "") == rusty::oci::kSpecVersion);
    CHECK(f.contains("ociVersionMin"));
    CHECK(f["hooks"].size() == 6);

    // spec writes runc's default config.json into an empty directory, and
    // refuses to overwrite one.
    const fs::path spec_dir = b.tmp() / "spec";
    fs::create_directories(spec_dir);
    Result spec = b.rt({"spec", "--bundle", spec_dir.string()});
    INFO(spec.describe());
    REQUIRE(spec.code == 0);
    json written = json::parse(read_file(spec_dir / "config.json"), nullptr, false);
    CHECK(written == rusty::oci::default_spec_json());
    CHECK(written["process"].value("terminal", false));
    const std::string before = read_file(spec_dir / "config.json");
    Result again = b.rt({"spec", "--bundle", spec_dir.string()});
    CHECK(again.code == 1);
    CHECK(contains(again.err, "exists"));
    CHECK(read_file(spec_dir / "config.json") == before);

    CHECK(b.remove("alpha", true).code == 0);
    CHECK(b.remove("beta", true).code == 0);
    Result empty = b.rt({"list", "--format", "json"});
    CHECK(empty.code == 0);
    CHECK(json::parse(empty.out, nullptr, false) == json::array());
}

TEST_CASE("errors are logged as runc logs them", "[runtime]") {
    Bundle b("errlog");
    const fs::path log = b.tmp() / "log.json";
    Result r = b.rt({"--log", log.string(), "--log-format", "json", "state", "nope"});
    CHECK(r.code == 1);
    CHECK(contains(r.err, "container does not exist"));
    const auto lines = lines_of(read_file(log));
    REQUIRE(lines.size() == 1);
    json j = json::parse(lines[0], nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j.value("level", "") == "error");
    CHECK(contains(j.value("msg", ""), "container does not exist"));
    CHECK(j.contains("time"));
}

TEST_CASE("a create/start/kill/delete cycle leaks no fd, zombie or mount", "[runtime]") {
    Bundle b("leaks");
    b.set_args({"sleep", "100"});
    // One cycle first: lazy one-time allocations (the io directory…) are not leaks.
    auto cycle = [&](const std::string& id) {
        REQUIRE(b.create(id).code == 0);
        REQUIRE(b.start(id).code == 0);
        REQUIRE(b.kill(id, "SIGKILL").code == 0);
        REQUIRE(b.wait_status(id, "stopped"));
        REQUIRE(b.remove(id).code == 0);
    };
    cycle("warm");
    const std::size_t fds = open_fds();
    const std::size_t mounts = mount_count();
    const std::vector<pid_t> zombies = zombie_children();

    for (int i = 0; i < 3; ++i) cycle("leak" + std::to_string(i));

    CHECK(open_fds() == fds);
    CHECK(mount_count() == mounts);
    CHECK(zombie_children() == zombies);
    CHECK(zombies.empty());
    CHECK(b.root_entries().empty());
    for (int i = 0; i < 3; ++i) CHECK_NO_CGROUP(b.cgroup_path("leak" + std::to_string(i)));
}
