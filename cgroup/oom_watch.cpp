#include "cgroup/oom_watch.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/use_awaitable.hpp>
#include <string>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace rusty::cgroup {
namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

namespace {

UniqueFd open_file(const std::filesystem::path& path, int flags) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd) throw_sys("open(\"" + path.string() + "\")");
    return fd;
}

reactor::Task<void> wait_on(std::shared_ptr<Descriptor> fd, Version version) {
    if (version == Version::V2) {
        co_await fd->async_wait(Descriptor::wait_error, asio::use_awaitable);
        // Re-arm: kernfs wakes again only after the file was read.
        char buf[512];
        while (::pread(fd->native_handle(), buf, sizeof buf, 0) < 0 && errno == EINTR) {
        }
    } else {
        co_await fd->async_wait(Descriptor::wait_read, asio::use_awaitable);
        std::uint64_t count;
        while (::read(fd->native_handle(), &count, sizeof count) < 0 && errno == EINTR) {
        }
    }
}

}  // namespace

std::unique_ptr<OomWatch> OomWatch::open(asio::any_io_executor ex, const ContainerCgroup& cgroup) {
    auto memory = cgroup.memory_events();
    if (!memory) return nullptr;
    UniqueFd fd;
    if (memory->version == Version::V2) {
        fd = open_file(memory->dir / "memory.events", O_RDONLY);
        char buf[512];
        (void)::pread(fd.get(), buf, sizeof buf, 0);  // arm: only later changes wake
    } else {
        fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!fd) throw_sys("eventfd");
        UniqueFd control = open_file(memory->dir / "memory.oom_control", O_RDONLY);
        UniqueFd registry = open_file(memory->dir / "cgroup.event_control", O_WRONLY);
        const std::string line = std::to_string(fd.get()) + " " + std::to_string(control.get());
        if (::write(registry.get(), line.data(), line.size()) < 0)
            throw_sys("write(\"" + (memory->dir / "cgroup.event_control").string() + "\")");
    }
    auto descriptor = std::make_shared<Descriptor>(ex, fd.get());
    fd.release();
    return std::unique_ptr<OomWatch>(new OomWatch(memory->version, std::move(descriptor)));
}

OomWatch::~OomWatch() { cancel(); }

reactor::Task<void> OomWatch::wait() { return wait_on(fd_, version_); }

void OomWatch::cancel() {
    boost::system::error_code ignored;
    fd_->cancel(ignored);
}

}  // namespace rusty::cgroup
