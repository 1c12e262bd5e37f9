// Shared helpers of the lifecycle tests: a fresh state root per test, a
// recording FleetObserver, and run_fleet(), which builds a Fleet from
// fleet.json text (through parse_fleet, the public way), runs it under a
// watchdog and destroys it before returning, so that a test can check what
// the fleet left behind.
//
// Observer callbacks run on the reactor thread inside Fleet::run(): they
// only record (and call the test's hooks); every assertion is made after
// run() has returned, never from a callback.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/syscalls.hpp"
#include "lifecycle/events.hpp"
#include "lifecycle/fleet.hpp"
#include "tests/support/cgroups.hpp"
#include "tests/support/temp_dir.hpp"

namespace rusty::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Json = nlohmann::ordered_json;

// One container's output, as the observer received it: each call to
// on_output is one entry (a line, or a piece of a long line).
struct Output {
    std::vector<std::string> out;
    std::vector<std::string> err;
};

// Records every event and output line; optional hooks let a test act on
// them (kill a container, request a stop). Also keeps a pidfd per running
// container, so that the watchdog can end containers of a hung fleet and a
// failed run leaves no process behind.
class Recorder : public FleetObserver {
public:
    std::function<void(const Event&)> on_event_hook;
    std::function<void(const std::string&, OutputStream, std::string_view)> on_output_hook;
    // False: output lines are not kept (tests of millions of lines read the
    // log files instead).
    bool keep_output = true;

    ~Recorder() override { kill_running(); }

    void on_event(const Event& e) override {
        {
            std::lock_guard lock(mutex_);
            events_.push_back(e);
            if (e.kind == EventKind::Started && e.pid > 0) {
                // Not reaped before Exited is reported: the pid is still ours.
                int fd = sys::raw_pidfd_open(e.pid);
                if (fd >= 0) pidfds_[e.container] = UniqueFd(fd);
            } else if (e.kind == EventKind::Exited || e.kind == EventKind::Failed) {
                pidfds_.erase(e.container);
            }
        }
        if (on_event_hook) on_event_hook(e);
    }

    void on_output(const std::string& container, OutputStream stream, std::string_view line) override {
        if (keep_output) {
            std::lock_guard lock(mutex_);
            Output& o = output_[container];
            (stream == OutputStream::Stdout ? o.out : o.err).emplace_back(line);
        }
        if (on_output_hook) on_output_hook(container, stream, line);
    }

    // SIGKILLs and reaps every container that started and has not been
    // reported as ended (the test process is their parent).
    void kill_running() {
        std::lock_guard lock(mutex_);
        for (auto& [name, fd] : pidfds_) {
            sys::raw_pidfd_send_signal(fd.get(), SIGKILL);
            siginfo_t info{};
            ::waitid(P_PIDFD, static_cast<id_t>(fd.get()), &info, WEXITED);
        }
        pidfds_.clear();
    }
    // Only SIGKILL, no reaping: for the watchdog thread, while the reactor
    // thread may still reap.
    void signal_running() {
        std::lock_guard lock(mutex_);
        for (auto& [name, fd] : pidfds_) sys::raw_pidfd_send_signal(fd.get(), SIGKILL);
    }

