#include "reactor/notifier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rusty::reactor {

Notifier::Notifier(asio::any_io_executor ex) : timer_(std::move(ex), asio::steady_timer::time_point::max()) {}

Task<void> Notifier::wait() {
    // Its expiry is never reached: every wait ends by cancel(), from
    // notify_all() or from the waiter's own cancellation, told apart here.
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    co_await throw_if_cancelled();
}

void Notifier::notify_all() { timer_.cancel(); }

}  // namespace rusty::reactor
