#include "cli/logs.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "cli/printer.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/log_record.hpp"
#include "core/units.hpp"

namespace rusty::cli {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {

constexpr const char* kSocketName = "control.sock";
constexpr const char* kLockName = "lock";
constexpr const char* kLogName = "container.log";
// How often -f looks for new lines.
constexpr auto kFollowInterval = std::chrono::milliseconds(75);
constexpr std::size_t kReadChunk = 64 * 1024;
// A "record" longer than this without a '\n' is not one the supervisor wrote
// (its records hold at most a few KiB of text): skip it rather than hold a
// corrupt file in memory.
constexpr std::size_t kMaxRecord = 16 * 1024 * 1024;
// Opening a container's files while the supervisor rotates them can catch a
// mix of before and after: start over, a few times.
constexpr int kOpenAttempts = 5;

std::string quoted(const fs::path& path) {
    std::string text = "\"";  // built in steps: GCC 12 warns (-Wrestrict) about "\"" + s + "\""
    text += path.string();
    text += '"';
    return text;
}

void report(const std::string& message) { std::fprintf(stderr, "rusty-supervisor: %s\n", message.c_str()); }

// One printed line: a complete line of one stream, its pieces joined.
struct Line {
    Clock::time_point ts;  // the time of its first piece
    std::string text;
};

// ---------------------------------------------------------------------------
// Finding the files

// The fleet's state directory, from the options as the control socket is
// found (cli/control_client.cpp), but by its lock file, which outlives the
// supervisor.
fs::path find_state_dir(const LogsOptions& options) {
    const SocketChoice& choice = options.choice;
    fs::path dir;
    if (!options.state_dir.empty()) {
        dir = options.state_dir;
    } else if (!choice.socket.empty()) {
        dir = fs::path(choice.socket).parent_path();
        if (dir.empty()) dir = ".";
    } else if (!choice.config.empty()) {
        dir = choice.root / load_fleet(choice.config).name;  // ConfigError if invalid
    } else if (!choice.fleet.empty()) {
        dir = choice.root / choice.fleet;
    } else {
        std::vector<fs::path> fleets;
        std::error_code ec;
        for (fs::directory_iterator it(choice.root, ec), end; !ec && it != end; it.increment(ec)) {
            std::error_code ignored;
            if (it->is_directory(ignored) && fs::exists(it->path() / kLockName, ignored)) fleets.push_back(it->path());
        }
        std::sort(fleets.begin(), fleets.end());
        if (fleets.empty()) throw UsageError("no fleet under " + choice.root.string());
        if (fleets.size() > 1) {
            std::string names;
            for (const fs::path& f : fleets) names += (names.empty() ? "" : ", ") + f.filename().string();
            throw UsageError("several fleets under " + choice.root.string() + " (" + names +
                             "): choose one with --fleet NAME or --config FILE");
        }
        dir = fleets.front();
    }
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw UsageError("no fleet state directory " + quoted(dir) +
                         (fs::exists(dir, ec) ? " (not a directory)" : " (it does not exist)"));
    return dir;
}

// The container's live log file: <state-dir>/<name>/container.log, or, when
// that is a symlink (the entry's logging.options.path), the file it names,
// next to which its rotated files are.
fs::path live_log_path(const fs::path& container_dir) {
    const fs::path live = container_dir / kLogName;
    std::error_code ec;
    if (!fs::is_symlink(live, ec)) return live;
    const fs::path target = fs::read_symlink(live, ec);
    return ec ? live : container_dir / target;  // an absolute target replaces the directory
}

// The rotated files of `live` (live.1 newest … live.K oldest), oldest first.
std::vector<fs::path> rotated_logs(const fs::path& live) {
    std::vector<std::pair<unsigned long, fs::path>> found;
    const std::string stem = live.filename().string() + ".";
    std::error_code ec;
    for (fs::directory_iterator it(live.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.starts_with(stem) || name.size() == stem.size() || name.size() > stem.size() + 9) continue;
        const std::string number = name.substr(stem.size());
        if (number.find_first_not_of("0123456789") != std::string::npos) continue;
        found.emplace_back(std::stoul(number), it->path());
    }
    std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.first > b.first; });
    std::vector<fs::path> paths;
    for (auto& f : found) paths.push_back(std::move(f.second));
    return paths;
}

bool has_log(const fs::path& live) {
    std::error_code ec;
    return fs::exists(live, ec) || !rotated_logs(live).empty();
}

// ---------------------------------------------------------------------------
// Reading one container's log

// One container's records as lines, in file order: its rotated files oldest
// first, then the live one, which -f keeps reading as it grows and follows
// across rotations. Reads in chunks: memory holds one record, plus the
// pieces of lines not yet complete.
class ContainerLog {
public:
    explicit ContainerLog(fs::path live) : live_(std::move(live)) {}

