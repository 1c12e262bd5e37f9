// ControlServer: the JSON-lines control socket, against a fake handler. The
// server runs on its own io_context (io_uring) in a thread; the test talks to
// it with plain blocking sockets, each read bounded by a timeout, and makes
// every assertion on the main thread.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "lifecycle/control_server.hpp"
#include "reactor/awaitable.hpp"
#include "reactor/backend.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Json = nlohmann::json;
using rusty::lifecycle::ControlServer;

class FakeHandler : public rusty::lifecycle::ControlHandler {
public:
    rusty::reactor::Task<Json> handle(std::string verb, Json args) override {
        ++calls;  // only ever on the reactor thread
        if (verb == "echo") co_return args;
        if (verb == "fail") throw rusty::Error("it failed", EIO);
        if (verb == "std") throw std::out_of_range("out of range");
        if (verb == "slow") {
            co_await rusty::reactor::sleep_for(300ms);
            ++slow_done;
            co_return "slow done";
        }
        if (verb == "bad_utf8") co_return std::string("\xff\xfe ok");
        throw rusty::Error("unknown verb \"" + verb + "\"");
    }
    int calls = 0;
    int slow_done = 0;
};

// A server running on a reactor thread. stop() closes it and waits (with a
// deadline) for the io_context to run out of work.
class Served {
public:
    explicit Served(const fs::path& path) : server(ctx.get_executor(), path, handler) {
        asio::co_spawn(ctx, server.run(), [this](std::exception_ptr e) {
            run_failed = e != nullptr;
            run_returned = true;
        });
        thread_ = std::thread([this] {
            ctx.run();
            finished_.set_value();
        });
    }
    ~Served() {
        if (thread_.joinable()) stop();
    }

    void stop() {
        asio::post(ctx, [this] { server.close(); });
        if (finished_future_.wait_for(5s) == std::future_status::timeout) {
            ctx.stop();
            thread_.join();
            FAIL("the reactor was still busy 5 s after close()");
        }
        thread_.join();
        CHECK(run_returned);
        CHECK_FALSE(run_failed);
    }

    // Runs `f` on the reactor thread and returns its result.
    template <class F>
    auto on_reactor(F f) -> decltype(f()) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto result = task.get_future();
        asio::post(ctx, [&task] { task(); });
        return result.get();
    }
    ControlServer::Stats stats() {
        return on_reactor([this] { return server.stats(); });
    }
    void publish(const Json& event) {
        on_reactor([this, event] { server.publish(event); });
    }
    // Polls stats() until `pred` holds, for up to 3 s.
    template <class Pred>
    bool wait_stats(Pred pred) {
        for (auto deadline = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < deadline;) {
            if (pred(stats())) return true;
            std::this_thread::sleep_for(5ms);
        }
        return false;
    }

    asio::io_context ctx;
    FakeHandler handler;
    ControlServer server;
    bool run_returned = false;
    bool run_failed = false;

private:
    std::promise<void> finished_;
    std::future<void> finished_future_ = finished_.get_future();
    std::thread thread_;
};

// A blocking client whose reads give up after 5 s.
class Client {
public:
    explicit Client(const fs::path& path) : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) error_ = errno;
        timeval tv{5, 0};
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    bool connected() const { return error_ == 0; }
    int error() const { return error_; }
    int fd() const { return fd_.get(); }

    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    // The next line without its newline; nullopt at EOF, on error or timeout.
    std::optional<std::string> line() {
        for (;;) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            char chunk[65536];
            ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return std::nullopt;
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    Json json_line() {
        auto text = line();
        if (!text) return Json("<no line>");
        return Json::parse(*text);  // throws on invalid UTF-8 too
    }
    Json request(const Json& request) {
        if (!send(request.dump() + "\n")) return Json("<send failed>");
        return json_line();
    }
    // Reads until EOF (true) or a timeout or error (false); counts the bytes.
    bool reaches_eof(std::size_t* bytes = nullptr) {
        std::size_t total = buffer_.size();
        buffer_.clear();
        char chunk[65536];
        for (;;) {
            ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == ECONNRESET) n = 0;
            if (n < 0) return false;
            if (n == 0) break;
            total += static_cast<std::size_t>(n);
        }
        if (bytes) *bytes = total;
        return true;
    }
    void close() { fd_.reset(); }

