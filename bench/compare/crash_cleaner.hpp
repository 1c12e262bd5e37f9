// A process that cleans up after rusty-bench-compare if it dies without its
// destructors running (SIGKILL, a crash): forked first, it waits for its
// pipe to close. "done" (sent once everything is cleaned) lets it go;
// EOF without it makes it kill what is left in /rusty-bench-<pid>, remove
// that tree and the temporary directory. It ignores the terminal's signals,
// which the bench turns into an orderly stop anyway.
#pragma once

#include <filesystem>
#include <string>

#include "bench/compare/processes.hpp"
#include "core/fd.hpp"

namespace rusty::bench::compare {

class CrashCleaner {
public:
    // `top`: the cgroup tree's top directory, "rusty-bench-<pid>".
    explicit CrashCleaner(std::string top);
    ~CrashCleaner();
    CrashCleaner(const CrashCleaner&) = delete;
    CrashCleaner& operator=(const CrashCleaner&) = delete;

    // A directory to remove after a crash (only ever a /tmp/rusty-bench-compare-* one).
    void remove_dir(const std::filesystem::path& dir) { send("dir " + dir.string() + "\n"); }

private:
    void send(const std::string& line);
    [[noreturn]] static void watch(const std::string& top, int in);

    Proc proc_;
    UniqueFd out_;
};

}  // namespace rusty::bench::compare
