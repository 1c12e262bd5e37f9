#include "cli/printer.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/clock.hpp"
#include "core/syscalls.hpp"

namespace rusty::cli {

namespace {
// The colours compose cycles through for its prefixes.
constexpr const char* kColors[] = {"\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m",
                                   "\033[96m", "\033[93m", "\033[92m", "\033[95m", "\033[94m"};
constexpr const char* kReset = kColourReset;

// Status line marks, as compose draws them.
constexpr const char* kWaitingMark = "⠿";
constexpr const char* kGoodMark = "✔";
constexpr const char* kBadMark = "✘";
constexpr const char* kGreen = "\033[32m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kEllipsis = "…";

// What a terminal that cannot be asked is assumed to be; 0 rows: no limit.
constexpr unsigned short kDefaultColumns = 80;

struct TerminalSize {
    std::size_t columns = kDefaultColumns;
    std::size_t rows = 0;
};

TerminalSize terminal_size(std::FILE* out) {
    TerminalSize size;
    winsize ws{};
    if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0) {
        if (ws.ws_col > 0) size.columns = ws.ws_col;
        size.rows = ws.ws_row;
    }
    return size;
}

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Columns taken by UTF-8 `text`, one per code point: close enough for
// names, marks and messages, which are rarely East Asian wide text.
std::size_t columns_of(std::string_view text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return !is_utf8_continuation(c); }));
}

// `text` in at most `columns` (>= 1) columns, cut with "…" if longer.
std::string fit(std::string text, std::size_t columns) {
    if (columns_of(text) <= columns) return text;
    const std::size_t keep = columns - 1;  // room for the ellipsis
    std::size_t end = 0;
    for (std::size_t seen = 0; end < text.size(); ++end) {
        if (is_utf8_continuation(text[end])) continue;
        if (seen++ == keep) break;
    }
    text.resize(end);
    return text + kEllipsis;
}

// One line, whatever a container or a health check said: control
// characters (newlines, escapes) would break the block apart.
std::string one_line(std::string text) {
    for (char& c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    return text;
}

std::string cursor_up(std::size_t lines) { return "\033[" + std::to_string(lines) + "A"; }
std::string cursor_down(std::size_t lines) { return "\033[" + std::to_string(lines) + "B"; }
constexpr const char* kClearLine = "\r\033[2K";
}  // namespace

Printer::Printer(LogFormat format, const std::vector<std::string>& names, std::FILE* out, StatusLines status_lines)
    : format_(format), out_(out), names_(names) {
    for (auto& n : names) width_ = std::max(width_, n.size());
    const bool tty = ::isatty(::fileno(out));
    color_ = tty && !std::getenv("NO_COLOR");
    bool block = status_lines == StatusLines::On;
    if (status_lines == StatusLines::Auto) {
        const char* term = std::getenv("TERM");
        block = tty && !(term && std::strcmp(term, "dumb") == 0);
    }
    if (block && format_ == LogFormat::Text && !names_.empty()) {
        block_ = Block::NotDrawn;
        statuses_.resize(names_.size());
    }
}

std::string Printer::prefix(const std::string& container) const {
    std::string p = container;
    p.resize(std::max(width_, container.size()), ' ');
    if (!color_) return p;
    auto it = std::find(names_.begin(), names_.end(), container);
    return prefix_colour(static_cast<std::size_t>(it - names_.begin())) + p + kReset;
}

// Everything printed goes through here, in order. The reactor prints on its
// own thread: a terminal or pipe that does not keep up must not hold it (and
// with it every container). So bytes are written only while `out_` has room;
// the rest waits in `pending_` for the next call (bounded: past kMaxPending,
// lines are skipped and counted). The destructor writes what is left.
void Printer::write(const std::string& bytes) {
    if (pending_.size() + bytes.size() > kMaxPending) {
        ++skipped_;
        return;
    }
    pending_ += bytes;
    flush_pending(false);
}

void Printer::flush_pending(bool wait) {
    if (pending_.empty()) return;
    const int fd = ::fileno(out_);
    if (fd < 0) {  // a stream without an fd (fmemopen): stdio's own writes
        std::fwrite(pending_.data(), 1, pending_.size(), out_);
        std::fflush(out_);
        pending_.clear();
        return;
    }
    std::fflush(out_);  // nothing of ours is in stdio's buffer, but be sure
    while (!pending_.empty()) {
        pollfd p{fd, POLLOUT, 0};
        const int ready = ::poll(&p, 1, wait ? -1 : 0);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) return;
        // At most what a pipe with room takes without blocking.
        const ssize_t n = ::write(fd, pending_.data(), std::min<std::size_t>(pending_.size(), 4096));
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) {  // EPIPE and the like: the reader is gone
            pending_.clear();
            return;
        }
        pending_.erase(0, static_cast<std::size_t>(n));
    }
}

