#include "cli/control_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "core/config.hpp"

namespace rusty::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSocketName = "control.sock";
// A reply larger than this is not one of ours: stop before eating all memory.
constexpr std::size_t kMaxLine = 256 * 1024 * 1024;

std::string quoted(const fs::path& path) { return "\"" + path.string() + "\""; }

// Every <root>/*/control.sock, sorted.
std::vector<fs::path> running_sockets(const fs::path& root) {
    std::vector<fs::path> sockets;
    std::error_code ec;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code ignored;
        if (!it->is_directory(ignored)) continue;
        fs::path socket = it->path() / kSocketName;
        if (fs::is_socket(socket, ignored)) sockets.push_back(socket);
    }
    std::sort(sockets.begin(), sockets.end());
    return sockets;
}

}  // namespace

fs::path locate_socket(const SocketChoice& choice) {
    if (!choice.socket.empty()) return choice.socket;
    std::string fleet = choice.fleet;
    if (!choice.config.empty()) fleet = load_fleet(choice.config).name;  // ConfigError if invalid
    if (!fleet.empty()) {
        fs::path socket = choice.root / fleet / kSocketName;
        std::error_code ignored;
        if (!fs::exists(socket, ignored))
            throw Error("fleet \"" + fleet + "\" is not running under " + choice.root.string() + " (no " +
                            socket.string() + ")",
                        ENOENT);
        return socket;
    }
    std::vector<fs::path> sockets = running_sockets(choice.root);
    if (sockets.empty()) throw Error("no fleet is running under " + choice.root.string(), ENOENT);
    if (sockets.size() > 1) {
        std::string names;
        for (const fs::path& s : sockets) names += (names.empty() ? "" : ", ") + s.parent_path().filename().string();
        throw UsageError("several fleets are running under " + choice.root.string() + " (" + names +
                         "): choose one with --fleet NAME, --config FILE or --socket PATH");
    }
    return sockets.front();
}

ControlClient::ControlClient(fs::path socket) : path_(std::move(socket)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.native().empty() || path_.native().size() >= sizeof addr.sun_path)
        throw Error("control socket " + quoted(path_) + ": path too long for a unix socket", ENAMETOOLONG);
    std::memcpy(addr.sun_path, path_.c_str(), path_.native().size());
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_) throw_sys("socket(AF_UNIX)");
    int rc;
    do {
        rc = ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        const int err = errno;
        std::string hint = err == ECONNREFUSED ? " (the fleet is not running: a stale socket)"
                           : err == EACCES     ? " (it is only for root and the fleet's own user)"
                                               : "";
        throw Error("cannot connect to the control socket " + quoted(path_) + ": " + errno_text(err) + hint, err);
    }
}

int ControlClient::send(const std::string& verb, const nlohmann::json& args) {
    const int id = next_id_++;
    std::string line = nlohmann::json{{"id", id}, {"verb", verb}, {"args", args}}.dump(
                           -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                       "\n";
    std::string_view rest = line;
    while (!rest.empty()) {
        // MSG_NOSIGNAL: a fleet that went away is an error to report, not a
        // reason for SIGPIPE to end us silently.
        ssize_t n = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw sys_error("send to the control socket " + quoted(path_));
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    return id;
}

ControlClient::Reply ControlClient::request(const std::string& verb, const nlohmann::json& args) {
    const int id = send(verb, args);
    for (;;) {
        std::optional<nlohmann::json> message = next_message();
        if (!message) throw Error("the fleet closed the control connection without replying (" + path_.string() + ")");
        // A reply has "ok"; a refusal (permission, too many connections)
        // comes without our id.
        if (!message->is_object() || !message->contains("ok")) continue;
        if (message->contains("id") && (*message)["id"] != id) continue;
        Reply reply;
        reply.ok = (*message)["ok"] == true;
        if (reply.ok) reply.result = (*message).value("result", nlohmann::json());
        else if (auto e = message->find("error"); e != message->end() && e->is_string()) reply.error = *e;
        else reply.error = "the fleet refused the request without saying why";
        return reply;
    }
}

std::optional<nlohmann::json> ControlClient::next_message(bool skip_malformed) {
    for (;;) {
        std::optional<std::string> line = read_line();
        if (!line) return std::nullopt;
        if (line->find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            return nlohmann::json::parse(*line);
        } catch (const nlohmann::json::exception& e) {
            if (skip_malformed) continue;
            throw Error("the fleet sent a line that is not JSON (" + std::string(e.what()) + ")");
        }
    }
}

std::optional<std::string> ControlClient::read_line() {
    for (;;) {
        if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        if (buffer_.size() > kMaxLine) throw Error("the fleet sent a line over 256 MiB");
        char chunk[65536];
        ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        // The server closes a refused connection with our request unread,
        // which the kernel reports as a reset once its reply is read.
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            if (buffer_.empty()) return std::nullopt;
            return std::exchange(buffer_, {});  // a last line without its newline
        }
        if (n < 0) throw sys_error("read from the control socket " + quoted(path_));
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

}  // namespace rusty::cli
