// Shared by the cgroup suites that run fleets on the real kernel
// (test_fleet_cgroups.cpp, test_v1_view.cpp, test_reactor_stall.cpp): reading
// cgroup files, signalling a container's init, the pure-v1 view of this
// host, and Gate, which lets a coroutine on the reactor wait for something a
// hook sees (an event, an output line).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <fstream>
#include <string>

#include "cgroup/cgroup.hpp"
#include "cgroup/layout.hpp"
#include "core/file.hpp"
#include "reactor/awaitable.hpp"
#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {

// A file's text without its trailing newline, or "<error: …>".
inline std::string read_trimmed(const fs::path& file) {
    try {
        std::string text = read_file(file);
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
        return text;
    } catch (const std::exception& e) {
        return std::string("<error: ") + e.what() + ">";
    }
}

// Sends `sig` to a process this test may signal (a container's init whose
// Started event it saw, not reaped yet: hooks run on the reaping thread).
inline bool send_signal(pid_t pid, int sig) {
    UniqueFd fd(sys::raw_pidfd_open(pid));
    return fd && sys::raw_pidfd_send_signal(fd.get(), sig) == 0;
}

template <class Rep, class Period>
double seconds(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration<double>(d).count();
}

// Something a coroutine on the reactor awaits (an event, an output line),
// fired by a hook on the same thread.
struct Gate {
    boost::asio::steady_timer* timer = nullptr;
    bool fired = false;
    void fire() {
        fired = true;
        if (timer) timer->cancel();
    }
};

// True once `gate` fired, false if `limit` passed first.
inline reactor::Task<bool> wait_for(Gate& gate, std::chrono::steady_clock::duration limit) {
    namespace asio = boost::asio;
    if (gate.fired) co_return true;
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    gate.timer = &timer;
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    gate.timer = nullptr;
    co_return gate.fired;
}

// This host's /proc/self/mountinfo without its cgroup2 mount(s): what a
// pure-v1 host with the same v1 hierarchies would show.
inline std::string mountinfo_without_cgroup2() {
    std::ifstream in("/proc/self/mountinfo");
    std::string line, out;
    while (std::getline(in, line)) {
        const std::size_t dash = line.find(" - ");
        if (dash != std::string::npos && line.compare(dash + 3, 8, "cgroup2 ") == 0) continue;
        out += line + "\n";
    }
    return out;
}

inline cgroup::Layout pure_v1_view() { return cgroup::Layout::from_mountinfo(mountinfo_without_cgroup2(), ""); }

// run_fleet's options for a fleet on the pure-v1 view.
inline RunOptions v1_options() {
    RunOptions opts;
    opts.cgroup_layout = pure_v1_view();
    return opts;
}

inline std::string what(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& err) {
        return err.what();
    } catch (...) {
        return "unknown exception";
    }
}

}  // namespace rusty::test
