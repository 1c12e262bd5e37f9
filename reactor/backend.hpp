// Which kernel event mechanisms this process holds open: a check that Asio
// really runs on io_uring and did not fall back to epoll.
#pragma once

namespace rusty::reactor {

struct BackendReport {
    int io_uring_fds = 0;   // fds whose /proc/self/fd link is anon_inode:[io_uring]
    int epoll_fds = 0;      // fds whose /proc/self/fd link is anon_inode:[eventpoll]
};

// Counts this process's fds by their /proc/self/fd link target. Throws
// rusty::Error if /proc/self/fd cannot be listed.
BackendReport inspect_fd_backends();

}  // namespace rusty::reactor
