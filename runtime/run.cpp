// run: create and start; in the foreground it forwards signals to the init,
// waits for it and deletes the container.
#include "runtime/oci_runtime.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/syscalls.hpp"
#include "runtime/container_dir.hpp"

namespace rusty::runtime {

int Runtime::run(const std::string& id, const CreateOptions& options, bool detach) {
    // Signals that arrive before the init runs are forwarded once it does.
    sigset_t forwarded;
    sigemptyset(&forwarded);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(&forwarded, sig);
    if (!detach) ::sigprocmask(SIG_BLOCK, &forwarded, nullptr);
    create(id, options);
    try {
        start(id);
    } catch (...) {
        try {
            remove(id, true);
        } catch (...) {
        }
        throw;
    }
    if (detach) return 0;
    const pid_t pid = load(ContainerDir::open(root_, id)).pid();  // the lock is held for this line only
    UniqueFd pidfd(sys::raw_pidfd_open(pid, 0));
    UniqueFd sigfd(::signalfd(-1, &forwarded, SFD_CLOEXEC));
    int code = 255;
    for (;;) {
        pollfd polls[2] = {{pidfd.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
        if (::poll(polls, 2, -1) < 0 && errno != EINTR) throw_sys("poll");
        if (polls[1].revents & POLLIN) {
            signalfd_siginfo info{};
            if (::read(sigfd.get(), &info, sizeof info) == sizeof info)
                sys::raw_pidfd_send_signal(pidfd.get(), static_cast<int>(info.ssi_signo));
        }
        if (polls[0].revents & POLLIN) {
            sys::ExitStatus status;
            sys::wait_pidfd(pidfd.get(), status, false);
            code = status.signal ? 128 + status.signal : status.exit_code;
            break;
        }
    }
    remove(id, true);
    return code;
}

}  // namespace rusty::runtime
