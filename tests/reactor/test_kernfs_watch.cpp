#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include <boost/asio/this_coro.hpp>

#include <optional>
#include <string>

#include "core/error.hpp"
#include "reactor/kernfs_watch.hpp"
#include "reactor/pidfd_watch.hpp"
#include "tests/reactor/helpers.hpp"
#include "tests/support/skip.hpp"

namespace rusty::reactor::test {
namespace {

namespace fs = std::filesystem;

// The cgroup v2 mount: /sys/fs/cgroup on a pure-v2 host, /sys/fs/cgroup/unified
// on a hybrid one.
std::optional<fs::path> cgroup2_root() {
    for (const char* root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
        if (fs::exists(fs::path(root) / "cgroup.controllers")) return fs::path(root);
    }
    return std::nullopt;
}

// A cgroup of our own, removed however the test ends. Declare it before the
// processes put into it, so that they are gone by the time it is removed.
class TestCgroup {
public:
    explicit TestCgroup(fs::path path) : path_(std::move(path)) {
        if (::mkdir(path_.c_str(), 0755) < 0) throw_sys("mkdir(\"" + path_.string() + "\")");
    }
    ~TestCgroup() { remove(); }
    TestCgroup(const TestCgroup&) = delete;
    TestCgroup& operator=(const TestCgroup&) = delete;

    const fs::path& path() const { return path_; }

    void add(pid_t pid) {
        fs::path procs = path_ / "cgroup.procs";
        UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) throw_sys("open(\"" + procs.string() + "\")");
        std::string text = std::to_string(pid);
        if (::write(fd.get(), text.data(), text.size()) < 0) throw_sys("write(\"" + procs.string() + "\")");
    }

    // True once the directory is gone. A process reaped a moment ago may
    // still count as a member (EBUSY): wait, event-driven, for "populated 0".
    bool remove() {
        if (removed_) return true;
        if (::rmdir(path_.c_str()) == 0) return removed_ = true;
        if (errno != EBUSY) return false;
        wait_unpopulated();
        return removed_ = ::rmdir(path_.c_str()) == 0;
    }

private:
    void wait_unpopulated() const {
        fs::path events = path_ / "cgroup.events";
        UniqueFd fd(::open(events.c_str(), O_RDONLY | O_CLOEXEC));
        for (int attempt = 0; fd && attempt < 5; ++attempt) {
            char text[256];
            ssize_t n = ::pread(fd.get(), text, sizeof text - 1, 0);
            if (n < 0) return;
            if (std::string(text, static_cast<std::size_t>(n)).find("populated 0") != std::string::npos) return;
            pollfd change{fd.get(), POLLPRI, 0};
            ::poll(&change, 1, 1000);
        }
    }

    fs::path path_;
    bool removed_ = false;
};

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST_CASE("KernfsWatch sees cgroup.events change when the last process leaves",
          "[reactor][kernfs][cancel]") {
    auto root = cgroup2_root();
    RUSTY_SKIP_IF(!root, "no cgroup v2 hierarchy (neither /sys/fs/cgroup nor /sys/fs/cgroup/unified)");
    const fs::path cgroup_path = *root / ("rusty-test-reactor-" + std::to_string(::getpid()));
    {
        TestCgroup cgroup(cgroup_path);
        auto gate = sys::make_pipe();
        auto child = gated_child(gate);
        gate.read.reset();
        cgroup.add(child->pid());

        asio::io_context ctx;
        KernfsWatch events(ctx.get_executor(), cgroup.path() / "cgroup.events");
        PidfdWatch exit_watch(ctx.get_executor(), child->open_pidfd());
        const std::string populated = events.read_all();  // also arms the watch

        std::size_t quiet_winner = 99;
        std::string depopulated;
        int changes = 0;
        sys::ExitStatus status;
        run_to_completion(ctx, [&]() -> Task<void> {
            // Nothing changes while the child waits: the timer wins and the
            // watch is cancelled.
            auto quiet = co_await (events.wait_change() || sleep_for(20ms));
            quiet_winner = quiet.index();

            gate.write.reset();  // the child exits
            // Other keys may change too; only "populated 0" ends the wait.
            while (!contains(depopulated, "populated 0") && changes < 10) {
                co_await events.wait_change();
                ++changes;
                depopulated = events.read_all();
            }
            status = co_await exit_watch.wait_exit();
        }());

        CHECK(contains(populated, "populated 1"));
        CHECK(quiet_winner == 1);
        CHECK(changes >= 1);
        CHECK(contains(depopulated, "populated 0"));
        CHECK(status.exit_code == 0);
        CHECK(cgroup.remove());
    }
    CHECK_FALSE(fs::exists(cgroup_path));
    CHECK_FALSE(has_children());
}

TEST_CASE("KernfsWatch names the path it cannot open", "[reactor][kernfs]") {
    asio::io_context ctx;
    const std::string missing = "/nonexistent/rusty-test-reactor/cgroup.events";
    try {
        KernfsWatch watch(ctx.get_executor(), missing);
        FAIL("opening a missing file succeeded");
    } catch (const Error& e) {
        CHECK(contains(e.what(), missing));
        CHECK(e.sys_errno() == ENOENT);
    }
}

}  // namespace
}  // namespace rusty::reactor::test
