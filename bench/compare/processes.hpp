// The processes rusty-bench-compare starts (runtimes, supervisors, gnuplot),
// each owned until reaped, and how a signal ends the run.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "bench/common.hpp"
#include "core/fd.hpp"
#include "core/syscalls.hpp"

namespace rusty::bench::compare {

namespace fs = std::filesystem;

// ------------------------------------------------------------ interruption

// SIGINT, SIGTERM and SIGHUP end the run through the normal error path, so
// every destructor cleans up.
void install_signal_handlers();
// Whether one of them came.
bool interrupted();
// Throws once one of them came.
void check_interrupted();
// Sleeps, unless a signal comes.
void sleep_ms(int ms);
// Milliseconds until `deadline` for poll(), at least 0.
int poll_timeout(Clock::time_point deadline);

// -------------------------------------------------------------- processes

// An argv whose pointers are made off the clock.
struct CArgv {
    std::vector<std::string> words;
    std::vector<char*> ptrs;

    explicit CArgv(std::vector<std::string> w) : words(std::move(w)) {
        for (std::string& s : words) ptrs.push_back(s.data());
        ptrs.push_back(nullptr);
    }
    CArgv(const CArgv&) = delete;
    CArgv& operator=(const CArgv&) = delete;
};

// The descriptor limit this process was started with is raised here for big
// bursts (a pidfd, a pipe and a cgroup fd per container), and given back to
// every program started, so none of them runs with more than it would.
void raise_nofile_limit();

// A process started here: owned until reaped.
struct Proc {
    pid_t pid = -1;
    UniqueFd pidfd;
    bool done = false;
    Clock::time_point exited_at;
    sys::ExitStatus status;
};

// Starts argv (argv[0] an absolute path) with stdin on /dev/null, stdout and
// stderr on `out_fd`, no other descriptor, this environment, and — when
// `mntns_fd` >= 0 — in that mount namespace (setns right before execve). It
// is killed if this process dies (PR_SET_PDEATHSIG), and leads a process
// group of its own, so that a timeout can end it with what it forked.
Proc spawn(const CArgv& argv, int out_fd, int mntns_fd, int null_fd);

// Reaps `p` if it has exited; true when it is done.
bool try_reap(Proc& p);

// Waits for every process to exit (each one's exit time is when it was
// reaped here), or the deadline; false on timeout.
bool wait_all(std::vector<Proc*>& procs, Clock::time_point deadline);

// SIGKILL by pidfd (only a process of ours), then reap. With `group`, its
// process group too (what it forked and did not move elsewhere), first.
void kill_and_reap(Proc& p, bool group = false);

// Runs a program to its end, with its output captured (for --version, spec).
std::pair<sys::ExitStatus, std::string> run_capture(const std::vector<std::string>& words, const fs::path& log,
                                                     int null_fd);

// "exit status 1", "killed by SIGKILL"
std::string exit_text(const sys::ExitStatus& s);

// The last `max` bytes of a process's output, for an error message.
std::string output_tail(const fs::path& log, std::size_t max = 1500);

}  // namespace rusty::bench::compare
