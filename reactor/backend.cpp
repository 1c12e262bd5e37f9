#include "reactor/backend.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "core/error.hpp"

namespace rusty::reactor {

BackendReport inspect_fd_backends() {
    // opendir rather than std::filesystem: we need the directory's own fd to
    // leave it out of the count.
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc/self/fd"), ::closedir);
    if (!dir) throw_sys("opendir(\"/proc/self/fd\")");
    const int own_fd = ::dirfd(dir.get());

    BackendReport report;
    while (dirent* entry = ::readdir(dir.get())) {
        char* end = nullptr;
        long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == own_fd) continue;  // ".", ".."

        char target[256];
        ssize_t n = ::readlinkat(own_fd, entry->d_name, target, sizeof target);
        if (n < 0) continue;  // closed meanwhile
        std::string_view link(target, static_cast<std::size_t>(n));
        if (link == "anon_inode:[io_uring]") ++report.io_uring_fds;
        if (link == "anon_inode:[eventpoll]") ++report.epoll_fds;
    }
    return report;
}

}  // namespace rusty::reactor
