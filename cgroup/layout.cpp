#include "cgroup/layout.hpp"

#include <algorithm>

#include "cgroup/cgroup.hpp"
#include "core/error.hpp"
#include "core/file.hpp"
#include "core/strings.hpp"

namespace rusty::cgroup {
namespace fs = std::filesystem;

namespace {

// mountinfo escapes blanks and backslashes in paths as \ooo.
std::string unescape_octal(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size()) {
            const std::string_view digits = text.substr(i + 1, 3);
            if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
                out += static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 + (digits[2] - '0'));
                i += 3;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    for (std::string_view w : split(line, ' '))
        if (!w.empty()) out.push_back(w);
    return out;
}

}  // namespace

std::string_view to_string(Mode mode) {
    switch (mode) {
        case Mode::V2: return "v2";
        case Mode::V1: return "v1";
        case Mode::Hybrid: return "hybrid";
        case Mode::None: return "none";
    }
    return "unknown";
}

Layout Layout::detect() {
    std::string mountinfo = read_file("/proc/self/mountinfo");
    Layout layout = from_mountinfo(mountinfo, "");
    if (!layout.v2_root_.empty()) {
        std::string controllers = read_file(layout.v2_root_ / "cgroup.controllers");
        for (std::string_view c : words(controllers.substr(0, controllers.find('\n'))))
            layout.v2_controllers_.emplace(c);
    }
    return layout;
}

Layout Layout::from_mountinfo(std::string_view mountinfo, std::string_view v2_controllers) {
    Layout layout;
    for (std::string_view line : split(mountinfo, '\n')) {
        // id parent major:minor root mount-point options [optional…] - fstype source super-options
        std::vector<std::string_view> f = words(line);
        auto dash = std::find(f.begin(), f.end(), std::string_view("-"));
        if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
        std::string_view fstype = dash[1];
        // A mount of a sub-cgroup (inside a container) is not a hierarchy root.
        if (f[3] != "/") continue;
        fs::path mount_point = unescape_octal(f[4]);
        if (fstype == "cgroup2") {
            if (layout.v2_root_.empty()) layout.v2_root_ = mount_point;
        } else if (fstype == "cgroup") {
            for (std::string_view option : split(dash[3], ',')) {
                for (std::string_view known : kControllers) {
                    if (option == known && !layout.v1_roots_.contains(std::string(known)))
                        layout.v1_roots_.emplace(known, mount_point);
                }
            }
        }
    }
    for (std::string_view c : words(v2_controllers)) layout.v2_controllers_.emplace(c);
    if (auto memory = layout.v1_root("memory")) {
        std::error_code ec;
        layout.v1_swap_accounting_ = fs::exists(*memory / "memory.memsw.limit_in_bytes", ec);
    }
    return layout;
}

Layout Layout::make(fs::path v2_root, std::set<std::string> v2_controllers, std::map<std::string, fs::path> v1_roots,
                    bool v1_swap_accounting) {
    Layout layout;
    layout.v2_root_ = std::move(v2_root);
    layout.v2_controllers_ = std::move(v2_controllers);
    layout.v1_roots_ = std::move(v1_roots);
    layout.stand_in_ = true;
    layout.v1_swap_accounting_ = v1_swap_accounting && layout.v1_roots_.contains("memory");
    return layout;
}

Mode Layout::mode() const {
    if (!v2_root_.empty()) return v1_roots_.empty() ? Mode::V2 : Mode::Hybrid;
    return v1_roots_.empty() ? Mode::None : Mode::V1;
}

Version Layout::where(std::string_view controller) const {
    if (!v2_root_.empty() && v2_controllers_.contains(std::string(controller))) return Version::V2;
    if (v1_roots_.contains(std::string(controller))) return Version::V1;
    return Version::None;
}

std::optional<fs::path> Layout::v1_root(std::string_view controller) const {
    auto it = v1_roots_.find(std::string(controller));
    if (it == v1_roots_.end()) return std::nullopt;
    return it->second;
}

std::string Layout::describe() const {
    std::string text(to_string(mode()));
    if (!v2_root_.empty()) {
        text += " (v2 " + v2_root_.string() + ":";
        for (const std::string& c : v2_controllers_) text += " " + c;
        if (v2_controllers_.empty()) text += " no controllers";
        text += v1_roots_.empty() ? ")" : ";";
    } else if (!v1_roots_.empty()) {
        text += " (";
    }
    if (!v1_roots_.empty()) {
        text += " v1:";
        for (const auto& [c, path] : v1_roots_) text += " " + c;
        text += ")";
    }
    return text;
}

}  // namespace rusty::cgroup
