// Quantities as people write them in Compose files.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace rusty {

// A size in bytes as Docker and Compose write it: digits with an optional
// fraction, an optional space, and an optional unit b, k, m, g, t or p
// (case-insensitive, powers of 1024, optionally followed by "b" or "ib":
// "64m", "1.5GiB", "512kb", "4096"). nullopt if malformed or over INT64_MAX.
std::optional<std::int64_t> parse_size(std::string_view text);

// "0-3,6,8-9" as in cpuset.cpus: comma-separated CPU numbers and ascending
// ranges. The highest CPU named, or nullopt if malformed.
std::optional<unsigned> parse_cpu_list(std::string_view text);

// A duration as Compose (Go's time.ParseDuration) writes it: one or more
// numbers, each with a unit ns, us, µs, ms, s, m or h: "1m30s", "200ms",
// "1.5h", "0s". No sign. nullopt if malformed or over a year.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

// A signal as Docker and runc take it: "SIGTERM", "TERM" (any case), a
// real-time one as "RTMIN", "SIGRTMIN+3" or "RTMAX-1", or a number from 1 to
// 64. nullopt if unknown. The one signal parser of the project.
std::optional<int> parse_signal(std::string_view text);

}  // namespace rusty
