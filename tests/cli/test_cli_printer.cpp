// The status lines of `rusty-supervisor --config` on a terminal: one line per
// container, redrawn in place while the fleet starts, then frozen above the
// plain log. On a pipe, or in JSON, the plain lines of before. The printer
// is not in the library, so these run the binary with its stdout on a
// pseudo-terminal.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "cli_helpers.hpp"

namespace fs = std::filesystem;
using namespace rusty::cli_test;

extern char** environ;

namespace {

// setup runs briefly and quietly, app waits for it to complete and speaks
// after 1 s, broken cannot exec: every container has started or failed, and
// setup's line has changed twice, before the first output line.
const char* const kStartingFleet = R"({
    "setup": {"image": "busybox", "command": ["sleep", "0.2"]},
    "app": {"image": "busybox", "depends_on": {"setup": {"condition": "service_completed_successfully"}},
            "command": ["sh", "-c", "sleep 1; echo app done"]},
    "broken": {"image": "busybox", "command": ["/bin/nope"]}
})";

// Quick: one output line, one failure.
const char* const kQuickFleet = R"({
    "a": {"image": "busybox", "command": ["echo", "hi"]},
    "b": {"image": "busybox", "command": ["/bin/nope"]}
})";

struct PtyRun {
    bool exited = false;
    int exit_code = -1;
    int term_signal = 0;
    bool timed_out = false;
    std::string out;  // what the terminal received, \r\n and escapes included
    std::string err;

    std::string describe() const {
        std::string escaped;
        for (char c : out)
            escaped += c == '\033' ? std::string("\\e") : c == '\r' ? std::string("\\r") : std::string(1, c);
        return std::string(timed_out ? "TIMED OUT; " : "") + "exit status " + std::to_string(exit_code) +
               (term_signal ? std::string(", killed by ") + ::strsignal(term_signal) : std::string()) +
               "\n--- terminal (\\e = ESC) ---\n" + escaped + "--- stderr ---\n" + err + "---";
    }
};

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

// Runs the supervisor to its end with stdout on a pseudo-terminal of
// `columns` x `rows` (TERM=xterm), stdin from /dev/null and stderr on a pipe,
// as Supervisor does with pipes: its own process group, default signal
// dispositions, SIGKILL when the test dies or the deadline passes.
PtyRun run_on_pty(std::vector<std::string> args, unsigned short columns, unsigned short rows,
                  std::chrono::milliseconds timeout = kRunTimeout) {
    args.insert(args.begin(), RUSTY_SUPERVISOR_BIN);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_text = {"TERM=xterm"};
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "TERM=", 5) != 0) env_text.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);

    int master = -1, slave = -1;
    winsize size{};
    size.ws_col = columns;
    size.ws_row = rows;
    REQUIRE(::openpty(&master, &slave, nullptr, nullptr, &size) == 0);
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(slave, F_SETFD, FD_CLOEXEC);
    int err[2];
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();

    sigset_t all, saved;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved);
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || ::getppid() != parent) ::_exit(126);
        ::setpgid(0, 0);
        if (::dup2(devnull, 0) < 0 || ::dup2(slave, 1) < 0 || ::dup2(err[1], 2) < 0) ::_exit(126);
        ::syscall(SYS_close_range, 3U, ~0U, 0U);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    ::close(slave);
    ::close(err[1]);
    if (devnull >= 0) ::close(devnull);
    REQUIRE(pid > 0);

    // Read both until each ends: the terminal with EIO once the last holder
    // of its slave side is gone.
    PtyRun run;
    int out_fd = master, err_fd = err[0];
    const auto deadline = Clock::now() + timeout;
    while (out_fd >= 0 || err_fd >= 0) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            run.timed_out = true;
            break;
        }
        pollfd fds[2];
        int* owners[2];
        nfds_t n = 0;
        for (int* fd : {&out_fd, &err_fd}) {
            if (*fd < 0) continue;
            fds[n] = {*fd, POLLIN, 0};
            owners[n++] = fd;
        }
        const int rc = ::poll(fds, n, static_cast<int>(std::min<long long>(left, 60'000)));
        if (rc < 0 && errno == EINTR) continue;
        REQUIRE(rc >= 0);
        for (nfds_t i = 0; i < n; ++i) {
            if (!fds[i].revents) continue;
            int& fd = *owners[i];
            char buf[65536];
            const ssize_t got = ::read(fd, buf, sizeof buf);
            if (got > 0) (&fd == &out_fd ? run.out : run.err).append(buf, static_cast<std::size_t>(got));
            else if (got == 0 || (errno != EINTR && errno != EAGAIN)) close_fd(fd);
        }
    }
    close_fd(out_fd);
    close_fd(err_fd);
    if (run.timed_out) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    run.exited = WIFEXITED(status);
    if (run.exited) run.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) run.term_signal = WTERMSIG(status);
    return run;
}

