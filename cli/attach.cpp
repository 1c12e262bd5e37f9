#include "cli/attach.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "cli/control_client.hpp"
#include "core/error.hpp"
#include "core/syscalls.hpp"
#include "core/units.hpp"

namespace rusty::cli {
namespace {

constexpr char kCtrlP = 0x10;
constexpr char kCtrlQ = 0x11;

// The local terminal in raw mode for as long as this lives.
class RawMode {
public:
    explicit RawMode(int fd) : fd_(fd) {
        if (::tcgetattr(fd_, &saved_) < 0) return;
        termios raw = saved_;
        ::cfmakeraw(&raw);
        if (::tcsetattr(fd_, TCSANOW, &raw) == 0) active_ = true;
    }
    ~RawMode() {
        if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
    }
    RawMode(const RawMode&) = delete;
    RawMode& operator=(const RawMode&) = delete;

private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw sys_error("write");
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

// The container's terminal takes this one's size.
void copy_window_size(int from, int to) {
    winsize ws{};
    if (::ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// The reply line to `attach`, with the fd that came with it; `rest` gets the
// output bytes that followed it in the same reads.
struct Granted {
    nlohmann::json reply;
    UniqueFd input;
    std::string rest;
};

Granted read_grant(int sock) {
    Granted g;
    std::string line;
    std::byte buffer[65536];
    for (;;) {
        sys::Received r = sys::recv_with_fds(sock, buffer, 1);
        if (r.size == 0) throw Error("the fleet closed the control connection without replying");
        if (!r.fds.empty()) g.input = std::move(r.fds.front());
        line.append(reinterpret_cast<const char*>(buffer), r.size);
        if (const std::size_t nl = line.find('\n'); nl != std::string::npos) {
            g.rest = line.substr(nl + 1);
            line.resize(nl);
            break;
        }
        if (line.size() > (1 << 20)) throw Error("the fleet sent a reply line over 1 MiB");
    }
    try {
        g.reply = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("the fleet sent a line that is not JSON (") + e.what() + ")");
    }
    return g;
}

// Typed bytes less the detach sequence. A ctrl-p is held back until the next
// byte says whether it starts the sequence.
class DetachScanner {
public:
    // Appends what to forward to `out`; true once ctrl-p ctrl-q was typed.
    bool feed(std::string_view typed, std::string& out) {
        for (char c : typed) {
            if (held_) {
                held_ = false;
                if (c == kCtrlQ) return true;
                out += kCtrlP;
            }
            if (c == kCtrlP) held_ = true;
            else out += c;
        }
        return false;
    }

private:
    bool held_ = false;
};

// The exit status in an `exited` event: its code, or 128 + its signal.
std::optional<int> exit_status(const nlohmann::json& event) {
    if (event.value("event", "") == "failed") return 1;
    if (event.value("event", "") != "exited") return std::nullopt;
    if (event.contains("exit_code") && event["exit_code"].is_number_integer()) return event["exit_code"].get<int>();
    if (event.contains("signal") && event["signal"].is_string())
        return 128 + parse_signal(event["signal"].get<std::string>()).value_or(0);
    return std::nullopt;
}

// Once the output stream has ended: how the container ended, from the
// `events` subscription made before attaching (its exit is published before
// the stream ends, and delivered even when the fleet ends with it).
std::optional<int> exit_code_from(ControlClient& events, const std::string& name) {
    try {
        for (;;) {
            std::optional<nlohmann::json> message = events.next_message(true);
            if (!message) return std::nullopt;
            const nlohmann::json& event = message->value("event", nlohmann::json());
            if (!event.is_object() || event.value("container", "") != name) continue;
            if (std::optional<int> status = exit_status(event)) return status;
        }
    } catch (const std::exception&) {
        return std::nullopt;  // no answer in time (the stream ended for another reason)
    }
}

}  // namespace

int run_attach(const AttachOptions& options, const std::filesystem::path& socket) {
    // First the events, so that the container's exit cannot slip between.
    ControlClient events(socket);
    events.send("events", {});
    timeval patience{2, 0};  // how long the exit may take to follow the stream's end
    ::setsockopt(events.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);

    ControlClient client(socket);
    client.send("attach", {{"name", options.name}});
    Granted g = read_grant(client.native_handle());
    if (!g.reply.is_object() || g.reply.value("ok", false) != true) {
        const std::string error = g.reply.is_object() && g.reply.contains("error") && g.reply["error"].is_string()
                                      ? g.reply["error"].get<std::string>()
                                      : "the fleet refused to attach";
        std::fprintf(stderr, "rusty-supervisor: %s\n", error.c_str());
        return 1;
    }
    const nlohmann::json& result = g.reply["result"];
    const bool tty = result.value("tty", false);
    const bool typing = result.value("stdin_open", false) && g.input && !options.no_stdin;
    // Typed input waits here while the container does not read it, so that
    // its output and the detach keys are still served. The supervisor never
    // writes to this fd, and a terminal's master is non-blocking already.
    if (typing) ::fcntl(g.input.get(), F_SETFL, ::fcntl(g.input.get(), F_GETFL) | O_NONBLOCK);
    std::string unsent;
    constexpr std::size_t kMaxUnsent = 1 << 20;

    // SIGWINCH through a signalfd, so that the poll below sees it.
    sigset_t winch;
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    ::sigprocmask(SIG_BLOCK, &winch, nullptr);
    UniqueFd signals(::signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK));

