// What the benchmarks share. For the start-latency ones: their common
// options, the percentile summary, the printed table and the JSON report
// (rusty and the floor go through the same code here, so their numbers
// compare directly). For all: writing a report, a temporary directory,
// finding a program in PATH, and main()'s root check and error handling.
// The cgroup subtree a bench owns is bench/cgroup_tree.hpp.
#pragma once

#include <unistd.h>

#include <stdlib.h>
#include <sys/utsname.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace rusty::bench {

using Clock = std::chrono::steady_clock;

inline double to_ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// One recorded start.
struct Sample {
    double to_running_ms = 0;  // start → the command was exec'd
    double to_exit_ms = 0;     // start → exit reaped (and, for rusty, pipes drained)
};

struct Summary {
    std::size_t count = 0;
    double min = 0, p50 = 0, p95 = 0, p99 = 0, max = 0, mean = 0;
};

// Nearest-rank percentiles: every reported value is one that was measured.
inline Summary summarize(std::vector<double> values) {
    Summary s;
    s.count = values.size();
    if (values.empty()) return s;
    std::sort(values.begin(), values.end());
    auto rank = [&](double p) {
        auto k = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
        return values[std::clamp<std::size_t>(k, 1, values.size()) - 1];
    };
    s.min = values.front();
    s.p50 = rank(50);
    s.p95 = rank(95);
    s.p99 = rank(99);
    s.max = values.back();
    s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    return s;
}

inline nlohmann::json to_json(const Summary& s) {
    return {{"count", s.count}, {"min_ms", s.min}, {"p50_ms", s.p50}, {"p95_ms", s.p95},
            {"p99_ms", s.p99},  {"max_ms", s.max}, {"mean_ms", s.mean}};
}

// The options both benchmarks take, with the same meaning.
struct CommonOptions {
    int count = 200;
    int warmup = 10;
    std::string network = "none";
    int idle_ms = 0;
    bool quick = false;
    std::string json_path;

    void add_to(CLI::App& app) {
        app.add_option("-n,--count", count, "recorded starts")->check(CLI::PositiveNumber);
        app.add_option("--warmup", warmup, "starts run first and not recorded")->check(CLI::NonNegativeNumber);
        app.add_option("--network", network, "none: own network namespace; host: the host's")
            ->check(CLI::IsMember({"none", "host"}));
        app.add_option("--idle-ms", idle_ms,
                       "sleep this long before each start, off the clock (0: back to back). About 100 ms "
                       "of idle makes the next cgroup.procs write wait for an RCU grace period")
            ->check(CLI::NonNegativeNumber);
        app.add_flag("--quick", quick, "n=20, warmup 2 (for CI)");
        app.add_option("--json", json_path, "write every sample and the summary to FILE");
    }

    // Applies --quick once the command line is parsed.
    void finish() {
        if (quick) {
            count = 20;
            warmup = 2;
        }
    }

    bool host_network() const { return network == "host"; }

    // Sleeps before the next start, when --idle-ms asks for it (never on the clock).
    std::chrono::milliseconds idle() const { return std::chrono::milliseconds(idle_ms); }

    // ", idle 100 ms" or ", back to back": for titles.
    std::string pacing() const {
        return idle_ms > 0 ? ", idle " + std::to_string(idle_ms) + " ms before each start" : ", back to back";
    }

    nlohmann::json to_json() const {
        return {{"count", count}, {"warmup", warmup}, {"network", network}, {"idle_ms", idle_ms}};
    }
};

// A further per-start measurement a bench reports beside the two standard
// ones (e.g. the floor's cgroup setup), printed and summarized the same way.
struct Series {
    std::string name;  // a table row label and a JSON key: "cgroup_setup"
    std::vector<double> values;
};

