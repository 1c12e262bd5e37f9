#include "core/syscalls.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "core/error.hpp"

namespace rusty::sys {

pid_t raw_clone3(const Clone3Request& request, int* pidfd) {
    clone_args args{};
    args.flags = request.flags | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<std::uint64_t>(pidfd);
    args.exit_signal = static_cast<std::uint64_t>(request.exit_signal);
    if (request.cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<std::uint64_t>(request.cgroup_fd);
    }
    return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

int raw_pidfd_open(pid_t pid, unsigned flags) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags));
}

int raw_pidfd_send_signal(int pidfd, int sig, unsigned flags) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, flags));
}

int raw_pivot_root(const char* new_root, const char* put_old) {
    return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}

int raw_close_range(unsigned first, unsigned last, unsigned flags) {
    return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

UniqueFd pidfd_open(pid_t pid) {
    int fd = raw_pidfd_open(pid, 0);
    if (fd < 0) throw_sys("pidfd_open(" + std::to_string(pid) + ")");
    return UniqueFd(fd);
}

bool pidfd_send_signal(int pidfd, int sig) {
    if (raw_pidfd_send_signal(pidfd, sig) == 0) return true;
    if (errno == ESRCH) return false;
    throw_sys("pidfd_send_signal(" + signal_name(sig) + ")");
}

bool wait_pidfd(int pidfd, ExitStatus& status, bool nohang) {
    siginfo_t info{};
    int options = WEXITED | (nohang ? WNOHANG : 0);
    int rc;
    do {
        rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, options);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) throw_sys("waitid(P_PIDFD)");
    if (info.si_pid == 0) return false;  // WNOHANG and still running
    status = ExitStatus{};
    if (info.si_code == CLD_EXITED) {
        status.exit_code = info.si_status;
    } else {
        status.signal = info.si_status;
        status.core_dumped = info.si_code == CLD_DUMPED;
    }
    return true;
}

UniqueFd dup_fd(int fd) {
    UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!copy) throw_sys("fcntl(" + std::to_string(fd) + ", F_DUPFD_CLOEXEC)");
    return copy;
}

Pipe make_pipe(int extra_flags) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | extra_flags) < 0) throw_sys("pipe2");
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::pair<UniqueFd, UniqueFd> make_socketpair(int type) {
    int fds[2];
    if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) < 0) throw_sys("socketpair");
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void send_with_fds(int sock, std::span<const std::byte> data, std::span<const int> fds) {
    const std::span<const std::byte> parts[] = {data};
    send_with_fds(sock, std::span<const std::span<const std::byte>>(parts), fds);
}

void send_with_fds(int sock, std::span<const std::span<const std::byte>> parts, std::span<const int> fds) {
    iovec iov[8];
    if (parts.size() > std::size(iov)) throw Error("sendmsg: more than 8 parts");
    std::size_t total = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        iov[i] = iovec{const_cast<std::byte*>(parts[i].data()), parts[i].size()};
        total += parts[i].size();
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = parts.size();
    std::vector<char> control;
    if (!fds.empty()) {
        control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n;
    do {
        n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_sys("sendmsg");
    if (static_cast<std::size_t>(n) != total) throw Error("sendmsg: short write");
}

Received recv_with_fds(int sock, std::span<std::byte> buffer, std::size_t max_fds) {
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control(CMSG_SPACE(sizeof(int) * (max_fds ? max_fds : 1)));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t n;
    do {
        n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_sys("recvmsg");
    Received out;
    out.size = static_cast<std::size_t>(n);
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
            out.fds.emplace_back(fd);
        }
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) throw Error("recvmsg: message truncated");
    return out;
}

ino_t namespace_inode(const char* kind) {
    std::string path = std::string("/proc/self/ns/") + kind;
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) throw_sys("stat(\"" + path + "\")");
    return st.st_ino;
}

std::string signal_name(int sig) {
    if (const char* abbrev = sigabbrev_np(sig)) return std::string("SIG") + abbrev;
    return "signal " + std::to_string(sig);
}

}  // namespace rusty::sys
