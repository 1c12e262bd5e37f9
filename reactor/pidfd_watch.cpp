#include "reactor/pidfd_watch.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "core/error.hpp"

namespace rusty::reactor {

using Descriptor = asio::posix::stream_descriptor;

namespace {

// Free coroutines holding the descriptor by shared_ptr, not member coroutines
// holding `this`: Asio 1.81's io_uring backend recycles a destroyed
// descriptor's bookkeeping (with the queued wait still in it) while the kernel
// still holds the poll; the next descriptor then re-arms that stale wait on
// its own, possibly recycled, fd number, and the old handler completes with
// success or EBADF instead of operation_aborted. So the descriptor stays open
// until its last wait has completed, and the owner's destructor only cancels.
Task<void> wait_readable(std::shared_ptr<Descriptor> pidfd) {
    co_await pidfd->async_wait(Descriptor::wait_read, asio::use_awaitable);
}

Task<sys::ExitStatus> wait_and_reap(std::shared_ptr<Descriptor> pidfd) {
    for (;;) {
        co_await pidfd->async_wait(Descriptor::wait_read, asio::use_awaitable);
        // A cancelled wait must leave the child unreaped, or its status is lost.
        co_await throw_if_cancelled();
        sys::ExitStatus status;
        // POLLIN means the whole thread group has exited, so WNOHANG finds it;
        // loop rather than block the reactor should that ever not hold.
        if (sys::wait_pidfd(pidfd->native_handle(), status, /*nohang=*/true)) co_return status;
    }
}

void cancel_quietly(Descriptor& pidfd) {
    boost::system::error_code ignored;
    pidfd.cancel(ignored);
}

}  // namespace

PidfdWatch::PidfdWatch(asio::any_io_executor ex, UniqueFd pidfd) {
    if (!pidfd) throw Error("PidfdWatch: no pidfd");
    pidfd_ = std::make_shared<Descriptor>(std::move(ex), pidfd.release());
}

PidfdWatch::~PidfdWatch() {
    if (pidfd_) cancel_quietly(*pidfd_);
}

PidfdWatch& PidfdWatch::operator=(PidfdWatch&& other) noexcept {
    if (this != &other) {
        if (pidfd_) cancel_quietly(*pidfd_);
        pidfd_ = std::move(other.pidfd_);
    }
    return *this;
}

int PidfdWatch::fd() const { return pidfd_ ? pidfd_->native_handle() : -1; }

const std::shared_ptr<Descriptor>& PidfdWatch::open_pidfd() const {
    if (!pidfd_) throw Error("PidfdWatch: used after move");
    return pidfd_;
}

Task<sys::ExitStatus> PidfdWatch::wait_exit() { return wait_and_reap(open_pidfd()); }

Task<void> PidfdWatch::wait_exited() { return wait_readable(open_pidfd()); }

bool PidfdWatch::send_signal(int sig) { return sys::pidfd_send_signal(fd(), sig); }

void PidfdWatch::cancel() {
    if (pidfd_) cancel_quietly(*pidfd_);
}

}  // namespace rusty::reactor
