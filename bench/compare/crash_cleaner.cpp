#include "bench/compare/crash_cleaner.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <sstream>
#include <vector>

#include "bench/cgroup_tree.hpp"
#include "core/error.hpp"
#include "core/syscalls.hpp"

namespace rusty::bench::compare {

CrashCleaner::CrashCleaner(std::string top) {
    sys::Pipe pipe = sys::make_pipe();
    sys::Clone3Request request;
    int pidfd = -1;
    const pid_t pid = sys::raw_clone3(request, &pidfd);
    if (pid == 0) {
        pipe.write.reset();  // or its own copy would keep the pipe open
        watch(top, pipe.read.get());
    }
    if (pid < 0) throw_sys("clone3 (crash cleaner)");
    proc_.pid = pid;
    proc_.pidfd.reset(pidfd);
    out_ = std::move(pipe.write);
}

CrashCleaner::~CrashCleaner() {
    send("done\n");
    out_.reset();
    std::vector<Proc*> all = {&proc_};
    if (!wait_all(all, Clock::now() + std::chrono::seconds(5))) kill_and_reap(proc_);
}

void CrashCleaner::send(const std::string& line) {
    if (out_) [[maybe_unused]] ssize_t n = ::write(out_.get(), line.data(), line.size());
}

void CrashCleaner::watch(const std::string& top, int in) {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_IGN);
    std::string text;
    char buf[512];
    for (;;) {
        const ssize_t n = ::read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    std::istringstream lines(text);
    std::string line;
    std::vector<fs::path> dirs;
    while (std::getline(lines, line)) {
        if (line == "done") ::_exit(0);
        if (line.rfind("dir /tmp/rusty-bench-compare-", 0) == 0) dirs.emplace_back(line.substr(4));
    }
    std::fprintf(stderr, "rusty-bench-compare: ended abruptly; cleaning up /%s and its temporary directory\n",
                 top.c_str());
    CgroupTree(top).remove();
    for (const fs::path& dir : dirs) {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    ::_exit(0);
}

}  // namespace rusty::bench::compare
