#include "reactor/fd_passing.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <cerrno>

#include "core/error.hpp"

namespace rusty::reactor {

Task<sys::Received> async_recv_with_fds(asio::posix::stream_descriptor& sock,
                                        std::span<std::byte> buffer, std::size_t max_fds) {
    if (!sock.non_blocking()) sock.non_blocking(true);
    for (;;) {
        co_await sock.async_wait(asio::posix::stream_descriptor::wait_read, asio::use_awaitable);
        // A cancelled receive leaves the message (and its fds) in the socket.
        co_await throw_if_cancelled();
        try {
            co_return sys::recv_with_fds(sock.native_handle(), buffer, max_fds);
        } catch (const Error& e) {
            if (e.sys_errno() != EAGAIN && e.sys_errno() != EWOULDBLOCK) throw;
        }
    }
}

}  // namespace rusty::reactor
