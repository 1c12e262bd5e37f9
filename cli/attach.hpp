// `rusty-supervisor attach NAME`: joins a running container's terminal (or
// its stdin and output) from this one, as `docker attach` does.
//
// How: the control socket's `attach` verb passes the container's input fd
// (its terminal's master, or its stdin pipe) to this process by SCM_RIGHTS,
// and then relays the container's output on the same connection. Typed
// input is written to that fd directly; the window size is set on it
// (TIOCSWINSZ) at the start and on each SIGWINCH. The supervisor remains the
// only reader of the terminal, so its log misses nothing while someone is
// attached. The local terminal is in raw mode meanwhile, so ^C and the like
// reach the container; ctrl-p ctrl-q detaches and leaves it running.
#pragma once

#include <filesystem>
#include <string>

namespace rusty::cli {

struct AttachOptions {
    std::string name;
    bool no_stdin = false;  // --no-stdin: watch only; the detach keys still work
};

// Returns the exit status: the container's exit code if it ended while
// attached, 0 after a detach, 1 when it cannot attach (not running, no such
// container). Throws rusty::Error when the socket cannot be used.
int run_attach(const AttachOptions& options, const std::filesystem::path& socket);

}  // namespace rusty::cli
