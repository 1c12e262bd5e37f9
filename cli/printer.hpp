// How the supervisor CLI shows a fleet: compose-like text, or JSON lines.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "lifecycle/events.hpp"

namespace rusty::cli {

enum class LogFormat { Text, Json };

// The colour of the `index`th container's "name |" prefix, cycling as
// compose does (`logs` colours alike), and the escape that ends it.
const char* prefix_colour(std::size_t index);
inline constexpr const char* kColourReset = "\033[0m";

// Whether a Text printer shows one status line per container, redrawn in
// place while the fleet starts, as `docker compose up` does.
enum class StatusLines {
    Auto,  // when the output is a terminal (and TERM is not "dumb")
    On,
    Off,
};

class Printer : public FleetObserver {
public:
    // `names` aligns the "name |" prefixes, as compose does, and orders the
    // status lines.
    Printer(LogFormat format, const std::vector<std::string>& names, std::FILE* out = stdout,
            StatusLines status_lines = StatusLines::Auto);

    ~Printer() override;
    Printer(const Printer&) = delete;
    Printer& operator=(const Printer&) = delete;

    void on_event(const Event& event) override;
    void on_output(const std::string& container, OutputStream stream, std::string_view line) override;

private:
    // A container's line in the status block.
    struct Status {
        enum class Mark { Waiting, Good, Bad };
        Mark mark = Mark::Waiting;
        std::string text = "Waiting";
        bool settled = false;  // it has started, failed or exited at least once
        std::string shown;     // the line as last drawn
    };
    // The status block is drawn at the first event and updated in place
    // while only lifecycle events arrive. The first output line, or the
    // first event once every container has settled, freezes it (left on
    // screen, redrawn a last time); from then on, and when it is not wanted
    // at all, everything prints as plain lines below it.
    enum class Block { NotDrawn, Live, Done };

    static constexpr std::size_t kMaxPending = 1 << 20;
    bool room_for_output();
    void flush_pending(bool wait);
    std::string prefix(const std::string& container) const;
    void write_line(const std::string& line);
    void write(const std::string& bytes);
    std::string event_text(const Event& event) const;

    // True if the event was shown in the live block (and so not as a line).
    bool show_in_block(const Event& event);
    static void update(Status& status, const Event& event);
    std::string status_line(std::size_t index, std::size_t columns) const;
    void draw_block();
    void redraw_line(std::size_t index);
    void freeze_block();

    LogFormat format_;
    std::FILE* out_;
    std::size_t width_ = 0;
    bool color_ = false;
    std::vector<std::string> names_;
    Block block_ = Block::Done;
    std::vector<Status> statuses_;  // one per name
    std::uint64_t skipped_ = 0;     // output lines not shown since the last one that was
    std::string pending_;           // printed, waiting for room in out_
};

}  // namespace rusty::cli
