// A blocking client of a fleet's control socket for tests: one request line
// out, one reply line back (lifecycle/control_server.hpp has the protocol).
// Every read waits at most `timeout`, so a test fails instead of hanging.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace rusty::test {

class ControlClient {
public:
    explicit ControlClient(const std::filesystem::path& socket,
                           std::chrono::milliseconds timeout = std::chrono::seconds(20))
        : timeout_(timeout) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (socket.string().size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long");
        std::strcpy(addr.sun_path, socket.c_str());
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
            throw std::runtime_error("connect " + socket.string() + ": " + std::strerror(errno));
    }
    ~ControlClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;

    // {"verb": verb, "args": args} and its reply.
    nlohmann::json call(const std::string& verb, nlohmann::json args = nlohmann::json::object()) {
        send_line(nlohmann::json{{"verb", verb}, {"args", args}}.dump());
        std::optional<std::string> line = read_line();
        if (!line) throw std::runtime_error(verb + ": the server closed the connection");
        return nlohmann::json::parse(*line);
    }
    // The result of a successful call; throws with the error otherwise.
    nlohmann::json result(const std::string& verb, nlohmann::json args = nlohmann::json::object()) {
        nlohmann::json reply = call(verb, std::move(args));
        if (!reply.value("ok", false)) throw std::runtime_error(verb + ": " + reply.dump());
        return reply["result"];
    }

    void send_line(const std::string& line) { send_raw(line + "\n"); }
    void send_raw(const std::string& bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n < 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
            done += static_cast<std::size_t>(n);
        }
    }
    // The next line without its newline; nullopt at EOF. Throws at the timeout.
    std::optional<std::string> read_line() {
        for (;;) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0)
                throw std::runtime_error("no reply from the control socket in time");
            char buf[65536];
            ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n < 0) throw std::runtime_error(std::string("read: ") + std::strerror(errno));
            if (n == 0) return std::nullopt;
            buffer_.append(buf, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_ = -1;
    std::string buffer_;
    std::chrono::milliseconds timeout_;
};

}  // namespace rusty::test
