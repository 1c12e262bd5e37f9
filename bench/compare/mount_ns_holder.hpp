// A process that holds a private mount namespace in which crun sees a
// cgroup v1 host: /sys/fs/cgroup/unified is covered by an empty tmpfs. crun
// 1.8.1 refuses hybrid hosts; each crun process joins this namespace with
// setns right before execve (spawn's `mntns_fd`). The mount exists only in
// that namespace and goes away with the holder; nothing is ever mounted in
// the bench's own mount namespace.
#pragma once

#include <sys/types.h>

#include "bench/compare/processes.hpp"
#include "core/fd.hpp"

namespace rusty::bench::compare {

class MountNsHolder {
public:
    MountNsHolder();
    ~MountNsHolder() { kill_and_reap(proc_); }
    MountNsHolder(const MountNsHolder&) = delete;
    MountNsHolder& operator=(const MountNsHolder&) = delete;

    int ns_fd() const { return ns_.get(); }
    pid_t pid() const { return proc_.pid; }

private:
    [[noreturn]] static void fail(int fd, const char* what, int err);
    [[noreturn]] static void hold(pid_t parent, ino_t host_ns, int ready_fd);

    Proc proc_;
    UniqueFd ns_;
};

}  // namespace rusty::bench::compare
