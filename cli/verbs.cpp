#include "cli/verbs.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "cli/control_client.hpp"
#include "cli/printer.hpp"
#include "core/clock.hpp"
#include "core/units.hpp"
#include "lifecycle/events.hpp"

namespace rusty::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void print_line(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
}

void print_error(const std::string& text) { std::fprintf(stderr, "rusty-supervisor: %s\n", text.c_str()); }

// A field as text: strings as they are, numbers as JSON, anything else (null,
// missing, another type from a newer fleet) as "".
std::string text_of(const json& row, const char* key) {
    if (!row.is_object()) return "";
    auto it = row.find(key);
    if (it == row.end() || it->is_null()) return "";
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number() || it->is_boolean()) return dump(*it);
    return "";
}

std::optional<std::uint64_t> unsigned_of(const json& row, const char* key) {
    if (!row.is_object()) return std::nullopt;
    auto it = row.find(key);
    if (it == row.end() || !it->is_number()) return std::nullopt;
    if (it->is_number_unsigned()) return it->get<std::uint64_t>();
    if (it->is_number_integer() && it->get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(it->get<std::int64_t>());
    if (it->is_number_float() && it->get<double>() >= 0) return static_cast<std::uint64_t>(it->get<double>());
    return std::nullopt;
}

// Columns padded to their widest cell, two spaces apart; the last one is not
// padded, so that a long status does not widen the others.
std::string table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (widths.size() <= i) widths.push_back(0);
            widths[i] = std::max(widths[i], row[i].size());
        }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

std::string or_dash(std::string text) { return text.empty() ? "-" : text; }

// ---- ps -------------------------------------------------------------------

std::string health_cell(const json& row) {
    if (std::string health = text_of(row, "health"); !health.empty()) return health;
    if (row.is_object() && row.contains("ready") && row["ready"].is_boolean())
        return row["ready"].get<bool>() ? "ready" : "not ready";
    return "-";
}

std::string pid_cell(const json& row) {
    auto pid = unsigned_of(row, "pid");
    return pid && *pid > 0 ? std::to_string(*pid) : "-";
}

// What docker's STATUS says: how long it has been up, or how it ended.
std::string status_cell(const json& row, std::chrono::system_clock::time_point now) {
    const std::string state = text_of(row, "state");
    const bool down = state == "exited" || state == "failed" || state == "stopped" || state == "not_started" ||
                      state == "created";
    std::string text;
    auto started = parse_rfc3339(text_of(row, "started"));
    if (!down && state != "restarting" && started) {
        auto up = std::chrono::duration_cast<std::chrono::seconds>(now - *started);
        text = "up " + human_duration(std::max(up, std::chrono::seconds(0)));
    } else if (std::string code = text_of(row, "exit_code"); !code.empty()) {
        text = "exit code " + code;
    } else if (std::string sig = text_of(row, "signal"); !sig.empty()) {
        text = "killed by " + sig;
    }
    auto append = [&text](const std::string& sep, const std::string& more) {
        if (!more.empty()) text += (text.empty() ? "" : sep) + more;
    };
    if (std::string reason = text_of(row, "reason"); !reason.empty()) append(" ", "(" + reason + ")");
    append(": ", text_of(row, "error"));
    append(", ", text_of(row, "status"));  // sd_notify STATUS=
    return or_dash(text);
}

// ---- results of the container verbs ----------------------------------------

std::string done_word(const VerbRequest& r) {
    if (r.verb == "stop") return " stopped";
    if (r.verb == "start") return " started";
    if (r.verb == "restart") return " restarted";
    if (r.verb == "kill") return r.signal.empty() ? " killed" : ": sent " + r.signal;
    if (r.verb == "pause") return " paused";
    if (r.verb == "unpause") return " unpaused";
    return ": done";
}

