// Notifier: wakes the coroutines waiting on it, as a condition variable does,
// but on the one reactor thread: no lock, and no wake-up is lost, since
// nothing runs between checking a condition and starting to wait. It keeps no
// state of its own: check what you wait for, then wait(), in a loop:
//
//   while (!ready) co_await changed.wait();
//
// (Built on a timer that never expires and whose waits are cancelled to wake
// them: the idiom, written once.)
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "reactor/awaitable.hpp"

namespace rusty::reactor {

class Notifier {
public:
    explicit Notifier(asio::any_io_executor ex);
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    // Completes at the next notify_all() (or when the Notifier is destroyed).
    // Throws operation_aborted when its own coroutine is cancelled meanwhile.
    Task<void> wait();
    // Wakes every coroutine in wait() now; a wait begun later waits for the
    // next call.
    void notify_all();

private:
    asio::steady_timer timer_;
};

}  // namespace rusty::reactor
