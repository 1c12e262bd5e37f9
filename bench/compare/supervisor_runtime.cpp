// rusty-supervisor: one running supervisor per network variant, asked over
// its control socket to `start` containers that ran once and exited: what
// fleet users get.
#include <poll.h>
#include <signal.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>

#include "bench/compare/control_connection.hpp"
#include "bench/compare/processes.hpp"
#include "bench/compare/runtime.hpp"
#include "bench/compare/text.hpp"
#include "bench/compare/workload.hpp"
#include "core/error.hpp"

namespace rusty::bench::compare {

namespace {

// Through a running supervisor: one per network variant, holding an anchor
// container (so the fleet does not end) and b0…b<max-1> that ran once at the
// start; a sample is one `start` request naming n of them.
class SupervisorRuntime : public Runtime {
public:
    SupervisorRuntime(Context& ctx, fs::path supervisor)
        : Runtime("rusty-supervisor", "a running rusty-supervisor, `start` over its control socket", true),
          ctx_(ctx),
          supervisor_(std::move(supervisor)) {
        root_ = ctx.work / "fleet-root";
        fs::create_directories(root_);
        for (const std::string& network : ctx.networks) fleets_[network] = std::make_unique<Fleet>();
        try {
            // Start them all first, then wait: they come up side by side.
            for (const std::string& network : ctx.networks) launch(network, *fleets_[network]);
            for (const std::string& network : ctx.networks) wait_ready(*fleets_[network]);
        } catch (...) {
            for (auto& [network, f] : fleets_) kill_and_reap(f->proc);
            ctx_.tree.kill_below("fleet");
            throw;
        }
    }

    ~SupervisorRuntime() override {
        std::vector<std::string> ignored;
        finish(ignored);
    }

    bool sees_running() const override { return true; }

    json describe() const override {
        json sample;
        if (!fleets_.empty()) sample = fleets_.begin()->second->sample;
        return {{"how", supervisor_.string() + " --config FLEET.json --root ROOT --cgroup-parent /" +
                            ctx_.tree.top() +
                            "/fleet --log-format json --stop-timeout 1, one per network variant; a sample writes "
                            "{\"verb\":\"start\",\"args\":{\"names\":[…]}} to ROOT/<fleet>/control.sock and ends at "
                            "the last `exited` event (running: the last `started` event) on a second connection "
                            "subscribed with {\"verb\":\"events\"}"},
                {"binary", supervisor_.string()},
                {"fleet_json_excerpt", sample}};
    }