private:
    rusty::UniqueFd fd_;
    int error_ = 0;
    std::string buffer_;
};

int count_fds() {
    int n = 0;
    for ([[maybe_unused]] auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

Json event(int seq, std::size_t padding = 0) {
    return {{"container", "web"}, {"event", "started"}, {"seq", seq}, {"pad", std::string(padding, 'x')}};
}

// Thousands of lines that are not valid requests, none blank.
std::vector<std::string> malformed_lines() {
    std::mt19937 rng(20261130);
    auto random_bytes = [&](std::size_t n) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) {
            char c = static_cast<char>(rng() % 256);
            s += c == '\n' ? '?' : c;
        }
        s[0] = 'x';  // never blank, never a '{'
        return s;
    };
    const std::string valid = R"({"id": 5, "verb": "echo", "args": {"a": [1, 2, {"b": "c"}]}})";
    std::vector<std::string> lines;
    for (int i = 0; i < 2000; ++i) lines.push_back(random_bytes(1 + rng() % 300));
    for (std::size_t i = 1; i < valid.size(); ++i) lines.push_back(valid.substr(0, i));  // truncated
    for (int i = 0; i < 300; ++i) lines.push_back(std::to_string(static_cast<int>(rng())));
    for (int i = 0; i < 200; ++i) lines.push_back("[" + std::to_string(i) + ", \"a\", null]");
    for (int i = 0; i < 100; ++i) lines.push_back("\"a string " + std::to_string(i) + "\"");
    const std::vector<std::string> junk = {
        "null", "true", "[]", "{}", "{\"verb\": 1}", "{\"verb\": null}", "{\"verb\": [\"ps\"]}",
        "{\"args\": {}}", "{\"verb\": \"echo\", \"args\": [1]}", "{\"verb\": \"echo\", \"args\": \"x\"}",
        "{\"verb\": \"echo\", \"args\": 3}", "{\"id\": {\"x\": [1]}, \"verb\": {}}",
        "{\"verb\": \"echo\", \"args\": {\"s\": \"\xff\xfe\"}}",  // invalid UTF-8 in a string
        "{\"verb\": \"echo\"} trailing", "{\"verb\": \"echo\",}", "{'verb': 'echo'}",
        "{\"verb\": \"echo\", \"verb\": \"x\", \"args\": {\"a\": NaN}}", "\x80\x81\x82", "{\"verb\":\"\\ud800\"}",
        "{\"verb\": \"nope\"}",  // a handler error
        "{\"verb\": \"fail\"}", "{\"verb\": \"std\"}"};
    for (int round = 0; round < 20; ++round) lines.insert(lines.end(), junk.begin(), junk.end());
    for (int depth : {65, 100, 1000, 30000}) {
        lines.push_back(std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'));
        lines.push_back("{\"verb\": \"echo\", \"id\": " + std::string(static_cast<std::size_t>(depth), '[') +
                        std::string(static_cast<std::size_t>(depth), ']') + "}");
    }
    // Over the line limit, some of them valid requests otherwise.
    lines.push_back(std::string(ControlServer::kMaxLineBytes + 1, 'x'));
    lines.push_back(R"({"verb": "echo", "args": {"s": ")" + std::string(100'000, 'a') + "\"}}");
    lines.push_back(random_bytes(1'000'000));
    lines.push_back(std::string(ControlServer::kMaxLineBytes, '['));  // at the limit: a JSON error instead
    return lines;
}

}  // namespace

