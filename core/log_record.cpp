#include "core/log_record.hpp"

#include <nlohmann/json.hpp>

#include "core/clock.hpp"

namespace rusty::logs {
void append_record(std::string& out, LogDriver driver, std::string_view ts, std::string_view stream, bool partial,
                   std::string_view text) {
    if (driver == LogDriver::JsonFile) {
        // Invalid UTF-8 becomes U+FFFD, as in docker's json-file.
        nlohmann::json j = {{"log", partial ? std::string(text) : std::string(text) + "\n"},
                            {"stream", stream},
                            {"time", ts}};
        out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        out += '\n';
        return;
    }
    out.append(ts);
    out += ' ';
    out.append(stream);
    out += partial ? " P " : " F ";
    out.append(text);
    out += '\n';
}

std::optional<Record> parse_record(std::string_view line) {
    Record r;
    if (!line.empty() && line.front() == '{') {
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_object() || !j.contains("log") || !j["log"].is_string() || !j.contains("time") ||
            !j["time"].is_string())
            return std::nullopt;
        auto ts = rusty::parse_rfc3339(j["time"].get<std::string>());
        if (!ts) return std::nullopt;
        r.ts = *ts;
        r.stream = j.contains("stream") && j["stream"].is_string() ? j["stream"].get<std::string>() : "stdout";
        r.text = j["log"].get<std::string>();
        r.partial = r.text.empty() || r.text.back() != '\n';
        if (!r.partial) r.text.pop_back();
        return r;
    }
    // <timestamp> <stream> <tag> <text>
    const std::size_t a = line.find(' ');
    if (a == std::string_view::npos) return std::nullopt;
    const std::size_t b = line.find(' ', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    std::size_t c = line.find(' ', b + 1);
    const std::string_view tag = line.substr(b + 1, c == std::string_view::npos ? std::string_view::npos : c - b - 1);
    auto ts = rusty::parse_rfc3339(line.substr(0, a));
    if (!ts || tag.empty()) return std::nullopt;
    r.ts = *ts;
    r.stream = std::string(line.substr(a + 1, b - a - 1));
    // kubelet's tags may carry more after a ':'; the first says full or partial.
    r.partial = tag.front() == 'P';
    if (c != std::string_view::npos) r.text = std::string(line.substr(c + 1));
    return r;
}

}  // namespace rusty::logs
