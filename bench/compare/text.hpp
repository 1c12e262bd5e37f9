// How rusty-bench-compare writes durations, table cells and other
// programs' output as text.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "bench/common.hpp"

namespace rusty::bench::compare {

// Without its trailing newlines, blanks and carriage returns.
inline std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
    return s;
}

inline std::string first_line(const std::string& text) { return trim(text.substr(0, text.find('\n'))); }

// "10.50 s"
inline std::string seconds_text(Clock::duration d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", std::chrono::duration<double>(d).count());
    return buf;
}

// A table cell in milliseconds: "12.34", "123.4".
inline std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, v >= 100 ? "%.1f" : "%.2f", v);
    return buf;
}

}  // namespace rusty::bench::compare