Printer::~Printer() { flush_pending(true); }

void Printer::write_line(const std::string& line) { write(line + '\n'); }

std::string Printer::event_text(const Event& e) const {
    switch (e.kind) {
        case EventKind::Started:
            return e.container + (e.restarts ? " restarted (pid " : " started (pid ") + std::to_string(e.pid) +
                   (e.restarts ? ", restart " + std::to_string(e.restarts) + ")" : ")");
        case EventKind::Exited: {
            std::string text;
            if (e.signal) text = e.container + " killed by " + sys::signal_name(*e.signal);
            else text = e.container + " exited with code " + std::to_string(e.exit_code.value_or(-1));
            if (e.reason == "OOMKilled") text += " (out of memory: the OOM killer struck)";
            return text;
        }
        case EventKind::Failed: return e.container + ": " + e.error;
        case EventKind::Paused: return e.container + " paused";
        case EventKind::Resumed: return e.container + " resumed";
        case EventKind::GaveUp: return e.container + ": gave up restarting (" + e.reason + ")";
        case EventKind::Healthy: return e.container + " is healthy";
        case EventKind::Unhealthy:
            return e.container + " is unhealthy" + (e.reason.empty() ? "" : " (" + e.reason + ")");
        case EventKind::Ready: return e.container + " is ready" + (e.reason.empty() ? "" : " (" + e.reason + ")");
        case EventKind::Oom:
            return e.container + ": out of memory, the OOM killer killed a process (" + e.reason + ")";
    }
    return e.container + " " + std::string(to_string(e.kind));
}

void Printer::on_event(const Event& e) {
    if (format_ == LogFormat::Json) {
        write_line(to_json(e).dump());
        return;
    }
    if (show_in_block(e)) return;
    write_line(event_text(e));
}

// Output lines are shown only while nothing waits and `out_` has room; those
// skipped are counted, and said once there is room again. The log files
// have every line.
bool Printer::room_for_output() {
    flush_pending(false);
    pollfd p{::fileno(out_), POLLOUT, 0};
    if (!pending_.empty() || (p.fd >= 0 && ::poll(&p, 1, 0) == 0)) {  // without an fd (fmemopen): always room
        ++skipped_;
        return false;
    }
    if (skipped_ > 0) {
        if (format_ == LogFormat::Json)
            write_line(nlohmann::json{{"ts", rfc3339_nano(std::chrono::system_clock::now())}, {"skipped_lines", skipped_}}
                           .dump());
        else
            write_line("(" + std::to_string(skipped_) + " output " + (skipped_ == 1 ? "line" : "lines") +
                       " not shown here: the output was not keeping up; `rusty-supervisor logs` has them)");
        skipped_ = 0;
    }
    return true;
}

void Printer::on_output(const std::string& container, OutputStream stream, std::string_view line) {
    if (!room_for_output()) return;
    if (format_ == LogFormat::Json) {
        nlohmann::json j = {{"ts", rfc3339_nano(std::chrono::system_clock::now())},
                            {"container", container},
                            {"stream", to_string(stream)},
                            {"line", std::string(line)}};
        write_line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        return;
    }
    if (block_ == Block::Live) freeze_block();
    block_ = Block::Done;  // output before any event: no block at all
    write_line(prefix(container) + " | " + std::string(line));
}

// ---- the status block --------------------------------------------------------------

bool Printer::show_in_block(const Event& e) {
    if (block_ == Block::Done) return false;
    const auto it = std::find(names_.begin(), names_.end(), e.container);
    const bool all_settled =
        std::all_of(statuses_.begin(), statuses_.end(), [](const Status& s) { return s.settled; });
    if (it == names_.end() || (block_ == Block::Live && all_settled)) {
        // The fleet is up (or this is no container of the block): from now
        // on, a log.
        if (block_ == Block::Live) freeze_block();
        block_ = Block::Done;
        return false;
    }

    const std::size_t index = static_cast<std::size_t>(it - names_.begin());
    update(statuses_[index], e);
    if (block_ == Block::NotDrawn) draw_block();
    else redraw_line(index);
    return block_ == Block::Live;
}

