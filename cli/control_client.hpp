// The client side of the control socket (protocol: lifecycle/control_server.hpp):
// finding a running fleet's socket, and plain blocking requests on it. The
// CLI verbs (cli/verbs.hpp) are built on it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace rusty::cli {

// A command line that does not say which fleet to talk to: exit status 2.
class UsageError : public Error {
public:
    using Error::Error;
};

// How the command line chose the fleet; the first one given wins.
struct SocketChoice {
    std::string socket;          // --socket PATH
    std::string config;          // -c/--config FILE: its fleet name
    std::string fleet;           // --fleet NAME
    std::filesystem::path root;  // --root: fleet F's socket is <root>/F/control.sock
};

// The control socket to use. With neither --socket, --config nor --fleet:
// the only <root>/*/control.sock. Throws rusty::Error when no fleet runs
// (exit 1), UsageError when several do (exit 2), ConfigError for an invalid
// --config file (exit 2).
std::filesystem::path locate_socket(const SocketChoice& choice);

class ControlClient {
public:
    // Connects; throws rusty::Error naming the socket and the errno.
    explicit ControlClient(std::filesystem::path socket);

    struct Reply {
        bool ok = false;
        nlohmann::json result;  // when ok
        std::string error;      // when not
    };
    // Sends {"id": n, "verb": verb, "args": args} and waits for its reply.
    // Throws rusty::Error if the connection fails or ends first.
    Reply request(const std::string& verb, const nlohmann::json& args);
    // Sends the request without waiting for its reply; returns its id.
    int send(const std::string& verb, const nlohmann::json& args);
    // The connected socket, for a reply that carries an fd (attach).
    int native_handle() const { return fd_.get(); }

    // The next line the server sends, parsed; nullopt once it has closed the
    // connection. Blank lines are skipped, and so are lines that are not
    // JSON if `skip_malformed` (an events stream cut short by a drop ends
    // with a piece of a line). Throws rusty::Error on a read error, or on a
    // line that is not JSON otherwise.
    std::optional<nlohmann::json> next_message(bool skip_malformed = false);

    const std::filesystem::path& path() const { return path_; }

private:
    std::optional<std::string> read_line();

    std::filesystem::path path_;
    UniqueFd fd_;
    std::string buffer_;
    int next_id_ = 1;
};

}  // namespace rusty::cli
