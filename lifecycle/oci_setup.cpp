#include "lifecycle/oci_setup.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "core/error.hpp"
#include "core/syscalls.hpp"

namespace rusty::lifecycle {

int clone_flag(oci::NamespaceType type) {
    switch (type) {
        case oci::NamespaceType::Pid: return CLONE_NEWPID;
        case oci::NamespaceType::Network: return CLONE_NEWNET;
        case oci::NamespaceType::Mount: return CLONE_NEWNS;
        case oci::NamespaceType::Ipc: return CLONE_NEWIPC;
        case oci::NamespaceType::Uts: return CLONE_NEWUTS;
        case oci::NamespaceType::User: return CLONE_NEWUSER;
        case oci::NamespaceType::Cgroup: return CLONE_NEWCGROUP;
        case oci::NamespaceType::Time: return CLONE_NEWTIME;
    }
    return 0;
}

std::string run_hook(const oci::Hook& hook, const std::string& state) {
    const std::string what = "hook " + hook.path;
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return what + ": pipe: " + errno_text(errno);
    std::vector<char*> argv, envp;
    std::vector<std::string> args = hook.args;
    if (args.empty()) args.push_back(hook.path);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env = hook.env;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        return what + ": fork: " + errno_text(err);
    }
    if (pid == 0) {
        // The state on stdin; stdout and stderr are the caller's.
        if (::dup2(pipe_fds[0], 0) < 0) ::_exit(126);
        sys::raw_close_range(3, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::execve(hook.path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(pipe_fds[0]);
    // A hook that does not read its stdin must not block us: the state is
    // far below the pipe's capacity, and SIGPIPE is ignored by our callers.
    [[maybe_unused]] ssize_t n = ::write(pipe_fds[1], state.data(), state.size());
    ::close(pipe_fds[1]);

    UniqueFd pidfd(sys::raw_pidfd_open(pid, 0));
    if (hook.timeout && pidfd) {
        pollfd p{pidfd.get(), POLLIN, 0};
        int rc;
        do {
            rc = ::poll(&p, 1, *hook.timeout * 1000);
        } while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            sys::raw_pidfd_send_signal(pidfd.get(), SIGKILL);
            int status;
            ::waitpid(pid, &status, 0);
            return what + ": timed out after " + std::to_string(*hook.timeout) + " s";
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return what + ": waitpid: " + errno_text(errno);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return what + ": could not be executed (exit status 127)";
    if (WIFEXITED(status)) return what + ": exit status " + std::to_string(WEXITSTATUS(status));
    return what + ": killed by " + sys::signal_name(WTERMSIG(status));
}

}  // namespace rusty::lifecycle
