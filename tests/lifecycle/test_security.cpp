// What a hostile image or a hostile container must not achieve.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "image/image_store.hpp"
#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {
namespace {

// A writable busybox root filesystem of the test's own, to make hostile.
fs::path make_rootfs(const TempDir& root) {
    fs::path dir = root.path() / "rootfs";
    fs::create_directory(dir);
    rusty::image::build_busybox_rootfs(dir, rusty::image::kBusyboxBinary);
    return dir;
}

Json in_rootfs(const fs::path& rootfs, const std::string& script) {
    return Json{{"rootfs", rootfs.string()}, {"command", Json::array({"sh", "-c", script})}};
}

}  // namespace

TEST_CASE("a symlink in place of /proc, /dev or /sys is refused, not followed", "[lifecycle][security]") {
    for (const char* top : {"proc", "dev", "sys"}) {
        DYNAMIC_SECTION(top) {
            TempDir root;
            fs::path rootfs = make_rootfs(root);
            // Were it followed, the masks and device nodes below it would
            // be made at host paths, and /proc would stay unmasked.
            fs::remove(rootfs / top);
            fs::create_directory(rootfs / "elsewhere");
            fs::create_symlink("/elsewhere", rootfs / top);
            Recorder rec;
            Json containers;
            containers["c"] = in_rootfs(rootfs, "echo ran");
            run_fleet(fleet_json("symlinks", containers), root.path(), rec);
            CHECK(rec.only("c", EventKind::Failed).error ==
                  "\"/" + std::string(top) + "\" in the root filesystem is a symlink; refusing to mount on it");
            CHECK(rec.out("c").empty());
            CHECK(fs::is_empty(rootfs / "elsewhere"));
        }
    }
}

TEST_CASE("a container cannot make device nodes, nor use those its root holds", "[lifecycle][security]") {
    TempDir root;
    fs::path rootfs = make_rootfs(root);
    // /dev/null's numbers: harmless, but enough to see whether nodes work.
    REQUIRE(::mknod((rootfs / "planted").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    Recorder rec;
    Json containers;
    containers["c"] = in_rootfs(rootfs,
                                "mknod /tmp/disk b 8 0 2>/dev/null && echo mknod=yes || echo mknod=no;"
                                "echo x > /planted 2>/dev/null && echo planted=usable || echo planted=refused;"
                                "echo x > /dev/null && echo devnull=usable");
    containers["i"] = sh("mknod /tmp/disk b 8 0 2>/dev/null && echo mknod=yes || echo mknod=no");
    run_fleet(fleet_json("devices", containers), root.path(), rec);
    INFO(rec.dump());
    CHECK(rec.value("c", "mknod") == "no");
    CHECK(rec.value("c", "planted") == "refused");  // the root is mounted nodev
    CHECK(rec.value("c", "devnull") == "usable");   // /dev is ours and allows them
    CHECK(rec.value("i", "mknod") == "no");
}

TEST_CASE("a hostile /etc/passwd fails the start with a reason instead of hanging or crashing",
          "[lifecycle][security]") {
    TempDir root;
    fs::path rootfs = make_rootfs(root);
    Recorder rec;
    Json containers;

    SECTION("a FIFO") {
        fs::remove(rootfs / "etc/passwd");
        REQUIRE(::mkfifo((rootfs / "etc/passwd").c_str(), 0644) == 0);
        containers["c"] = in_rootfs(rootfs, "id -u");
        containers["c"]["user"] = "nobody";
        run_fleet(fleet_json("passwd", containers), root.path(), rec);
        CHECK(rec.only("c", EventKind::Failed).error ==
              "/etc/passwd in the root filesystem is not a regular file of at most 4 MiB");
    }
    SECTION("an entry whose ids are not numbers, or out of range") {
        {
            std::ofstream passwd(rootfs / "etc/passwd", std::ios::app);
            passwd << "bad:x:abc:0::/:/bin/sh\n" << "wrap:x:4294967295:0::/:/bin/sh\n";
        }
        containers["bad"] = in_rootfs(rootfs, "id -u");
        containers["bad"]["user"] = "bad";
        containers["wrap"] = in_rootfs(rootfs, "id -u");
        containers["wrap"]["user"] = "wrap";
        run_fleet(fleet_json("passwd", containers), root.path(), rec);
        CHECK(rec.only("bad", EventKind::Failed).error ==
              "user \"bad\": no such user in the container's /etc/passwd");
        // (uid_t)-1 would mean "unchanged" to setresuid: the process would stay root.
        CHECK(rec.only("wrap", EventKind::Failed).error ==
              "user \"wrap\": no such user in the container's /etc/passwd");
    }
}

TEST_CASE("read_only covers the whole root, mounts below a rootfs included", "[lifecycle][security]") {
    TempDir root;
    fs::path rootfs = make_rootfs(root);
    Recorder rec;
    Json containers;
    containers["c"] = in_rootfs(rootfs,
                                "touch /etc/x 2>/dev/null && echo root=rw || echo root=ro;"
                                "touch /dev/shm/x && echo shm=rw;"
                                "touch /tmp/x 2>/dev/null && echo tmp=rw || echo tmp=ro");
    containers["c"]["read_only"] = true;
    run_fleet(fleet_json("ro", containers), root.path(), rec);
    INFO(rec.dump());
    CHECK(rec.value("c", "root") == "ro");
    CHECK(rec.value("c", "tmp") == "ro");
    CHECK(rec.value("c", "shm") == "rw");  // /dev/shm is the container's own tmpfs
    CHECK_FALSE(fs::exists(rootfs / "etc/x"));
}

}  // namespace rusty::test
