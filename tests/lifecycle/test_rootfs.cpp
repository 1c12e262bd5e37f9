// The root filesystem: one writable layer per container over a shared image,
// removed with the fleet; read_only roots.
#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {
namespace {

TEST_CASE("containers on one image each see only their own writes - the image and the host stay clean",
          "[lifecycle]") {
    TempDir root;
    Recorder rec;
    // Each writes the same paths, waits so that both run at once, and reads
    // them back.
    auto writer = [](const std::string& who) {
        return sh("echo " + who + " > /shared.txt && mkdir -p /etc/app && echo " + who +
                  " > /etc/app/conf && echo " + who + " >> /etc/passwd && sleep 0.3;"
                  "echo shared=$(cat /shared.txt); echo conf=$(cat /etc/app/conf);"
                  "echo passwd_tail=$(tail -n 1 /etc/passwd)");
    };
    Json containers;
    containers["alpha"] = writer("alpha");
    containers["beta"] = writer("beta");
    fs::path alpha_upper;
    bool upper_seen = false;
    rec.on_event_hook = [&](const Event& e) {
        // While it runs, the container's layer lives under the state dir.
        if (e.kind == EventKind::Started && e.container == "alpha") upper_seen = fs::is_directory(alpha_upper);
    };
    alpha_upper = root.path() / "layers" / "alpha" / "upper";
    RunResult r = run_fleet(fleet_json("layers", containers), root.path(), rec);
    INFO(rec.dump());

    CHECK(r.state_dir == root.path() / "layers");
    CHECK(upper_seen);
    for (const char* who : {"alpha", "beta"}) {
        INFO(who);
        CHECK(rec.only(who, EventKind::Exited).exit_code == 0);
        CHECK(rec.value(who, "shared") == who);
        CHECK(rec.value(who, "conf") == who);
        CHECK(rec.value(who, "passwd_tail") == who);
    }
    // Both ran at once: each started before the other exited.
    CHECK(rec.only("alpha", EventKind::Started).ts < rec.only("beta", EventKind::Exited).ts);
    CHECK(rec.only("beta", EventKind::Started).ts < rec.only("alpha", EventKind::Exited).ts);

    const fs::path image = root.path() / "images" / "busybox";
    REQUIRE(fs::is_directory(image));
    CHECK_FALSE(fs::exists(image / "shared.txt"));
    CHECK_FALSE(fs::exists(image / "etc/app"));
    std::ifstream passwd(image / "etc/passwd");
    std::string text((std::istreambuf_iterator<char>(passwd)), std::istreambuf_iterator<char>());
    CHECK(text.find("alpha") == std::string::npos);
    CHECK(text.find("beta") == std::string::npos);

    // The fleet is gone: every container layer, all but the logs; the image stays.
    CHECK(state_left_besides_logs(r.state_dir).empty());
    CHECK_FALSE(fs::exists(r.state_dir / "alpha" / "upper"));
    CHECK_FALSE(fs::exists(r.state_dir / "beta" / "upper"));
    std::set<std::string> left;
    for (const auto& e : fs::directory_iterator(root.path())) left.insert(e.path().filename().string());
    CHECK(left == std::set<std::string>{"images", r.state_dir.filename().string()});
}

TEST_CASE("read_only: a write to / fails with \"Read-only file system\"", "[lifecycle]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["ro"] = sh("echo touch_err=$(touch /probe 2>&1); echo mkdir_err=$(mkdir /tmp/x 2>&1);"
                          "echo dev_write=$(echo x > /dev/shm/ok && cat /dev/shm/ok);"
                          "echo root_opts=$(awk '$5 == \"/\" {print $6}' /proc/self/mountinfo)");
    containers["ro"]["read_only"] = true;
    containers["rw"] = sh("touch /probe && echo touch=ok");
    RunResult r = run_fleet(fleet_json("ro", containers), root.path(), rec);
    INFO(rec.dump());

    CHECK(rec.only("ro", EventKind::Exited).exit_code == 0);
    CHECK_THAT(rec.value("ro", "touch_err"), Catch::Contains("Read-only file system"));
    CHECK_THAT(rec.value("ro", "mkdir_err"), Catch::Contains("Read-only file system"));
    CHECK(rec.value("ro", "root_opts").rfind("ro,", 0) == 0);
    // /dev is the container's own tmpfs, writable even so.
    CHECK(rec.value("ro", "dev_write") == "x");
    CHECK(rec.value("rw", "touch") == "ok");
    CHECK_FALSE(fs::exists(root.path() / "images" / "busybox" / "probe"));
    CHECK(state_left_besides_logs(r.state_dir).empty());
}

TEST_CASE("a state root whose path holds a comma, a colon or a backslash still gets its overlay", "[lifecycle]") {
    TempDir root;
    for (const char* odd : {"with,comma", "with:colon", "back\\slash", "all,of:them\\"}) {
        INFO(odd);
        Recorder rec;
        Json containers;
        containers["odd"] = sh("echo x > /written && cat /written");
        RunResult r = run_fleet(fleet_json("odd", containers), root.path() / odd, rec);
        INFO(rec.dump());
        CHECK(rec.events_of("odd").size() == 2);
        CHECK(rec.only("odd", EventKind::Exited).exit_code == 0);
        CHECK(rec.out("odd") == std::vector<std::string>{"x"});
        CHECK_FALSE(fs::exists(root.path() / odd / "images/busybox/written"));
        CHECK(state_left_besides_logs(r.state_dir).empty());
    }
}

TEST_CASE("rootfs containers use the directory itself - read_only binds it read-only", "[lifecycle]") {
    TempDir root;
    // A root filesystem of the user's: a copy of the busybox image.
    const fs::path image = warm_busybox_image(root.path());
    const fs::path mine = root.path() / "my-rootfs";
    fs::copy(image, mine, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    Recorder rec;
    Json containers;
    containers["rw"] = Json{{"rootfs", "my-rootfs"},  // relative to the fleet.json directory
                            {"command", Json::array({"sh", "-c", "echo kept > /written; echo root=$(awk '$5 == \"/\" {print $9}' /proc/self/mountinfo)"})}};
    containers["ro"] = Json{{"rootfs", mine.string()},
                            {"read_only", true},
                            {"command", Json::array({"sh", "-c", "echo err=$(touch /nope 2>&1)"})}};
    RunResult r = run_fleet(fleet_json("userfs", containers), root.path(), rec);
    INFO(rec.dump());
    CHECK(rec.only("rw", EventKind::Exited).exit_code == 0);
    CHECK(rec.value("rw", "root") != "overlay");
    // The write went to the user's directory, and stays there.
    std::ifstream written(mine / "written");
    std::string text;
    std::getline(written, text);
    CHECK(text == "kept");
    CHECK_THAT(rec.value("ro", "err"), Catch::Contains("Read-only file system"));
    CHECK_FALSE(fs::exists(mine / "nope"));
    CHECK_FALSE(fs::exists(image / "written"));
    CHECK(state_left_besides_logs(r.state_dir).empty());
}

}  // namespace
}  // namespace rusty::test
