// delete: removes a stopped (or, with --force, any) container: its init
// and processes killed, its cgroup removed, the poststop hooks run, its
// state directory removed.
#include "runtime/oci_runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <system_error>

#include "cgroup/retry.hpp"
#include "core/error.hpp"
#include "core/syscalls.hpp"
#include "runtime/container_dir.hpp"
#include "runtime/hooks.hpp"

namespace rusty::runtime {
namespace fs = std::filesystem;

namespace {

// Until the process of `pidfd` has ended (at most 10 s: SIGKILL was sent).
void wait_gone(int pidfd) {
    pollfd p{pidfd, POLLIN, 0};
    while (::poll(&p, 1, 10'000) < 0 && errno == EINTR) {
    }
}

}  // namespace

void Runtime::remove(const std::string& id, bool force) {
    check_id(id);  // before any path is made of it, below too
    std::optional<ContainerDir> locked;
    try {
        locked.emplace(ContainerDir::open(root_, id));
    } catch (const Error& e) {
        if (!force || e.sys_errno() != ENOENT) throw;  // only "container does not exist" is no error
        // As runc: --force on a container that is gone is no error. A
        // directory without state is what a create killed half way left
        // (one in progress holds the lock): it goes.
        const fs::path dir = root_ / id;
        UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (fd && ::flock(fd.get(), LOCK_EX) == 0 && ::access((dir / "state.json").c_str(), F_OK) < 0 &&
            errno == ENOENT) {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
        return;
    }
    const Container c = inspect(std::move(*locked), layout());
    if (c.status != Status::Stopped && c.status != Status::Created && !force)
        throw Error("cannot delete container " + id + " that is not stopped: " + std::string(to_string(c.status)));
    std::optional<cgroup::ContainerCgroup> cg;
    if (c.saved.has_cgroup()) cg = c.saved.cgroup(layout());
    if (c.status != Status::Stopped) {
        if (cg) cg->kill();
        if (c.init_pidfd) {
            sys::raw_pidfd_send_signal(c.init_pidfd.get(), SIGKILL);
            wait_gone(c.init_pidfd.get());
        }
    }
    if (cg) {
        const int err = cgroup::remove_retrying([&] { return cg->remove(); });
        if (err != 0 && err != ENOENT) warn_("remove cgroup " + cg->path() + ": " + errno_text(err));
    }
    run_hooks_warning(c.saved.spec.hooks.poststop, "poststop",
                      hook_state(id, Status::Stopped, 0, c.saved.bundle(), c.saved.spec.annotations), warn_);
    std::error_code ec;
    fs::remove_all(c.dir.dir(), ec);
    if (ec) throw Error("remove " + c.dir.dir().string() + ": " + ec.message(), ec.value());
}

}  // namespace rusty::runtime
