#include "core/units.hpp"

#include <signal.h>
#include <string.h>

#include <cctype>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>

namespace rusty {

std::optional<std::int64_t> parse_size(std::string_view text) {
    std::size_t i = 0;
    long double value = 0;
    bool digits = false;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        value = value * 10 + (text[i++] - '0');
        digits = true;
    }
    if (!digits) return std::nullopt;
    if (i < text.size() && text[i] == '.') {
        ++i;
        long double scale = 0.1L;
        bool fraction = false;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            value += (text[i++] - '0') * scale;
            scale /= 10;
            fraction = true;
        }
        if (!fraction) return std::nullopt;
    }
    if (i < text.size() && text[i] == ' ') ++i;
    std::string unit;
    for (; i < text.size(); ++i) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    long double multiplier = 1;
    if (!unit.empty() && unit != "b") {
        constexpr std::string_view prefixes = "kmgtp";
        std::size_t power = prefixes.find(unit[0]);
        if (power == std::string_view::npos) return std::nullopt;
        std::string_view rest = std::string_view(unit).substr(1);
        if (!rest.empty() && rest != "b" && rest != "ib") return std::nullopt;
        multiplier = std::pow(1024.0L, static_cast<long double>(power + 1));
    }
    const long double bytes = std::floor(value * multiplier);
    if (bytes > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(bytes);
}

std::optional<unsigned> parse_cpu_list(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::optional<unsigned> highest;
    auto number = [&](std::size_t& i) -> std::optional<unsigned> {
        unsigned n = 0;
        std::size_t start = i;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            n = n * 10 + static_cast<unsigned>(text[i++] - '0');
            if (n > 65535) return std::nullopt;
        }
        if (i == start) return std::nullopt;
        return n;
    };
    std::size_t i = 0;
    for (;;) {
        auto first = number(i);
        if (!first) return std::nullopt;
        unsigned last = *first;
        if (i < text.size() && text[i] == '-') {
            ++i;
            auto end = number(i);
            if (!end || *end < *first) return std::nullopt;
            last = *end;
        }
        if (!highest || last > *highest) highest = last;
        if (i == text.size()) return highest;
        if (text[i++] != ',') return std::nullopt;
    }
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    using namespace std::chrono;
    constexpr long double year_ns = 365.0L * 24 * 3600 * 1e9L;
    struct Unit {
        std::string_view name;
        long double ns;
    };
    // Longest names first, so that "ms" is not read as "m".
    constexpr Unit units[] = {{"ns", 1},     {"us", 1e3L},         {"\u00b5s", 1e3L}, {"ms", 1e6L},
                              {"s", 1e9L},   {"m", 60e9L},         {"h", 3600e9L}};
    if (text.empty()) return std::nullopt;
    long double total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        long double value = 0;
        bool digits = false;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            value = value * 10 + (text[i++] - '0');
            digits = true;
        }
        if (i < text.size() && text[i] == '.') {
            ++i;
            long double scale = 0.1L;
            while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
                value += (text[i++] - '0') * scale;
                scale /= 10;
                digits = true;
            }
        }
        if (!digits) return std::nullopt;
        const Unit* unit = nullptr;
        for (const Unit& u : units) {
            if (text.substr(i).starts_with(u.name) &&
                !(u.name == "m" && text.substr(i).starts_with("ms")))
                if (!unit) unit = &u;
        }
        if (!unit) return std::nullopt;
        i += unit->name.size();
        total += value * unit->ns;
        if (total > year_ns) return std::nullopt;
    }
    // Rounded, not truncated: "0.001s" sums to 999999.99… ns in binary.
    return nanoseconds(std::llround(total));
}

std::optional<int> parse_signal(std::string_view text) {
    if (text.empty()) return std::nullopt;
    if (std::isdigit(static_cast<unsigned char>(text[0]))) {
        int n = 0;
        for (char c : text) {
            if (!std::isdigit(static_cast<unsigned char>(c)) || n > 64) return std::nullopt;
            n = n * 10 + (c - '0');
        }
        if (n < 1 || n > 64) return std::nullopt;
        return n;
    }
    std::string name;
    for (char c : text) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name.starts_with("SIG")) name.erase(0, 3);
    for (int sig = 1; sig < 32; ++sig) {
        const char* abbrev = sigabbrev_np(sig);
        if (abbrev && name == abbrev) return sig;
    }
    // Real-time signals as Docker and runc name them: RTMIN, RTMIN+n,
    // RTMAX-n, RTMAX (glibc keeps the first two for itself: RTMIN is 34).
    const int rtmin = SIGRTMIN, rtmax = SIGRTMAX;
    auto offset = [&](std::string_view rest) -> std::optional<int> {
        if (rest.empty()) return 0;
        if (rest.size() > 3 || (rest[0] != '+' && rest[0] != '-')) return std::nullopt;
        int n = 0;
        for (char c : rest.substr(1)) {
            if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
            n = n * 10 + (c - '0');
        }
        if (rest.size() == 1) return std::nullopt;
        return rest[0] == '+' ? n : -n;
    };
    for (auto [prefix, base, sign] : {std::tuple{"RTMIN", rtmin, 1}, std::tuple{"RTMAX", rtmax, -1}}) {
        if (!std::string_view(name).starts_with(prefix)) continue;
        const std::optional<int> n = offset(std::string_view(name).substr(5));
        if (!n || *n * sign < 0) return std::nullopt;
        const int sig = base + *n;
        if (sig < rtmin || sig > rtmax) return std::nullopt;
        return sig;
    }
    return std::nullopt;
}

}  // namespace rusty
