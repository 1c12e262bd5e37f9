// Thin wrappers over system calls that glibc 2.36 does not wrap (clone3,
// pidfd_*, pivot_root, close_range, waitid on a pidfd), and over SCM_RIGHTS
// fd passing. This is the only place that calls syscall(2) directly.
//
// The raw_* functions return -1 and leave errno set, like libc: they are used
// in a freshly cloned child, where throwing is not an option. The others
// throw rusty::Error naming the call.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/fd.hpp"

namespace rusty::sys {

struct Clone3Request {
    std::uint64_t flags = 0;        // CLONE_* flags, CLONE_PIDFD added for you
    int exit_signal = SIGCHLD;
    int cgroup_fd = -1;             // with CLONE_INTO_CGROUP
};

// clone3(2) without CLONE_VM: returns 0 in the child, the child's pid in the
// parent (and its pidfd in *pidfd), -1 with errno on failure.
pid_t raw_clone3(const Clone3Request& request, int* pidfd);

int raw_pidfd_open(pid_t pid, unsigned flags = 0);
int raw_pidfd_send_signal(int pidfd, int sig, unsigned flags = 0);
int raw_pivot_root(const char* new_root, const char* put_old);
int raw_close_range(unsigned first, unsigned last, unsigned flags);

// Throwing forms.
UniqueFd pidfd_open(pid_t pid);
// Returns false when the process is already gone (ESRCH).
bool pidfd_send_signal(int pidfd, int sig);

// How a process ended, read with waitid(P_PIDFD).
struct ExitStatus {
    int exit_code = -1;   // valid when signal == 0
    int signal = 0;       // the killing signal, 0 for a normal exit
    bool core_dumped = false;
};

// Reaps the child behind `pidfd` (the caller must be its parent). Returns
// false with WNOHANG when it has not exited yet.
bool wait_pidfd(int pidfd, ExitStatus& status, bool nohang);

// A pipe whose both ends are O_CLOEXEC.
struct Pipe {
    UniqueFd read;
    UniqueFd write;
};
Pipe make_pipe(int extra_flags = 0);

// fcntl(F_DUPFD_CLOEXEC): another descriptor of the same open file.
UniqueFd dup_fd(int fd);

std::pair<UniqueFd, UniqueFd> make_socketpair(int type);

// Sends `data` plus `fds` (SCM_RIGHTS) as one message. Throws on failure.
void send_with_fds(int sock, std::span<const std::byte> data, std::span<const int> fds);
// The same, the message gathered from `parts` (at most 8).
void send_with_fds(int sock, std::span<const std::span<const std::byte>> parts, std::span<const int> fds);

struct Received {
    std::size_t size = 0;           // 0 means the peer closed the socket
    std::vector<UniqueFd> fds;
};
// Receives one message into `buffer` with up to `max_fds` passed fds, each
// made O_CLOEXEC. Returns size 0 at EOF. Throws on failure; with a
// non-blocking socket an EAGAIN is reported as Error with sys_errno EAGAIN.
Received recv_with_fds(int sock, std::span<std::byte> buffer, std::size_t max_fds);

// The inode of /proc/self/ns/<kind>, used to tell namespaces apart.
ino_t namespace_inode(const char* kind);

std::string signal_name(int sig);  // "SIGKILL"

}  // namespace rusty::sys
