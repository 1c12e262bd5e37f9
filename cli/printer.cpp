#include "cli/printer.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/clock.hpp"
#include "core/syscalls.hpp"

namespace rusty::cli {

namespace {
// The colours compose cycles through for its prefixes.
constexpr const char* kColors[] = {"\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m",
                                   "\033[96m", "\033[93m", "\033[92m", "\033[95m", "\033[94m"};
constexpr const char* kReset = "\033[0m";
}  // namespace

Printer::Printer(LogFormat format, const std::vector<std::string>& names, std::FILE* out)
    : format_(format), out_(out), names_(names) {
    for (auto& n : names) width_ = std::max(width_, n.size());
    color_ = ::isatty(::fileno(out)) && !std::getenv("NO_COLOR");
}

std::string Printer::prefix(const std::string& container) const {
    std::string p = container;
    p.resize(std::max(width_, container.size()), ' ');
    if (!color_) return p;
    auto it = std::find(names_.begin(), names_.end(), container);
    std::size_t index = static_cast<std::size_t>(it - names_.begin()) % std::size(kColors);
    return kColors[index] + p + kReset;
}

void Printer::write_line(const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
}

void Printer::on_event(const Event& e) {
    if (format_ == LogFormat::Json) {
        write_line(to_json(e).dump());
        return;
    }
    std::string text;
    switch (e.kind) {
        case EventKind::Started:
            text = e.container + (e.restarts ? " restarted (pid " : " started (pid ") + std::to_string(e.pid) +
                   (e.restarts ? ", restart " + std::to_string(e.restarts) + ")" : ")");
            break;
        case EventKind::Exited:
            if (e.signal) text = e.container + " killed by " + sys::signal_name(*e.signal);
            else text = e.container + " exited with code " + std::to_string(e.exit_code.value_or(-1));
            if (e.reason == "OOMKilled") text += " (out of memory: the OOM killer struck)";
            break;
        case EventKind::Failed:
            text = e.container + ": " + e.error;
            break;
        case EventKind::Paused:
            text = e.container + " paused";
            break;
        case EventKind::Resumed:
            text = e.container + " resumed";
            break;
        case EventKind::GaveUp:
            text = e.container + ": gave up restarting (" + e.reason + ")";
            break;
        case EventKind::Healthy:
            text = e.container + " is healthy";
            break;
        case EventKind::Unhealthy:
            text = e.container + " is unhealthy" + (e.reason.empty() ? "" : " (" + e.reason + ")");
            break;
        case EventKind::Ready:
            text = e.container + " is ready" + (e.reason.empty() ? "" : " (" + e.reason + ")");
            break;
        case EventKind::Oom:
            text = e.container + ": out of memory, the OOM killer killed a process (" + e.reason + ")";
            break;
    }
    write_line(text);
}

void Printer::on_output(const std::string& container, OutputStream stream, std::string_view line) {
    if (format_ == LogFormat::Json) {
        nlohmann::json j = {{"ts", rfc3339_nano(std::chrono::system_clock::now())},
                            {"container", container},
                            {"stream", to_string(stream)},
                            {"line", std::string(line)}};
        write_line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        return;
    }
    write_line(prefix(container) + " | " + std::string(line));
}

}  // namespace rusty::cli
