#include "lifecycle/control_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/syscalls.hpp"
#include "reactor/notifier.hpp"

namespace rusty::lifecycle {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Local = asio::local::stream_protocol;
using Json = nlohmann::json;

namespace control_impl {

struct Connection;

}  // namespace control_impl

struct ControlServer::State {
    State(asio::any_io_executor ex, fs::path socket_path, ControlHandler& h)
        : executor(ex), acceptor(ex), linger(ex), path(std::move(socket_path)), handler(h) {}

    // The socket file, if it is still the one we bound.
    void unlink_path();

    asio::any_io_executor executor;
    Local::acceptor acceptor;
    asio::steady_timer linger;  // close()'s deadline for replies and queued events
    fs::path path;
    ControlHandler& handler;
    bool bound = false;  // `path` was created by us (dev, ino say which file)
    dev_t dev = 0;
    ino_t ino = 0;
    bool accepting = false;  // run() is looping: it closes the acceptor when it ends
    bool closing = false;
    std::size_t stream_subscribers = 0;  // connections with a `stream`
    std::unordered_set<control_impl::Connection*> connections;
};

void ControlServer::State::unlink_path() {
    if (!bound) return;
    bound = false;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino) ::unlink(path.c_str());
}

namespace control_impl {

// One client. The reader coroutine (serve) owns the requests and writes
// their replies; an `events` subscriber also gets a writer coroutine
// (write_events) that drains `queue`. Both hold the Connection, so the socket
// is closed only once neither has an operation in flight: on the io_uring
// backend, closing a descriptor under a pending operation misroutes
// completions (see HelperClient::run in helper_fork.cpp).
struct Connection {
    Connection(std::shared_ptr<ControlServer::State> s, Local::socket sock)
        : state(std::move(s)), socket(std::move(sock)), wakeup(state->executor) {
        state->connections.insert(this);
    }
    ~Connection() {
        state->connections.erase(this);
        if (!stream.empty()) --state->stream_subscribers;
        // close() lingers only while connections remain.
        if (state->closing && state->connections.empty()) state->linger.cancel();
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    std::shared_ptr<ControlServer::State> state;
    Local::socket socket;
    asio::cancellation_signal read_cancel;  // close() stops reads, not writes
    reactor::Notifier wakeup;               // the writer sleeps on it while `queue` is empty
    std::deque<std::shared_ptr<const std::string>> queue;  // whole lines, shared between subscribers
    std::size_t queued_bytes = 0;
    bool subscriber = false;  // said `events`, or `attach`
    std::string stream;       // attach: the stream it follows (empty for `events`)
    bool stream_ended = false;  // end_stream(): close once the queue is sent
    bool dropped = false;     // a subscriber that fell too far behind
    bool peer_gone = false;   // EOF or a write error: nothing more to send
    bool cut = false;         // close()'s linger ran out
};

}  // namespace control_impl

namespace {

using control_impl::Connection;
using State = ControlServer::State;

// Lines must never make dump() throw: a handler's result or an error text may
// hold invalid UTF-8 (a container's output, a path).
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string reply_line(const Json* id, bool ok, const Json& payload) {
    std::string line = "{";
    if (id) line += "\"id\":" + dump(*id) + ",";
    line += ok ? "\"ok\":true,\"result\":" : "\"ok\":false,\"error\":";
    line += dump(payload);
    line += "}\n";
    return line;
}

std::string error_line(const Json* id, std::string_view error) {
    return reply_line(id, false, Json(std::string(error)));
}

std::string quoted(const fs::path& path) { return "\"" + path.string() + "\""; }

// ---- the socket file ------------------------------------------------------------

sockaddr_un address_of(const fs::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string& text = path.native();
    if (text.empty() || text.size() >= sizeof addr.sun_path)
        throw Error("control socket " + quoted(path) + ": a unix socket path must have 1 to " +
                        std::to_string(sizeof addr.sun_path - 1) + " bytes",
                    ENAMETOOLONG);
    std::memcpy(addr.sun_path, text.data(), text.size());
    return addr;
}

// A socket file left by a supervisor that died: nobody accepts on it any
// more (ECONNREFUSED). Anything else at `path` is not ours to remove.
void remove_stale_socket(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return;
        throw_sys("control socket: lstat(" + quoted(path) + ")");
    }
    if (!S_ISSOCK(st.st_mode))
        throw Error("control socket " + quoted(path) + ": a file that is not a socket is in the way", EEXIST);
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!probe) throw_sys("control socket: socket(AF_UNIX)");
    const sockaddr_un addr = address_of(path);
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 || errno == EAGAIN)
        throw Error("control socket " + quoted(path) + ": another process listens on it", EADDRINUSE);
    if (errno != ECONNREFUSED) throw_sys("control socket: probe connect(" + quoted(path) + ")");
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw_sys("unlink stale control socket " + quoted(path));
}

