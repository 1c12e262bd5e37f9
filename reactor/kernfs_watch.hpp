// KernfsWatch: change notification on a kernfs event file (cgroup.events,
// memory.events, …). kernfs signals a change with POLLPRI|POLLERR; the poll
// runs on io_uring.
//
// kernfs compares the file's event counter with the one the open file saw at
// its last read: once a change has been seen, wait_change() completes at once
// until read_all() is called. So: wait_change(), read_all(), repeat. Changes
// made before the first read_all() also count.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "reactor/awaitable.hpp"

namespace rusty::reactor {

class KernfsWatch {
public:
    // Opens `path` O_RDONLY|O_CLOEXEC; throws rusty::Error naming the path.
    KernfsWatch(asio::any_io_executor ex, const std::filesystem::path& path);
    // Cancels a pending wait; the file is closed once it has finished.
    ~KernfsWatch();
    KernfsWatch(const KernfsWatch&) = delete;
    KernfsWatch& operator=(const KernfsWatch&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // Completes when the file changed since it was last read (POLLPRI|POLLERR).
    Task<void> wait_change();
    // The current contents, read with pread from offset 0; re-arms wait_change().
    std::string read_all();
    // Cancels a pending wait_change(): it throws operation_aborted.
    void cancel();

private:
    std::filesystem::path path_;
    // Shared with a running wait, for the reason given in pidfd_watch.cpp.
    std::shared_ptr<asio::posix::stream_descriptor> file_;
};

}  // namespace rusty::reactor