    const bool local_tty = ::isatty(STDIN_FILENO);
    std::optional<RawMode> raw;
    if (tty && local_tty) raw.emplace(STDIN_FILENO);
    if (tty && g.input) copy_window_size(STDIN_FILENO, g.input.get());
    write_all(STDOUT_FILENO, g.rest);

    const int sock = client.native_handle();
    DetachScanner scanner;
    bool reading_stdin = true;
    bool detached = false;
    char buffer[65536];
    for (;;) {
        const bool take_input = reading_stdin && unsent.size() < kMaxUnsent;
        pollfd fds[4] = {{sock, POLLIN, 0},
                         {take_input ? STDIN_FILENO : -1, POLLIN, 0},
                         {signals.get(), POLLIN, 0},
                         {unsent.empty() ? -1 : g.input.get(), POLLOUT, 0}};
        if (::poll(fds, 4, -1) < 0) {
            if (errno == EINTR) continue;
            throw sys_error("poll");
        }
        if (fds[2].revents & POLLIN) {
            signalfd_siginfo info;
            while (::read(signals.get(), &info, sizeof info) == sizeof info) {}
            if (tty && g.input) copy_window_size(STDIN_FILENO, g.input.get());
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (n <= 0 && !(n < 0 && errno == EINTR)) {
                reading_stdin = false;  // nothing more to type; keep watching
            } else if (n > 0) {
                std::string forward;
                detached = scanner.feed(std::string_view(buffer, static_cast<std::size_t>(n)), forward);
                if (typing) unsent += forward;
                if (detached) break;
            }
        }
        if (!unsent.empty()) {
            const ssize_t n = ::write(g.input.get(), unsent.data(), unsent.size());
            if (n > 0) unsent.erase(0, static_cast<std::size_t>(n));
            else if (n < 0 && errno != EAGAIN && errno != EINTR) unsent.clear();  // the container's input is gone
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = ::read(sock, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // the container has ended (or the fleet)
            write_all(STDOUT_FILENO, std::string_view(buffer, static_cast<std::size_t>(n)));
        }
    }
    raw.reset();
    if (detached) {
        std::fprintf(stderr, "%sdetached from %s; it keeps running\n", tty ? "\r\n" : "", options.name.c_str());
        return 0;
    }
    return exit_code_from(events, options.name).value_or(0);
}

}  // namespace rusty::cli