    bool failed() const { return failed_; }

    // Opens the rotated files and the live one (if any). False, with the
    // reason on stderr, when one exists but cannot be opened.
    bool open() {
        snapshot(files_);  // if they never hold still: read what we have
        return !failed_;
    }

    // The next complete line, or nullopt once what is written so far is
    // read. With `finish` (nothing more will be read), the lines still
    // waiting for their last piece then come too, oldest first.
    std::optional<Line> next(bool finish) {
        for (;;) {
            const std::size_t nl = buffer_.find('\n', scanned_);
            if (nl == std::string::npos) {
                scanned_ = buffer_.size();
                if (buffer_.size() - start_ > kMaxRecord) {
                    buffer_.clear();
                    start_ = scanned_ = 0;
                    skip_record_ = true;
                }
                if (!read_more()) return finish ? take_unfinished() : std::nullopt;
                continue;
            }
            const std::string_view text(buffer_.data() + start_, nl - start_);
            start_ = scanned_ = nl + 1;
            if (std::exchange(skip_record_, false)) continue;
            std::optional<logs::Record> record = logs::parse_record(text);
            if (!record) continue;  // malformed: skip it
            // A partial record (CRI "P", json-file without "\n") is a piece
            // of a line that goes on in the stream's next record.
            std::optional<Line>& pending = pending_[record->stream];
            if (pending) pending->text += record->text;
            else pending = Line{record->ts, std::move(record->text)};
            if (record->partial) continue;
            return std::exchange(pending, std::nullopt);
        }
    }

    // The oldest of the lines whose last piece has not come (the writer
    // was cut short), nullopt if none.
    std::optional<Line> take_unfinished() {
        std::optional<Line>* oldest = nullptr;
        for (auto& [stream, pending] : pending_)
            if (pending && (!oldest || pending->ts < (*oldest)->ts)) oldest = &pending;
        return oldest ? std::exchange(*oldest, std::nullopt) : std::nullopt;
    }

    // -f: notices that the live file was rotated (its path names another
    // file or none; maybe more than once since the last look), or appeared,
    // or was truncated in place. The files newer than the one being read
    // queue behind it, so next() reads it to its end, then each of them in
    // turn.
    void check_rotation() {
        if (failed_) return;
        struct stat st {};
        if (::stat(live_.c_str(), &st) == 0 && !files_.empty() && files_.back().is(st)) {
            File& live = files_.back();
            if (files_.size() == 1 && st.st_size < live.offset) {  // truncated in place: start over
                if (::lseek(live.fd.get(), 0, SEEK_SET) == 0) {
                    live.offset = 0;
                    buffer_.erase(start_);
                    scanned_ = buffer_.size();
                    skip_record_ = false;
                }
            }
            return;
        }
        // The one being read is no longer the live file: queue the files
        // newer than it, i.e. those after it now that it is a rotated file,
        // or all of them if rotation has deleted it already (it deletes the
        // oldest first).
        std::deque<File> newer;
        if (!snapshot(newer)) return;  // still rotating: next time
        if (!files_.empty()) {
            auto it = std::find_if(newer.begin(), newer.end(), [&](const File& f) { return f.same_file(files_.back()); });
            if (it != newer.end()) newer.erase(newer.begin(), it + 1);
        }
        std::move(newer.begin(), newer.end(), std::back_inserter(files_));
    }

private:
    struct File {
        fs::path path;
        UniqueFd fd;
        dev_t dev = 0;
        ino_t ino = 0;
        off_t offset = 0;  // bytes read so far

        bool is(const struct stat& st) const { return st.st_dev == dev && st.st_ino == ino; }
        bool same_file(const File& other) const { return other.dev == dev && other.ino == ino; }
    };

