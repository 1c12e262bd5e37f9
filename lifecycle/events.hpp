// What a fleet tells the program embedding it: lifecycle events and the
// output of its containers. Observers are called on the reactor thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace rusty {

enum class EventKind {
    Started,  // the command was exec'd
    Exited,   // the container ended: its init exited and no process is left in its cgroup
              // (exit_code or signal set; reason "OOMKilled" if the OOM killer struck)
    Failed,   // the container could not be started (error set)
    Paused,   // its cgroup is frozen, as the kernel reports it
    Resumed,  // its cgroup is thawed
    Oom,      // the OOM killer killed a process in it (reason says how many so far)
    GaveUp,   // its restart policy's maximum was reached: no more restarts
    Healthy,    // its health check passed (after starting, or after being unhealthy)
    Unhealthy,  // its health check failed `retries` times in a row (reason: the last output)
    Ready,      // ready: notify — it sent READY=1 on its NOTIFY_SOCKET
};
std::string_view to_string(EventKind kind);

struct Event {
    std::chrono::system_clock::time_point ts;
    std::string container;
    EventKind kind = EventKind::Started;
    pid_t pid = 0;                  // the init's pid on the host, 0 if none
    std::optional<int> exit_code;   // Exited normally
    std::optional<int> signal;      // Exited by a signal
    std::string error;              // Failed: what went wrong
    std::string reason;             // Exited: "OOMKilled" or empty; Oom: the count;
                                    // Unhealthy: the last check's output; Ready: its STATUS=
    unsigned restarts = 0;          // how often it was restarted before this event
};

// {"ts":"…Z","container":"web","event":"exited","pid":12,"exit_code":0,"signal":null}
// plus "reason":"OOMKilled" when the OOM killer struck the container.
nlohmann::json to_json(const Event& event);

enum class OutputStream { Stdout, Stderr };
std::string_view to_string(OutputStream stream);

class FleetObserver {
public:
    virtual ~FleetObserver() = default;
    virtual void on_event(const Event& event) { (void)event; }
    // One line without its newline. A line over 16 KiB arrives in pieces, as
    // does a last line without a newline.
    virtual void on_output(const std::string& container, OutputStream stream, std::string_view line) {
        (void)container, (void)stream, (void)line;
    }
    // The same output as read, before it is cut into lines (a terminal's
    // prompt has no newline): for `attach`. Every driver, none included.
    virtual void on_output_bytes(const std::string& container, OutputStream stream, std::string_view bytes) {
        (void)container, (void)stream, (void)bytes;
    }
};

}  // namespace rusty
