// LogWriter: one container's log file, written from the reactor without
// ever blocking it. Records (core/log_record.hpp) are appended to a bounded
// buffer; one coroutine writes the buffer to the file with io_uring writes,
// and rotates the file at a record boundary once it reaches max-size.
//
// Backpressure: while the buffer holds kBufferLimit bytes or more, the
// container's output pumps wait for room (wait_room()) before reading its
// pipes again, so a container that writes faster than its log disk is
// slowed by its own full pipe; nothing is dropped, and neither the
// supervisor's memory nor other containers are affected.
//
// Files: `path` is the live file; rotation renames it to path.1, path.1 to
// path.2 and so on, keeping max_file files in all (with max_file 1 the file
// is truncated instead: the retention asked for). A '\n' always ends a
// record, so no record is split across two files. If the live file cannot
// be renamed, the writer warns and writes on in it without rotating; a
// failed write drops its batch (warned once per streak) and cuts the file
// back to its last whole record.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/random_access_file.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/spec.hpp"
#include "reactor/awaitable.hpp"
#include "reactor/notifier.hpp"

namespace rusty::lifecycle {

class LogWriter {
public:
    // Bytes of formatted records held in memory before the pumps wait.
    static constexpr std::size_t kBufferLimit = 256 * 1024;

    // Writes nothing (and holds no file) unless config.driver is Cri or
    // JsonFile. The file is opened at the first record.
    LogWriter(boost::asio::any_io_executor ex, std::string container, Logging config, std::filesystem::path path);
    ~LogWriter();
    LogWriter(const LogWriter&) = delete;
    LogWriter& operator=(const LogWriter&) = delete;

    bool writes_file() const { return file_driver_; }
    const std::filesystem::path& path() const { return path_; }

    // The buffer is at its bound: wait_room() before add().
    bool full() const { return buffer_.size() >= kBufferLimit; }
    // Completes once the buffer is below its bound (at once if it is).
    reactor::Task<void> wait_room();
    // Appends one record; never waits. `ts` is rfc3339_nano() of the read.
    void add(std::string_view ts, std::string_view stream, bool partial, std::string_view text);
    // Completes once every record added so far has been written (or failed).
    reactor::Task<void> flush();


private:
    reactor::Task<void> write_loop();
    void open_file(bool truncate);
    void rotate();
    void note_error(const std::string& what);

    boost::asio::any_io_executor ex_;
    std::string container_;
    Logging config_;
    std::filesystem::path path_;
    bool file_driver_ = false;

    std::string buffer_;  // records added, not yet being written
    std::shared_ptr<std::string> batch_ = std::make_shared<std::string>();  // records being written now
    bool writing_ = false;  // write_loop() is running
    std::unique_ptr<boost::asio::random_access_file> file_;
    std::uint64_t size_ = 0;  // of the live file
    bool failing_ = false;    // the last write failed (warned once per streak)
    bool rotation_failed_ = false;  // the live file could not be renamed: no more rotation
    reactor::Notifier room_;  // notified when the buffer drops below its bound
    reactor::Notifier idle_;  // notified when everything added has been written
    // Set by the destructor: a write_loop still suspended must not touch us.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rusty::lifecycle
