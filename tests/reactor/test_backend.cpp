#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "reactor/backend.hpp"
#include "tests/reactor/helpers.hpp"

namespace rusty::reactor::test {
namespace {

TEST_CASE("Asio runs on io_uring, not epoll", "[reactor][backend]") {
    BackendReport before = inspect_fd_backends();
    auto pipe = sys::make_pipe();
    BackendReport during;
    {
        asio::io_context ctx;
        asio::posix::stream_descriptor readable(ctx, pipe.read.release());
        run_to_completion(ctx, [&]() -> Task<void> {
            auto inspect_then_wake = [&]() -> Task<void> {
                // One trip through the scheduler: the async_wait's SQE has
                // been submitted by then, so the wait is pending in the kernel.
                co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
                during = inspect_fd_backends();
                pipe.write.reset();  // EOF makes the pipe readable
            };
            co_await (readable.async_wait(asio::posix::stream_descriptor::wait_read,
                                          asio::use_awaitable) &&
                      inspect_then_wake());
        }());
    }
    BackendReport after = inspect_fd_backends();

    CHECK(during.io_uring_fds >= 1);
    CHECK(during.epoll_fds == 0);
    // The ring belongs to the io_context and goes with it.
    CHECK(after.io_uring_fds == before.io_uring_fds);
    CHECK(after.epoll_fds == 0);
}

}  // namespace
}  // namespace rusty::reactor::test