// One line per container; false if any failed.
bool print_outcomes(const VerbRequest& r, const json& result) {
    if (!result.is_array()) {
        print_line(dump(result));
        return true;
    }
    bool all_ok = true;
    for (const json& row : result) {
        const std::string name = text_of(row, "name");
        if (row.is_object() && row.value("ok", false) == true) {
            print_line(name + done_word(r));
            continue;
        }
        all_ok = false;
        std::string error = or_dash(text_of(row, "error"));
        // The fleet's errors often name the container already.
        print_error(error.starts_with(name + ":") ? error : name + ": " + error);
    }
    return all_ok;
}

bool any_failed(const json& result) {
    if (!result.is_array()) return false;
    for (const json& row : result)
        if (!row.is_object() || row.value("ok", false) != true) return true;
    return false;
}

void print_reload(const json& result) {
    if (!result.is_object()) {
        print_line(dump(result));
        return;
    }
    auto names = [&](const char* key) {
        std::string list;
        if (auto it = result.find(key); it != result.end() && it->is_array())
            for (const json& n : *it) list += (list.empty() ? "" : ", ") + (n.is_string() ? n.get<std::string>() : dump(n));
        return list;
    };
    bool changed = false;
    for (const char* key : {"started", "stopped", "restarted"}) {
        if (std::string list = names(key); !list.empty()) {
            print_line(std::string(key) + ": " + list);
            changed = true;
        }
    }
    std::string unchanged = names("unchanged");
    if (!changed) print_line("no changes" + (unchanged.empty() ? "" : " (unchanged: " + unchanged + ")"));
    else if (!unchanged.empty()) print_line("unchanged: " + unchanged);
}

// ---- events ---------------------------------------------------------------------

std::optional<EventKind> event_kind(const std::string& name) {
    // EventKind's underlying type is int: every value is valid to form, and
    // to_string says "unknown" for the ones that are not kinds.
    for (int k = 0; k < 256; ++k)
        if (to_string(static_cast<EventKind>(k)) == name) return static_cast<EventKind>(k);
    return std::nullopt;
}

// The event as the supervisor prints it in its own output (cli/printer.cpp),
// rebuilt from to_json(Event); kinds this client does not know get a plain
// line.
void print_event(Printer& printer, const json& j) {
    const std::string container = text_of(j, "container");
    const std::string kind_name = text_of(j, "event");
    std::optional<EventKind> kind = event_kind(kind_name);
    const std::string sig_name = text_of(j, "signal");
    std::optional<int> sig = sig_name.empty() ? std::nullopt : parse_signal(sig_name);
    if (!kind || (!sig_name.empty() && !sig)) {
        std::string text = container + " " + kind_name;
        if (!sig_name.empty()) text += " (" + sig_name + ")";
        for (const char* extra : {"error", "reason"})
            if (std::string more = text_of(j, extra); !more.empty()) text += ": " + more;
        print_line(text);
        std::fflush(stdout);
        return;
    }
    Event e;
    e.ts = parse_rfc3339(text_of(j, "ts")).value_or(std::chrono::system_clock::now());
    e.container = container;
    e.kind = *kind;
    e.pid = static_cast<pid_t>(unsigned_of(j, "pid").value_or(0));
    if (j.contains("exit_code") && j["exit_code"].is_number_integer()) e.exit_code = j["exit_code"].get<int>();
    e.signal = sig;
    e.error = text_of(j, "error");
    e.reason = text_of(j, "reason");
    e.restarts = static_cast<unsigned>(unsigned_of(j, "restarts").value_or(0));
    printer.on_event(e);
}

// Every event, or only those of `names` when some are given.
int stream_events(ControlClient& client, bool as_json, const std::vector<std::string>& names) {
    Printer printer(LogFormat::Text, {}, stdout);
    while (std::optional<json> message = client.next_message(/*skip_malformed=*/true)) {
        if (!message->is_object()) continue;
        if (auto e = message->find("event"); e != message->end()) {
            if (!names.empty() && std::find(names.begin(), names.end(), text_of(*e, "container")) == names.end())
                continue;
            if (as_json) {
                print_line(dump(*e));
                std::fflush(stdout);
            } else {
                print_event(printer, *e);
            }
        } else if (message->contains("ok") && (*message)["ok"] != true) {
            print_error(text_of(*message, "error"));
            return 1;
        }
    }
    return 0;  // the fleet ended the stream: it has stopped
}

}  // namespace

