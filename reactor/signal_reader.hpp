// SignalReader: signals as awaitable events, read from a signalfd.
//
// The signals are blocked in the constructing thread, so that they stay
// pending for the signalfd instead of running their default action. Run the
// io_context in that same thread: a signalfd reports the signals pending for
// the thread that reads or polls it, and io_uring polls on behalf of the
// thread that submitted the poll.
//
// Children forked while a SignalReader exists inherit the blocked mask; a
// launcher must reset the mask in the child before exec.
#pragma once

#include <vector>

#include <signal.h>
#include <sys/signalfd.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <initializer_list>
#include <memory>

#include "reactor/awaitable.hpp"

namespace rusty::reactor {

class SignalReader {
public:
    // Blocks `signals` with pthread_sigmask (remembering the previous mask) and
    // opens a signalfd for them (SFD_NONBLOCK|SFD_CLOEXEC). Throws rusty::Error.
    SignalReader(asio::any_io_executor ex, std::initializer_list<int> signals);
    // Cancels a pending next(), closes the signalfd and restores the previous
    // mask. Signals still pending then get their normal disposition, which for
    // SIGHUP or SIGTERM is to end the process: read what you raised.
    ~SignalReader();
    SignalReader(const SignalReader&) = delete;
    SignalReader& operator=(const SignalReader&) = delete;

    // The next signal; cancellable, and a cancelled next() consumes no signal.
    Task<signalfd_siginfo> next();
    // Reads, without waiting, every signal pending now, and returns their
    // numbers: call before destruction when a late SIGTERM must not end the
    // process once the mask is restored.
    std::vector<int> take_pending();

    // Cancels a pending next(): it throws operation_aborted.
    void cancel();

private:
    sigset_t previous_mask_;
    // Shared with a running next(), for the reason given in pidfd_watch.cpp.
    std::shared_ptr<asio::posix::stream_descriptor> signalfd_;
};

}  // namespace rusty::reactor
