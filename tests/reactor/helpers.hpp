// Shared helpers of the reactor tests: running a coroutine to completion with a
// watchdog, forking children that the test is sure to reap.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "core/fd.hpp"
#include "core/syscalls.hpp"
#include "reactor/awaitable.hpp"

namespace rusty::reactor::test {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

// Runs `body` on `ctx` until the io_context runs out of work, and rethrows
// what it threw. A watchdog turns a hang into a failure instead of a stuck run.
inline void run_to_completion(asio::io_context& ctx, Task<void> body,
                              std::chrono::steady_clock::duration limit = 10s) {
    bool finished = false;
    bool timed_out = false;
    std::exception_ptr failure;
    // `||` waits for the first *successful* operand, so a body that throws
    // would only end the race when the watchdog fires: catch it inside.
    auto capture = [](Task<void> body, std::exception_ptr& failure) -> Task<void> {
        try {
            co_await std::move(body);
        } catch (...) {
            failure = std::current_exception();
        }
    };
    auto guarded = [](Task<void> body, std::chrono::steady_clock::duration limit,
                      bool& timed_out) -> Task<void> {
        auto winner = co_await (std::move(body) || sleep_for(limit));
        timed_out = winner.index() == 1;
    };
    asio::co_spawn(ctx, guarded(capture(std::move(body), failure), limit, timed_out),
                   [&](std::exception_ptr e) {
                       finished = true;
                       if (e) failure = e;
                   });
    ctx.run();
    REQUIRE(finished);
    REQUIRE_FALSE(timed_out);
    if (failure) std::rethrow_exception(failure);
}

// True if this process has any child, exited or not: waitid says ECHILD only
// when there is none, and WNOWAIT leaves zombies for their owners.
inline bool has_children() {
    siginfo_t info{};
    int rc = ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
    return !(rc < 0 && errno == ECHILD);
}

// The pids /proc lists as children of any of our threads.
inline std::string proc_children() {
    std::string all;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream in(task.path() / "children");
        std::string pids;
        std::getline(in, pids);
        all += pids;
    }
    return all;
}

// A forked child that the test owns: it runs `body` and _exits with its
// result. The destructor kills and reaps it unless the test already did, so a
// failing test leaves no child behind.
class Child {
public:
    explicit Child(const std::function<int()>& body) {
        pid_ = ::fork();
        if (pid_ < 0) FAIL("fork failed");
        if (pid_ == 0) ::_exit(body());
        pidfd_ = sys::pidfd_open(pid_);
    }
    ~Child() {
        // Through the pidfd, so a recycled pid is never hit. Both calls fail
        // harmlessly (ESRCH, ECHILD) once the test has reaped the child.
        sys::raw_pidfd_send_signal(pidfd_.get(), SIGKILL);
        siginfo_t info{};
        ::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    // A second pidfd for a PidfdWatch; the Child keeps its own for cleanup.
    UniqueFd open_pidfd() const { return sys::pidfd_open(pid_); }

private:
    pid_t pid_ = -1;
    UniqueFd pidfd_;
};

// Blocks in read() until the other end writes or closes: how children wait.
inline void wait_for_eof(int fd) {
    char byte;
    while (::read(fd, &byte, 1) < 0 && errno == EINTR) {
    }
}

// A child that blocks until the parent closes `gate.write` (or kills it),
// then exits with `exit_code`. The parent closes `gate.read` once it has
// forked the children it wants.
inline std::unique_ptr<Child> gated_child(sys::Pipe& gate, int exit_code = 0) {
    return std::make_unique<Child>([&gate, exit_code] {
        gate.write.reset();
        wait_for_eof(gate.read.get());
        return exit_code;
    });
}

}  // namespace rusty::reactor::test