// ---- formats ------------------------------------------------------------------------

std::string human_bytes(std::uint64_t bytes) {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return std::to_string(bytes) + "B";
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(kUnits)) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, value < 100 ? "%.1f%s" : "%.0f%s", value, kUnits[unit]);
    return text;
}

std::string human_duration(std::chrono::seconds duration) {
    const long long s = duration.count();
    char text[48];
    if (s < 60) std::snprintf(text, sizeof text, "%llds", s);
    else if (s < 3600) std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400) std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else std::snprintf(text, sizeof text, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
    return text;
}

std::string format_ps(const json& rows, std::chrono::system_clock::time_point now) {
    std::vector<std::vector<std::string>> cells = {{"NAME", "STATE", "HEALTH", "PID", "RESTARTS", "STATUS"}};
    if (rows.is_array())
        for (const json& row : rows)
            cells.push_back({or_dash(text_of(row, "name")), or_dash(text_of(row, "state")), health_cell(row),
                             pid_cell(row), or_dash(text_of(row, "restarts")), status_cell(row, now)});
    return table(cells);
}

std::string format_stats(const json& rows) {
    std::vector<std::vector<std::string>> cells = {{"NAME", "MEM", "PEAK", "CPU", "PIDS"}};
    auto bytes = [](const json& row, const char* key) {
        auto value = unsigned_of(row, key);
        return value ? human_bytes(*value) : "-";
    };
    if (rows.is_array())
        for (const json& row : rows) {
            std::string cpu = "-";
            if (auto usec = unsigned_of(row, "cpu_usage_usec")) {
                char text[48];
                if (*usec < 60'000'000) std::snprintf(text, sizeof text, "%.2fs", static_cast<double>(*usec) / 1e6);
                else std::snprintf(text, sizeof text, "%s", human_duration(std::chrono::seconds(*usec / 1'000'000)).c_str());
                cpu = text;
            }
            auto pids = unsigned_of(row, "pids");
            cells.push_back({or_dash(text_of(row, "name")), bytes(row, "memory_bytes"), bytes(row, "memory_peak_bytes"),
                             cpu, pids ? std::to_string(*pids) : "-"});
        }
    return table(cells);
}

// ---- the verb ---------------------------------------------------------------------------

int run_verb(const VerbRequest& r, const fs::path& socket) {
    ControlClient client(socket);
    json args = json::object();
    if (r.verb != "events" && r.verb != "reload") args["names"] = r.names;
    if (r.timeout) args["timeout"] = *r.timeout;
    if (!r.signal.empty()) args["signal"] = r.signal;
    ControlClient::Reply reply = client.request(r.verb, args);
    if (!reply.ok) {
        print_error(reply.error);
        return 1;
    }
    if (r.verb == "events") return stream_events(client, r.json, r.names);
    // Stopping the whole fleet: the reply comes at once, and the fleet
    // closes the connection when it has stopped. Report that, not the ask.
    if (r.verb == "stop" && r.names.empty())
        while (client.next_message(/*skip_malformed=*/true)) {
        }
    const bool per_container = r.verb != "ps" && r.verb != "stats" && r.verb != "reload";
    if (r.json) {
        print_line(dump(reply.result));
        return per_container && any_failed(reply.result) ? 1 : 0;
    }
    if (r.verb == "ps") {
        std::fputs(format_ps(reply.result, std::chrono::system_clock::now()).c_str(), stdout);
    } else if (r.verb == "stats") {
        std::fputs(format_stats(reply.result).c_str(), stdout);
    } else if (r.verb == "reload") {
        print_reload(reply.result);
    } else if (per_container) {
        return print_outcomes(r, reply.result) ? 0 : 1;
    }
    return 0;
}

}  // namespace rusty::cli
