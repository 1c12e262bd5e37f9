// A run's output: read from the container's pipes (or terminal), cut into
// lines for its log and the fleet's observer, and passed on raw to whoever
// is attached.
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/clock.hpp"
#include "lifecycle/container_actor.hpp"
#include "lifecycle/container_run.hpp"

namespace rusty::lifecycle {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {
// A line longer than this is forwarded in pieces, so one container cannot
// make the supervisor buffer without bound.
constexpr std::size_t kMaxLine = 16 * 1024;
}  // namespace

reactor::Task<void> ContainerRun::pump_streams(UniqueFd out, UniqueFd err, bool terminal) {
    if (terminal) co_await pump_output(std::move(out), OutputStream::Stdout, true);
    else co_await (pump_output(std::move(out), OutputStream::Stdout, false) &&
                   pump_output(std::move(err), OutputStream::Stderr, false));
}

// Reads one output stream to its end (EOF; EIO for a terminal whose last
// user is gone) and passes each line to the log, the observer, and (raw, as
// read) to anyone attached.
//
// Waits for readability, then reads into one buffer shared by every pump:
// the reactor has one thread, and a read is copied out before the next
// suspension. So a quiet container's pumps hold no buffer while they wait —
// most of a large fleet's memory otherwise. One read per wake-up keeps a
// flood from starving others, and while the log's buffer is full the pump
// reads nothing: the container's pipe fills and its writes block.
//
// A line goes whole when it has a newline within kMaxLine bytes, else in
// pieces of kMaxLine marked partial, as does a last line without a newline.
// A terminal's "\r\n" ends a line as "\n" does.
reactor::Task<void> ContainerRun::pump_output(UniqueFd fd, OutputStream stream, bool terminal) {
    static std::array<char, 64 * 1024> buf;
    asio::posix::stream_descriptor pipe(ex_, fd.release());
    pipe.non_blocking(true);
    const std::string_view stream_name = to_string(stream);
    const bool observed = spec_->logging.driver != LogDriver::None;
    FleetObserver& observer = actor_.observer();
    std::string pending;  // read, not yet passed on
    std::string ts;       // of the last read: the time of the lines it completed
    bool eof = false;
    for (;;) {
        std::size_t start = 0;
        for (;;) {
            const std::size_t nl = pending.find('\n', start);
            std::size_t end;
            bool partial;
            if (nl != std::string::npos && nl - start <= kMaxLine) {
                end = nl, partial = false;
            } else if (pending.size() - start > kMaxLine) {
                end = start + kMaxLine, partial = true;
            } else if (eof && start < pending.size()) {
                end = pending.size(), partial = true;
            } else {
                break;
            }
            LogWriter& log = actor_.log_writer();
            if (log.full()) co_await log.wait_room();
            std::string_view line(pending.data() + start, end - start);
            if (terminal && !partial && line.ends_with('\r')) line.remove_suffix(1);
            log.add(ts, stream_name, partial, line);
            if (observed) observer.on_output(spec_->name, stream, line);
            start = partial ? end : end + 1;
        }
        pending.erase(0, start);
        if (pending.empty() && pending.capacity() > 4096) std::string().swap(pending);
        if (eof) break;
        auto [wait_error] = co_await pipe.async_wait(asio::posix::stream_descriptor::wait_read,
                                                     asio::as_tuple(asio::use_awaitable));
        const ssize_t n = wait_error ? 0 : ::read(pipe.native_handle(), buf.data(), buf.size());
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        ts = rfc3339_nano(std::chrono::system_clock::now());
        if (n <= 0) {
            eof = true;  // EOF, EIO (a terminal) or an error: the writer is gone
            continue;
        }
        const std::string_view bytes(buf.data(), static_cast<std::size_t>(n));
        observer.on_output_bytes(spec_->name, stream, bytes);
        pending.append(bytes);
    }
}

}  // namespace rusty::lifecycle
