#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "reactor/awaitable.hpp"
#include "tests/reactor/helpers.hpp"

namespace rusty::reactor::test {
namespace {

using Clock = std::chrono::steady_clock;

TEST_CASE("sleep_for waits at least the given time", "[reactor][sleep]") {
    asio::io_context ctx;
    Clock::duration slept{};
    run_to_completion(ctx, [&]() -> Task<void> {
        auto start = Clock::now();
        co_await sleep_for(15ms);
        slept = Clock::now() - start;
    }());
    CHECK(slept >= 15ms);
}

TEST_CASE("sleep_for loses a race against a shorter sleep and is cancelled", "[reactor][sleep]") {
    asio::io_context ctx;
    Clock::duration took{};
    std::size_t winner = 99;
    run_to_completion(ctx, [&]() -> Task<void> {
        auto start = Clock::now();
        auto result = co_await (sleep_for(1h) || sleep_for(10ms));
        winner = result.index();
        took = Clock::now() - start;
    }());
    CHECK(winner == 1);
    CHECK(took < 5s);
}

TEST_CASE("sleep_for honours bind_cancellation_slot with operation_aborted", "[reactor][sleep]") {
    asio::io_context ctx;
    bool aborted = false;
    run_to_completion(ctx, [&]() -> Task<void> {
        auto ex = co_await asio::this_coro::executor;
        asio::cancellation_signal stop;
        asio::steady_timer trigger(ex, 10ms);
        trigger.async_wait([&](boost::system::error_code) {
            stop.emit(asio::cancellation_type::terminal);
        });
        try {
            co_await asio::co_spawn(ex, sleep_for(1h),
                                    asio::bind_cancellation_slot(stop.slot(), asio::use_awaitable));
        } catch (const boost::system::system_error& e) {
            aborted = e.code() == asio::error::operation_aborted;
        }
    }());
    CHECK(aborted);
}

}  // namespace
}  // namespace rusty::reactor::test