// Note for the coroutines below: GCC 12 may destroy a temporary twice when it
// is built inside a co_await expression (a conditional or a function call
// producing the operand), so operands are built in named locals first.

// ---- writing --------------------------------------------------------------------

struct Sent {
    boost::system::error_code ec;
    std::size_t bytes = 0;
};

// async_write without SIGPIPE: Asio's io_uring sendmsg passes the flags as
// given, and a peer that went away must not kill the supervisor.
reactor::Task<Sent> send_all(Local::socket& socket, std::string_view data) {
    Sent sent;
    while (sent.bytes < data.size()) {
        const auto rest = asio::buffer(data.substr(sent.bytes));
        auto [ec, n] = co_await socket.async_send(rest, MSG_NOSIGNAL, asio::as_tuple(asio::use_awaitable));
        sent.bytes += n;
        if (ec) {
            sent.ec = ec;
            break;
        }
    }
    co_return sent;
}

// Never waits: for a line to a client we are about to close anyway.
void send_now(int fd, std::string_view line) {
    [[maybe_unused]] ssize_t ignored = ::send(fd, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

// A reply on the reader's side. False when the connection is over.
reactor::Task<bool> write_line(std::shared_ptr<Connection> c, std::string line) {
    if (c->cut || c->peer_gone) co_return false;
    Sent sent = co_await send_all(c->socket, line);
    if (!sent.ec) co_return true;
    if (sent.ec != asio::error::operation_aborted) c->peer_gone = true;
    co_return false;
}

// ---- events subscribers ---------------------------------------------------------

void enqueue(Connection& c, std::shared_ptr<const std::string> line) {
    c.queued_bytes += line->size();
    c.queue.push_back(std::move(line));
    c.wakeup.notify_all();
}

// A subscriber too far behind: its queue goes now, and so does its pending
// write (it may never complete), so that it holds no more memory than that.
void drop(Connection& c) {
    c.dropped = true;
    c.queue.clear();
    c.queued_bytes = 0;
    boost::system::error_code ignored;
    c.socket.cancel(ignored);
    c.wakeup.notify_all();
}

reactor::Task<void> write_events(std::shared_ptr<Connection> c) {
    try {
        for (;;) {
            if (c->peer_gone || c->cut) break;
            if (c->dropped) {
                // The newline ends a line that a cancelled write may have cut.
                send_now(c->socket.native_handle(),
                         "\n" + error_line(nullptr, (c->stream.empty() ? "events" : "attach") +
                                                        std::string(": dropped, this subscriber fell more than ") +
                                                        std::to_string(ControlServer::kMaxQueuedBytes) +
                                                        " bytes or " +
                                                        std::to_string(ControlServer::kMaxQueuedLines) +
                                                        " writes behind"));
                break;
            }
            if (c->queue.empty()) {
                if (c->state->closing || c->stream_ended) break;  // all delivered
                co_await c->wakeup.wait();
                continue;
            }
            std::shared_ptr<const std::string> line = std::move(c->queue.front());
            c->queue.pop_front();
            c->queued_bytes -= line->size();
            Sent sent = co_await send_all(c->socket, *line);
            if (sent.ec && !c->dropped) {
                if (sent.ec != asio::error::operation_aborted) c->peer_gone = true;
                break;
            }
        }
    } catch (const std::exception& e) {
        spdlog::debug("control socket: events writer: {}", e.what());
    }
    // The reader may be waiting for input that will never matter now.
    boost::system::error_code ignored;
    c->socket.cancel(ignored);
}

// ---- requests -------------------------------------------------------------------

constexpr int kMaxDepth = 64;
struct TooDeep {};

struct Request {
    std::optional<Json> id;
    std::string verb;
    Json args;
    std::string error;  // set: the request is invalid
};

// The text of a nlohmann exception without its "[json.exception.…] " tag,
// bounded (its "last read" part quotes the input).
std::string json_error_text(const std::exception& e) {
    std::string_view text = e.what();
    if (auto tag_end = text.find("] "); text.starts_with("[json.exception") && tag_end != text.npos)
        text.remove_prefix(tag_end + 2);
    if (text.size() > 200) return std::string(text.substr(0, 200)) + "…";
    return std::string(text);
}

Request parse_request(std::string_view line) {
    Request r;
    Json doc;
    try {
        // Bounded depth: deeper nesting only costs stack in whoever walks it
        // recursively later (dump(), a handler).
        doc = Json::parse(line, [](int depth, Json::parse_event_t, Json&) {
            if (depth > kMaxDepth) throw TooDeep{};
            return true;
        });
    } catch (const TooDeep&) {
        r.error = "invalid request: nested deeper than " + std::to_string(kMaxDepth) + " levels";
        return r;
    } catch (const Json::exception& e) {
        r.error = "invalid JSON: " + json_error_text(e);
        return r;
    }
    if (!doc.is_object()) {
        r.error = "invalid request: expected a JSON object such as {\"verb\": \"ps\"}";
        return r;
    }
    if (auto it = doc.find("id"); it != doc.end()) r.id = std::move(*it);
    auto verb = doc.find("verb");
    if (verb == doc.end() || !verb->is_string()) {
        r.error = "invalid request: \"verb\" must be a string";
        return r;
    }
    r.verb = verb->get<std::string>();
    auto args = doc.find("args");
    if (args == doc.end() || args->is_null()) {
        r.args = Json::object();
    } else if (args->is_object()) {
        r.args = std::move(*args);
    } else {
        r.error = "invalid request: \"args\" must be an object";
    }
    return r;
}

void subscribe(const std::shared_ptr<Connection>& c, const Json* id) {
    c->subscriber = true;
    enqueue(*c, std::make_shared<const std::string>(reply_line(id, true, "subscribed")));
    asio::co_spawn(c->state->executor, write_events(c), asio::detached);
}

// `attach`: the reply and its fd in one sendmsg(), then the stream's bytes.
reactor::Task<bool> attach(std::shared_ptr<Connection> c, const Json* id, Json args) {
    std::optional<ControlStream> granted;
    std::string error;
    try {
        granted = co_await c->state->handler.attach(std::move(args));
    } catch (const std::exception& e) {
        error = *e.what() ? e.what() : "attach failed";
    }
    if (c->cut || c->peer_gone) co_return false;
    if (!granted) co_return co_await write_line(c, error_line(id, error));
    const std::string line = reply_line(id, true, granted->result);
    const int fds[] = {granted->fd.get()};
    try {
        // The connection is idle (replies come one at a time): its buffer
        // has room for one line.
        sys::send_with_fds(c->socket.native_handle(), std::as_bytes(std::span(line)),
                           granted->fd ? std::span<const int>(fds) : std::span<const int>());
    } catch (const std::exception& e) {
        spdlog::debug("control socket: attach reply: {}", e.what());
        c->peer_gone = true;
        co_return false;
    }
    c->subscriber = true;
    c->stream = std::move(granted->stream);
    ++c->state->stream_subscribers;
    asio::co_spawn(c->state->executor, write_events(c), asio::detached);
    co_return true;
}

// One request line. False when the connection is over.
reactor::Task<bool> handle_line(std::shared_ptr<Connection> c, std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) co_return true;
    Request request = parse_request(line);
    const Json* id = request.id ? &*request.id : nullptr;
    if (!request.error.empty()) {
        std::string reply = error_line(id, request.error);
        co_return co_await write_line(c, std::move(reply));
    }
    if (request.verb == "events") {
        subscribe(c, id);
        co_return true;
    }
    if (request.verb == "attach") co_return co_await attach(c, id, std::move(request.args));
    std::optional<Json> result;
    std::string error;
    try {
        reactor::Task<Json> handling = c->state->handler.handle(std::move(request.verb), std::move(request.args));
        result = co_await std::move(handling);
    } catch (const std::exception& e) {
        error = *e.what() ? e.what() : "the request failed";
    } catch (...) {
        error = "the request failed (unknown exception)";
    }
    // The client may have left, or close() cut the connection, meanwhile.
    if (c->cut || c->peer_gone) co_return false;
    std::string reply = result ? reply_line(id, true, *result) : error_line(id, error);
    co_return co_await write_line(c, std::move(reply));
}

// Reads lines and answers them one by one, until EOF, an error or close().
reactor::Task<void> read_requests(std::shared_ptr<Connection> c) {
    const State& s = *c->state;
    std::string pending;    // the line so far
    bool skipping = false;  // inside an over-long line: drop up to its newline
    std::array<char, 8192> chunk;
    for (;;) {
        if (s.closing || c->cut || c->peer_gone) co_return;
        auto [ec, n] = co_await c->socket.async_read_some(
            asio::buffer(chunk),
            asio::bind_cancellation_slot(c->read_cancel.slot(), asio::as_tuple(asio::use_awaitable)));
        if (ec) {
            if (ec != asio::error::operation_aborted) c->peer_gone = true;  // EOF, ECONNRESET
            co_return;
        }
        if (c->subscriber) continue;  // read only to see EOF
        std::string_view data(chunk.data(), n);
        while (!data.empty() && !c->subscriber) {
            const std::size_t nl = data.find('\n');
            const std::string_view piece = data.substr(0, nl);
            data.remove_prefix(nl == data.npos ? data.size() : nl + 1);
            if (skipping) {
                skipping = nl == data.npos;
                continue;
            }
            if (pending.size() + piece.size() > ControlServer::kMaxLineBytes) {
                pending.clear();
                skipping = nl == std::string_view::npos;
                std::string reply = error_line(nullptr, "request line longer than " +
                                                            std::to_string(ControlServer::kMaxLineBytes) + " bytes");
                if (!co_await write_line(c, std::move(reply))) co_return;
                continue;
            }
            pending.append(piece);
            if (nl == std::string_view::npos) break;
            std::string line = std::exchange(pending, {});
            if (!co_await handle_line(c, std::move(line))) co_return;
        }
    }
}

reactor::Task<void> serve(std::shared_ptr<Connection> c) {
    try {
        co_await read_requests(c);
    } catch (const std::exception& e) {
        spdlog::debug("control socket: connection: {}", e.what());
    }
    // A subscriber's writer stops too if the client left; after close() it
    // first delivers what is queued.
    if (c->peer_gone) {
        boost::system::error_code ignored;
        c->socket.cancel(ignored);
    }
    c->wakeup.notify_all();
}

// ---- accepting --------------------------------------------------------------------

void admit(const std::shared_ptr<State>& s, Local::socket socket) {
    const int fd = socket.native_handle();
    // Asio's io_uring accept sets no SOCK_CLOEXEC: a process the supervisor
    // execs must not inherit its clients.
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    ucred peer{};
    socklen_t size = sizeof peer;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) < 0) {
        send_now(fd, error_line(nullptr, sys_error("getsockopt(SO_PEERCRED)").what()));
        return;
    }
    if (peer.uid != 0 && peer.uid != ::geteuid()) {
        spdlog::debug("control socket: refused uid {} (pid {})", peer.uid, peer.pid);
        send_now(fd, error_line(nullptr, "permission denied: uid " + std::to_string(peer.uid) +
                                             " may not control this fleet"));
        return;
    }
    if (s->connections.size() >= ControlServer::kMaxConnections) {
        send_now(fd, error_line(nullptr, "too many connections (" + std::to_string(ControlServer::kMaxConnections) +
                                             "): try again later"));
        return;
    }
    asio::co_spawn(s->executor, serve(std::make_shared<Connection>(s, std::move(socket))), asio::detached);
}

