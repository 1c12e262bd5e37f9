// ImageStore: the built-in busybox image, built once, atomically.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/syscalls.hpp"
#include "image/image_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using rusty::image::ImageStore;
using rusty::test::TempDir;

namespace {

// A forked child running `body`; killed and reaped by the destructor unless
// the test has waited for it.
class Child {
public:
    explicit Child(const std::function<int()>& body) {
        pid_ = ::fork();
        if (pid_ < 0) FAIL("fork failed");
        if (pid_ == 0) {
            int rc = 1;
            try {
                rc = body();
            } catch (...) {
            }
            ::_exit(rc);
        }
        pidfd_ = rusty::sys::pidfd_open(pid_);
    }
    ~Child() {
        if (reaped_) return;
        rusty::sys::raw_pidfd_send_signal(pidfd_.get(), SIGKILL);
        siginfo_t info{};
        ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED);
    }
    // Its exit code, or -1 if it has not exited within `timeout_ms`.
    int wait(int timeout_ms) {
        pollfd p{pidfd_.get(), POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) != 1) return -1;
        siginfo_t info{};
        if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED) < 0) return -1;
        reaped_ = true;
        return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    }

private:
    pid_t pid_ = -1;
    rusty::UniqueFd pidfd_;
    bool reaped_ = false;
};

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::set<std::string> entries(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

// inotify events on `dir` as "CREATE name", "MOVED_TO name"…
class DirWatch {
public:
    explicit DirWatch(const fs::path& dir) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
        REQUIRE(fd_.get() >= 0);
        REQUIRE(::inotify_add_watch(fd_.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM) >= 0);
    }
    std::vector<std::string> events() {
        std::vector<std::string> r;
        alignas(inotify_event) char buf[64 * 1024];
        for (;;) {
            ssize_t n = ::read(fd_.get(), buf, sizeof buf);
            if (n <= 0) break;
            for (char* p = buf; p < buf + n;) {
                auto* e = reinterpret_cast<inotify_event*>(p);
                std::string kind = (e->mask & IN_CREATE) ? "CREATE" : (e->mask & IN_MOVED_TO) ? "MOVED_TO" : "MOVED_FROM";
                r.push_back(kind + " " + (e->len ? std::string(e->name) : std::string()));
                p += sizeof(inotify_event) + e->len;
            }
        }
        return r;
    }

private:
    rusty::UniqueFd fd_;
};

TEST_CASE("ensure(\"busybox\") builds a usable root filesystem", "[image]") {
    TempDir root;
    ImageStore store(root.path() / "images");
    fs::path image = store.ensure("busybox");
    CHECK(image == root.path() / "images" / "busybox");
    REQUIRE(fs::is_directory(image));

    REQUIRE(fs::is_regular_file(image / "bin/busybox"));
    CHECK((fs::status(image / "bin/busybox").permissions() & fs::perms::owner_exec) != fs::perms::none);
    CHECK(fs::file_size(image / "bin/busybox") == fs::file_size("/bin/busybox"));
    // Applets are symlinks to /bin/busybox: valid inside the container only.
    for (const char* applet : {"bin/sh", "bin/ls", "bin/cat", "bin/sleep", "bin/true", "usr/bin/env", "bin/hostname"}) {
        INFO(applet);
        REQUIRE(fs::is_symlink(image / applet));
        CHECK(fs::read_symlink(image / applet) == "/bin/busybox");
    }
    for (const char* dir : {"proc", "sys", "dev", "etc", "tmp", "root", "usr/bin", "sbin"}) {
        INFO(dir);
        CHECK(fs::is_directory(image / dir));
    }
    CHECK((fs::status(image / "tmp").permissions() & fs::perms::mask) == fs::perms(01777));
    CHECK((fs::status(image / "root").permissions() & fs::perms::mask) == fs::perms(0700));

    std::string passwd = read_text(image / "etc/passwd");
    CHECK_THAT(passwd, Catch::Contains("root:x:0:0:root:/root:/bin/sh\n"));
    CHECK_THAT(passwd, Catch::Contains("nobody:x:65534:65534:"));
    std::string group = read_text(image / "etc/group");
    CHECK_THAT(group, Catch::Contains("root:x:0:"));
    CHECK_THAT(group, Catch::Contains("nogroup:x:65534:"));
    // No build leftovers beside the image.
    CHECK(entries(store.root()) == std::set<std::string>{".lock", "busybox"});
}