    // nullopt when the file does not exist, or (failed_ set, reported) when
    // it cannot be opened.
    std::optional<File> open_file(const fs::path& path) {
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            const int err = errno;
            if (err != ENOENT) fail(path, err);
            return std::nullopt;
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) {
            fail(path, errno);
            return std::nullopt;
        }
        return File{path, std::move(fd), st.st_dev, st.st_ino};
    }

    // The rotated files then the live one, oldest first.
    std::vector<fs::path> listing() const {
        std::vector<fs::path> paths = rotated_logs(live_);
        paths.push_back(live_);
        return paths;
    }

    // Opens every file of the container, oldest first, into `files`: the
    // rotated ones, then the live one if there is one. True when they are a
    // snapshot of one moment: every file was still at its path, and no file
    // came or went, after the last was opened. Else a rotation came in
    // between and it starts over, up to kOpenAttempts times; it then returns
    // false with the last try in `files`. Also false on an error.
    bool snapshot(std::deque<File>& files) {
        for (int attempt = 0; attempt < kOpenAttempts && !failed_; ++attempt) {
            files.clear();
            const std::vector<fs::path> paths = listing();
            for (const fs::path& path : paths) {
                std::optional<File> file = open_file(path);  // nullopt: gone since the listing, or no live file
                if (failed_) return false;
                if (file) files.push_back(std::move(*file));
            }
            const bool still = std::all_of(files.begin(), files.end(), [](const File& file) {
                struct stat st {};
                return ::stat(file.path.c_str(), &st) == 0 && file.is(st);
            });
            if (still && listing() == paths) return true;
        }
        return false;
    }

    // Appends the next chunk of the first file to the buffer, moving on to
    // the next file at the end of one. False at the end of the last.
    bool read_more() {
        buffer_.erase(0, start_);
        scanned_ -= start_;
        start_ = 0;
        while (!files_.empty()) {
            File& file = files_.front();
            char chunk[kReadChunk];
            const ssize_t n = ::read(file.fd.get(), chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n > 0) {
                file.offset += n;
                buffer_.append(chunk, static_cast<std::size_t>(n));
                return true;
            }
            if (n < 0) {
                fail(file.path, errno);
                return false;
            }
            if (files_.size() == 1) return false;  // the live file: more may come
            // A file ends with a whole record; anything after its last '\n'
            // is a record cut short, not the start of the next file's first.
            buffer_.clear();
            scanned_ = 0;
            skip_record_ = false;
            files_.pop_front();
        }
        return false;
    }

    void fail(const fs::path& path, int err) {
        report("cannot read " + quoted(path) + ": " + errno_text(err));
        failed_ = true;
        files_.clear();
    }

    fs::path live_;
    std::deque<File> files_;  // oldest first; the last is the live file once open
    std::string buffer_;      // read, not yet parsed: buffer_[start_..]
    std::size_t start_ = 0;   // where the next record begins
    std::size_t scanned_ = 0; // buffer_[start_..scanned_) holds no '\n'
    bool skip_record_ = false;  // dropping an over-long record up to its '\n'
    std::map<std::string, std::optional<Line>> pending_;  // per stream: the pieces of its current line
    bool failed_ = false;
};

// ---------------------------------------------------------------------------
// Printing

std::optional<Line> take_front(std::deque<Line>& lines) {
    if (lines.empty()) return std::nullopt;
    Line line = std::move(lines.front());
    lines.pop_front();
    return line;
}

class LinePrinter {
public:
    LinePrinter(const std::vector<std::string>& names, const LogsOptions& options, std::FILE* out)
        : timestamps_(options.timestamps), out_(out) {
        std::size_t width = 0;
        for (const std::string& name : names) width = std::max(width, name.size());
        for (std::size_t i = 0; i < names.size(); ++i) {
            std::string p = names[i];
            p.resize(width, ' ');
            // Like compose: "name |" in the container's colour.
            prefixes_.push_back(options.color ? prefix_colour(i) + p + " |" + kColourReset + " " : p + " | ");
        }
    }

    // Lines gather in a buffer written in large pieces: `out` is line
    // buffered, and one write per line would slow down big logs.
    void print(std::size_t container, const Line& line) {
        buffer_ += prefixes_[container];
        if (timestamps_) buffer_ += rfc3339_nano(line.ts) + " ";
        buffer_ += line.text;
        buffer_ += '\n';
        if (buffer_.size() >= kReadChunk) write();
    }

    // Prints the lines of every container merged by time: repeatedly the
    // oldest of the containers' next lines (the first container on a tie).
    // Each container's lines keep their order even if its clock went back.
    // `next(i)` gives container i's next line, nullopt once it has no more.
    template <typename Next>
    void print_merged(std::size_t containers, Next next) {
        std::vector<std::optional<Line>> heads(containers);
        for (std::size_t i = 0; i < containers; ++i) heads[i] = next(i);
        for (;;) {
            std::optional<std::size_t> oldest;
            for (std::size_t i = 0; i < containers; ++i)
                if (heads[i] && (!oldest || heads[i]->ts < heads[*oldest]->ts)) oldest = i;
            if (!oldest) break;
            print(*oldest, *heads[*oldest]);
            heads[*oldest] = next(*oldest);
        }
        write();
        std::fflush(out_);
    }

    bool broken() const { return std::ferror(out_) != 0; }

private:
    void write() {
        std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
        buffer_.clear();
    }

    bool timestamps_;
    std::FILE* out_;
    std::vector<std::string> prefixes_;
    std::string buffer_;
};

}  // namespace

