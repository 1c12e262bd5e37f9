// start: releases a created container's init into its command (the exec
// fifo), then runs the poststart hooks.
#include "runtime/oci_runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "core/error.hpp"
#include "runtime/container_dir.hpp"
#include "runtime/hooks.hpp"

namespace rusty::runtime {
namespace fs = std::filesystem;

void Runtime::start(const std::string& id) {
    const Container c = inspect(ContainerDir::open(root_, id), layout());
    if (c.status == Status::Stopped) throw Error("cannot start a container that has stopped");
    if (c.status != Status::Created) throw Error("cannot start an already running container");
    const fs::path fifo = c.dir.file("exec.fifo");
    UniqueFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) throw_sys("open(\"" + fifo.string() + "\")");
    // The init writes one byte, then holds the fifo open until its execve
    // (close-on-exec): EOF after the byte means the command runs.
    pollfd polls[2] = {{fd.get(), POLLIN, 0}, {c.init_pidfd.get(), POLLIN, 0}};
    bool released = false;
    for (;;) {
        if (::poll(polls, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw_sys("poll(exec fifo)");
        }
        if (polls[0].revents & (POLLIN | POLLHUP)) {
            char go;
            const ssize_t n = ::read(fd.get(), &go, 1);
            if (n == 1) {
                released = true;
                ::unlink(fifo.c_str());
                continue;
            }
            if (n == 0 && released) break;
        }
        if (polls[1].revents & POLLIN) {
            if (!released) throw Error("cannot start a container that has stopped");
            break;  // it ended before or at its execve: a stopped container
        }
    }
    ::unlink(fifo.c_str());
    run_hooks_warning(c.saved.spec.hooks.poststart, "poststart",
                      hook_state(id, Status::Running, c.saved.pid(), c.saved.bundle(), c.saved.spec.annotations), warn_);
}

}  // namespace rusty::runtime