bool out_of_resources(const boost::system::error_code& ec) {
    return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
           ec == asio::error::no_memory || ec.value() == ENFILE;
}

reactor::Task<void> accept_loop(std::shared_ptr<State> s) {
    if (s->accepting) throw Error("ControlServer::run() called twice");
    if (s->closing) co_return;
    s->accepting = true;
    while (!s->closing) {
        auto [ec, socket] = co_await s->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (s->closing) break;  // a socket accepted at the last moment is closed: nothing is in flight on it
        if (!ec) {
            admit(s, std::move(socket));
        } else if (ec != asio::error::connection_aborted && ec != asio::error::operation_aborted) {
            // Out of fds or memory (or stranger): wait instead of spinning.
            if (out_of_resources(ec)) spdlog::warn("control socket: accept: {}", ec.message());
            else spdlog::debug("control socket: accept: {}", ec.message());
            co_await reactor::sleep_for(std::chrono::milliseconds(100));
        }
    }
    s->accepting = false;
    boost::system::error_code ignored;
    s->acceptor.close(ignored);  // its only operation has ended
}

// After close(): gives the remaining connections kCloseLinger, then cuts them.
reactor::Task<void> linger_then_cut(std::shared_ptr<State> s) {
    s->linger.expires_after(ControlServer::kCloseLinger);
    co_await s->linger.async_wait(asio::as_tuple(asio::use_awaitable));
    for (Connection* c : s->connections) {
        c->cut = true;
        boost::system::error_code ignored;
        c->socket.cancel(ignored);
        c->wakeup.notify_all();
    }
}

}  // namespace

