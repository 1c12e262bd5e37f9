// A container's status, with the names runtime-spec's state gives them.
#pragma once

#include <optional>
#include <string_view>

namespace rusty::runtime {

enum class Status {
    Creating,  // create is under way (hooks see it; `state` never does: create holds the lock)
    Created,   // the init waits for `start` at its exec fifo
    Running,
    Paused,    // its cgroup is frozen
    Stopped,   // the init is gone (or was never made)
};

// "creating", "created", "running", "paused", "stopped".
std::string_view to_string(Status status);
// The inverse of to_string(); nullopt for anything else.
std::optional<Status> parse_status(std::string_view text);

}  // namespace rusty::runtime