    Outcome run(int n, const std::string& network, Clock::duration timeout) override {
        Fleet& f = *fleets_.at(network);
        if (!f.alive) return failed("rusty-supervisor (" + network + "): not running: " + f.death);
        // Off the clock: the request, and nothing stale on the event stream.
        const int id = ++f.next_id;
        json names = json::array();
        for (int i = 0; i < n; ++i) names.push_back("b" + std::to_string(i));
        const std::string request = json{{"id", id}, {"verb", "start"}, {"args", {{"names", names}}}}.dump();
        f.events->drain();
        std::vector<char> started(n, 0), exited(n, 0);
        int started_count = 0, exited_count = 0;
        bool replied = false;
        Clock::time_point all_running{}, all_exited{};

        const Clock::time_point t0 = Clock::now();
        const Clock::time_point deadline = t0 + timeout;
        try {
            f.control->send(request);
            while (!(replied && exited_count == n)) {
                while (auto line = f.control->pop()) {
                    const json reply = json::parse(*line, nullptr, false);
                    if (reply.is_discarded() || reply.value("id", -1) != id) continue;
                    if (!reply.value("ok", false))
                        return failed("rusty-supervisor: start refused: " + reply.value("error", *line));
                    replied = true;
                }
                while (auto line = f.events->pop()) {
                    const Clock::time_point now = Clock::now();
                    const json j = json::parse(*line, nullptr, false);
                    if (j.is_discarded() || !j.contains("event")) continue;
                    const json& e = j["event"];
                    const std::string container = e.value("container", "");
                    if (container.size() < 2 || container[0] != 'b') continue;
                    const int i = std::atoi(container.c_str() + 1);
                    if (i < 0 || i >= n || container != "b" + std::to_string(i)) continue;
                    const std::string kind = e.value("event", "");
                    if (kind == "started" && !started[i]) {
                        started[i] = 1;
                        if (++started_count == n) all_running = now;
                    } else if (kind == "exited" && !exited[i]) {
                        const json code = e.value("exit_code", json());
                        if (!code.is_number() || code.get<int>() != 0)
                            return failed("rusty-supervisor: " + container + " exited: " + e.dump());
                        exited[i] = 1;
                        if (++exited_count == n) all_exited = now;
                    } else if (kind == "failed") {
                        return failed("rusty-supervisor: " + container + " failed: " + e.value("error", e.dump()));
                    }
                }
                if (replied && exited_count == n) break;
                pollfd fds[3] = {{f.control->fd(), POLLIN, 0}, {f.events->fd(), POLLIN, 0}, {f.proc.pidfd.get(), POLLIN, 0}};
                const int r = ::poll(fds, 3, poll_timeout(deadline));
                if (r < 0 && errno == EINTR) {
                    check_interrupted();
                    continue;
                }
                if (r < 0) throw_sys("poll(control socket)");
                if (r == 0 && Clock::now() >= deadline) {
                    return failed("rusty-supervisor: timed out after " + seconds_text(timeout) + " (" + std::to_string(started_count) + " of " + std::to_string(n) + " started, " +
                                  std::to_string(exited_count) + " exited, reply " + (replied ? "in" : "not in") + ")");
                }
                if (fds[0].revents) f.control->fill();
                if (fds[1].revents) f.events->fill();
                if (fds[2].revents && !fds[0].revents && !fds[1].revents) {
                    try_reap(f.proc);
                    f.alive = false;
                    f.death = exit_text(f.proc.status) + ": " + output_tail(f.log);
                    return failed("rusty-supervisor (" + network + ") died: " + f.death);
                }
            }
        } catch (const Error& e) {
            if (interrupted()) throw;
            return failed(std::string("rusty-supervisor: ") + e.what());
        }
        Outcome out;
        out.to_exit_ms = bench::to_ms(all_exited - t0);
        out.to_running_ms = bench::to_ms(all_running - t0);
        return out;
    }

    // Stops each fleet ({"verb":"stop"}) and waits for its supervisor to exit.
    void finish(std::vector<std::string>& notes) override {
        for (auto& [network, f] : fleets_) {
            if (f->proc.done || !f->proc.pidfd) continue;
            try {
                if (f->control) f->control->send(json{{"id", ++f->next_id}, {"verb", "stop"}}.dump());
            } catch (const Error&) {
                ::kill(f->proc.pid, SIGTERM);
            }
            std::vector<Proc*> all = {&f->proc};
            if (!wait_all(all, Clock::now() + std::chrono::seconds(30))) {
                notes.push_back("rusty-supervisor (" + network + ") did not stop within 30 s: killed");
                kill_and_reap(f->proc);
                ctx_.tree.kill_below("fleet");
            } else if (f->proc.status.signal != 0 || f->proc.status.exit_code != 0) {
                notes.push_back("rusty-supervisor (" + network + ") ended with " + exit_text(f->proc.status) + ": " +
                                output_tail(f->log, 500));
            }
        }
    }

private:
    struct Fleet {
        std::string name;
        Proc proc;
        fs::path log;
        std::optional<LineConn> control, events;
        int next_id = 0;
        bool alive = true;
        std::string death;
        json sample;
        std::unique_ptr<CArgv> argv;
    };

