// Timestamps as the project prints them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rusty {

// RFC 3339 in UTC with nanoseconds: "2026-11-30T00:24:07.123456789Z", the
// form of the CRI log format and of docker's --timestamps.
std::string rfc3339_nano(std::chrono::system_clock::time_point t);

// RFC 3339 with a 'Z' or "+hh:mm" offset and up to 9 fraction digits (more
// are read and dropped), e.g. "2026-11-30T06:40:05.123456789Z" or
// "2026-11-30T07:40:05+01:00". nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace rusty
