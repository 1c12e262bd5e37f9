#include "lifecycle/log_writer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write_at.hpp>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "core/error.hpp"
#include "core/log_record.hpp"

namespace rusty::lifecycle {
namespace asio = boost::asio;
namespace fs = std::filesystem;

LogWriter::LogWriter(asio::any_io_executor ex, std::string container, Logging config, fs::path path)
    : ex_(ex),
      container_(std::move(container)),
      config_(std::move(config)),
      path_(std::move(path)),
      file_driver_(config_.driver == LogDriver::Cri || config_.driver == LogDriver::JsonFile),
      room_(ex),
      idle_(ex) {}

LogWriter::~LogWriter() {
    *alive_ = false;
}

reactor::Task<void> LogWriter::wait_room() {
    while (full()) co_await room_.wait();
}

void LogWriter::add(std::string_view ts, std::string_view stream, bool partial, std::string_view text) {
    if (!file_driver_) return;
    logs::append_record(buffer_, config_.driver, ts, stream, partial, text);
    if (!writing_) {
        writing_ = true;
        asio::co_spawn(ex_, write_loop(), asio::detached);
    }
}

reactor::Task<void> LogWriter::flush() {
    while (writing_) co_await idle_.wait();
}

// Opens the live file for writing at its end (or emptied), creating it 0640
// and its directory as needed.
void LogWriter::open_file(bool truncate) {
    file_.reset();
    std::error_code ec;
    fs::create_directories(path_.parent_path(), ec);
    auto flags = asio::file_base::write_only | asio::file_base::create;
    if (truncate) flags = flags | asio::file_base::truncate;
    auto file = std::make_unique<asio::random_access_file>(ex_);
    boost::system::error_code error;
    file->open(path_.string(), flags, error);
    if (error) throw Error("open(\"" + path_.string() + "\"): " + error.message());
    struct stat st {};
    if (::fstat(file->native_handle(), &st) < 0) throw_sys("fstat(\"" + path_.string() + "\")");
    if ((st.st_mode & 07777) != 0640) ::fchmod(file->native_handle(), 0640);
    size_ = static_cast<std::uint64_t>(st.st_size);
    file_ = std::move(file);
}

// path.(n-2) -> path.(n-1), …, path -> path.1: each rename replaces the
// file it lands on, so the oldest goes. A live file removed by hand needs no
// renames: a new one is rotation enough. Throws when the live file cannot
// be renamed (nothing is lost: the caller writes on in it).
void LogWriter::rotate() {
    if (config_.max_file <= 1) {
        file_.reset();
        open_file(true);
        return;
    }
    auto numbered = [&](unsigned i) { return fs::path(path_.string() + "." + std::to_string(i)); };
    std::error_code ec;
    if (fs::exists(path_, ec)) {
        for (unsigned i = config_.max_file - 1; i > 1; --i) fs::rename(numbered(i - 1), numbered(i), ec);  // gaps are fine
        ec.clear();
        fs::rename(path_, numbered(1), ec);
        if (ec)
            throw Error("rename(\"" + path_.string() + "\", \"" + numbered(1).string() + "\"): " + ec.message());
    }
    file_.reset();
    open_file(false);
}

void LogWriter::note_error(const std::string& what) {
    if (!failing_) spdlog::warn("{}: log {}: {}; output is dropped until it works again", container_, path_.string(), what);
    failing_ = true;
}

// Writes the buffer, batch by batch, until it is empty. Within a batch a
// file is filled up to max_size, cut at the last '\n' before that point, and
// rotated; a single record longer than max_size goes whole into a file of
// its own. The batch is shared with the coroutine: a write in flight reads
// it even if this writer is destroyed meanwhile (a fleet torn down early).
reactor::Task<void> LogWriter::write_loop() {
    std::shared_ptr<bool> alive = alive_;
    std::shared_ptr<std::string> batch = batch_;
    while (!buffer_.empty()) {
        batch->swap(buffer_);
        buffer_.clear();
        room_.notify_all();
        std::string_view rest = *batch;
        while (!rest.empty()) {
            std::size_t take = rest.size();
            try {
                if (!file_) open_file(false);
            } catch (const std::exception& e) {
                note_error(e.what());
                break;
            }
            const std::uint64_t max = static_cast<std::uint64_t>(config_.max_size);
            if (max > 0 && !rotation_failed_ && size_ + take > max) {
                const std::size_t room = size_ < max ? static_cast<std::size_t>(max - size_) : 0;
                const std::size_t cut = room == 0 ? std::string_view::npos : rest.rfind('\n', room - 1);
                if (cut != std::string_view::npos) {
                    take = cut + 1;
                } else if (size_ > 0) {
                    try {
                        rotate();
                    } catch (const std::exception& e) {
                        // Lines are worth more than the size limit: keep
                        // writing in the live file, rotate no more.
                        spdlog::warn("{}: log {}: cannot rotate: {}; writing on in it without rotation",
                                     container_, path_.string(), e.what());
                        rotation_failed_ = true;
                    }
                    continue;
                } else {
                    take = rest.find('\n') + 1;  // one record larger than a whole file
                }
            }
            auto [error, written] = co_await asio::async_write_at(*file_, size_, asio::buffer(rest.data(), take),
                                                                  asio::as_tuple(asio::use_awaitable));
            if (!*alive) co_return;
            if (error) {
                note_error("write: " + error.message());
                // A record cut by the error must not run into the next one.
                if (written > 0 && ::ftruncate(file_->native_handle(), static_cast<off_t>(size_)) < 0)
                    spdlog::warn("{}: log {}: ftruncate after a failed write: {}", container_, path_.string(),
                                 errno_text(errno));
                file_.reset();  // reopened (at its real size) for the next batch
                break;
            }
            failing_ = false;
            size_ += written;
            rest.remove_prefix(take);
        }
        batch->clear();
        // A burst's capacity is not kept by a container gone quiet.
        if (buffer_.empty() && batch->capacity() > 64 * 1024) std::string().swap(*batch);
        room_.notify_all();
    }
    if (buffer_.capacity() > 64 * 1024) std::string().swap(buffer_);
    writing_ = false;
    idle_.notify_all();
}

}  // namespace rusty::lifecycle