int run_logs(const LogsOptions& options, std::FILE* out) {
    const fs::path state_dir = find_state_dir(options);
    int status = 0;

    // A container's files are all opened at once, so that no rotation can
    // slip one past us; with max-file in the hundreds that can exceed the
    // usual soft limit of 1024 descriptors, so use the hard one.
    if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }

    // The containers: those named (each once), else every one with a log.
    std::vector<std::string> names;
    std::deque<ContainerLog> containers;  // a deque never moves them (their deque of files has no noexcept move)
    auto add = [&](const std::string& name, const fs::path& live) {
        names.push_back(name);
        containers.emplace_back(live);
        if (!containers.back().open()) status = 1;
    };
    if (options.names.empty()) {
        std::vector<fs::path> dirs;
        std::error_code ec;
        for (fs::directory_iterator it(state_dir, ec), end; !ec && it != end; it.increment(ec)) {
            std::error_code ignored;
            if (it->is_directory(ignored)) dirs.push_back(it->path());
        }
        std::sort(dirs.begin(), dirs.end());
        for (const fs::path& dir : dirs)
            if (fs::path live = live_log_path(dir); has_log(live)) add(dir.filename().string(), live);
    } else {
        std::set<std::string> seen;
        for (const std::string& name : options.names) {
            if (!seen.insert(name).second) continue;
            if (fs::path live = live_log_path(state_dir / name); has_log(live)) {
                add(name, live);
            } else {
                report("no log for \"" + name + "\"");
                status = 1;
            }
        }
    }

    // -f follows a fleet whose supervisor runs; once it has ended (or when
    // it had already) everything there is is printed and we are done.
    const fs::path socket = state_dir / kSocketName;
    auto running = [&] {
        std::error_code ec;
        return fs::exists(fs::symlink_status(socket, ec));
    };
    const bool follow = options.follow && running();

    // Container i's next line that --since lets through (`finish`: see
    // ContainerLog::next).
    auto next_line = [&](std::size_t i, bool finish) -> std::optional<Line> {
        for (;;) {
            std::optional<Line> line = containers[i].next(finish);
            if (!line || !options.since || line->ts >= *options.since) return line;
        }
    };

    LinePrinter printer(names, options, out);
    if (options.tail) {
        // Only each container's last N lines: read everything, keep N.
        std::vector<std::deque<Line>> tails(containers.size());
        for (std::size_t i = 0; i < containers.size(); ++i) {
            while (std::optional<Line> line = next_line(i, !follow)) {
                if (*options.tail == 0) continue;
                if (tails[i].size() == *options.tail) tails[i].pop_front();
                tails[i].push_back(std::move(*line));
            }
        }
        printer.print_merged(containers.size(), [&](std::size_t i) { return take_front(tails[i]); });
    } else {
        printer.print_merged(containers.size(), [&](std::size_t i) { return next_line(i, !follow); });
    }

    while (follow && !printer.broken()) {
        std::this_thread::sleep_for(kFollowInterval);
        // Read after seeing the socket gone: what the supervisor wrote before
        // it ended is then all there, and this round prints the rest.
        const bool ended = !running();
        for (ContainerLog& log : containers) log.check_rotation();
        std::vector<std::deque<Line>> batch(containers.size());
        for (std::size_t i = 0; i < containers.size(); ++i)
            while (std::optional<Line> line = next_line(i, ended)) batch[i].push_back(std::move(*line));
        printer.print_merged(containers.size(), [&](std::size_t i) { return take_front(batch[i]); });
        if (ended) break;
    }

    for (const ContainerLog& log : containers)
        if (log.failed()) status = 1;
    if (printer.broken()) status = 1;  // nobody reads us any more
    return status;
}

std::optional<Clock::time_point> parse_since(const std::string& text, Clock::time_point now) {
    if (std::optional<Clock::time_point> t = parse_rfc3339(text)) return t;

    // Unix seconds, with an optional fraction: "1700000000", "1700000000.5".
    const std::size_t dot = text.find('.');
    const std::string whole = text.substr(0, dot);
    const std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
    const bool digits_only = !whole.empty() && whole.find_first_not_of("0123456789") == std::string::npos &&
                             fraction.find_first_not_of("0123456789") == std::string::npos &&
                             (dot == std::string::npos || !fraction.empty());
    // The nanoseconds since 1970 fit an int64 until 2262.
    constexpr std::int64_t kMaxUnixSeconds = 9'000'000'000;
    const std::int64_t seconds = digits_only && whole.size() <= 10 ? std::stoll(whole) : -1;
    if (seconds >= 0 && seconds <= kMaxUnixSeconds) {
        std::int64_t nanos = seconds * 1'000'000'000;
        std::int64_t scale = 100'000'000;
        for (std::size_t i = 0; i < fraction.size() && i < 9; ++i, scale /= 10) nanos += (fraction[i] - '0') * scale;
        return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(nanos)));
    }

    if (std::optional<std::chrono::nanoseconds> back = parse_duration(text))
        return now - std::chrono::duration_cast<Clock::duration>(*back);
    return std::nullopt;
}

}  // namespace rusty::cli
