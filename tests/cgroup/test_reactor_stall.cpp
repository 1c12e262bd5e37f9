// The reactor never waits on a cgroup. A fleet is one thread: while one
// container's cgroup refuses to go away, or its leftover processes are being
// killed round by round, every other container's timers, pidfds and pipes
// wait for the same thread. So the removal is retried on the reactor's
// timers (cgroup/retry.hpp) and the v1 kill loop awaits its rounds; here a
// 1 ms timer on the fleet's own io_context measures how late it fires
// meanwhile, less what a loaded machine adds (the thread's run-queue wait).
//
// The case, on the pure-v1 view of this host (as in test_v1_view.cpp): a
// container with `pid: host` whose init exits leaving a `sleep 60` in its
// cgroups, which the v1 kill path (freeze, SIGKILL every pid, thaw, until
// none is left) must end; and a child cgroup the test makes inside the
// container's memory cgroup, so that rmdir answers EBUSY until the test
// removes it, 600 ms after the start.
#include <poll.h>

#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "cgroup/layout.hpp"
#include "cgroup/retry.hpp"
#include "core/file.hpp"
#include "reactor/awaitable.hpp"
#include "tests/cgroup/helpers.hpp"

namespace rusty::test {
namespace {

namespace asio = boost::asio;
using reactor::Task;
using Clock = std::chrono::steady_clock;

// This thread's time waiting on a run queue (/proc/thread-self/schedstat,
// second field, in ns): the part of a timer's lateness owed to other
// programs wanting the CPU, not to the thread being blocked.
Clock::duration run_queue_wait() {
    std::istringstream in(read_file("/proc/thread-self/schedstat"));
    std::uint64_t on_cpu = 0, waiting = 0;
    in >> on_cpu >> waiting;
    return std::chrono::nanoseconds(waiting);
}

// How late a periodic 1 ms timer fired, at worst, while `running`: as the
// clock says, and less the time the thread waited for a CPU meanwhile (a
// busy machine delays every program; a blocked reactor delays only itself).
struct Lateness {
    bool running = true;
    std::size_t ticks = 0;
    Clock::duration worst{};
    Clock::duration worst_own{};
};

Task<void> tick(Lateness& late) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (late.running) {
        const Clock::duration queued_before = run_queue_wait();
        timer.expires_after(std::chrono::milliseconds(1));
        co_await timer.async_wait(asio::use_awaitable);
        const Clock::duration lateness = Clock::now() - timer.expiry();
        const Clock::duration queued = run_queue_wait() - queued_before;
        late.worst = std::max(late.worst, lateness);
        late.worst_own = std::max(late.worst_own, lateness - std::min(lateness, queued));
        ++late.ticks;
    }
}

// Removes `dir` after `delay`, on the reactor; records when.
Task<void> remove_after(fs::path dir, Clock::duration delay, Clock::time_point& removed_at, std::string& error) {
    co_await reactor::sleep_for(delay);
    if (::rmdir(dir.c_str()) < 0) error = "rmdir(" + dir.string() + "): " + errno_text(errno);
    removed_at = Clock::now();
}

TEST_CASE("a cgroup that will not go away and the v1 kill loop never stall the reactor", "[v1-view][stall]") {
    const cgroup::Layout view = pure_v1_view();
    INFO(view.describe());
    REQUIRE(view.mode() == cgroup::Mode::V1);
    REQUIRE(view.v1_root("memory"));

    TempDir root;
    Recorder rec;
    Fleet* fleet = nullptr;
    Lateness late;
    fs::path linger;
    Clock::time_point released_at, exited_at;
    std::string error;
    UniqueFd leftover;  // the `sleep 60` the init leaves behind, pinned
    rec.on_event_hook = [&](const Event& e) {
        if (e.container != "lingering") return;
        if (e.kind == EventKind::Started) {
            try {
                const std::string path = fleet->cgroup_path("lingering");
                linger = *view.v1_root("memory") / path.substr(1) / "linger";
                fs::create_directory(linger);
            } catch (const std::exception& x) {
                error = x.what();
            }
            asio::co_spawn(fleet->executor(), tick(late), asio::detached);
            asio::co_spawn(fleet->executor(), remove_after(linger, 600ms, released_at, error), asio::detached);
        } else if (e.kind == EventKind::Exited || e.kind == EventKind::Failed) {
            exited_at = Clock::now();
            late.running = false;
        }
    };
    rec.on_output_hook = [&](const std::string& c, OutputStream, std::string_view line) {
        if (c == "lingering" && line.starts_with("left ")) {
            leftover.reset(sys::raw_pidfd_open(std::stoi(std::string(line.substr(5)))));
        }
    };
    Json c = sh("sleep 60 & echo left $!; sleep 0.2");
    c["pid"] = "host";
    Json containers;
    containers["lingering"] = c;
    RunOptions opts = v1_options();
    opts.limit = 20'000ms;
    // No start pool: a stub joining its v1 cgroups holds the kernel's
    // cgroup lock through an RCU grace period (~20 ms here), and any mkdir
    // or rmdir of a cgroup, ours included, waits for that lock. That is a
    // wait inside the kernel, not one of ours (README: Known limits).
    Json doc = Json::parse(fleet_json("stall", containers));
    doc["pool"] = Json{{"size", 0}};
    run_fleet(doc.dump(), root.path(), rec, opts, &fleet);
    INFO(rec.dump());
    REQUIRE(error == "");
    REQUIRE(rec.only("lingering", EventKind::Exited).exit_code == 0);
    // The kill loop ended what the init left behind.
    REQUIRE(leftover);
    pollfd p{leftover.get(), POLLIN, 0};
    CHECK(::poll(&p, 1, 0) == 1);
    // The run waited for its cgroup to go, which it could only once the
    // child cgroup was gone: the removal really was retried ...
    CHECK(exited_at > released_at);
    // ... and meanwhile the reactor kept time. Before the retries were
    // awaitable, this timer was late by the whole wait (200 ms and more).
    auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    INFO("ticks " << late.ticks << ", worst lateness " << ms(late.worst) << " ms, of which not waiting for a CPU "
                  << ms(late.worst_own) << " ms");
    CHECK(late.ticks >= 300);
    CHECK(late.worst_own <= 5ms);
}

TEST_CASE("cgroup retries: 1 ms, doubling up to 64 ms, for 2 s in all", "[stall]") {
    cgroup::Backoff backoff;
    std::vector<long> waits;
    long total = 0;
    while (std::optional<std::chrono::milliseconds> wait = backoff.next()) {
        waits.push_back(wait->count());
        total += wait->count();
    }
    REQUIRE(waits.size() >= 8);
    CHECK(std::vector<long>(waits.begin(), waits.begin() + 8) == std::vector<long>{1, 2, 4, 8, 16, 32, 64, 64});
    CHECK(total == cgroup::Backoff::kBudget.count());
    CHECK(*std::max_element(waits.begin(), waits.end()) == 64);
}

}  // namespace
}  // namespace rusty::test
