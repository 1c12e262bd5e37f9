// One line-oriented connection to a running rusty-supervisor's control
// socket (a JSON request or reply per line), read without blocking so that
// a sample can wait on it, the event stream and the supervisor's pidfd at
// once.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "bench/common.hpp"
#include "core/fd.hpp"

namespace rusty::bench::compare {

class LineConn {
public:
    static LineConn connect(const std::filesystem::path& path);

    int fd() const { return fd_.get(); }

    // Writes `line` and a newline.
    void send(const std::string& line);
    // One read of what is there; throws at EOF.
    void fill();
    // The next whole line read so far, if any.
    std::optional<std::string> pop();
    // The next line, or nothing by the deadline.
    std::optional<std::string> next(Clock::time_point deadline);
    // Drops whatever has arrived so far.
    void drain();

private:
    UniqueFd fd_;
    std::string buffer_;
    std::size_t scanned_ = 0;
};

}  // namespace rusty::bench::compare
