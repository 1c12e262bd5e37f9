// `rusty-supervisor attach` end to end: the real binary attached from a
// pseudo-terminal this test opens, to a container with a terminal of its
// own (typed input in, output back, the window size followed, detach keys)
// and to one with only stdin open.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/cli/cli_helpers.hpp"

namespace fs = std::filesystem;
using namespace rusty::cli_test;
using namespace std::chrono_literals;

namespace {

// The supervisor binary run on a pty this test holds the master of: the
// child leads its own session with the pty as controlling terminal, as in a
// shell, so a size change sends it SIGWINCH.
class PtyClient {
public:
    PtyClient(const std::vector<std::string>& args, unsigned short rows, unsigned short cols) {
        winsize size{};
        size.ws_row = rows;
        size.ws_col = cols;
        int slave = -1;
        REQUIRE(::openpty(&master_, &slave, nullptr, nullptr, &size) == 0);
        ::fcntl(master_, F_SETFD, FD_CLOEXEC);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::setsid();
            ::ioctl(slave, TIOCSCTTY, 0);
            ::dup2(slave, 0), ::dup2(slave, 1), ::dup2(slave, 2);
            if (slave > 2) ::close(slave);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            std::vector<char*> argv;
            argv.push_back(const_cast<char*>(RUSTY_SUPERVISOR_BIN));
            for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(RUSTY_SUPERVISOR_BIN, argv.data());
            ::_exit(127);
        }
        ::close(slave);
    }
    ~PtyClient() {
        if (!reaped_) {
            ::kill(pid_, SIGKILL);
            wait_exit(5s);
        }
        ::close(master_);
    }
    PtyClient(const PtyClient&) = delete;
    PtyClient& operator=(const PtyClient&) = delete;

    void type(std::string_view keys) { REQUIRE(::write(master_, keys.data(), keys.size()) == (ssize_t)keys.size()); }
    void resize(unsigned short rows, unsigned short cols) {
        winsize size{};
        size.ws_row = rows;
        size.ws_col = cols;
        REQUIRE(::ioctl(master_, TIOCSWINSZ, &size) == 0);
    }
    // Reads what the terminal shows until `needle` appears after what was
    // consumed by earlier waits.
    bool wait_for(std::string_view needle, std::chrono::milliseconds timeout = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (const auto at = screen_.find(needle, consumed_); at != std::string::npos) {
                consumed_ = at + needle.size();
                return true;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return false;
            pollfd p{master_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buf[4096];
            const ssize_t n = ::read(master_, buf, sizeof buf);
            if (n <= 0) return screen_.find(needle, consumed_) != std::string::npos;  // EIO: the client is gone
            screen_.append(buf, static_cast<std::size_t>(n));
        }
    }
    // The exit status, or -1 if it did not exit within `timeout`.
    int wait_exit(std::chrono::milliseconds timeout = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            char buf[4096];
            pollfd p{master_, POLLIN, 0};
            if (::poll(&p, 1, 20) > 0) {
                const ssize_t n = ::read(master_, buf, sizeof buf);
                if (n > 0) screen_.append(buf, static_cast<std::size_t>(n));
            }
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                reaped_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
        }
        return -1;
    }
    const std::string& screen() const { return screen_; }

private:
    int master_ = -1;
    pid_t pid_ = -1;
    bool reaped_ = false;
    std::string screen_;
    std::size_t consumed_ = 0;
};

nlohmann::json ps_row(const Scratch& scratch, const std::string& name) {
    const RunResult r = run_supervisor({"ps", "--json", "--root", scratch.root().string(), name});
    nlohmann::json rows = nlohmann::json::parse(r.out, nullptr, false);
    return rows.is_array() && rows.size() == 1 ? rows[0] : nlohmann::json();
}

}  // namespace

TEST_CASE("attach to a tty container: input in, output back, window size followed, ctrl-p ctrl-q detaches",
          "[cli][attach]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("attach", R"({
        "shell": {"image": "busybox", "command": ["sh"], "tty": true, "stdin_open": true, "restart": "no"}
    })"));
    Supervisor sup(scratch.args(file, {"--stop-timeout", "0.2"}));
    REQUIRE(sup.wait_for_stdout("started"));
    const std::vector<std::string> attach = {"attach", "--root", scratch.root().string(), "shell"};
    {
        PtyClient client(attach, 33, 111);
        // The size was set from this terminal before the first keystroke.
        client.type("tty; stty size; echo sum=$((40+2))\r");
        INFO(client.screen());
        CHECK(client.wait_for("/dev/pts/0"));
        CHECK(client.wait_for("33 111"));
        CHECK(client.wait_for("sum=42"));
        // A resize here reaches the client as SIGWINCH, and the container.
        client.resize(40, 120);
        std::this_thread::sleep_for(300ms);
        client.type("stty size\r");
        CHECK(client.wait_for("40 120"));
        // A paste larger than the terminal's input buffer while the shell is
        // busy: the client holds it until the container reads, and stays.
        client.type("sleep 1\r");
        for (int i = 0; i < 20; ++i) client.type("echo " + std::string(1000, 'p') + "\r");
        client.type("echo paste-$((1+1))-done\r");
        CHECK(client.wait_for("paste-2-done", 20s));
        client.type("\x10\x11");
        CHECK(client.wait_exit() == 0);
        CHECK(client.screen().find("detached from shell") != std::string::npos);
    }
    // Still running, and its log has what was shown while attached.
    CHECK(ps_row(scratch, "shell").value("state", "") == "running");
    {
        std::ifstream log(scratch.root() / "attach" / "shell" / "container.log");
        const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
        CHECK(text.find("stdout F sum=42") != std::string::npos);
    }
    // Attached again, the container's end ends the client with its exit
    // code, even though the fleet ends with it.
    {
        PtyClient client(attach, 24, 80);
        client.type("exit 7\r");
        INFO(client.screen());
        CHECK(client.wait_exit() == 7);
    }
    CHECK(sup.wait().exit_code == 1);  // its only container exited 7
}

TEST_CASE("attach to a container with only stdin open: lines typed reach its stdin", "[cli][attach]") {
    Scratch scratch;
    const fs::path file = scratch.write("fleet.json", fleet("stdin", R"({
        "echo": {"image": "busybox", "command": ["sh", "-c", "while read line; do echo got:$line; done"],
                 "stdin_open": true}
    })"));
    Supervisor sup(scratch.args(file, {"--stop-timeout", "0.2"}));
    REQUIRE(sup.wait_for_stdout("started"));
    {
        PtyClient client({"attach", "--root", scratch.root().string(), "echo"}, 24, 80);
        std::this_thread::sleep_for(300ms);  // attached before the line goes in
        client.type("hello\n");
        INFO(client.screen());
        CHECK(client.wait_for("got:hello"));
        client.type("\x03");  // ^C: this terminal is not raw, the client ends
        CHECK(client.wait_exit() != -1);
    }
    CHECK(sup.wait_for_stdout("echo | got:hello"));
    CHECK(ps_row(scratch, "echo").value("state", "") == "running");
    // Not running: a clear error, exit 1.
    const RunResult none = run_supervisor({"attach", "--root", scratch.root().string(), "nosuch"});
    CHECK(none.exit_code == 1);
    CHECK(none.err.find("no container named \"nosuch\"") != std::string::npos);
    sup.send_signal(SIGTERM);
    CHECK(sup.wait().exit_code == 0);
}