// What a terminal shows after `bytes`, scrolled-off lines included, each
// without trailing blanks: enough of a terminal for the printer (text, \r,
// \n, ESC[nA, ESC[nB, ESC[2K, colours). One column per UTF-8 code point.
struct Screen {
    std::vector<std::string> lines;
    std::vector<std::size_t> widest;  // per line, the most columns it ever held
    std::vector<std::string> unknown;  // escape sequences it does not know
    std::size_t moves_up = 0;         // ESC[nA sequences
    std::size_t moves_down = 0;       // ESC[nB sequences
    std::size_t clears = 0;           // ESC[2K sequences
    bool ends_at_line_start = true;   // the cursor is left in column 0

    explicit Screen(const std::string& bytes) {
        std::vector<std::vector<std::string>> cells;
        std::size_t row = 0, col = 0;
        auto at_row = [&]() -> std::vector<std::string>& {
            if (cells.size() <= row) cells.resize(row + 1);
            return cells[row];
        };
        for (std::size_t i = 0; i < bytes.size();) {
            const char c = bytes[i];
            if (c == '\033') {
                // CSI: ESC [ digits and semicolons, then the final byte.
                std::size_t end = i + 1;
                const bool csi = end < bytes.size() && bytes[end] == '[';
                if (csi) end = bytes.find_first_not_of("0123456789;", end + 1);
                if (end >= bytes.size()) end = bytes.size() - 1;
                const std::string seq = bytes.substr(i, end + 1 - i);
                const std::string param = csi ? seq.substr(2, seq.size() - 3) : "";
                const std::size_t n = param.empty() ? 1 : std::stoul(param);
                const char final = seq.back();
                if (!csi) unknown.push_back(seq);
                else if (final == 'A') row = row >= n ? row - n : 0, ++moves_up;
                else if (final == 'B') row += n, ++moves_down;
                else if (final == 'K' && param == "2") at_row().clear(), ++clears;
                else if (final != 'm') unknown.push_back(seq);
                i = end + 1;
                continue;
            }
            if (c == '\r') {
                col = 0, ++i;
                continue;
            }
            if (c == '\n') {
                ++row, ++i;
                continue;
            }
            std::size_t len = 1;
            while (i + len < bytes.size() && (static_cast<unsigned char>(bytes[i + len]) & 0xC0) == 0x80) ++len;
            auto& line = at_row();
            if (line.size() <= col) line.resize(col + 1, " ");
            line[col++] = bytes.substr(i, len);
            if (widest.size() <= row) widest.resize(row + 1);
            widest[row] = std::max(widest[row], line.size());
            i += len;
        }
        ends_at_line_start = col == 0;
        for (auto& line : cells) {
            std::string text;
            for (auto& cell : line) text += cell;
            text.erase(text.find_last_not_of(' ') + 1);
            lines.push_back(text);
        }
        while (!lines.empty() && lines.back().empty()) lines.pop_back();
    }

    std::size_t count(const std::string& line) const { return std::count(lines.begin(), lines.end(), line); }
    std::size_t index(const std::string& line) const {
        return static_cast<std::size_t>(std::find(lines.begin(), lines.end(), line) - lines.begin());
    }
};

