#include "runtime/status.hpp"

#include <array>
#include <utility>

namespace rusty::runtime {
namespace {

constexpr std::array<std::pair<Status, std::string_view>, 5> kNames{{
    {Status::Creating, "creating"},
    {Status::Created, "created"},
    {Status::Running, "running"},
    {Status::Paused, "paused"},
    {Status::Stopped, "stopped"},
}};

}  // namespace

std::string_view to_string(Status status) {
    for (const auto& [value, name] : kNames)
        if (value == status) return name;
    return "unknown";
}

std::optional<Status> parse_status(std::string_view text) {
    for (const auto& [value, name] : kNames)
        if (name == text) return value;
    return std::nullopt;
}

}  // namespace rusty::runtime