    // Accessors for after run(): no lock needed then.
    const std::vector<Event>& events() const { return events_; }
    std::vector<Event> events_of(const std::string& container) const {
        std::vector<Event> r;
        for (const Event& e : events_)
            if (e.container == container) r.push_back(e);
        return r;
    }
    std::size_t count(EventKind kind) const {
        std::size_t n = 0;
        for (const Event& e : events_) n += e.kind == kind;
        return n;
    }
    // The only event of `kind` for `container`; fails the test otherwise.
    Event only(const std::string& container, EventKind kind) const {
        std::vector<Event> found;
        for (const Event& e : events_)
            if (e.container == container && e.kind == kind) found.push_back(e);
        INFO("container " << container << ", event " << to_string(kind) << "\n" << dump());
        REQUIRE(found.size() == 1);
        return found.front();
    }
    const Output& output(const std::string& container) const {
        static const Output none;
        auto it = output_.find(container);
        return it == output_.end() ? none : it->second;
    }
    const std::vector<std::string>& out(const std::string& container) const { return output(container).out; }
    const std::vector<std::string>& err(const std::string& container) const { return output(container).err; }
    // Values of the "key=value" lines a container printed on stdout, in order.
    std::vector<std::string> values(const std::string& container, const std::string& key) const {
        std::vector<std::string> r;
        for (const std::string& line : out(container))
            if (line.rfind(key + "=", 0) == 0) r.push_back(line.substr(key.size() + 1));
        return r;
    }
    // The single value of `key`; "<missing>" or "<repeated>" otherwise.
    std::string value(const std::string& container, const std::string& key) const {
        auto v = values(container, key);
        if (v.empty()) return "<missing>";
        if (v.size() > 1) return "<repeated>";
        return v.front();
    }
    // Everything recorded, for failure messages.
    std::string dump() const {
        std::ostringstream s;
        for (const Event& e : events_) s << to_json(e).dump() << "\n";
        for (const auto& [name, o] : output_) {
            for (const auto& l : o.out) s << name << " | " << l.substr(0, 300) << "\n";
            for (const auto& l : o.err) s << name << " ! " << l.substr(0, 300) << "\n";
        }
        return s.str();
    }

private:
    std::mutex mutex_;
    std::vector<Event> events_;
    std::map<std::string, Output> output_;
    std::map<std::string, UniqueFd> pidfds_;
};

