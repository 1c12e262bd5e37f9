#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <cstring>
#include <string_view>

#include "reactor/fd_passing.hpp"
#include "reactor/pidfd_watch.hpp"
#include "tests/reactor/helpers.hpp"

namespace rusty::reactor::test {
namespace {

std::span<const std::byte> bytes_of(std::string_view text) {
    return std::as_bytes(std::span(text.data(), text.size()));
}

std::string_view text_of(std::span<const std::byte> buffer, std::size_t size) {
    return {reinterpret_cast<const char*>(buffer.data()), size};
}

bool same_file(int a, int b) {
    struct stat sa {}, sb {};
    return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

bool is_cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

TEST_CASE("async_recv_with_fds receives a message with two fds, then EOF", "[reactor][fd_passing]") {
    auto [ours, theirs] = sys::make_socketpair(SOCK_SEQPACKET);
    auto probe = sys::make_pipe();
    asio::io_context ctx;
    asio::posix::stream_descriptor sock(ctx, ours.release());

    std::array<std::byte, 64> buffer{};
    sys::Received message, eof;
    run_to_completion(ctx, [&]() -> Task<void> {
        auto send_later = [&]() -> Task<void> {
            co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
            const int fds[] = {probe.read.get(), probe.write.get()};
            sys::send_with_fds(theirs.get(), bytes_of("hello"), fds);
        };
        // The receive starts first and has to wait for the message.
        message = co_await (async_recv_with_fds(sock, buffer, 4) && send_later());
        theirs.reset();
        eof = co_await async_recv_with_fds(sock, buffer, 4);
    }());

    CHECK(text_of(buffer, message.size) == "hello");
    REQUIRE(message.fds.size() == 2);
    CHECK(same_file(message.fds[0].get(), probe.read.get()));
    CHECK(same_file(message.fds[1].get(), probe.write.get()));
    CHECK(is_cloexec(message.fds[0].get()));
    CHECK(is_cloexec(message.fds[1].get()));
    // The passed write end really is the pipe's.
    REQUIRE(::write(message.fds[1].get(), "x", 1) == 1);
    char byte = 0;
    CHECK(::read(probe.read.get(), &byte, 1) == 1);
    CHECK(byte == 'x');
    CHECK(eof.size == 0);
    CHECK(eof.fds.empty());
    CHECK(sock.non_blocking());
}

TEST_CASE("async_recv_with_fds receives fds from a forked child", "[reactor][fd_passing]") {
    auto [ours, theirs] = sys::make_socketpair(SOCK_SEQPACKET);
    auto probe = sys::make_pipe();
    auto gate = sys::make_pipe();
    Child child([&] {
        gate.write.reset();
        wait_for_eof(gate.read.get());
        const int fds[] = {probe.write.get(), probe.read.get()};
        sys::send_with_fds(theirs.get(), bytes_of("from child"), fds);
        return 0;  // _exit closes its end: EOF for the parent
    });
    gate.read.reset();
    theirs.reset();  // only the child holds the peer end now

    asio::io_context ctx;
    asio::posix::stream_descriptor sock(ctx, ours.release());
    PidfdWatch exit_watch(ctx.get_executor(), child.open_pidfd());
    std::array<std::byte, 64> buffer{};
    sys::Received message, eof;
    sys::ExitStatus status;
    run_to_completion(ctx, [&]() -> Task<void> {
        auto release_child = [&]() -> Task<void> {
            co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
            gate.write.reset();
        };
        message = co_await (async_recv_with_fds(sock, buffer, 2) && release_child());
        eof = co_await async_recv_with_fds(sock, buffer, 2);
        status = co_await exit_watch.wait_exit();
    }());

    CHECK(text_of(buffer, message.size) == "from child");
    REQUIRE(message.fds.size() == 2);
    CHECK(same_file(message.fds[0].get(), probe.write.get()));
    CHECK(same_file(message.fds[1].get(), probe.read.get()));
    CHECK(eof.size == 0);
    CHECK(status.exit_code == 0);
    CHECK_FALSE(has_children());
}

TEST_CASE("A cancelled async_recv_with_fds leaves the message in the socket",
          "[reactor][fd_passing][cancel]") {
    auto [ours, theirs] = sys::make_socketpair(SOCK_SEQPACKET);
    auto probe = sys::make_pipe();
    asio::io_context ctx;
    asio::posix::stream_descriptor sock(ctx, ours.release());
    std::array<std::byte, 64> buffer{};
    std::size_t winner = 99;
    bool aborted = false;
    sys::Received message;
    run_to_completion(ctx, [&]() -> Task<void> {
        auto ex = co_await asio::this_coro::executor;
        auto raced = co_await (async_recv_with_fds(sock, buffer, 1) || sleep_for(20ms));
        winner = raced.index();

        // The message arrives and the cancellation is requested in the same
        // handler: the poll has fired, yet the receive must take nothing.
        asio::cancellation_signal stop;
        auto send_and_cancel = [&]() -> Task<void> {
            co_await asio::post(ex, asio::use_awaitable);
            const int fds[] = {probe.read.get()};
            sys::send_with_fds(theirs.get(), bytes_of("kept"), fds);
            stop.emit(asio::cancellation_type::terminal);
        };
        asio::co_spawn(ex, send_and_cancel(), asio::detached);
        try {
            co_await asio::co_spawn(ex, async_recv_with_fds(sock, buffer, 1),
                                    asio::bind_cancellation_slot(stop.slot(), asio::use_awaitable));
        } catch (const boost::system::system_error& e) {
            aborted = e.code() == asio::error::operation_aborted;
        }
        message = co_await async_recv_with_fds(sock, buffer, 1);
    }());
    CHECK(winner == 1);
    CHECK(aborted);
    CHECK(text_of(buffer, message.size) == "kept");
    REQUIRE(message.fds.size() == 1);
    CHECK(same_file(message.fds[0].get(), probe.read.get()));
}

}  // namespace
}  // namespace rusty::reactor::test