TEST_CASE("a second ensure() returns the built image at once, without the lock", "[image]") {
    TempDir root;
    ImageStore store(root.path() / "images");
    fs::path image = store.ensure("busybox");
    struct stat before {};
    REQUIRE(::stat((image / "bin/busybox").c_str(), &before) == 0);
    std::ofstream(image / "marker") << "kept";

    // Hold the build lock: a second ensure() that took it would block. It
    // runs in a child so that a block is a failure, not a hang.
    rusty::UniqueFd lock(::open((store.root() / ".lock").c_str(), O_RDWR | O_CLOEXEC));
    REQUIRE(lock.get() >= 0);
    REQUIRE(::flock(lock.get(), LOCK_EX | LOCK_NB) == 0);
    Child child([&] {
        ImageStore again(root.path() / "images");
        return again.ensure("busybox") == image ? 0 : 1;
    });
    CHECK(child.wait(10'000) == 0);

    CHECK(store.ensure("busybox") == image);
    struct stat after {};
    REQUIRE(::stat((image / "bin/busybox").c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);  // not rebuilt
    CHECK(fs::exists(image / "marker"));
}

TEST_CASE("unknown image names throw and create nothing", "[image]") {
    TempDir root;
    ImageStore store(root.path() / "images");
    for (const char* name : {"alpine", "", "busybox:latest", "../busybox", "BUSYBOX"}) {
        INFO("name \"" << name << "\"");
        CHECK_THROWS_AS(store.ensure(name), rusty::Error);
    }
    CHECK_THROWS_WITH(store.ensure("alpine"), Catch::Contains("\"alpine\""));
    CHECK_FALSE(fs::exists(store.root()));
}

TEST_CASE("the image appears whole, by rename, never as a half-built directory", "[image]") {
    TempDir root;
    const fs::path images = root.path() / "images";
    fs::create_directories(images);
    DirWatch watch(images);
    ImageStore store(images);
    fs::path image = store.ensure("busybox");
    auto events = watch.events();
    INFO([&] {
        std::string s;
        for (auto& e : events) s += e + "\n";
        return s;
    }());
    // "busybox" itself is never created in place: it only appears by rename.
    CHECK(std::count(events.begin(), events.end(), "CREATE busybox") == 0);
    CHECK(std::count(events.begin(), events.end(), "MOVED_TO busybox") == 1);
    std::string staging = ".busybox.building-" + std::to_string(::getpid());
    CHECK(std::count(events.begin(), events.end(), "CREATE " + staging) == 1);
    CHECK(entries(images) == std::set<std::string>{".lock", "busybox"});
}

TEST_CASE("a leftover staging directory of a crashed build does not become the image", "[image]") {
    TempDir root;
    const fs::path images = root.path() / "images";
    // As left by a build killed half-way, by this pid (reused) and another.
    const fs::path mine = images / (".busybox.building-" + std::to_string(::getpid()));
    const fs::path other = images / ".busybox.building-999999";
    for (const fs::path& p : {mine, other}) {
        fs::create_directories(p / "bin");
        std::ofstream(p / "half") << "x";
    }
    ImageStore store(images);
    fs::path image = store.ensure("busybox");
    CHECK_FALSE(fs::exists(image / "half"));
    CHECK(fs::is_symlink(image / "bin/sh"));
    CHECK(fs::exists(image / "etc/passwd"));
    CHECK_FALSE(fs::exists(mine));
}

TEST_CASE("a failed build leaves no staging directory and no image", "[image]") {
    TempDir root;
    const fs::path images = root.path() / "images";
    fs::create_directories(images);
    // A file where the image should go: the final rename fails.
    std::ofstream(images / "busybox") << "not a directory";
    ImageStore store(images);
    CHECK_THROWS_WITH(store.ensure("busybox"), Catch::Contains("build image \"busybox\""));
    CHECK(entries(images) == std::set<std::string>{".lock", "busybox"});
    CHECK(fs::is_regular_file(images / "busybox"));

    // build_busybox_rootfs without busybox says what is missing.
    fs::create_directory(root.path() / "empty");
    CHECK_THROWS_WITH(rusty::image::build_busybox_rootfs(root.path() / "empty", root.path() / "no-busybox"),
                      Catch::Contains("busybox-static"));
}

TEST_CASE("concurrent ensure() calls from two processes build one image", "[image]") {
    TempDir root;
    const fs::path images = root.path() / "images";
    fs::create_directories(images);
    DirWatch watch(images);
    auto gate = rusty::sys::make_pipe();
    Child child([&] {
        gate.write.reset();
        char byte;
        [[maybe_unused]] ssize_t n = ::read(gate.read.get(), &byte, 1);  // both start together
        ImageStore store(images);
        return store.ensure("busybox") == images / "busybox" ? 0 : 1;
    });
    gate.read.reset();
    gate.write.reset();  // releases the child
    ImageStore store(images);
    CHECK(store.ensure("busybox") == images / "busybox");
    CHECK(child.wait(30'000) == 0);
    auto events = watch.events();
    CHECK(std::count(events.begin(), events.end(), "MOVED_TO busybox") == 1);
    CHECK(entries(images) == std::set<std::string>{".lock", "busybox"});
    CHECK(fs::is_symlink(images / "busybox/bin/sh"));
}

}  // namespace
