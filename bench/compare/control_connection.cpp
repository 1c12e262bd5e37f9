#include "bench/compare/control_connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "bench/compare/processes.hpp"
#include "core/error.hpp"

namespace rusty::bench::compare {

LineConn LineConn::connect(const fs::path& path) {
    LineConn c;
    c.fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!c.fd_) throw_sys("socket(AF_UNIX)");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.string().size() >= sizeof addr.sun_path) throw Error("socket path too long: " + path.string());
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(c.fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw_sys("connect(\"" + path.string() + "\")");
    return c;
}

void LineConn::send(const std::string& line) {
    std::string data = line + "\n";
    std::size_t off = 0;
    while (off < data.size()) {
        const ssize_t n = ::send(fd_.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("write(control socket)");
        off += static_cast<std::size_t>(n);
    }
}

void LineConn::fill() {
    char buf[65536];
    ssize_t n;
    do n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) throw_sys("read(control socket)");
    if (n == 0) throw Error("the supervisor closed its control socket");
    buffer_.append(buf, static_cast<std::size_t>(n));
}

std::optional<std::string> LineConn::pop() {
    const auto nl = buffer_.find('\n', scanned_);
    if (nl == std::string::npos) {
        scanned_ = buffer_.size();
        return std::nullopt;
    }
    std::string line = buffer_.substr(0, nl);
    buffer_.erase(0, nl + 1);
    scanned_ = 0;
    return line;
}

std::optional<std::string> LineConn::next(Clock::time_point deadline) {
    for (;;) {
        if (auto line = pop()) return line;
        pollfd p{fd_.get(), POLLIN, 0};
        const int r = ::poll(&p, 1, poll_timeout(deadline));
        if (r < 0 && errno == EINTR) {
            check_interrupted();
            continue;
        }
        if (r < 0) throw_sys("poll(control socket)");
        if (r == 0 && Clock::now() >= deadline) return std::nullopt;
        if (r > 0) fill();
    }
}

void LineConn::drain() {
    for (;;) {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) break;
        fill();
    }
    buffer_.clear();
    scanned_ = 0;
}

}  // namespace rusty::bench::compare