// Turns a hung fleet into a failure: after `limit` it SIGKILLs the running
// containers (so that run() can return and the test report it), and should
// run() still not return, ends the test process. Its thread blocks every
// signal, so that signals sent to the process reach the fleet's signalfd.
class Watchdog {
public:
    Watchdog(std::chrono::milliseconds limit, Recorder& recorder) {
        sigset_t all, old;
        sigfillset(&all);
        ::pthread_sigmask(SIG_SETMASK, &all, &old);
        thread_ = std::thread([this, limit, &recorder] {
            std::unique_lock lock(mutex_);
            if (cv_.wait_for(lock, limit, [this] { return done_; })) return;
            fired_ = true;
            lock.unlock();
            recorder.signal_running();
            lock.lock();
            if (cv_.wait_for(lock, 20s, [this] { return done_; })) return;
            std::fprintf(stderr, "lifecycle test: Fleet::run() hangs even with its containers killed\n");
            std::_Exit(99);
        });
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
    ~Watchdog() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    bool fired() {
        std::lock_guard lock(mutex_);
        return fired_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    bool fired_ = false;
    std::thread thread_;
};

struct RunOptions {
    std::chrono::milliseconds stop_grace{200};
    bool handle_signals = false;
    std::chrono::milliseconds limit{30'000};  // the watchdog's
    std::optional<cgroup::Layout> cgroup_layout;  // default: the host's, detected
    fs::path config_path;  // FleetOptions::config_path: what a reload re-reads
};

// What a fleet leaves in its state directory once it has ended: nothing,
// or only its logs (<container>/container.log*) and the lock file that marks
// the directory as a fleet's. The paths left otherwise, for the message.
inline std::vector<std::string> state_left_besides_logs(const fs::path& state_dir) {
    std::vector<std::string> other;
    std::error_code ec;
    if (!fs::exists(state_dir, ec)) return other;
    bool logs = false;
    for (auto it = fs::recursive_directory_iterator(state_dir, ec); it != fs::recursive_directory_iterator(); ++it) {
        const fs::path rel = fs::relative(it->path(), state_dir);
        const std::string first = rel.begin()->string();
        if (rel == "lock") continue;
        if (it->is_directory() && std::distance(rel.begin(), rel.end()) == 1) continue;  // a container's
        if (std::distance(rel.begin(), rel.end()) == 2 && rel.filename().string().starts_with("container.log")) {
            logs = true;
            continue;
        }
        other.push_back(rel.string());
    }
    if (!logs && fs::exists(state_dir / "lock")) other.push_back("lock (with no log left)");
    return other;
}

struct RunResult {
    FleetResult result;
    fs::path state_dir;
    bool watchdog_fired = false;
    std::chrono::steady_clock::duration elapsed{};  // of run()
};

// fleet.json text for `containers` (name -> container object), in order.
inline std::string fleet_json(const std::string& name, const Json& containers) {
    Json doc;
    doc["name"] = name;
    doc["containers"] = containers;
    return doc.dump();
}

// A busybox container running `sh -c script`.
inline Json sh(const std::string& script) {
    return Json{{"image", "busybox"}, {"command", Json::array({"sh", "-c", script})}};
}

// Builds the fleet in `state_root`, runs it and destroys it. `fleet` points
// at the live Fleet during run() (for hooks calling request_stop()).
inline RunResult run_fleet(const std::string& json, const fs::path& state_root, Recorder& recorder,
                           const RunOptions& run = {}, Fleet** fleet_out = nullptr) {
    FleetSpec spec = parse_fleet(json, state_root, "test");
    FleetOptions options;
    options.state_root = state_root;
    options.stop_grace = run.stop_grace;
    options.handle_signals = run.handle_signals;
    options.cgroup_parent = test_cgroup_parent();
    options.cgroup_layout = run.cgroup_layout;
    options.config_path = run.config_path;
    RunResult r;
    {
        Fleet fleet(std::move(spec), options, recorder);
        r.state_dir = fleet.state_dir();
        if (fleet_out) *fleet_out = &fleet;
        // Started after the Fleet: its helper is forked while the process
        // has a single thread.
        Watchdog watchdog(run.limit, recorder);
        auto t0 = std::chrono::steady_clock::now();
        try {
            r.result = fleet.run();
        } catch (...) {
            if (fleet_out) *fleet_out = nullptr;
            recorder.kill_running();
            throw;
        }
        r.elapsed = std::chrono::steady_clock::now() - t0;
        r.watchdog_fired = watchdog.fired();
        if (fleet_out) *fleet_out = nullptr;
    }
    recorder.kill_running();  // nothing, unless the fleet lost a container
    INFO(recorder.dump());
    CHECK_FALSE(r.watchdog_fired);
    CHECK_NO_TEST_CGROUPS();
    return r;
}

// Milliseconds from a to b, for ordering checks.
inline long long ms_between(const Event& a, const Event& b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b.ts - a.ts).count();
}

// Builds the busybox image under `state_root` as a first run does, by
// running a one-container fleet there; returns the image's directory.
inline fs::path warm_busybox_image(const fs::path& state_root) {
    Recorder warm;
    Json one;
    one["warm"] = Json{{"image", "busybox"}, {"command", Json::array({"true"})}};
    run_fleet(fleet_json("warm", one), state_root, warm);
    return state_root / "images" / "busybox";
}

// readlink of one of this process's namespaces: "net:[4026531840]".
inline std::string host_namespace(const char* kind) {
    return fs::read_symlink(fs::path("/proc/self/ns") / kind).string();
}

// The pids /proc lists as children of any of this process's threads.
inline std::vector<std::string> child_pids() {
    std::vector<std::string> pids;
    for (const auto& task : fs::directory_iterator("/proc/self/task")) {
        std::ifstream in(task.path() / "children");
        std::string pid;
        while (in >> pid) pids.push_back(pid);
    }
    return pids;
}

inline std::size_t open_fd_count() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
    return n - 1;  // the iterator's own directory fd
}

inline std::size_t line_count(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) ++n;
    return n;
}

// A capability mask or signal set as /proc/<pid>/status shows it.
inline std::string hex16(std::uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

inline std::vector<std::string> split_words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> words;
    std::string w;
    while (in >> w) words.push_back(w);
    return words;
}

}  // namespace rusty::test
