#include "core/units.hpp"

#include <cctype>
#include <cmath>
#include <limits>
#include <string>

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

}  // namespace rusty