ControlServer::ControlServer(asio::any_io_executor ex, fs::path path, ControlHandler& handler)
    : state_(std::make_shared<State>(std::move(ex), std::move(path), handler)) {
    State& s = *state_;
    remove_stale_socket(s.path);
    const sockaddr_un addr = address_of(s.path);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_sys("control socket: socket(AF_UNIX)");
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0)
        throw_sys("control socket: bind(" + quoted(s.path) + ")");
    try {
        struct stat st {};
        if (::lstat(s.path.c_str(), &st) < 0) throw_sys("control socket: lstat(" + quoted(s.path) + ")");
        s.bound = true;
        s.dev = st.st_dev;
        s.ino = st.st_ino;
        // Before listen(): until then a connect() is refused, so no one
        // gets in through the umask's wider mode.
        if (::chmod(s.path.c_str(), 0600) < 0) throw_sys("control socket: chmod(" + quoted(s.path) + ", 0600)");
        if (::listen(fd.get(), SOMAXCONN) < 0) throw_sys("control socket: listen(" + quoted(s.path) + ")");
        boost::system::error_code ec;
        s.acceptor.assign(Local(), fd.get(), ec);
        if (ec) throw Error("control socket " + quoted(s.path) + ": " + ec.message(), ec.value());
        fd.release();
    } catch (...) {
        s.bound = true;  // the file bind() made is ours either way
        s.unlink_path();
        throw;
    }
}

