// The supervisor's own output is a view: when the terminal (here a pipe read
// slowly, then not at all, as a paused `| less`) cannot keep up with a
// container writing flat out, output lines are skipped with a note, events
// wait in a bounded queue, the reactor is not held, and the log file keeps
// every line.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/cli/cli_helpers.hpp"

namespace fs = std::filesystem;
using namespace rusty::cli_test;
using namespace std::chrono_literals;

TEST_CASE("a slow or stopped reader of the supervisor's output holds no restart, loses nothing in the log",
          "[cli][logs]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("flood", R"({
        "flood": {"image": "busybox", "command": ["yes", "a line written as fast as the container can"],
                  "logging": {"options": {"max-size": "8m", "max-file": "2"}}},
        "ticker": {"image": "busybox", "command": ["sh", "-c", "exit 1"], "restart": "always",
                   "restart_backoff": {"initial": "0s"}}
    })"));
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    const std::vector<std::string> args = scratch.args(file, {"--stop-timeout", "0.2"});
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // A test that fails half way must not leave the fleet running.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        ::dup2(out[1], 1);
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 2);
        std::vector<char*> argv{const_cast<char*>(RUSTY_SUPERVISOR_BIN)};
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(RUSTY_SUPERVISOR_BIN, argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    // However the test ends: the supervisor stops its fleet (SIGTERM), then
    // is reaped, SIGKILLed if it takes more than 10 s.
    struct Reaper {
        pid_t pid;
        int fd;
        ~Reaper() {
            if (pid <= 0) return;
            ::kill(pid, SIGTERM);
            for (int i = 0; i < 1000; ++i) {
                char buf[65536];
                while (::read(fd, buf, sizeof buf) > 0) {}
                if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
                std::this_thread::sleep_for(10ms);
            }
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    } reaper{pid, out[0]};
    ::fcntl(out[0], F_SETFL, O_NONBLOCK);
    // A slow terminal: 16 KiB every 100 ms.
    std::string seen;
    auto read_some = [&](std::size_t max) {
        char buf[16384];
        pollfd p{out[0], POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) return false;
        const ssize_t n = ::read(out[0], buf, std::min(max, sizeof buf));
        if (n > 0) seen.append(buf, static_cast<std::size_t>(n));
        return n > 0;
    };
    // The ticker's restarts so far, asked over the control socket (which
    // the same reactor serves).
    auto restarts = [&] {
        const RunResult ps = run_supervisor({"ps", "--json", "--root", scratch.root().string(), "ticker"});
        nlohmann::json rows = nlohmann::json::parse(ps.out, nullptr, false);
        INFO(ps.out);
        REQUIRE(rows.is_array());
        REQUIRE(rows.size() == 1);
        return rows[0].value("restarts", 0);
    };
    for (int i = 0; i < 20; ++i) {
        std::this_thread::sleep_for(100ms);
        read_some(16384);
    }
    const int while_slow = restarts();
    std::this_thread::sleep_for(2s);  // and now not at all
    const int while_stopped = restarts() - while_slow;
    // 2 s of restarts at a few ms each: hundreds on a quiet machine, dozens
    // on a busy one; a handful if the reactor waited for this reader, none
    // at all once it stopped reading.
    CHECK(while_slow >= 10);
    CHECK(while_stopped >= 10);
    ::kill(pid, SIGTERM);
    while (true) {
        pollfd p{out[0], POLLIN, 0};
        if (::poll(&p, 1, 10'000) <= 0) break;
        char buf[65536];
        const ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) break;  // EOF: the supervisor is gone
        seen.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    reaper.pid = 0;
    ::close(out[0]);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(seen.find("output lines not shown here") != std::string::npos);
    CHECK(fs::file_size(scratch.root() / "flood" / "flood" / "container.log") > 0);
}