    void launch(const std::string& network, Fleet& f) {
        f.name = "bench-" + network;
        json containers = json::object();
        json anchor = rusty_container(ctx_, network, {"sleep", "100000"});
        anchor["stop_grace_period"] = "100ms";  // sleep as pid 1 ignores SIGTERM
        containers["anchor"] = anchor;
        for (int i = 0; i < ctx_.max_n; ++i) {
            json b = rusty_container(ctx_, network, {"/bin/true"});
            b["restart"] = "no";
            containers["b" + std::to_string(i)] = b;
        }
        const json spec = {{"name", f.name}, {"containers", containers}};
        f.sample = {{"name", f.name},
                    {"containers", {{"anchor", anchor}, {"b0", containers["b0"]}, {"…", "b1 … b" + std::to_string(ctx_.max_n - 1) + " like b0"}}}};
        const fs::path file = ctx_.work / (f.name + ".json");
        bench::write_text(file, spec.dump(2) + "\n");
        f.log = ctx_.work / "logs" / (f.name + ".log");
        fs::create_directories(f.log.parent_path());
        UniqueFd out(::open(f.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!out) throw_sys("open(\"" + f.log.string() + "\")");
        f.argv = std::make_unique<CArgv>(std::vector<std::string>{
            supervisor_.string(), "--config", file.string(), "--root", root_.string(), "--cgroup-parent",
            ctx_.tree.path("fleet"), "--log-format", "json", "--stop-timeout", "1"});
        f.proc = spawn(*f.argv, out.get(), -1, ctx_.null_fd.get());
    }

    // Until its control socket answers and every b<i> has run once and exited.
    void wait_ready(Fleet& f) {
        const Clock::time_point deadline = Clock::now() + std::chrono::seconds(60 + ctx_.max_n / 5);
        const fs::path socket = root_ / f.name / "control.sock";
        auto dead = [&] {
            if (!try_reap(f.proc)) return false;
            throw Error("rusty-supervisor (" + f.name + ") ended at its start with " + exit_text(f.proc.status) + ": " +
                        output_tail(f.log));
        };
        while (!f.control) {
            dead();
            check_interrupted();
            if (Clock::now() >= deadline) throw Error("rusty-supervisor (" + f.name + "): no control socket at " + socket.string());
            try {
                if (fs::exists(socket)) f.control = LineConn::connect(socket);
            } catch (const Error&) {
            }
            if (!f.control) sleep_ms(10);
        }
        f.events = LineConn::connect(socket);
        f.events->send(json{{"id", 0}, {"verb", "events"}}.dump());
        auto subscribed = f.events->next(deadline);
        if (!subscribed || subscribed->find("subscribed") == std::string::npos)
            throw Error("rusty-supervisor (" + f.name + "): events subscription: " + subscribed.value_or("no reply"));
        for (;;) {
            dead();
            const int id = ++f.next_id;
            f.control->send(json{{"id", id}, {"verb", "ps"}}.dump());
            std::optional<std::string> line;
            json reply;
            do {
                line = f.control->next(deadline);
                if (!line) throw Error("rusty-supervisor (" + f.name + "): no reply to ps");
                reply = json::parse(*line, nullptr, false);
            } while (reply.is_discarded() || reply.value("id", -1) != id);
            if (!reply.value("ok", false)) throw Error("rusty-supervisor (" + f.name + "): ps: " + *line);
            int ended = 0;
            bool anchor_running = false;
            for (const json& row : reply["result"]) {
                const std::string name = row.value("name", ""), state = row.value("state", "");
                if (name == "anchor") anchor_running = state == "running";
                else if (state == "exited") ++ended;
                else if (state == "failed")
                    throw Error("rusty-supervisor (" + f.name + "): " + name + " failed at the fleet's start: " +
                                output_tail(f.log));
            }
            if (anchor_running && ended == ctx_.max_n) break;
            if (Clock::now() >= deadline)
                throw Error("rusty-supervisor (" + f.name + "): only " + std::to_string(ended) + " of " +
                            std::to_string(ctx_.max_n) + " containers ended after the fleet's start");
            sleep_ms(20);
        }
    }

    Context& ctx_;
    fs::path supervisor_, root_;
    std::map<std::string, std::unique_ptr<Fleet>> fleets_;
};

}  // namespace

std::unique_ptr<Runtime> make_supervisor_runtime(Context& ctx, fs::path supervisor) {
    return std::make_unique<SupervisorRuntime>(ctx, std::move(supervisor));
}

}  // namespace rusty::bench::compare
