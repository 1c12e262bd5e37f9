// How the supervisor CLI shows a fleet: compose-like text, or JSON lines.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "lifecycle/events.hpp"

namespace rusty::cli {

enum class LogFormat { Text, Json };

class Printer : public FleetObserver {
public:
    // `names` aligns the "name |" prefixes, as compose does.
    Printer(LogFormat format, const std::vector<std::string>& names, std::FILE* out = stdout);

    void on_event(const Event& event) override;
    void on_output(const std::string& container, OutputStream stream, std::string_view line) override;

private:
    std::string prefix(const std::string& container) const;
    void write_line(const std::string& line);

    LogFormat format_;
    std::FILE* out_;
    std::size_t width_ = 0;
    bool color_ = false;
    std::vector<std::string> names_;
};

}  // namespace rusty::cli
