// Log capture (lifecycle/log_writer.hpp): every line in the container's log
// file, in order, in the CRI format; long lines as partial records; rotation
// without loss or duplicates; a flooding container slowed without slowing
// its neighbours; terminals.
#include <sys/resource.h>

#include <algorithm>

#include "core/clock.hpp"
#include "core/log_record.hpp"
#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {
namespace {

// The records of a container's log, oldest rotated file first.
std::vector<logs::Record> read_log(const fs::path& live) {
    std::vector<fs::path> files;
    for (int i = 1; fs::exists(live.string() + "." + std::to_string(i)); ++i)
        files.insert(files.begin(), live.string() + "." + std::to_string(i));
    files.push_back(live);
    std::vector<logs::Record> records;
    for (const fs::path& file : files) {
        std::ifstream in(file);
        std::string line;
        while (std::getline(in, line)) {
            std::optional<logs::Record> r = logs::parse_record(line);
            INFO(file << ": " << line.substr(0, 200));
            REQUIRE(r);
            records.push_back(std::move(*r));
        }
    }
    return records;
}

// "" if `stream` holds "<prefix> 1" … "<prefix> n", in order, as whole
// lines; else the first thing wrong.
std::string numbered_lines(const std::vector<logs::Record>& records, const std::string& stream,
                           const std::string& prefix, int n) {
    int next = 1;
    for (const logs::Record& r : records) {
        if (r.stream != stream) continue;
        const std::string expected = prefix + " " + std::to_string(next);
        if (r.partial || r.text != expected)
            return stream + ": expected \"" + expected + "\", found \"" + r.text + "\"" + (r.partial ? " (P)" : "");
        ++next;
    }
    if (next != n + 1) return stream + ": " + std::to_string(next - 1) + " lines instead of " + std::to_string(n);
    return "";
}

long rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string key;
    long value = 0;
    while (in >> key) {
        if (key == "VmRSS:") {
            in >> value;
            return value;
        }
        in.ignore(1 << 12, '\n');
    }
    return 0;
}

}  // namespace

TEST_CASE("100 containers writing 10,000 lines each to stdout and stderr at once: every line logged, in order",
          "[logs][slow]") {
    TempDir root;
    Recorder rec;
    rec.keep_output = false;
    Json containers;
    for (int i = 0; i < 100; ++i)
        containers["c" + std::to_string(i)] = sh("(seq 10000 | sed 's/^/err /' >&2) & seq 10000 | sed 's/^/out /'; wait");
    RunOptions options;
    options.limit = 120s;
    RunResult r = run_fleet(fleet_json("many", containers), root.path(), rec, options);
    REQUIRE(r.result.all_succeeded);
    for (int i = 0; i < 100; ++i) {
        const std::string name = "c" + std::to_string(i);
        std::vector<logs::Record> records = read_log(r.state_dir / name / "container.log");
        INFO(name);
        CHECK(numbered_lines(records, "stdout", "out", 10000) == "");
        CHECK(numbered_lines(records, "stderr", "err", 10000) == "");
    }
}

TEST_CASE("a 1 MiB line without a newline is kept whole across partial records", "[logs]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["long"] = sh("head -c 1048576 /dev/zero | tr '\\000' x");
    RunResult r = run_fleet(fleet_json("long", containers), root.path(), rec);
    REQUIRE(r.result.all_succeeded);
    std::vector<logs::Record> records = read_log(r.state_dir / "long" / "container.log");
    std::string joined;
    for (const logs::Record& rec_ : records) {
        CHECK(rec_.partial);  // cut at 16 KiB, and the last piece at exit
        CHECK(rec_.text.size() <= 16 * 1024);
        joined += rec_.text;
    }
    CHECK(records.size() == 64);
    CHECK(joined.size() == 1048576);
    CHECK(joined.find_first_not_of('x') == std::string::npos);
}

TEST_CASE("rotation at a small max-size keeps every line exactly once, across the files", "[logs]") {
    TempDir root;
    Recorder rec;
    rec.keep_output = false;
    Json containers;
    containers["rot"] = sh("seq 20000 | sed 's/^/line /'");
    containers["rot"]["logging"] = {{"driver", "cri"}, {"options", {{"max-size", "64k"}, {"max-file", "100"}}}};
    RunResult r = run_fleet(fleet_json("rot", containers), root.path(), rec);
    REQUIRE(r.result.all_succeeded);
    const fs::path live = r.state_dir / "rot" / "container.log";
    int files = 0;
    for (int i = 1; fs::exists(live.string() + "." + std::to_string(i)); ++i) {
        ++files;
        CHECK(fs::file_size(live.string() + "." + std::to_string(i)) <= 64 * 1024);
    }
    CHECK(files >= 10);  // about 1 MiB of records
    CHECK(numbered_lines(read_log(live), "stdout", "line", 20000) == "");
}

