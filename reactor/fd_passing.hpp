// Asynchronous receive of SCM_RIGHTS messages on a SOCK_SEQPACKET socket.
#pragma once

#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstddef>
#include <span>

#include "core/syscalls.hpp"
#include "reactor/awaitable.hpp"

namespace rusty::reactor {

// Receives one message into `buffer` with up to `max_fds` passed fds (each
// O_CLOEXEC): waits until `sock` is readable (io_uring poll), then calls
// sys::recv_with_fds, and waits again on EAGAIN. Size 0 means the peer closed
// the socket. The socket is switched to non-blocking if it is not already, so
// a lost race for a message can never block the reactor. `sock` and `buffer`
// must outlive the operation: destroying a descriptor with an io_uring wait
// in flight is unsafe in Asio 1.81 (see pidfd_watch.cpp). Cancellable, and a cancelled receive consumes
// nothing; throws rusty::Error on failure.
Task<sys::Received> async_recv_with_fds(asio::posix::stream_descriptor& sock,
                                        std::span<std::byte> buffer, std::size_t max_fds);

}  // namespace rusty::reactor
