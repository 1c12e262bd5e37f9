// Fleet's insides, shared by fleet.cpp (setup, run, signals),
// fleet_control.cpp (the control socket's verbs) and fleet_reload.cpp
// (applying a changed fleet.json). Not part of the public API.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "cgroup/cgroup.hpp"
#include "cgroup/layout.hpp"
#include "core/fd.hpp"
#include "lifecycle/container_actor.hpp"
#include "lifecycle/control_server.hpp"
#include "lifecycle/fleet.hpp"
#include "lifecycle/helper_fork.hpp"
#include "lifecycle/stub_pool.hpp"
#include "reactor/notifier.hpp"
#include "reactor/signal_reader.hpp"

namespace rusty {

// Every event goes to the embedder's observer and to the control socket's
// `events` subscribers.
class EventTee : public FleetObserver {
public:
    explicit EventTee(FleetObserver& observer) : observer_(observer) {}
    void on_event(const Event& event) override;
    void on_output(const std::string& container, OutputStream stream, std::string_view line) override {
        observer_.on_output(container, stream, line);
    }
    // Also to the clients attached to the container.
    void on_output_bytes(const std::string& container, OutputStream stream, std::string_view bytes) override;
    // The control server's stream of a container's output.
    static std::string attach_stream(const std::string& container) { return "attach/" + container; }
    lifecycle::ControlServer* control = nullptr;

private:
    FleetObserver& observer_;
};

struct Fleet::Impl : lifecycle::ControlHandler {
    Impl(FleetSpec s, FleetOptions o, FleetObserver& obs)
        : spec(std::move(s)), options(std::move(o)), observer(obs), tee(obs) {}

    // ---- fleet.cpp
    void prepare();
    void check_layout(const FleetSpec& fleet, const std::filesystem::path& image_dir) const;
    std::vector<std::filesystem::path> build_images(const FleetSpec& fleet) const;
    std::filesystem::path container_dir(const std::string& name) const { return state_dir / name; }
    std::filesystem::path image_dir() const;
    void lock_state_dir();
    reactor::Task<void> handle_signals(reactor::SignalReader& signals);
    void handle_signal(int sig);
    std::unique_ptr<lifecycle::ContainerActor> make_actor(const ContainerSpec& spec, std::filesystem::path image_rootfs);
    void link_dependencies();
    // Runs the actor's run() on the reactor; the fleet lasts while any runs.
    void launch(lifecycle::ContainerActor& actor);
    void on_actor_done();
    // Ends run() once nothing runs and no verb holds the fleet open.
    void maybe_finish();
    // Sets stopping; once. `grace` overrides every container's stop grace
    // period (the stop verb's timeout).
    void stop_all(std::optional<std::chrono::milliseconds> grace = std::nullopt);
    void kill_all();
    void remove_state();
    void prepare_cgroups();
    lifecycle::ContainerActor& actor(const std::string& name) const;
    lifecycle::ContainerActor* find_actor(const std::string& name) const;

    // ---- fleet_control.cpp
    reactor::Task<nlohmann::json> handle(std::string verb, nlohmann::json args) override;
    reactor::Task<lifecycle::ControlStream> attach(nlohmann::json args) override;
    // Verbs that stop, start or replace containers (stop, start, restart,
    // reload) run one at a time: each waits across co_awaits with actors in
    // hand, which another one could start or retire meanwhile.
    reactor::Task<void> begin_change();
    void end_change();

    // ---- fleet_reload.cpp
    // Re-reads options.config_path and applies the difference. Throws
    // ConfigError/Error (nothing changed) when the new file cannot be used.
    reactor::Task<nlohmann::json> reload();

    FleetSpec spec;
    FleetOptions options;
    FleetObserver& observer;
    EventTee tee;
    std::filesystem::path state_dir;
    UniqueFd lock;
    std::vector<std::filesystem::path> image_rootfs;  // per container, empty for rootfs ones
    std::optional<cgroup::Layout> layout;         // the hierarchies in use
    std::optional<cgroup::FleetCgroups> cgroups;  // none on a host without cgroups

    std::optional<lifecycle::HelperProcess> helper;
    std::optional<boost::asio::io_context> io;
    std::optional<lifecycle::HelperClient> helper_client;
    std::optional<lifecycle::StubPool> pool;
    std::optional<lifecycle::ControlServer> control;
    std::vector<std::unique_ptr<lifecycle::ContainerActor>> actors;  // in the order of spec.containers
    // Actors a reload removed: kept until the fleet ends, as coroutines of
    // theirs may still be finishing.
    std::vector<std::unique_ptr<lifecycle::ContainerActor>> retired;
    reactor::SignalReader* signals = nullptr;
    std::size_t running_actors = 0;
    unsigned holds = 0;  // verbs in progress that may start containers again
    bool finished = false;
    bool changing = false;  // a verb between begin_change() and end_change()
    std::optional<reactor::Notifier> change_done;  // notified by end_change()
    bool stopping = false;
    int stop_signal = 0;
    bool ran = false;
};

// Holds begin_change() until the end of the scope.
class ChangeGuard {
public:
    explicit ChangeGuard(Fleet::Impl& fleet) : fleet_(fleet) {}
    ~ChangeGuard() { fleet_.end_change(); }
    ChangeGuard(const ChangeGuard&) = delete;
    ChangeGuard& operator=(const ChangeGuard&) = delete;

private:
    Fleet::Impl& fleet_;
};

// Keeps the fleet from ending while a verb stops containers it will start
// again (restart, reload).
class FleetHold {
public:
    explicit FleetHold(Fleet::Impl& fleet) : fleet_(fleet) { ++fleet_.holds; }
    ~FleetHold() {
        --fleet_.holds;
        fleet_.maybe_finish();
    }
    FleetHold(const FleetHold&) = delete;
    FleetHold& operator=(const FleetHold&) = delete;

private:
    Fleet::Impl& fleet_;
};

}  // namespace rusty