void Printer::update(Status& status, const Event& e) {
    using Mark = Status::Mark;
    switch (e.kind) {
        case EventKind::Started:
            status.mark = Mark::Good;
            status.text = e.restarts ? "Restarted (" + std::to_string(e.restarts) + ")" : "Started";
            break;
        case EventKind::Exited:
            if (e.signal) {
                status.mark = Mark::Bad;
                status.text = "Killed (" + sys::signal_name(*e.signal) + ")";
            } else {
                const int code = e.exit_code.value_or(-1);
                status.mark = code == 0 ? Mark::Good : Mark::Bad;
                status.text = "Exited (" + std::to_string(code) + ")";
            }
            if (e.reason == "OOMKilled") {
                status.mark = Mark::Bad;
                status.text += ", out of memory";
            }
            break;
        case EventKind::Failed:
            status.mark = Mark::Bad;
            status.text = "Failed: " + e.error;
            break;
        case EventKind::Paused:
            status.mark = Mark::Good;
            status.text = "Paused";
            break;
        case EventKind::Resumed:
            status.mark = Mark::Good;
            status.text = "Resumed";
            break;
        case EventKind::Oom:
            status.mark = Mark::Bad;
            status.text = "Out of memory (" + e.reason + ")";
            break;
        case EventKind::GaveUp:
            status.mark = Mark::Bad;
            status.text = "Gave up (" + e.reason + ")";
            break;
        case EventKind::Healthy:
            status.mark = Mark::Good;
            status.text = "Healthy";
            break;
        case EventKind::Unhealthy:
            status.mark = Mark::Bad;
            status.text = "Unhealthy" + (e.reason.empty() ? "" : ": " + e.reason);
            break;
        case EventKind::Ready:
            status.mark = Mark::Good;
            status.text = "Ready" + (e.reason.empty() ? "" : ": " + e.reason);
            break;
    }
    status.text = one_line(std::move(status.text));
    status.settled = true;  // every event comes after a start, a failure or an exit
}

std::string Printer::status_line(std::size_t index, std::size_t columns) const {
    const Status& status = statuses_[index];
    const char* mark = status.mark == Status::Mark::Good ? kGoodMark
                       : status.mark == Status::Mark::Bad ? kBadMark
                                                          : kWaitingMark;
    std::string name = names_[index];
    name.resize(width_, ' ');
    // Shorter than the terminal: a full line would wrap (or leave the
    // cursor pending a wrap), and the block would no longer be in place.
    std::string line = fit(std::string(" ") + mark + " Container " + name + "  " + status.text,
                           columns > 1 ? columns - 1 : 1);
    const std::string marked = std::string(" ") + mark;
    const char* color = status.mark == Status::Mark::Good ? kGreen : status.mark == Status::Mark::Bad ? kRed : nullptr;
    if (color_ && color && line.starts_with(marked))
        line = " " + std::string(color) + mark + kReset + line.substr(marked.size());
    return line;
}

void Printer::draw_block() {
    const TerminalSize size = terminal_size(out_);
    // A block taller than the screen cannot be reached by moving up.
    if (size.rows != 0 && statuses_.size() >= size.rows) {
        block_ = Block::Done;
        return;
    }
    std::string bytes;
    for (std::size_t i = 0; i < statuses_.size(); ++i) {
        statuses_[i].shown = status_line(i, size.columns);
        bytes += statuses_[i].shown + '\n';
    }
    write(bytes);
    block_ = Block::Live;
}

void Printer::redraw_line(std::size_t index) {
    Status& status = statuses_[index];
    std::string line = status_line(index, terminal_size(out_).columns);
    if (line == status.shown) return;
    status.shown = std::move(line);
    // The cursor rests at the start of the line below the block: up to the
    // line, rewrite it, and back down.
    const std::size_t up = statuses_.size() - index;
    write(cursor_up(up) + kClearLine + status.shown + '\r' + cursor_down(up));
}

void Printer::freeze_block() {
    const std::size_t columns = terminal_size(out_).columns;
    std::string bytes = cursor_up(statuses_.size());
    for (std::size_t i = 0; i < statuses_.size(); ++i) {
        statuses_[i].shown = status_line(i, columns);
        bytes += kClearLine + statuses_[i].shown + '\n';
    }
    bytes += "Attaching to ";
    for (std::size_t i = 0; i < names_.size(); ++i) bytes += (i ? ", " : "") + names_[i];
    write(bytes + '\n');
    block_ = Block::Done;
}

const char* prefix_colour(std::size_t index) { return kColors[index % std::size(kColors)]; }

}  // namespace rusty::cli
