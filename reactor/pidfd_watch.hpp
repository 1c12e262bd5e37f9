// PidfdWatch: waits for a process to end through its pidfd, which becomes
// readable (POLLIN) when the process has exited. The poll runs on io_uring.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <memory>

#include "core/fd.hpp"
#include "core/syscalls.hpp"
#include "reactor/awaitable.hpp"

namespace rusty::reactor {

class PidfdWatch {
public:
    // Takes ownership of `pidfd`; throws rusty::Error if it is not open.
    PidfdWatch(asio::any_io_executor ex, UniqueFd pidfd);
    // Cancels pending waits; the pidfd is closed once they have finished.
    ~PidfdWatch();
    PidfdWatch(PidfdWatch&&) noexcept = default;
    PidfdWatch& operator=(PidfdWatch&&) noexcept;
    PidfdWatch(const PidfdWatch&) = delete;
    PidfdWatch& operator=(const PidfdWatch&) = delete;

    int fd() const;  // -1 once moved from

    // Completes when the process has exited, then reaps it with
    // sys::wait_pidfd (the caller must be its parent) and returns how it ended.
    // A cancelled wait_exit() throws operation_aborted and has not reaped.
    Task<sys::ExitStatus> wait_exit();
    // Completes when the process has exited, without reaping (for non-children).
    Task<void> wait_exited();

    // pidfd_send_signal; false if the process is already gone (reaped).
    bool send_signal(int sig);
    // Cancels pending waits: they throw operation_aborted.
    void cancel();

private:
    const std::shared_ptr<asio::posix::stream_descriptor>& open_pidfd() const;

    // Shared with the running waits, so that destroying the watch while a wait
    // is in flight cannot close the descriptor under io_uring (see .cpp).
    std::shared_ptr<asio::posix::stream_descriptor> pidfd_;
};

}  // namespace rusty::reactor
