#include "reactor/signal_reader.hpp"

#include <pthread.h>
#include <unistd.h>

#include <boost/asio/use_awaitable.hpp>

#include <cerrno>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/syscalls.hpp"

namespace rusty::reactor {

using Descriptor = asio::posix::stream_descriptor;

namespace {

Task<signalfd_siginfo> read_next(std::shared_ptr<Descriptor> signalfd) {
    for (;;) {
        co_await signalfd->async_wait(Descriptor::wait_read, asio::use_awaitable);
        // A cancelled next() leaves the signal pending for the next reader.
        co_await throw_if_cancelled();
        signalfd_siginfo info{};
        ssize_t n = ::read(signalfd->native_handle(), &info, sizeof info);
        if (n == static_cast<ssize_t>(sizeof info)) co_return info;
        // EAGAIN: someone else took the signal between the poll and the read.
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n < 0) throw_sys("read(signalfd)");
        throw Error("read(signalfd): short read");
    }
}

}  // namespace

SignalReader::SignalReader(asio::any_io_executor ex, std::initializer_list<int> signals) {
    sigset_t wanted;
    sigemptyset(&wanted);
    for (int sig : signals) {
        if (sigaddset(&wanted, sig) < 0) throw_sys("sigaddset(" + sys::signal_name(sig) + ")");
    }
    // pthread_sigmask returns the error instead of setting errno.
    if (int err = ::pthread_sigmask(SIG_BLOCK, &wanted, &previous_mask_); err != 0) {
        throw_sys("pthread_sigmask(SIG_BLOCK)", err);
    }
    try {
        UniqueFd fd(::signalfd(-1, &wanted, SFD_NONBLOCK | SFD_CLOEXEC));
        if (!fd) throw_sys("signalfd");
        signalfd_ = std::make_shared<Descriptor>(std::move(ex), fd.get());
        fd.release();  // only now: the descriptor owns it
    } catch (...) {
        ::pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
        throw;
    }
}

SignalReader::~SignalReader() {
    cancel();
    // Dropping our reference closes the signalfd unless a cancelled next() is
    // still unwinding; either way no one reads these signals any more.
    signalfd_.reset();
    ::pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

Task<signalfd_siginfo> SignalReader::next() { return read_next(signalfd_); }

std::vector<int> SignalReader::take_pending() {
    std::vector<int> signals;
    signalfd_siginfo info{};
    // The signalfd is non-blocking: the loop ends at EAGAIN.
    while (::read(signalfd_->native_handle(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
        signals.push_back(static_cast<int>(info.ssi_signo));
    return signals;
}

void SignalReader::cancel() {
    boost::system::error_code ignored;
    signalfd_->cancel(ignored);
}

}  // namespace rusty::reactor
