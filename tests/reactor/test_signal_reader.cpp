#include <pthread.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "reactor/signal_reader.hpp"
#include "tests/reactor/helpers.hpp"

namespace rusty::reactor::test {
namespace {

sigset_t current_mask() {
    sigset_t mask;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
    return mask;
}

bool same_mask(const sigset_t& a, const sigset_t& b) {
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sigismember(&a, sig) != sigismember(&b, sig)) return false;
    }
    return true;
}

// Puts the thread's mask back however the test ends.
class MaskGuard {
public:
    MaskGuard() : saved_(current_mask()) {}
    ~MaskGuard() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

private:
    sigset_t saved_;
};

void send_to_self(int sig) { REQUIRE(::kill(::getpid(), sig) == 0); }

TEST_CASE("SignalReader reads signals sent to the process and restores the mask",
          "[reactor][signalfd]") {
    MaskGuard guard;
    // Something already blocked must stay blocked after the reader is gone.
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    ::pthread_sigmask(SIG_BLOCK, &usr2, nullptr);
    const sigset_t before = current_mask();
    REQUIRE_FALSE(sigismember(&before, SIGHUP));

    auto gate = sys::make_pipe();
    auto child = gated_child(gate);
    gate.read.reset();

    sigset_t during;
    signalfd_siginfo usr1{}, hup{}, chld{};
    {
        asio::io_context ctx;
        SignalReader reader(ctx.get_executor(), {SIGHUP, SIGUSR1, SIGCHLD});
        during = current_mask();
        send_to_self(SIGUSR1);  // pending before next() is called
        run_to_completion(ctx, [&]() -> Task<void> {
            auto ex = co_await asio::this_coro::executor;
            usr1 = co_await reader.next();

            auto send_hup = [&]() -> Task<void> {
                co_await asio::post(ex, asio::use_awaitable);  // next() is pending now
                send_to_self(SIGHUP);
            };
            hup = co_await (reader.next() && send_hup());

            gate.write.reset();  // the child exits: SIGCHLD
            chld = co_await reader.next();
        }());
    }
    const sigset_t after = current_mask();

    for (int sig : {SIGHUP, SIGUSR1, SIGCHLD, SIGUSR2}) CHECK(sigismember(&during, sig));
    CHECK(usr1.ssi_signo == SIGUSR1);
    CHECK(usr1.ssi_pid == static_cast<std::uint32_t>(::getpid()));
    CHECK(usr1.ssi_code == SI_USER);
    CHECK(hup.ssi_signo == SIGHUP);
    CHECK(chld.ssi_signo == SIGCHLD);
    CHECK(chld.ssi_pid == static_cast<std::uint32_t>(child->pid()));
    CHECK(chld.ssi_code == CLD_EXITED);
    CHECK(same_mask(after, before));
}

TEST_CASE("SignalReader::next is cancellable and a cancelled next loses no signal",
          "[reactor][signalfd][cancel]") {
    MaskGuard guard;
    asio::io_context ctx;
    SignalReader reader(ctx.get_executor(), {SIGUSR1});

    std::size_t winner = 99;
    bool member_cancel_aborted = false;
    bool slot_cancel_aborted = false;
    signalfd_siginfo kept{};
    run_to_completion(ctx, [&]() -> Task<void> {
        auto ex = co_await asio::this_coro::executor;

        auto raced = co_await (reader.next() || sleep_for(20ms));
        winner = raced.index();

        asio::steady_timer trigger(ex, 10ms);
        trigger.async_wait([&](boost::system::error_code) { reader.cancel(); });
        try {
            co_await reader.next();
        } catch (const boost::system::system_error& e) {
            member_cancel_aborted = e.code() == asio::error::operation_aborted;
        }

        // The signal arrives and the cancellation is requested in the same
        // handler: the poll has fired, yet next() must not consume the signal.
        asio::cancellation_signal stop;
        auto send_and_cancel = [&]() -> Task<void> {
            co_await asio::post(ex, asio::use_awaitable);
            send_to_self(SIGUSR1);
            stop.emit(asio::cancellation_type::terminal);
        };
        asio::co_spawn(ex, send_and_cancel(), asio::detached);
        try {
            co_await asio::co_spawn(ex, reader.next(),
                                    asio::bind_cancellation_slot(stop.slot(), asio::use_awaitable));
        } catch (const boost::system::system_error& e) {
            slot_cancel_aborted = e.code() == asio::error::operation_aborted;
        }
        kept = co_await reader.next();
    }());

    CHECK(winner == 1);
    CHECK(member_cancel_aborted);
    CHECK(slot_cancel_aborted);
    CHECK(kept.ssi_signo == SIGUSR1);
}

}  // namespace
}  // namespace rusty::reactor::test
