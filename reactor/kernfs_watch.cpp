#include "reactor/kernfs_watch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/use_awaitable.hpp>

#include <cerrno>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace rusty::reactor {

using Descriptor = asio::posix::stream_descriptor;

namespace {

Task<void> wait_priority(std::shared_ptr<Descriptor> file) {
    // wait_error polls for POLLPRI|POLLERR|POLLHUP, which is what kernfs raises.
    co_await file->async_wait(Descriptor::wait_error, asio::use_awaitable);
}

}  // namespace

KernfsWatch::KernfsWatch(asio::any_io_executor ex, const std::filesystem::path& path) : path_(path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_sys("open(\"" + path.string() + "\")");
    file_ = std::make_shared<Descriptor>(std::move(ex), fd.get());
    fd.release();
}

KernfsWatch::~KernfsWatch() { cancel(); }

Task<void> KernfsWatch::wait_change() { return wait_priority(file_); }

std::string KernfsWatch::read_all() {
    std::string contents;
    char chunk[4096];
    for (;;) {
        ssize_t n = ::pread(file_->native_handle(), chunk, sizeof chunk,
                            static_cast<off_t>(contents.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("pread(\"" + path_.string() + "\")");
        if (n == 0) return contents;
        contents.append(chunk, static_cast<std::size_t>(n));
    }
}

void KernfsWatch::cancel() {
    boost::system::error_code ignored;
    file_->cancel(ignored);
}

}  // namespace rusty::reactor