std::size_t columns_of(const std::string& text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

TEST_CASE("status lines: one per container, updated in place while the fleet starts", "[cli][printer]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("status", kStartingFleet));
    const PtyRun r = run_on_pty(scratch.args(file), 100, 30);
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);  // broken failed
    CHECK(r.err.empty());

    const Screen screen(r.out);
    INFO("screen:\n" << [&] {
        std::string s;
        for (auto& l : screen.lines) s += l + "\n";
        return s;
    }());
    CHECK(screen.unknown.empty());
    // Drawn at the first event, then each of the three other events before
    // the first output redraws its line: up, clear, write, back down.
    CHECK(screen.moves_up >= 4);
    CHECK(screen.moves_down == screen.moves_up - 1);  // the last move up is the final redraw
    CHECK(screen.clears >= screen.moves_up);
    CHECK(screen.ends_at_line_start);
    CHECK(*std::max_element(screen.widest.begin(), screen.widest.end()) < 100);

    // The block, frozen as it was when app spoke, in fleet order.
    REQUIRE(screen.lines.size() >= 4);
    CHECK(screen.lines[0] == " ✔ Container setup   Exited (0)");
    CHECK(screen.lines[1] == " ✔ Container app     Started");
    CHECK(screen.lines[2] == " ✘ Container broken  Failed: exec \"/bin/nope\": No such file or directory");
    CHECK(screen.lines[3] == "Attaching to setup, app, broken");
    for (const char* name : {"setup ", "app ", "broken "}) {
        INFO(name);
        CHECK(std::count_if(screen.lines.begin(), screen.lines.end(), [&](const std::string& l) {
                  return l.find(std::string("Container ") + name) != std::string::npos;
              }) == 1);
    }

    // Then the log, as on a pipe, without the events the block showed.
    const std::vector<std::string> log(screen.lines.begin() + 4, screen.lines.end());
    const std::vector<std::string> expected = {"app    | app done", "app exited with code 0"};
    CHECK(log == expected);
    CHECK_NO_TEST_CGROUPS();
}

TEST_CASE("status lines: shorter than the terminal, cut with an ellipsis", "[cli][printer]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("narrow", R"({
        "web": {"image": "busybox", "command": ["sh", "-c", "sleep 1; echo serving"]},
        "broken": {"image": "busybox", "command": ["/bin/nope"]}})"));
    const PtyRun r = run_on_pty(scratch.args(file), 40, 30);
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);

    const Screen screen(r.out);
    CHECK(screen.unknown.empty());
    REQUIRE(screen.lines.size() >= 4);
    // Never a line as wide as the terminal: it would wrap, and move the block.
    for (std::size_t row = 0; row < 2; ++row) CHECK(screen.widest[row] < 40);
    CHECK(screen.lines[0] == " ✔ Container web     Started");
    const std::string& broken = screen.lines[1];
    CHECK(columns_of(broken) == 39);
    CHECK_THAT(broken, Catch::StartsWith(" ✘ Container broken  Failed: exec") && Catch::EndsWith("…"));
    CHECK(screen.lines[2] == "Attaching to web, broken");
    CHECK(screen.lines[3] == "web    | serving");
}

TEST_CASE("status lines: none on a terminal too short for them", "[cli][printer]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("short", kQuickFleet));
    const PtyRun r = run_on_pty(scratch.args(file), 80, 2);  // 2 containers need 3 rows
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);

    const Screen screen(r.out);
    CHECK(screen.unknown.empty());
    CHECK(screen.moves_up == 0);
    CHECK(screen.clears == 0);
    CHECK(screen.count("a | hi") == 1);
    CHECK(screen.count("a exited with code 0") == 1);
    CHECK(screen.count("b: exec \"/bin/nope\": No such file or directory") == 1);
    CHECK(screen.index("a | hi") > line_index(screen.lines, "a started (pid "));
    CHECK(screen.lines.size() == 4);
}

TEST_CASE("status lines: none in JSON, even on a terminal", "[cli][printer]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("json", kQuickFleet));
    const PtyRun r = run_on_pty(scratch.args(file, {"--log-format", "json"}), 80, 30);
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find('\033') == std::string::npos);
    const Screen screen(r.out);
    std::string joined;
    for (const auto& line : screen.lines) joined += line + "\n";
    std::string bad;
    const auto lines = json_lines(joined, &bad);
    CHECK(bad.empty());
    CHECK(events(lines, "started", "a").size() == 1);
    CHECK(events(lines, "failed", "b").size() == 1);
}

TEST_CASE("status lines: none on a pipe, byte for byte the plain lines", "[cli][printer]") {
    Scratch scratch;
    const fs::path file =
        scratch.write("fleet.json", fleet("pipe", R"({"solo": {"image": "busybox", "command": ["echo", "hello"]}})"));
    const RunResult r = run_supervisor(scratch.args(file));
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    const std::regex plain("solo started \\(pid [1-9][0-9]*\\)\nsolo \\| hello\nsolo exited with code 0\n");
    CHECK(std::regex_match(r.out, plain));
}
