// OomWatch: wakes the reactor when the OOM killer may have struck in a
// container's memory cgroup. The count itself is read from the cgroup
// (ContainerCgroup::oom_kills) after each wake-up.
//
//   v2: POLLPRI on memory.events (its oom_kill counter; not "oom", which also
//       counts allocations that failed without a kill);
//   v1: an eventfd registered for memory.oom_control in cgroup.event_control.
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "cgroup/cgroup.hpp"
#include "reactor/awaitable.hpp"

namespace rusty::cgroup {

class OomWatch {
public:
    // Nothing to watch (nullptr) when the container has no memory cgroup.
    static std::unique_ptr<OomWatch> open(boost::asio::any_io_executor ex, const ContainerCgroup& cgroup);
    ~OomWatch();
    OomWatch(const OomWatch&) = delete;
    OomWatch& operator=(const OomWatch&) = delete;

    // Completes on the next notification (and consumes it).
    reactor::Task<void> wait();
    // Ends a pending wait() with operation_aborted.
    void cancel();

private:
    OomWatch(Version version, std::shared_ptr<boost::asio::posix::stream_descriptor> fd)
        : version_(version), fd_(std::move(fd)) {}
    Version version_;
    // memory.events (v2) or the eventfd (v1); shared with a running wait,
    // for the reason given in reactor/pidfd_watch.cpp.
    std::shared_ptr<boost::asio::posix::stream_descriptor> fd_;
};

}  // namespace rusty::cgroup
