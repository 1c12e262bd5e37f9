#include "core/clock.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <ctime>

namespace rusty {
namespace {

// Reads exactly `width` digits at `pos`.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t width) {
    if (pos + width > text.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = pos; i < pos + width; ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

}  // namespace

std::string rfc3339(std::chrono::system_clock::time_point t, int fraction_digits) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
    long frac = static_cast<long>(ns % 1'000'000'000);
    if (frac < 0) {
        frac += 1'000'000'000;
        --secs;
    }
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    fraction_digits = std::clamp(fraction_digits, 0, 9);
    if (fraction_digits > 0) {
        for (int i = fraction_digits; i < 9; ++i) frac /= 10;
        n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%0*ld", fraction_digits, frac);
    }
    std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), "Z");
    return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view t) {
    // 2026-11-30T06:40:05[.fraction](Z|+hh:mm|-hh:mm)
    auto year = digits(t, 0, 4), month = digits(t, 5, 2), day = digits(t, 8, 2);
    auto hour = digits(t, 11, 2), minute = digits(t, 14, 2), second = digits(t, 17, 2);
    if (!year || !month || !day || !hour || !minute || !second || t[4] != '-' || t[7] != '-' ||
        (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || t[13] != ':' || t[16] != ':')
        return std::nullopt;
    if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60)
        return std::nullopt;
    std::size_t pos = 19;
    std::int64_t nanos = 0;
    if (pos < t.size() && t[pos] == '.') {
        ++pos;
        std::size_t n = 0;
        std::int64_t scale = 100'000'000;
        while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
            if (n < 9) nanos += (t[pos] - '0') * scale, scale /= 10;
            ++pos, ++n;
        }
        if (n == 0) return std::nullopt;
    }
    std::int64_t offset_seconds = 0;
    if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
        ++pos;
    } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
        auto oh = digits(t, pos + 1, 2), om = digits(t, pos + 4, 2);
        if (!oh || !om || t[pos + 3] != ':') return std::nullopt;
        offset_seconds = (*oh * 3600 + *om * 60) * (t[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != t.size()) return std::nullopt;
    std::tm tm{};
    tm.tm_year = *year - 1900;
    tm.tm_mon = *month - 1;
    tm.tm_mday = *day;
    tm.tm_hour = *hour;
    tm.tm_min = *minute;
    tm.tm_sec = *second;
    const std::int64_t secs = static_cast<std::int64_t>(::timegm(&tm)) - offset_seconds;
    return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::seconds(secs) +
                                                                         std::chrono::nanoseconds(nanos)));
}

}  // namespace rusty
