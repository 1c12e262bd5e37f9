#include "bench/compare/mount_ns_holder.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/floor_core.hpp"
#include "core/error.hpp"
#include "core/syscalls.hpp"

namespace rusty::bench::compare {

MountNsHolder::MountNsHolder() {
    const ino_t host_ns = sys::namespace_inode("mnt");
    sys::Pipe ready = sys::make_pipe();
    const pid_t parent = ::getpid();
    sys::Clone3Request request;
    int pidfd = -1;
    const pid_t pid = sys::raw_clone3(request, &pidfd);
    if (pid == 0) hold(parent, host_ns, ready.write.get());
    if (pid < 0) throw_sys("clone3 (mount namespace holder)");
    proc_.pid = pid;
    proc_.pidfd.reset(pidfd);
    ready.write.reset();
    const std::string answer = bench::floor::read_report(ready.read.get());
    if (answer != "ok") {
        kill_and_reap(proc_);
        throw Error("crun's mount namespace: " + (answer.empty() ? "the holder died" : answer));
    }
    ns_.reset(::open(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns_) {
        const int err = errno;
        kill_and_reap(proc_);
        throw_sys("open(/proc/" + std::to_string(pid) + "/ns/mnt)", err);
    }
}

void MountNsHolder::fail(int fd, const char* what, int err) {
    char msg[256];
    int len = err ? std::snprintf(msg, sizeof msg, "%s: %s", what, std::strerror(err))
                  : std::snprintf(msg, sizeof msg, "%s", what);
    len = std::clamp<int>(len, 0, sizeof msg - 1);
    [[maybe_unused]] ssize_t n = ::write(fd, msg, static_cast<std::size_t>(len));
    ::_exit(1);
}

void MountNsHolder::hold(pid_t parent, ino_t host_ns, int ready_fd) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    // Keeps no descriptor of the bench but its answer pipe.
    for (int fd = 0; fd < 3; ++fd) ::close(fd);
    if (ready_fd > 3) {
        if (::dup2(ready_fd, 3) < 0) ::_exit(1);
        ready_fd = 3;
    }
    sys::raw_close_range(static_cast<unsigned>(ready_fd) + 1, ~0U, 0);
    if (::unshare(CLONE_NEWNS) < 0) fail(ready_fd, "unshare(CLONE_NEWNS)", errno);
    struct stat ns {};
    if (::stat("/proc/self/ns/mnt", &ns) < 0) fail(ready_fd, "stat(/proc/self/ns/mnt)", errno);
    if (ns.st_ino == host_ns) fail(ready_fd, "refusing to mount: still in the host's mount namespace", 0);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
        fail(ready_fd, "mount(\"/\", MS_REC|MS_PRIVATE)", errno);
    if (::mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") <
        0)
        fail(ready_fd, "mount(tmpfs, \"/sys/fs/cgroup/unified\")", errno);
    [[maybe_unused]] ssize_t n = ::write(ready_fd, "ok", 2);
    ::close(ready_fd);
    for (;;) ::pause();
}

}  // namespace rusty::bench::compare
