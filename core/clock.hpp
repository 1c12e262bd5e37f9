// Timestamps as the project prints them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rusty {

// RFC 3339 in UTC with `fraction_digits` (0 to 9) digits of fraction, cut
// not rounded: "2026-11-30T00:24:07Z" with 0 (logrus's form, which runc's
// callers parse), "2026-11-30T00:24:07.123456789Z" with 9.
std::string rfc3339(std::chrono::system_clock::time_point t, int fraction_digits);

// With nanoseconds: the form of the CRI log format, of docker's
// --timestamps and of the OCI state's "created".
inline std::string rfc3339_nano(std::chrono::system_clock::time_point t) { return rfc3339(t, 9); }

// RFC 3339 with a 'Z' or "+hh:mm" offset and up to 9 fraction digits (more
// are read and dropped), e.g. "2026-11-30T06:40:05.123456789Z" or
// "2026-11-30T07:40:05+01:00". nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace rusty
