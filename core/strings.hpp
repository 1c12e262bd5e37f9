// Small text helpers shared by the parser-like parts of the code (the
// container init's /etc/passwd reading, the image builder).
#pragma once

#include <string_view>
#include <vector>

namespace rusty {

// The pieces of `text` between `sep`s, empty ones included: "a::b" gives
// "a", "", "b"; "a:" gives "a", "". Allocates only the vector, so it is fine
// in a freshly cloned child.
inline std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    for (;;) {
        std::size_t at = text.find(sep);
        parts.push_back(text.substr(0, at));
        if (at == std::string_view::npos) return parts;
        text.remove_prefix(at + 1);
    }
}

}  // namespace rusty
