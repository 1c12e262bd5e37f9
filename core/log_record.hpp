// The container log formats: one record per line of output (or per piece of
// a long or unfinished line), as the supervisor writes them and as `logs`
// reads them back.
//
//   cri        2026-11-30T06:40:05.123456789Z stdout F the text
//              (kubelet's and conmon's format; P instead of F marks a piece
//              of a line that goes on in the next record)
//   json-file  {"log":"the text\n","stream":"stdout","time":"2026-…Z"}
//              (docker's; a piece without its "\n" is a partial line)
//
// Every record ends with '\n', and no record holds another '\n': a '\n' in
// a log file always ends a record, so a file can be cut (rotated) at any
// '\n' without splitting one.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/spec.hpp"

namespace rusty::logs {

using Clock = std::chrono::system_clock;

struct Record {
    Clock::time_point ts;
    std::string stream;    // "stdout" or "stderr"
    bool partial = false;  // the line goes on in the next record of its stream
    std::string text;      // without the newline
};

// Appends one record to `out`. `ts` is the timestamp already formatted by
// rfc3339_nano() (one per read, not per line). Cri and JsonFile only.
void append_record(std::string& out, LogDriver driver, std::string_view ts, std::string_view stream, bool partial,
                   std::string_view text);

// One line of a log file (without its '\n'), in either format (a '{' first
// means json-file). nullopt when it is neither.
std::optional<Record> parse_record(std::string_view line);

}  // namespace rusty::logs
