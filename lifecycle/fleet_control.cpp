// The verbs of the control socket (lifecycle/control_server.hpp has the
// protocol): what `rusty-supervisor ps`, `stop`, `start`, … ask of a running
// fleet. Each runs on the reactor thread, like everything the fleet does.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "core/syscalls.hpp"
#include "core/units.hpp"
#include "lifecycle/fleet_impl.hpp"

namespace rusty {
namespace asio = boost::asio;
using lifecycle::ContainerActor;
using lifecycle::EndReason;
using nlohmann::json;

namespace {

constexpr double kMaxTimeoutSeconds = 365.0 * 24 * 3600;

// args.names: the containers asked for, in the order given; none given: all.
std::vector<std::string> names_of(const json& args) {
    std::vector<std::string> names;
    if (!args.contains("names") || args["names"].is_null()) return names;
    const json& value = args["names"];
    if (!value.is_array()) throw Error("\"names\": expected an array of container names");
    for (const json& n : value) {
        if (!n.is_string()) throw Error("\"names\": expected an array of container names");
        const std::string& name = n.get_ref<const std::string&>();
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    return names;
}

std::optional<std::chrono::milliseconds> timeout_of(const json& args) {
    if (!args.contains("timeout") || args["timeout"].is_null()) return std::nullopt;
    const json& value = args["timeout"];
    if (!value.is_number() || !(value.get<double>() >= 0 && value.get<double>() <= kMaxTimeoutSeconds))
        throw Error("\"timeout\": expected a number of seconds from 0 to " +
                    std::to_string(static_cast<long>(kMaxTimeoutSeconds)));
    return std::chrono::milliseconds(std::llround(value.get<double>() * 1000));
}

int signal_of(const json& args) {
    if (!args.contains("signal") || args["signal"].is_null()) return SIGKILL;
    const json& value = args["signal"];
    std::optional<int> sig;
    if (value.is_number_integer() && value.get<std::int64_t>() >= 1 && value.get<std::int64_t>() <= 64)
        sig = value.get<int>();
    else if (value.is_string())
        sig = parse_signal(value.get<std::string>());
    if (!sig) throw Error("\"signal\": unknown signal " + value.dump() + "; expected e.g. \"SIGHUP\", \"HUP\" or 1");
    return *sig;
}

bool is_running(const ContainerActor& a) { return !a.ended(); }

json outcome(const std::string& name, const std::string& error = {}) {
    json j = {{"name", name}, {"ok", error.empty()}};
    if (!error.empty()) j["error"] = error;
    return j;
}

// The actors named (every name checked before anything is done), or all of
// them that pass `filter` when none is named.
std::vector<ContainerActor*> select(const Fleet::Impl& fleet, const std::vector<std::string>& names,
                                    bool (*filter)(const ContainerActor&)) {
    std::vector<ContainerActor*> chosen;
    for (const std::string& name : names) chosen.push_back(&fleet.actor(name));
    if (names.empty())
        for (const auto& a : fleet.actors)
            if (!filter || filter(*a)) chosen.push_back(a.get());
    return chosen;
}

}  // namespace

reactor::Task<void> Fleet::Impl::begin_change() {
    // Every waiter wakes at each end_change(); the first to run takes it.
    while (changing) co_await change_done->wait();
    changing = true;
}

void Fleet::Impl::end_change() {
    changing = false;
    change_done->notify_all();
}

reactor::Task<json> Fleet::Impl::handle(std::string verb, json args) {
    const std::vector<std::string> names = names_of(args);
    auto refuse_when_stopping = [&] {
        if (stopping || finished) throw Error("the fleet is stopping");
    };
    json result = json::array();

    if (verb == "ps") {
        for (ContainerActor* a : select(*this, names, nullptr)) result.push_back(a->status());
    } else if (verb == "stats") {
        for (ContainerActor* a : select(*this, names, is_running)) {
            std::optional<cgroup::Stats> stats = a->stats();
            if (!stats) {
                if (!names.empty()) throw Error(a->spec().name + ": not running");
                continue;
            }
            json row = cgroup::to_json(*stats);
            row["name"] = a->spec().name;
            result.push_back(std::move(row));
        }
    } else if (verb == "stop" && names.empty()) {
        // The whole fleet, as SIGTERM would: in reverse dependency order, and
        // then the supervisor exits. The reply comes at once; the client
        // waits for the connection to close.
        const std::optional<std::chrono::milliseconds> timeout = timeout_of(args);
        for (const auto& a : actors) result.push_back(outcome(a->spec().name));
        stop_all(timeout);
    } else if (verb == "stop") {
        const std::optional<std::chrono::milliseconds> timeout = timeout_of(args);
        co_await begin_change();
        ChangeGuard change(*this);
        std::vector<ContainerActor*> chosen = select(*this, names, nullptr);
        FleetHold hold(*this);  // the reply must go out before the last exit ends the fleet
        for (ContainerActor* a : chosen) a->end(EndReason::Stop, timeout);
        for (ContainerActor* a : chosen) {
            co_await a->wait_ended();
            result.push_back(outcome(a->spec().name));
        }
    } else if (verb == "start") {
        refuse_when_stopping();
        co_await begin_change();
        ChangeGuard change(*this);
        refuse_when_stopping();
        for (ContainerActor* a : select(*this, names, [](const ContainerActor& a) { return a.ended(); })) {
            if (!a->ended()) {
                result.push_back(outcome(a->spec().name, "already running"));
                continue;
            }
            a->start();
            launch(*a);
            result.push_back(outcome(a->spec().name));
        }
    } else if (verb == "restart") {
        refuse_when_stopping();
        const std::optional<std::chrono::milliseconds> timeout = timeout_of(args);
        co_await begin_change();
        ChangeGuard change(*this);
        refuse_when_stopping();
        std::vector<ContainerActor*> chosen = select(*this, names, nullptr);
        FleetHold hold(*this);
        for (ContainerActor* a : chosen)
            if (!a->ended()) a->end(EndReason::Restart, timeout);
        for (ContainerActor* a : chosen) co_await a->wait_ended();
        if (stopping) throw Error("the fleet is stopping");
        for (ContainerActor* a : chosen) {
            a->start();
            launch(*a);
            result.push_back(outcome(a->spec().name));
        }
    } else if (verb == "kill") {
        // As `docker kill`: SIGKILL (the default) ends the container with no
        // restart; another signal is only delivered, and the restart policy
        // applies if the container dies of it.
        const int sig = signal_of(args);
        for (ContainerActor* a : select(*this, names, is_running)) {
            try {
                if (sig == SIGKILL) {
                    if (a->ended()) throw Error(a->spec().name + ": not running");
                    a->end(EndReason::Kill);
                } else {
                    a->send_signal(sig);
                }
                result.push_back(outcome(a->spec().name));
            } catch (const std::exception& e) {
                result.push_back(outcome(a->spec().name, e.what()));
            }
        }
    } else if (verb == "pause" || verb == "unpause") {
        for (ContainerActor* a : select(*this, names, is_running)) {
            try {
                if (verb == "pause") a->pause();
                else a->resume();
                result.push_back(outcome(a->spec().name));
            } catch (const std::exception& e) {
                result.push_back(outcome(a->spec().name, e.what()));
            }
        }
    } else if (verb == "reload") {
        refuse_when_stopping();
        result = co_await reload();
    } else {
        throw Error("unknown verb \"" + verb +
                    "\"; known: ps, stats, stop, start, restart, kill, pause, unpause, reload, events, attach");
    }
    co_return result;
}

// attach {"name": "web"}: the container's input fd (its terminal's master,
// or its stdin pipe) and its output stream. The stream is named after the
// container, and EventTee feeds it.
reactor::Task<lifecycle::ControlStream> Fleet::Impl::attach(json args) {
    if (!args.contains("name") || !args["name"].is_string()) throw Error("\"name\": expected a container name");
    const std::string name = args["name"].get<std::string>();
    ContainerActor::Attachment a = actor(name).attachment();
    lifecycle::ControlStream granted;
    granted.result = {{"name", name}, {"tty", a.tty}, {"stdin_open", a.stdin_open}, {"input", static_cast<bool>(a.input)}};
    granted.fd = std::move(a.input);
    granted.stream = EventTee::attach_stream(name);
    co_return granted;
}

}  // namespace rusty
