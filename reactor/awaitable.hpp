// The coroutine vocabulary of the reactor: Task<T> is an Asio awaitable, run on
// a single-threaded io_context whose backend is io_uring (see CMakeLists.txt).
//
// Every awaitable of the reactor is cancellable through Asio's per-operation
// cancellation: `co_await (op() || timer)` from awaitable_operators.hpp and
// asio::bind_cancellation_slot both work, and a cancelled operation throws
// boost::system::system_error with asio::error::operation_aborted.
// Beware: `a || b` waits for the first operand to *succeed*; one that throws
// does not end the race, and its exception is dropped if the other succeeds.
//
// Asio creates the io_uring ring with the context's first I/O object or timer
// and submits new waits in batches from the run loop, so a wait reaches the
// kernel only after one trip through the scheduler. A process forked after the
// ring exists shares it: fork before, or only _exit/exec in the child.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>

namespace rusty::reactor {

namespace asio = boost::asio;

template <class T = void>
using Task = asio::awaitable<T>;

// co_await sleep_for(d): a steady_timer wait on the current executor.
Task<void> sleep_for(std::chrono::steady_clock::duration d);

// Throws operation_aborted if the current coroutine has been asked to stop.
// Asio checks this only before starting an operation; a wait that completed
// in the same instant as its cancellation resumes normally. Calling this
// before consuming what the wait announced (reaping a child, reading a signal
// or a message) makes "cancelled" mean "nothing was consumed".
Task<void> throw_if_cancelled();

}  // namespace rusty::reactor
