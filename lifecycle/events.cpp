#include "lifecycle/events.hpp"

#include "core/clock.hpp"
#include "core/syscalls.hpp"

namespace rusty {

std::string_view to_string(EventKind kind) {
    switch (kind) {
        case EventKind::Started: return "started";
        case EventKind::Exited: return "exited";
        case EventKind::Failed: return "failed";
        case EventKind::Paused: return "paused";
        case EventKind::Resumed: return "resumed";
        case EventKind::Oom: return "oom";
        case EventKind::GaveUp: return "gave_up";
        case EventKind::Healthy: return "healthy";
        case EventKind::Unhealthy: return "unhealthy";
        case EventKind::Ready: return "ready";
    }
    return "unknown";
}

std::string_view to_string(OutputStream stream) {
    return stream == OutputStream::Stdout ? "stdout" : "stderr";
}

nlohmann::json to_json(const Event& e) {
    nlohmann::json j = {{"ts", rfc3339_nano(e.ts)}, {"container", e.container}, {"event", to_string(e.kind)}};
    if (e.pid > 0) j["pid"] = e.pid;
    if (e.kind == EventKind::Exited) {
        j["exit_code"] = e.exit_code ? nlohmann::json(*e.exit_code) : nlohmann::json(nullptr);
        j["signal"] = e.signal ? nlohmann::json(sys::signal_name(*e.signal)) : nlohmann::json(nullptr);
    }
    if (!e.error.empty()) j["error"] = e.error;
    if (!e.reason.empty()) j["reason"] = e.reason;
    j["restarts"] = e.restarts;
    return j;
}

}  // namespace rusty