TEST_CASE("max-file bounds the files kept; json-file, none and passthrough drivers", "[logs]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["bounded"] = sh("seq 20000");
    containers["bounded"]["logging"] = {{"options", {{"max-size", "16k"}, {"max-file", "3"}}}};
    containers["json"] = sh("echo 'say \"hi\"'; printf 'no newline'");
    containers["json"]["logging"] = {{"driver", "json-file"}};
    containers["dropped"] = sh("echo nobody sees this");
    containers["dropped"]["logging"] = {{"driver", "none"}};
    containers["shown"] = sh("echo only to the observer");
    containers["shown"]["logging"] = {{"driver", "passthrough"}};
    const fs::path elsewhere = root.path() / "var-log" / "kept.log";
    containers["elsewhere"] = sh("echo kept elsewhere");
    containers["elsewhere"]["logging"] = {{"options", {{"path", elsewhere.string()}}}};
    RunResult r = run_fleet(fleet_json("drivers", containers), root.path(), rec);
    REQUIRE(r.result.all_succeeded);

    const fs::path bounded = r.state_dir / "bounded" / "container.log";
    CHECK(fs::exists(bounded.string() + ".2"));
    CHECK_FALSE(fs::exists(bounded.string() + ".3"));
    std::vector<logs::Record> kept = read_log(bounded);
    REQUIRE_FALSE(kept.empty());
    CHECK(kept.back().text == "20000");  // the newest lines are the ones kept
    for (std::size_t i = 1; i < kept.size(); ++i) CHECK(std::stoi(kept[i].text) == std::stoi(kept[i - 1].text) + 1);

    std::ifstream json_log(r.state_dir / "json" / "container.log");
    std::string first, second;
    std::getline(json_log, first);
    std::getline(json_log, second);
    const auto a = nlohmann::json::parse(first), b = nlohmann::json::parse(second);
    CHECK(a["log"] == "say \"hi\"\n");
    CHECK(a["stream"] == "stdout");
    CHECK(rusty::parse_rfc3339(a["time"].get<std::string>()));
    CHECK(b["log"] == "no newline");  // a partial line keeps no "\n", as docker's

    CHECK_FALSE(fs::exists(r.state_dir / "dropped" / "container.log"));
    CHECK(rec.out("dropped").empty());
    CHECK_FALSE(fs::exists(r.state_dir / "shown" / "container.log"));
    CHECK(rec.out("shown") == std::vector<std::string>{"only to the observer"});

    // Written where the entry says, and linked from the container's directory,
    // which outlives the fleet as the default log does.
    std::vector<logs::Record> linked = read_log(elsewhere);
    REQUIRE(linked.size() == 1);
    CHECK(linked[0].text == "kept elsewhere");
    CHECK(fs::read_symlink(r.state_dir / "elsewhere" / "container.log") == elsewhere);
}

TEST_CASE("a container writing flat out neither stalls a neighbour's restarts nor swells the supervisor", "[logs]") {
    TempDir root;
    warm_busybox_image(root.path());
    Recorder rec;
    rec.keep_output = false;
    Json containers;
    // As fast as it can, rotated so as not to fill the disk.
    containers["flood"] = sh("yes 0123456789012345678901234567890123456789012345678901234567890123456789");
    containers["flood"]["logging"] = {{"options", {{"max-size", "4m"}, {"max-file", "2"}}}};
    containers["crashy"] = sh("exit 1");
    containers["crashy"]["restart"] = "always";
    containers["crashy"]["restart_backoff"] = {{"initial", "0s"}};
    // Exit-to-start gaps of crashy, measured once the flood is under way.
    std::vector<double> gaps_ms;
    std::optional<Event> last_exit;
    long rss_start = 0, rss_peak = 0;
    Fleet* fleet = nullptr;
    rec.on_event_hook = [&](const Event& e) {
        if (e.container != "crashy") return;
        if (e.kind == EventKind::Exited) {
            last_exit = e;
            if (rss_start == 0 && e.restarts == 20) rss_start = rss_kib();
            rss_peak = std::max(rss_peak, rss_kib());
        } else if (e.kind == EventKind::Started && last_exit && e.restarts > 20) {
            gaps_ms.push_back(std::chrono::duration<double, std::milli>(e.ts - last_exit->ts).count());
            if (gaps_ms.size() == 200 && fleet) fleet->request_stop();
        }
    };
    RunOptions options;
    options.limit = 60s;
    RunResult r = run_fleet(fleet_json("flood", containers), root.path(), rec, options, &fleet);
    // Restarts kept coming under the flood: 200 after the first 20, within
    // the time limit. How fast they come is a speed target, measured in
    // bench/, not here; the gaps are only shown.
    std::sort(gaps_ms.begin(), gaps_ms.end());
    INFO("exit-to-restart under flood: median " << (gaps_ms.empty() ? 0.0 : gaps_ms[gaps_ms.size() / 2]) << " ms");
    REQUIRE(gaps_ms.size() >= 200);
    // The flood's lines went somewhere: its log holds megabytes.
    const fs::path flood_log = r.state_dir / "flood" / "container.log";
    CHECK(fs::file_size(flood_log.string() + ".1") >= 3 * 1024 * 1024);
    // And the supervisor (this process) stayed within its bound: buffers of
    // 256 KiB per container, not the flood's megabytes.
    INFO("RSS " << rss_start << " KiB then at most " << rss_peak << " KiB");
    CHECK(rss_peak - rss_start < 16 * 1024);
}

TEST_CASE("tty: the container's stdio is a terminal of its own devpts, also /dev/console, 24x80", "[logs][tty]") {
    TempDir root;
    Recorder rec;
    Json containers;
    containers["term"] = sh("tty; stty size; [ /dev/console -ef /proc/self/fd/0 ] && echo console=stdin; echo TERM=$TERM; "
                            "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-terminals; echo to-stderr >&2");
    containers["term"]["tty"] = true;
    RunResult r = run_fleet(fleet_json("tty", containers), root.path(), rec);
    REQUIRE(r.result.all_succeeded);
    CHECK(rec.out("term") ==
          std::vector<std::string>{"/dev/pts/0", "24 80", "console=stdin", "TERM=xterm", "all-terminals", "to-stderr"});
    // One stream, logged as stdout, without the terminal's "\r".
    std::vector<logs::Record> records = read_log(r.state_dir / "term" / "container.log");
    REQUIRE(records.size() == 6);
    for (const logs::Record& rec_ : records) CHECK(rec_.stream == "stdout");
    CHECK(records[0].text == "/dev/pts/0");
}

}  // namespace rusty::test
