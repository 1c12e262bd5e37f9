// The client verbs of rusty-supervisor (ps, stop, start, restart, kill,
// pause, unpause, events, stats, reload): one request on the fleet's control
// socket, its result printed as compose-like text or as JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rusty::cli {

struct VerbRequest {
    std::string verb;
    std::vector<std::string> names;  // empty: all containers (or none, for verbs that need names)
    std::optional<double> timeout;   // stop, restart: seconds before SIGKILL
    std::string signal;              // kill: "SIGHUP" or "40", already validated; empty: the default
    bool json = false;               // machine output
};

// Connects to `socket`, sends the request and prints the outcome on stdout
// (errors on stderr). Returns the exit status: 0, or 1 when the fleet
// reports an error (for a container or the whole request). Throws
// rusty::Error when the socket cannot be used.
int run_verb(const VerbRequest& request, const std::filesystem::path& socket);

// The texts, for reuse and tests.
std::string format_ps(const nlohmann::json& rows, std::chrono::system_clock::time_point now);
std::string format_stats(const nlohmann::json& rows);
std::string human_bytes(std::uint64_t bytes);              // "512B", "1.5KiB", "12.3MiB", "120MiB"
std::string human_duration(std::chrono::seconds duration);  // "12s", "5m12s", "3h04m", "2d03h"

}  // namespace rusty::cli
