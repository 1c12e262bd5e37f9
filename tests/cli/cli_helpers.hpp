// Helpers of the CLI tests: running the real rusty-supervisor binary as a
// subprocess with a deadline on everything, a scratch --root per test, and
// pidfds on the containers a run started.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/cgroups.hpp"
#include "tests/support/temp_dir.hpp"

// REQUIRE for a wait on a running Supervisor: on failure, shows what it has
// printed so far.
#define REQUIRE_OUTPUT(sup, ...)                                                               \
    do {                                                                                       \
        if (!(__VA_ARGS__))                                                                    \
            FAIL("waited in vain for " #__VA_ARGS__ "\n--- stdout so far ---\n"               \
                 << (sup).out() << "--- stderr so far ---\n" << (sup).err() << "---");        \
    } while (false)

namespace rusty::cli_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Generous: the tests must not fail on a loaded 2-core machine, and a hang
// still ends the test instead of blocking CI.
inline constexpr std::chrono::milliseconds kRunTimeout = 30s;

// How a finished (or killed) run ended and what it printed.
struct RunResult {
    bool exited = false;     // exited normally: exit_code is valid
    int exit_code = -1;
    int term_signal = 0;     // the signal that ended it, if !exited
    bool timed_out = false;  // the deadline passed: it was SIGKILLed
    bool output_open = false;  // it ended but someone still held its stdout/stderr
    std::string out;
    std::string err;

    // Everything above as text, for INFO/CAPTURE when a check fails.
    std::string describe() const;
};

// One run of the supervisor binary. The child gets stdin from /dev/null,
// stdout and stderr on pipes, its own process group, an empty signal mask,
// default dispositions, and SIGKILL when this process dies. The destructor
// SIGKILLs and reaps a child that is still running.
class Supervisor {
public:
    explicit Supervisor(std::vector<std::string> args);
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    pid_t pid() const { return pid_; }

    // Reads output until `done(stdout, stderr)` is true (checked after each
    // read), the child ends with its output closed, or `timeout` passes.
    // Returns whether `done` became true.
    bool wait_until(const std::function<bool(const std::string&, const std::string&)>& done,
                    std::chrono::milliseconds timeout = kRunTimeout);
    // Waits for `n` stdout lines (complete, newline-terminated) that contain `needle`.
    bool wait_for_stdout(std::string_view needle, std::size_t n = 1,
                         std::chrono::milliseconds timeout = kRunTimeout);
    bool wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout = kRunTimeout);

    // Closes our end of its stdout, as `| head -1` would: its next write
    // gets EPIPE (or SIGPIPE). Output read so far stays in out().
    void close_stdout();

    // kill(2) by pid: safe, the pid stays ours until we reap it.
    void send_signal(int sig);
    // True while the process has not exited (whether or not reaped).
    bool running();

    // Waits for the exit and the end of its output; past `timeout` the child
    // is SIGKILLed and the result says timed_out.
    RunResult wait(std::chrono::milliseconds timeout = kRunTimeout);

    const std::string& out() const { return out_; }
    const std::string& err() const { return err_; }

private:
    // One poll() round trip; false when the deadline passed with nothing to do.
    bool pump(Clock::time_point deadline);
    void reap();
    void kill_and_reap();

    pid_t pid_ = -1;
    int pidfd_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    bool reaped_ = false;
    int status_ = 0;
    std::string out_;
    std::string err_;
};

// Runs the supervisor with `args` to its end (or `timeout`).
RunResult run_supervisor(std::vector<std::string> args,
                         std::chrono::milliseconds timeout = kRunTimeout);

// A directory under /tmp holding the fleet files and the --root of a test,
// removed with everything in it at scope exit (write() puts a file in it).
// Declare it before any Supervisor, so that a still-running supervisor is
// killed first.
class Scratch : public rusty::test::TempDir {
public:
    Scratch() : TempDir("cli") {}

    // The --root given to every run: path()/root, not created here.
    std::filesystem::path root() const { return path() / "root"; }

    // The common arguments: --root root() --config <file>.
    std::vector<std::string> args(const std::filesystem::path& config,
                                  std::initializer_list<std::string> extra = {}) const;
};

// pidfds on the containers a test saw started, so that it can check that
// they are gone, and so that none outlives a failing test: the destructor
// SIGKILLs any still alive.
class ContainerWatch {
public:
    ContainerWatch() = default;
    ~ContainerWatch();
    ContainerWatch(const ContainerWatch&) = delete;
    ContainerWatch& operator=(const ContainerWatch&) = delete;

    // Opens a pidfd on `pid`; false if it is already gone.
    bool add(pid_t pid);
    // SIGKILLs every watched process still alive.
    void kill_all();
    // True once every watched process has exited and been reaped (its
    // /proc/<pid> gone), waiting up to `timeout`.
    bool all_gone(std::chrono::milliseconds timeout);
    // The pids not yet gone, with their /proc state, for a failure message.
    std::string survivors() const;

private:
    struct Entry {
        pid_t pid;
        int pidfd;
    };
    std::vector<Entry> entries_;
};

// Waits for `ready_line` on the supervisor's stdout, then for the JSON
// "started" event of `container` in it (there must be exactly one), and
// watches its pid, which it returns. Fails the test otherwise.
pid_t watch_started(Supervisor& sup, ContainerWatch& containers, std::string_view container,
                    std::string_view ready_line);

// Splits `text` into lines; a last line without its newline is dropped.
std::vector<std::string> complete_lines(const std::string& text);
// Every complete line of `text` parsed as JSON. A line that does not parse
// is skipped and appended to `*bad` (when given), so that a test can check
// that `*bad` stays empty.
std::vector<nlohmann::json> json_lines(const std::string& text, std::string* bad = nullptr);
// JSON lines with "event" == `event` (and "container" == `container` unless empty).
std::vector<nlohmann::json> events(const std::vector<nlohmann::json>& lines, std::string_view event,
                                   std::string_view container = {});
// Index of the first line containing `needle`, or npos.
std::size_t line_index(const std::vector<std::string>& lines, std::string_view needle);

// The fleet document with `containers_json` as its "containers" object.
std::string fleet(std::string_view name, std::string_view containers_json);

}  // namespace rusty::cli_test
