// `rusty-supervisor logs`: prints the containers' log files (written by the
// supervisor in the CRI or json-file format, core/log_record.hpp), oldest
// rotated file first, like `docker compose logs`. Reads the files directly,
// so it works while the fleet runs and after it has ended.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/control_client.hpp"

namespace rusty::cli {

struct LogsOptions {
    // The fleet's state directory: <state-dir>/<container>/container.log,
    // a symlink to the file when the entry keeps its log elsewhere.
    // Empty: found from `choice` as the control socket is (--socket's
    // directory, --config's or --fleet's <root>/<fleet>, else the only
    // directory under --root with a lock file), whether or not it runs.
    std::filesystem::path state_dir;
    SocketChoice choice;
    std::vector<std::string> names;  // empty: every container with a log
    bool follow = false;             // -f: keep printing what is appended, across rotations
    std::optional<std::size_t> tail; // --tail N: only the last N lines of each container
    std::optional<std::chrono::system_clock::time_point> since;  // --since
    bool timestamps = false;         // --timestamps: each line starts with its RFC 3339 time
    bool color = false;              // coloured "name |" prefixes (stdout is a terminal)
};

// Prints to `out` (diagnostics to stderr) and returns the exit status: 0; 1
// when a named container has no log. Each line is "name | text" with the
// names padded to one width, as `docker compose logs` prints them. Without
// follow, the containers' lines are merged in timestamp order. With follow,
// it then prints what is appended, as it comes, and returns once the fleet's
// supervisor has ended (<state-dir>/control.sock gone) and the files are
// read to their end. Throws UsageError when the state directory cannot be
// found.
int run_logs(const LogsOptions& options, std::FILE* out);

// --since: an RFC 3339 time, a Unix timestamp ("1700000000.5"), or a
// duration back from `now` ("10m", "1h30m", "42s"). nullopt if none of these.
std::optional<std::chrono::system_clock::time_point> parse_since(const std::string& text,
                                                                 std::chrono::system_clock::time_point now);

}  // namespace rusty::cli
