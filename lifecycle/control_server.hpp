// ControlServer: the supervisor's control socket, a unix stream socket that
// speaks JSON lines. It knows nothing of containers: each request goes to a
// ControlHandler, and whatever the owner publish()es goes to the `events`
// subscribers. It runs on the reactor (io_uring) like everything else.
//
// Protocol — one JSON object per line ('\n'), UTF-8, each way:
//
//   request   {"id": <any JSON, optional>, "verb": "ps", "args": {…optional object…}}
//   reply     {"id": <the request's id>, "ok": true,  "result": <any JSON>}
//             {"id": <the request's id>, "ok": false, "error": "text"}
//
//   - "id" is echoed when the request had one (and could be parsed), and
//     left out otherwise. A missing or null "args" means {}.
//   - A connection's requests are handled one at a time, in the order sent:
//     the next is taken up once the reply to the previous one has been
//     written, so replies come in order (requests may be pipelined). Many
//     connections may be open at once (up to kMaxConnections; one more gets
//     an error line and is closed).
//   - Empty lines (and lines of only blanks) are ignored; a trailing '\r' is
//     dropped. A line that is not JSON, not an object, has no string "verb",
//     or whose "args" is not an object gets an error reply, as does a line
//     over kMaxLineBytes (the rest of it, up to its newline, is skipped):
//     the connection stays usable.
//   - Verb "events" is served here: the reply's result is "subscribed", then
//     every published event follows as a line {"event": {…}} until the client
//     closes the connection (what it sends from then on is ignored) or the
//     server closes it. A subscriber that falls kMaxQueuedBytes or
//     kMaxQueuedLines behind is dropped: it gets a newline (ending a line
//     that may have been cut) and a last line {"ok": false, "error": "…"}
//     if its socket has room for them, then EOF.
//   - When the server closes (the fleet has ended), reads stop at once, a
//     reply under way and the events already queued are still delivered
//     (within kCloseLinger), then every connection gets EOF.
//   - Verb "attach" ({"name": "web"}) is passed to ControlHandler::attach.
//     Its reply line comes in one sendmsg() with the container's input fd
//     (SCM_RIGHTS) when there is one; then the connection carries raw bytes,
//     whatever publish_stream() gives its stream, until the client closes it
//     or end_stream() (the container has ended) closes it after the bytes
//     queued. A client falling kMaxQueuedBytes behind is dropped as an
//     `events` subscriber is. What the client sends is ignored: it writes
//     its input to the fd it was given.
//   - Only uid 0 and the server's own euid may connect (SO_PEERCRED); anyone
//     else gets {"ok": false, "error": "permission denied: uid N may not
//     control this fleet"} and EOF. The socket file is mode 0600 as well.
//   - Every other verb goes to ControlHandler::handle; what it throws becomes
//     an error reply with its what().
//
// Example (socat - UNIX-CONNECT:/run/rusty-supervisor/demo/control.sock):
//   → {"id": 1, "verb": "ps"}
//   ← {"id":1,"ok":true,"result":[{"name":"web","state":"running",…}]}
//   → {"verb": "events"}
//   ← {"ok":true,"result":"subscribed"}
//   ← {"event":{"ts":"…","container":"web","event":"exited","exit_code":0,…}}
//
// Every method runs on the reactor thread (the io_context's one thread).
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/fd.hpp"
#include "reactor/awaitable.hpp"

namespace rusty::lifecycle {

// What ControlHandler::attach grants: the reply's result, an fd to pass
// with it (none: invalid), and the stream whose bytes follow.
struct ControlStream {
    nlohmann::json result;
    UniqueFd fd;
    std::string stream;
};

class ControlHandler {
public:
    virtual ~ControlHandler() = default;
    // Runs one request and returns the reply's "result". What it throws (a
    // rusty::Error, a ConfigError, any std::exception) is sent to the client
    // as the error. The connection may be gone by the time it returns: the
    // reply is then dropped. It must outlive the io_context's run.
    virtual reactor::Task<nlohmann::json> handle(std::string verb, nlohmann::json args) = 0;
    // The verb "attach"; throws as handle() does. By default there is none.
    virtual reactor::Task<ControlStream> attach(nlohmann::json args);
};

class ControlServer {
public:
    static constexpr std::size_t kMaxLineBytes = 64 * 1024;  // a request line, without its newline
    static constexpr std::size_t kMaxConnections = 64;
    static constexpr std::size_t kMaxQueuedBytes = 1024 * 1024;  // per events subscriber
    static constexpr std::size_t kMaxQueuedLines = 10'000;       // per events subscriber
    // How long close() lets replies and queued events already due reach
    // their clients before it cuts the connections.
    static constexpr std::chrono::milliseconds kCloseLinger{1000};

    // Binds a unix stream socket at `path` and listens, mode 0600 (set
    // before listen(), so no one connects through a wider mode). A stale
    // socket file at `path` (nobody listening) is replaced; any other file,
    // or a socket someone listens on, is an error. Throws rusty::Error with
    // the errno and the path.
    ControlServer(boost::asio::any_io_executor ex, std::filesystem::path path, ControlHandler& handler);
    // close(), and unlinks the socket path if it is still the one we bound.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // The accept loop; each connection runs in a coroutine of its own.
    // Returns after close(). Call once.
    reactor::Task<void> run();

    // Queues {"event": event} for every `events` subscriber; never waits.
    void publish(const nlohmann::json& event);
    // Queues `bytes` for the connections attached to `stream`; never waits.
    void publish_stream(std::string_view stream, std::string_view bytes);
    // Closes the connections attached to `stream` once their queue is sent.
    void end_stream(std::string_view stream);
    // Some connection is attached to a stream (cheap: skip publish_stream's
    // work when none is).
    bool streaming() const;

    // Stops accepting, unlinks the socket path, and ends every connection:
    // reads stop at once; a request being handled still gets its reply and
    // subscribers still get the events already queued, both within
    // kCloseLinger, after which the rest is cut. run() returns.
    void close();

    const std::filesystem::path& path() const;

    // For tests and diagnostics.
    struct Stats {
        std::size_t connections = 0;   // open, including subscribers
        std::size_t subscribers = 0;   // `events` connections not dropped
        std::size_t queued_bytes = 0;  // events waiting to be written, all subscribers
    };
    Stats stats() const;

    struct State;  // shared with the connection coroutines (control_server.cpp)

private:
    std::shared_ptr<State> state_;
};

}  // namespace rusty::lifecycle