TEST_CASE("control server: a verb's round trip, the id echoed, handler errors as replies", "[control]") {
    rusty::test::TempDir dir("control");
    Served s(dir.path() / "control.sock");
    Client c(s.server.path());
    REQUIRE(c.connected());

    CHECK(c.request({{"id", 7}, {"verb", "echo"}, {"args", {{"a", 1}}}}) ==
          Json({{"id", 7}, {"ok", true}, {"result", {{"a", 1}}}}));
    CHECK(c.request({{"id", "x"}, {"verb", "echo"}}) == Json({{"id", "x"}, {"ok", true}, {"result", Json::object()}}));
    CHECK(c.request({{"id", {{"n", {1, 2}}}}, {"verb", "echo"}, {"args", nullptr}}) ==
          Json({{"id", {{"n", {1, 2}}}}, {"ok", true}, {"result", Json::object()}}));
    CHECK(c.request({{"verb", "echo"}, {"args", {{"b", true}}}}) == Json({{"ok", true}, {"result", {{"b", true}}}}));
    CHECK(c.request({{"id", 1}, {"verb", "fail"}}) == Json({{"id", 1}, {"ok", false}, {"error", "it failed"}}));
    CHECK(c.request({{"verb", "std"}}) == Json({{"ok", false}, {"error", "out of range"}}));
    CHECK(c.request({{"verb", "nope"}}) == Json({{"ok", false}, {"error", "unknown verb \"nope\""}}));

    // Invalid UTF-8 in a result is replaced, never a thrown dump().
    Json utf8 = c.request({{"verb", "bad_utf8"}});
    CHECK(utf8["ok"] == true);
    CHECK(utf8["result"] == "\xEF\xBF\xBD\xEF\xBF\xBD ok");

    // Two requests in one write, a CRLF line, blank lines: replies in order,
    // nothing for the blank ones.
    REQUIRE(c.send("\n  \n\r\n{\"id\":1,\"verb\":\"echo\"}\n{\"id\":2,\"verb\":\"slow\"}\r\n\n{\"id\":3,\"verb\":\"echo\"}\n"));
    CHECK(c.json_line()["id"] == 1);
    CHECK(c.json_line() == Json({{"id", 2}, {"ok", true}, {"result", "slow done"}}));
    CHECK(c.json_line()["id"] == 3);

    // A request sent in pieces.
    REQUIRE(c.send("{\"id\": 4, \"ve"));
    std::this_thread::sleep_for(20ms);
    REQUIRE(c.send("rb\": \"echo\"}\n"));
    CHECK(c.json_line()["id"] == 4);

    // Asio runs on io_uring, not epoll.
    CHECK(rusty::reactor::inspect_fd_backends().epoll_fds == 0);
    CHECK(rusty::reactor::inspect_fd_backends().io_uring_fds >= 1);
    c.close();
    s.stop();
}