inline void print_table(const std::string& title, const std::vector<Sample>& samples,
                        const std::vector<Series>& extra = {}) {
    std::vector<double> exit_ms, running_ms;
    for (const Sample& s : samples) {
        exit_ms.push_back(s.to_exit_ms);
        running_ms.push_back(s.to_running_ms);
    }
    std::printf("%s (n=%zu, milliseconds)\n", title.c_str(), samples.size());
    std::printf("  %-18s %8s %8s %8s %8s %8s %8s\n", "", "min", "p50", "p95", "p99", "max", "mean");
    auto row = [](const char* name, const Summary& s) {
        std::printf("  %-18s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f\n", name, s.min, s.p50, s.p95, s.p99, s.max,
                    s.mean);
    };
    row("start-to-running", summarize(running_ms));
    row("start-to-exit", summarize(exit_ms));
    for (const Series& e : extra) row(e.name.c_str(), summarize(e.values));
    std::fflush(stdout);
}

// Enough context to tell two reports apart later: what ran, on what kernel.
inline nlohmann::json report(const std::string& benchmark, nlohmann::json config,
                             const std::vector<Sample>& samples, const std::vector<Series>& extra = {}) {
    std::vector<double> exit_ms, running_ms;
    nlohmann::json rows = nlohmann::json::array();
    for (const Sample& s : samples) {
        exit_ms.push_back(s.to_exit_ms);
        running_ms.push_back(s.to_running_ms);
        rows.push_back({{"start_to_running_ms", s.to_running_ms}, {"start_to_exit_ms", s.to_exit_ms}});
    }
    for (const Series& e : extra) {
        for (std::size_t i = 0; i < e.values.size() && i < rows.size(); ++i) rows[i][e.name + "_ms"] = e.values[i];
    }
    utsname uts{};
    ::uname(&uts);
    nlohmann::json summary = {{"start_to_running", to_json(summarize(running_ms))},
                              {"start_to_exit", to_json(summarize(exit_ms))}};
    for (const Series& e : extra) summary[e.name] = to_json(summarize(e.values));
    return {{"benchmark", benchmark},
            {"kernel", uts.release},
            {"config", std::move(config)},
            {"samples", std::move(rows)},
            {"summary", std::move(summary)}};
}

// Writes `text` to `path` in place (a report path may be /dev/stdout, so
// not through a temporary file and a rename).
inline void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Error("write \"" + path.string() + "\" failed");
}

inline void write_json(const std::filesystem::path& path, const nlohmann::json& j) { write_text(path, j.dump(2) + "\n"); }

// A fresh directory under /tmp, removed with everything in it at the end.
// Containers mount only inside their own mount namespaces, so nothing is
// ever mounted below it in ours.
class TempDir {
public:
    explicit TempDir(const char* prefix) {
        std::string pattern = std::string("/tmp/") + prefix + "-XXXXXX";
        if (!::mkdtemp(pattern.data())) throw_sys("mkdtemp(\"" + pattern + "\")");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// `name` looked up in PATH (as given if it holds a '/'); empty if it is not
// there or not executable.
inline std::filesystem::path find_program(const std::string& name) {
    if (name.find('/') != std::string::npos)
        return ::access(name.c_str(), X_OK) == 0 ? std::filesystem::path(name) : std::filesystem::path();
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

// Prints the table and, when asked, writes every sample as JSON.
inline void publish(const std::string& benchmark, const std::string& title, const CommonOptions& options,
                    nlohmann::json config, const std::vector<Sample>& samples, const std::vector<Series>& extra = {}) {
    print_table(title, samples, extra);
    if (!options.json_path.empty())
        write_json(options.json_path, report(benchmark, std::move(config), samples, extra));
}

// The shared tail of each bench's main(): needs root, turns errors into exit 1.
template <class Run>
int run_as_root(const char* benchmark, Run&& run) {
    if (::geteuid() != 0) {
        std::fprintf(stderr, "%s: must run as root (it creates namespaces and mounts)\n", benchmark);
        return 1;
    }
    try {
        return run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", benchmark, e.what());
        return 1;
    }
}

}  // namespace rusty::bench