ControlServer::~ControlServer() {
    close();
    state_->unlink_path();
}

reactor::Task<void> ControlServer::run() { return accept_loop(state_); }

void ControlServer::publish(const nlohmann::json& event) {
    State& s = *state_;
    if (s.closing) return;
    std::shared_ptr<const std::string> line;  // made once, shared by every queue
    for (Connection* c : s.connections) {
        if (!c->subscriber || !c->stream.empty() || c->dropped || c->peer_gone || c->cut) continue;
        if (!line) line = std::make_shared<const std::string>("{\"event\":" + dump(event) + "}\n");
        if (c->queue.size() >= kMaxQueuedLines || c->queued_bytes + line->size() > kMaxQueuedBytes) {
            spdlog::debug("control socket: dropped an events subscriber {} bytes behind", c->queued_bytes);
            drop(*c);
            continue;
        }
        enqueue(*c, line);
    }
}

void ControlServer::publish_stream(std::string_view stream, std::string_view bytes) {
    State& s = *state_;
    if (s.closing || s.stream_subscribers == 0 || bytes.empty()) return;
    std::shared_ptr<const std::string> chunk;
    for (Connection* c : s.connections) {
        if (c->stream != stream || c->dropped || c->peer_gone || c->cut || c->stream_ended) continue;
        if (!chunk) chunk = std::make_shared<const std::string>(bytes);
        if (c->queue.size() >= kMaxQueuedLines || c->queued_bytes + chunk->size() > kMaxQueuedBytes) {
            spdlog::debug("control socket: dropped an attached client {} bytes behind", c->queued_bytes);
            drop(*c);
            continue;
        }
        enqueue(*c, chunk);
    }
}

void ControlServer::end_stream(std::string_view stream) {
    for (Connection* c : state_->connections) {
        if (c->stream != stream) continue;
        c->stream_ended = true;
        c->wakeup.notify_all();
    }
}

bool ControlServer::streaming() const { return state_->stream_subscribers > 0; }

reactor::Task<ControlStream> ControlHandler::attach(nlohmann::json) {
    throw Error("unknown verb \"attach\"");
    co_return ControlStream{};
}

void ControlServer::close() {
    State& s = *state_;
    if (s.closing) return;
    s.closing = true;
    s.unlink_path();
    boost::system::error_code ignored;
    // run() closes the acceptor once its accept has ended; without run(),
    // nothing is in flight on it.
    // shutdown() ends the accept in flight (EINVAL) without an io_uring
    // cancel: with Asio 1.81, cancelling the acceptor's accept this way left
    // the io_context with work it never finished, now and then (the fleet's
    // run() hung after its last container). reactor/asio_uring_fix.hpp has
    // the likely cause, since fixed; shutdown() stays, as it needs no cancel.
    if (s.accepting) ::shutdown(s.acceptor.native_handle(), SHUT_RDWR);
    else s.acceptor.close(ignored);
    for (Connection* c : s.connections) {
        c->read_cancel.emit(asio::cancellation_type::terminal);
        c->wakeup.notify_all();
    }
    if (!s.connections.empty()) asio::co_spawn(s.executor, linger_then_cut(state_), asio::detached);
}

const std::filesystem::path& ControlServer::path() const { return state_->path; }

ControlServer::Stats ControlServer::stats() const {
    Stats stats;
    for (const Connection* c : state_->connections) {
        ++stats.connections;
        if (c->subscriber && !c->dropped) ++stats.subscribers;
        stats.queued_bytes += c->queued_bytes;
    }
    return stats;
}

}  // namespace rusty::lifecycle