TEST_CASE("control server: thousands of malformed lines each get an error, and the connection still works",
          "[control]") {
    rusty::test::TempDir dir("control");
    Served s(dir.path() / "control.sock");
    Client c(s.server.path());
    REQUIRE(c.connected());
    const std::vector<std::string> lines = malformed_lines();
    REQUIRE(lines.size() > 3000);

    // Written by another thread while this one reads the replies: the server
    // answers as it reads, so neither side may wait for the other to finish.
    std::atomic<bool> sent_all{false};
    std::thread writer([&] {
        bool ok = true;
        for (const auto& line : lines) ok = ok && c.send(line + "\n");
        sent_all = ok;
    });
    std::size_t errors = 0;
    std::string first_bad;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        auto text = c.line();
        if (!text) {
            first_bad = "no reply to line " + std::to_string(i);
            break;
        }
        try {
            Json reply = Json::parse(*text);
            if (reply.at("ok") == false && reply.at("error").is_string()) ++errors;
            else if (first_bad.empty()) first_bad = "line " + std::to_string(i) + " got " + *text;
        } catch (const std::exception& e) {
            if (first_bad.empty()) first_bad = "reply to line " + std::to_string(i) + " is not JSON: " + e.what();
        }
    }
    writer.join();
    INFO(first_bad);
    CHECK(sent_all);
    CHECK(errors == lines.size());

    CHECK(c.request({{"id", "after"}, {"verb", "echo"}, {"args", {{"ok", 1}}}}) ==
          Json({{"id", "after"}, {"ok", true}, {"result", {{"ok", 1}}}}));
    Client fresh(s.server.path());
    REQUIRE(fresh.connected());
    CHECK(fresh.request({{"verb", "echo"}})["ok"] == true);

    // Some error texts, as a client sees them.
    CHECK(c.request(Json::array({1}))["error"] == "invalid request: expected a JSON object such as {\"verb\": \"ps\"}");
    CHECK(c.request({{"verb", 1}})["error"] == "invalid request: \"verb\" must be a string");
    CHECK(c.request({{"id", 9}, {"verb", "x"}, {"args", 1}}) ==
          Json({{"id", 9}, {"ok", false}, {"error", "invalid request: \"args\" must be an object"}}));
    REQUIRE(c.send("{oops\n"));
    CHECK(c.json_line()["error"].get<std::string>().starts_with("invalid JSON: parse error at line 1, column 2"));
    REQUIRE(c.send(std::string(100'000, 'y') + "\n"));
    CHECK(c.json_line()["error"] == "request line longer than 65536 bytes");
    CHECK(c.request({{"verb", "echo"}})["ok"] == true);
    c.close();
    fresh.close();
    s.stop();
}

TEST_CASE("control server: events fan out to every subscriber", "[control]") {
    rusty::test::TempDir dir("control");
    Served s(dir.path() / "control.sock");
    Client a(s.server.path()), b(s.server.path()), requests(s.server.path());
    CHECK(a.request({{"id", 1}, {"verb", "events"}}) == Json({{"id", 1}, {"ok", true}, {"result", "subscribed"}}));
    CHECK(b.request({{"verb", "events"}, {"args", Json::object()}}) == Json({{"ok", true}, {"result", "subscribed"}}));
    CHECK(s.stats().subscribers == 2);
    // What a subscriber sends afterwards is ignored.
    REQUIRE(b.send("{\"verb\": \"echo\"}\nnot json\n"));

    for (int i = 0; i < 3; ++i) s.publish(event(i));
    for (Client* c : {&a, &b})
        for (int i = 0; i < 3; ++i) CHECK(c->json_line() == Json({{"event", event(i)}}));
    // Other connections go on as before.
    CHECK(requests.request({{"verb", "echo"}})["ok"] == true);

    a.close();
    REQUIRE(s.wait_stats([](auto st) { return st.subscribers == 1; }));
    s.publish(event(3));
    CHECK(b.json_line() == Json({{"event", event(3)}}));
    b.close();
    requests.close();
    REQUIRE(s.wait_stats([](auto st) { return st.connections == 0; }));
    s.stop();
}

TEST_CASE("control server: a subscriber that never reads is dropped; memory stays bounded", "[control]") {
    rusty::test::TempDir dir("control");
    Served s(dir.path() / "control.sock");
    Client idle(s.server.path()), reader(s.server.path());
    REQUIRE(idle.request({{"verb", "events"}})["ok"] == true);
    REQUIRE(reader.request({{"verb", "events"}})["ok"] == true);

    // 10 MB of events in batches that `reader` keeps up with: `idle` falls
    // behind, and what it costs the server never passes the bound.
    constexpr int kBatches = 20, kPerBatch = 500;
    std::size_t most_queued = 0;
    std::string reader_problem;
    for (int batch = 0; batch < kBatches && reader_problem.empty(); ++batch) {
        s.on_reactor([&] {
            for (int i = 0; i < kPerBatch; ++i) s.server.publish(event(batch * kPerBatch + i, 1000));
            most_queued = std::max(most_queued, s.server.stats().queued_bytes);
        });
        for (int i = 0; i < kPerBatch; ++i) {
            Json got = reader.json_line();
            if (got != Json({{"event", event(batch * kPerBatch + i, 1000)}})) {
                reader_problem = "event " + std::to_string(batch * kPerBatch + i) + ": " + got.dump().substr(0, 200);
                break;
            }
        }
    }
    CHECK(reader_problem.empty());
    CHECK(most_queued <= 2 * ControlServer::kMaxQueuedBytes);
    auto st = s.stats();
    CHECK(st.subscribers == 1);
    CHECK(st.queued_bytes < ControlServer::kMaxQueuedBytes);

    // The dropped one gets EOF after what was under way: the kernel's socket
    // buffer, not megabytes.
    std::size_t received = 0;
    CHECK(idle.reaches_eof(&received));
    CHECK(received < 4 * ControlServer::kMaxQueuedBytes);
    REQUIRE(s.wait_stats([](auto st) { return st.connections == 1; }));
    s.publish(event(-1));
    CHECK(reader.json_line() == Json({{"event", event(-1)}}));
    reader.close();
    s.stop();
}

TEST_CASE("control server: only root and the server's own uid may connect", "[control]") {
    RUSTY_SKIP_IF(::geteuid() != 0, "needs root, to run a client as another uid");
    rusty::test::TempDir dir("control");
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
    Served s(dir.path() / "control.sock");
    struct stat st {};
    REQUIRE(::stat(s.server.path().c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);

    // The child connects as nobody and reports by its exit status; it only
    // makes system calls (this process has threads).
    const std::string path = s.server.path();
    const std::string request = "{\"verb\": \"echo\"}\n";
    const std::string expected = "{\"ok\":false,\"error\":\"permission denied: uid 65534 may not control this fleet\"}\n";
    auto connect_as_nobody = [&]() -> int {
        pid_t pid = ::fork();
        if (pid == 0) {
            if (::setresgid(65534, 65534, 65534) < 0 || ::setresuid(65534, 65534, 65534) < 0) ::_exit(20);
            int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::memcpy(addr.sun_path, path.c_str(), path.size());
            if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) ::_exit(errno == EACCES ? 10 : 11);
            timeval tv{5, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            // The server may have answered and closed already: no SIGPIPE.
            [[maybe_unused]] ssize_t w = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
            char reply[512];
            std::size_t got = 0;
            for (ssize_t n; (n = ::read(fd, reply + got, sizeof reply - got)) > 0;) got += static_cast<std::size_t>(n);
            if (got != expected.size() || std::memcmp(reply, expected.data(), got) != 0) ::_exit(12);
            ::_exit(0);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
    };
    // Mode 0600: the kernel refuses the connect itself.
    CHECK(connect_as_nobody() == 10);
    // With the mode opened, the server refuses by peer credentials.
    REQUIRE(::chmod(path.c_str(), 0666) == 0);
    CHECK(connect_as_nobody() == 0);
    // Root still gets in.
    Client root(path);
    CHECK(root.request({{"verb", "echo"}})["ok"] == true);
    root.close();
    s.stop();
}

TEST_CASE("control server: the socket file, and no leaked fds", "[control]") {
    rusty::test::TempDir dir("control");
    const fs::path path = dir.path() / "control.sock";
    const int fds_before = count_fds();
    {
        Served s(path);
        CHECK(fs::is_socket(path));
        std::vector<std::unique_ptr<Client>> clients;
        for (int i = 0; i < 5; ++i) {
            clients.push_back(std::make_unique<Client>(path));
            CHECK(clients.back()->request({{"verb", i % 2 ? "events" : "echo"}})["ok"] == true);
        }
        s.publish(event(1));
        // A second server on the same path: refused, the first unharmed.
        {
            asio::io_context other;
            FakeHandler handler;
            try {
                ControlServer second(other.get_executor(), path, handler);
                FAIL("a second server bound a socket someone listens on");
            } catch (const rusty::Error& e) {
                CHECK(e.sys_errno() == EADDRINUSE);
            }
        }
        CHECK(Client(path).request({{"verb", "echo"}})["ok"] == true);
        clients.clear();
        REQUIRE(s.wait_stats([](auto st) { return st.connections == 0; }));
        s.stop();
        // close() unlinks the socket: a client finds no fleet.
        CHECK_FALSE(fs::exists(path));
    }
    CHECK(count_fds() == fds_before);

    asio::io_context ctx;
    FakeHandler handler;
    SECTION("a stale socket file is replaced; destruction removes it") {
        {
            rusty::UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
            REQUIRE(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        }
        REQUIRE(fs::is_socket(path));
        {
            ControlServer server(ctx.get_executor(), path, handler);
            CHECK(fs::is_socket(path));
        }
        CHECK_FALSE(fs::exists(path));
    }
    SECTION("any other file is left alone") {
        dir.write("control.sock", "precious");
        try {
            ControlServer server(ctx.get_executor(), path, handler);
            FAIL("constructed over a regular file");
        } catch (const rusty::Error& e) {
            CHECK(e.sys_errno() == EEXIST);
            CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
        }
        std::ifstream in(path);
        std::string text;
        std::getline(in, text);
        CHECK(text == "precious");
    }
    SECTION("a file put in its place after it is left alone at destruction") {
        {
            ControlServer server(ctx.get_executor(), path, handler);
            REQUIRE(::unlink(path.c_str()) == 0);
            dir.write("control.sock", "someone else's");
        }
        CHECK(fs::is_regular_file(path));
    }
    SECTION("a path too long for a unix socket") {
        try {
            ControlServer server(ctx.get_executor(), dir.path() / std::string(120, 'x'), handler);
            FAIL("bound a path over 107 bytes");
        } catch (const rusty::Error& e) {
            CHECK(e.sys_errno() == ENAMETOOLONG);
        }
    }
    SECTION("a directory that does not exist") {
        try {
            ControlServer server(ctx.get_executor(), dir.path() / "nope" / "control.sock", handler);
            FAIL("bound in a missing directory");
        } catch (const rusty::Error& e) {
            CHECK(e.sys_errno() == ENOENT);
            CHECK(std::string(e.what()).find("bind(") != std::string::npos);
        }
    }
}

TEST_CASE("control server: connection limit, clients that leave mid-request, close()", "[control]") {
    rusty::test::TempDir dir("control");
    Served s(dir.path() / "control.sock");
    const fs::path path = s.server.path();

    SECTION("at most kMaxConnections at once") {
        std::vector<std::unique_ptr<Client>> clients;
        for (std::size_t i = 0; i < ControlServer::kMaxConnections; ++i) {
            clients.push_back(std::make_unique<Client>(path));
            REQUIRE(clients.back()->request({{"verb", "echo"}})["ok"] == true);
        }
        Client extra(path);
        REQUIRE(extra.connected());
        CHECK(extra.json_line() == Json({{"ok", false}, {"error", "too many connections (64): try again later"}}));
        CHECK(extra.reaches_eof());
        clients.pop_back();
        REQUIRE(s.wait_stats([](auto st) { return st.connections < ControlServer::kMaxConnections; }));
        Client next(path);
        CHECK(next.request({{"verb", "echo"}})["ok"] == true);
        clients.clear();
    }
    SECTION("a client that leaves while its request runs") {
        for (int i = 0; i < 3; ++i) {
            Client c(path);
            REQUIRE(c.send("{\"verb\": \"slow\"}\n{\"verb\": \"echo\"}\n"));
        }  // gone
        Client other(path);
        CHECK(other.request({{"verb", "echo"}})["ok"] == true);
        REQUIRE(s.wait_stats([](auto st) { return st.connections == 1; }));
        CHECK(s.on_reactor([&] { return s.handler.slow_done; }) == 3);
        CHECK(other.request({{"verb", "echo"}})["ok"] == true);
    }
    SECTION("close() still delivers a pending reply and queued events, then EOF") {
        Client slow(path), subscriber(path), idle(path);
        REQUIRE(subscriber.request({{"verb", "events"}})["ok"] == true);
        REQUIRE(idle.request({{"verb", "echo"}})["ok"] == true);
        REQUIRE(slow.send("{\"id\": 1, \"verb\": \"slow\"}\n"));
        REQUIRE(s.wait_stats([](auto st) { return st.connections == 3; }));
        std::this_thread::sleep_for(50ms);  // the slow request is under way
        s.on_reactor([&] {
            s.server.publish(event(1));
            s.server.publish(event(2));
            s.server.close();
            s.server.publish(event(3));  // after close(): not sent
        });
        CHECK_FALSE(fs::exists(path));
        CHECK(slow.json_line() == Json({{"id", 1}, {"ok", true}, {"result", "slow done"}}));
        CHECK(slow.reaches_eof());
        CHECK(subscriber.json_line() == Json({{"event", event(1)}}));
        CHECK(subscriber.json_line() == Json({{"event", event(2)}}));
        CHECK(subscriber.reaches_eof());
        CHECK(idle.reaches_eof());
        CHECK_FALSE(Client(path).connected());
    }
    s.stop();
}
