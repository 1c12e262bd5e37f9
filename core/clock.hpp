// Timestamps as the project prints them.
#pragma once

#include <chrono>
#include <string>

namespace rusty {

// RFC 3339 in UTC with nanoseconds: "2026-11-30T00:24:07.123456789Z", the
// form of the CRI log format and of docker's --timestamps.
std::string rfc3339_nano(std::chrono::system_clock::time_point t);

}  // namespace rusty
