#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <vector>

#include "reactor/pidfd_watch.hpp"
#include "tests/reactor/helpers.hpp"

namespace rusty::reactor::test {
namespace {

bool is_operation_aborted(std::exception_ptr e) {
    if (!e) return false;
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& error) {
        return error.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

// True if the child behind `pidfd` has exited but was not reaped.
bool is_zombie(int pidfd) {
    siginfo_t info{};
    int rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG | WNOWAIT);
    return rc == 0 && info.si_pid != 0;
}

TEST_CASE("PidfdWatch::wait_exit reports a child's exit code", "[reactor][pidfd]") {
    Child child([] { return 7; });
    asio::io_context ctx;
    PidfdWatch watch(ctx.get_executor(), child.open_pidfd());
    sys::ExitStatus status;
    run_to_completion(ctx, [&]() -> Task<void> { status = co_await watch.wait_exit(); }());
    CHECK(status.exit_code == 7);
    CHECK(status.signal == 0);
    CHECK_FALSE(has_children());
}

TEST_CASE("PidfdWatch::send_signal kills a child and wait_exit reports the signal",
          "[reactor][pidfd]") {
    auto gate = sys::make_pipe();
    auto child = gated_child(gate);
    gate.read.reset();
    asio::io_context ctx;
    PidfdWatch watch(ctx.get_executor(), child->open_pidfd());
    sys::ExitStatus status;
    run_to_completion(ctx, [&]() -> Task<void> {
        CHECK(watch.send_signal(SIGKILL));
        status = co_await watch.wait_exit();
    }());
    CHECK(status.signal == SIGKILL);
    CHECK_FALSE(status.core_dumped);
    // Reaped: the pidfd now refers to no process.
    CHECK_FALSE(watch.send_signal(SIGKILL));
    CHECK_FALSE(has_children());
}

TEST_CASE("PidfdWatch reports each of several children exiting at once", "[reactor][pidfd]") {
    constexpr int count = 6;
    auto gate = sys::make_pipe();
    std::vector<std::unique_ptr<Child>> children;
    for (int i = 0; i < count; ++i) children.push_back(gated_child(gate, 20 + i));
    gate.read.reset();

    asio::io_context ctx;
    std::vector<PidfdWatch> watches;
    for (auto& child : children) watches.emplace_back(ctx.get_executor(), child->open_pidfd());

    std::vector<std::exception_ptr> failures;
    std::vector<sys::ExitStatus> statuses;
    run_to_completion(ctx, [&]() -> Task<void> {
        auto ex = co_await asio::this_coro::executor;
        using Wait = decltype(asio::co_spawn(ex, watches[0].wait_exit(), asio::deferred));
        std::vector<Wait> waits;
        for (auto& watch : watches) waits.push_back(asio::co_spawn(ex, watch.wait_exit(), asio::deferred));
        auto release_all = [&]() -> Task<void> {
            // After one scheduler round all waits are pending in the kernel.
            co_await asio::post(ex, asio::use_awaitable);
            gate.write.reset();
        };
        asio::co_spawn(ex, release_all(), asio::detached);
        auto [order, exceptions, results] =
            co_await asio::experimental::make_parallel_group(std::move(waits))
                .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
        failures = std::move(exceptions);
        statuses = std::move(results);
    }());

    REQUIRE(statuses.size() == count);
    for (int i = 0; i < count; ++i) {
        CHECK_FALSE(failures[i]);
        CHECK(statuses[i].exit_code == 20 + i);
        CHECK(statuses[i].signal == 0);
    }
    CHECK_FALSE(has_children());
}

TEST_CASE("A PidfdWatch wait loses a race to a timer and is cancelled cleanly",
          "[reactor][pidfd][cancel]") {
    auto gate = sys::make_pipe();
    auto child = gated_child(gate);
    gate.read.reset();
    asio::io_context ctx;
    PidfdWatch watch(ctx.get_executor(), child->open_pidfd());

    std::size_t winner = 99;
    bool still_running = false;
    bool slot_cancel_aborted = false;
    bool member_cancel_aborted = false;
    sys::ExitStatus status;
    run_to_completion(ctx, [&]() -> Task<void> {
        auto ex = co_await asio::this_coro::executor;

        auto raced = co_await (watch.wait_exit() || sleep_for(20ms));
        winner = raced.index();
        sys::ExitStatus unused;
        still_running = !sys::wait_pidfd(watch.fd(), unused, /*nohang=*/true);

        // The same through bind_cancellation_slot, fired while the wait is pending.
        asio::cancellation_signal stop;
        asio::steady_timer trigger(ex, 10ms);
        trigger.async_wait([&](boost::system::error_code) {
            stop.emit(asio::cancellation_type::terminal);
        });
        try {
            co_await asio::co_spawn(ex, watch.wait_exited(),
                                    asio::bind_cancellation_slot(stop.slot(), asio::use_awaitable));
        } catch (const boost::system::system_error& e) {
            slot_cancel_aborted = e.code() == asio::error::operation_aborted;
        }

        // And through PidfdWatch::cancel().
        trigger.expires_after(10ms);
        trigger.async_wait([&](boost::system::error_code) { watch.cancel(); });
        try {
            co_await watch.wait_exit();
        } catch (const boost::system::system_error& e) {
            member_cancel_aborted = e.code() == asio::error::operation_aborted;
        }

        // The watch still works after all that.
        CHECK(watch.send_signal(SIGKILL));
        status = co_await watch.wait_exit();
    }());

    CHECK(winner == 1);
    CHECK(still_running);
    CHECK(slot_cancel_aborted);
    CHECK(member_cancel_aborted);
    CHECK(status.signal == SIGKILL);
    CHECK_FALSE(has_children());
    CHECK(proc_children().empty());
}

TEST_CASE("A wait_exit cancelled just as the child exits does not reap it",
          "[reactor][pidfd][cancel]") {
    auto gate = sys::make_pipe();
    auto child = gated_child(gate, 5);
    gate.read.reset();
    asio::io_context ctx;
    PidfdWatch watch(ctx.get_executor(), child->open_pidfd());

    std::exception_ptr first_wait;
    bool zombie_after_cancel = false;
    sys::ExitStatus status;
    run_to_completion(ctx, [&]() -> Task<void> {
        auto ex = co_await asio::this_coro::executor;
        asio::cancellation_signal stop;
        auto exit_and_cancel = [&]() -> Task<void> {
            co_await asio::post(ex, asio::use_awaitable);  // the wait is in the kernel now
            gate.write.reset();
            // Block until the child is a zombie, so that the poll has fired
            // before the cancellation is requested in this same handler.
            siginfo_t info{};
            ::waitid(P_PIDFD, static_cast<id_t>(watch.fd()), &info, WEXITED | WNOWAIT);
            stop.emit(asio::cancellation_type::terminal);
        };
        asio::co_spawn(ex, exit_and_cancel(), asio::detached);
        try {
            co_await asio::co_spawn(ex, watch.wait_exit(),
                                    asio::bind_cancellation_slot(stop.slot(), asio::use_awaitable));
        } catch (...) {
            first_wait = std::current_exception();
        }
        zombie_after_cancel = is_zombie(watch.fd());
        status = co_await watch.wait_exit();
    }());

    CHECK(is_operation_aborted(first_wait));
    CHECK(zombie_after_cancel);
    CHECK(status.exit_code == 5);
    CHECK_FALSE(has_children());
}

TEST_CASE("Destroying a PidfdWatch with a wait in flight aborts the wait", "[reactor][pidfd][cancel]") {
    auto gate = sys::make_pipe();
    auto child = gated_child(gate);
    gate.read.reset();
    asio::io_context ctx;
    auto doomed = std::make_unique<PidfdWatch>(ctx.get_executor(), child->open_pidfd());

    std::exception_ptr doomed_failure;
    std::exception_ptr successor_failure;
    sys::ExitStatus status;
    run_to_completion(ctx, [&]() -> Task<void> {
        auto ex = co_await asio::this_coro::executor;
        auto destroy_then_watch_again = [&]() -> Task<sys::ExitStatus> {
            co_await asio::post(ex, asio::use_awaitable);  // the doomed wait is in the kernel now
            doomed.reset();
            // Asio 1.81 recycles the destroyed descriptor's state for the next
            // one: this is the case the shared descriptor guards against.
            PidfdWatch successor(ex, child->open_pidfd());
            successor.send_signal(SIGKILL);
            co_return co_await successor.wait_exit();
        };
        auto [order, e0, unused, e1, result] =
            co_await asio::experimental::make_parallel_group(
                asio::co_spawn(ex, doomed->wait_exit(), asio::deferred),
                asio::co_spawn(ex, destroy_then_watch_again(), asio::deferred))
                .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
        doomed_failure = e0;
        successor_failure = e1;
        status = result;
    }());

    CHECK(is_operation_aborted(doomed_failure));
    CHECK_FALSE(successor_failure);
    CHECK(status.signal == SIGKILL);
    CHECK_FALSE(has_children());
}

TEST_CASE("PidfdWatch::wait_exited completes without reaping", "[reactor][pidfd]") {
    Child child([] { return 3; });
    asio::io_context ctx;
    PidfdWatch watch(ctx.get_executor(), child.open_pidfd());
    run_to_completion(ctx, watch.wait_exited());
    CHECK(is_zombie(watch.fd()));
    sys::ExitStatus status;
    REQUIRE(sys::wait_pidfd(watch.fd(), status, /*nohang=*/true));
    CHECK(status.exit_code == 3);
    CHECK_FALSE(has_children());
}

}  // namespace
}  // namespace rusty::reactor::test
