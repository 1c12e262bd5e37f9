// Supervision settings of fleet.json: durations and signals as Compose writes
// them, and the fields restart, restart_backoff, stop_signal,
// stop_grace_period and depends_on - each value read into the spec, and each
// error with its JSON pointer and problem text.
#include <signal.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "tests/core/config_helpers.hpp"
#include "core/error.hpp"
#include "core/spec.hpp"
#include "core/units.hpp"

using rusty::ConfigError;
using rusty::ContainerSpec;
using rusty::DependencyCondition;
using rusty::FleetSpec;
using rusty::Readiness;
using rusty::UnhealthyAction;
using rusty::parse_duration;
using rusty::parse_fleet;
using rusty::parse_signal;
using rusty::RestartPolicy;
using rusty::test::Failure;
using rusty::test::failure_of;
using rusty::test::parse;
using rusty::test::web_plus;
using namespace std::chrono_literals;

namespace {

// Plain numbers, so that Catch prints what it compares: -1 for nullopt.
long long ns_of(std::string_view text) {
    const std::optional<std::chrono::nanoseconds> d = parse_duration(text);
    return d ? static_cast<long long>(d->count()) : -1;
}
long long ns(std::chrono::nanoseconds d) {
    return static_cast<long long>(d.count());
}
int signal_of(std::string_view text) {
    return parse_signal(text).value_or(-1);
}

ContainerSpec web(std::string_view extra) {
    const FleetSpec fleet = parse(web_plus(extra));
    REQUIRE(fleet.containers.size() == 1);
    return fleet.containers.front();
}

// A container object body (no braces) with a valid image and command, plus
// `extra` fields (which end without a comma).
std::string box(std::string_view extra = {}) {
    std::string body = R"("image": "busybox", "command": ["true"])";
    if (!extra.empty()) body += ", " + std::string(extra);
    return "{" + body + "}";
}

// {"containers": {...}} from "name": body pairs already joined by commas.
std::string fleet_of(std::string_view members) {
    return R"({"containers": {)" + std::string(members) + "}}";
}

const ContainerSpec& named(const FleetSpec& fleet, const std::string& name) {
    const ContainerSpec* found = nullptr;
    for (const ContainerSpec& c : fleet.containers)
        if (c.name == name) found = &c;
    INFO("container " << name);
    REQUIRE(found != nullptr);
    return *found;
}

const std::string kDurationHint = "; expected e.g. \"10s\", \"1m30s\" or \"200ms\"";
const std::string kRestartHint =
    "; allowed: \"no\", \"always\", \"unless-stopped\", \"on-failure\", \"on-failure:N\"";
const std::string kSignalHint = "; expected e.g. \"SIGTERM\", \"SIGINT\" or 15";

}  // namespace

// ---- parse_duration --------------------------------------------------------------

TEST_CASE("parse_duration: Go-style durations", "[supervision]") {
    CHECK(ns_of("1m30s") == ns(90s));
    CHECK(ns_of("200ms") == ns(200ms));
    CHECK(ns_of("1.5h") == ns(90min));
    CHECK(ns_of("10us") == ns(10us));
    CHECK(ns_of("10\u00b5s") == ns(10us));
    CHECK(ns_of("0s") == ns(0s));
    CHECK(ns_of("7ns") == ns(7ns));
    CHECK(ns_of("2h45m") == ns(2h + 45min));
    CHECK(ns_of("1h2m3s4ms5us6ns") == ns(1h + 2min + 3s + 4ms + 5us + 6ns));
    CHECK(ns_of("1.5s") == ns(1500ms));
    CHECK(ns_of("0.5m") == ns(30s));
    // "ms" is milliseconds, not minutes followed by "s".
    CHECK(ns_of("5ms") == ns(5ms));
    CHECK(ns_of("5m5s") == ns(5min + 5s));
    // At most a year.
    CHECK(ns_of("8760h") == ns(8760h));
    CHECK(ns_of("8761h") == -1);
}

TEST_CASE("parse_duration: malformed text", "[supervision]") {
    for (const char* text : {"", "10", "5x", "-1s", "+1s", "1m30", "s", ".s", "1 s", " 1s", "1s ", "1S",
                             "1e3s", "1.5.5s", "ms", "1sec"}) {
        INFO('"' << text << '"');
        CHECK(ns_of(text) == -1);
    }
}

// Go's ParseDuration works in integers: "0.001s" is exactly 1 ms. Summed in
// binary floating point it is a hair short, and truncated it would lose a
// nanosecond (a millisecond once cut to milliseconds, as fleet.json fields
// are): the result must be rounded.
TEST_CASE("parse_duration: decimal fractions are exact", "[supervision]") {
    CHECK(ns_of("0.001s") == ns(1ms));
    CHECK(ns_of("0.05s") == ns(50ms));
    CHECK(ns_of("0.006s") == ns(6ms));
    CHECK(ns_of("0.001ms") == ns(1us));
    int wrong = 0;
    std::string first_wrong;
    for (int ms = 0; ms < 10'000; ++ms) {
        char text[32];
        std::snprintf(text, sizeof text, "%d.%03ds", ms / 1000, ms % 1000);
        const long long got = ns_of(text);
        if (got != ns(std::chrono::milliseconds(ms)) && wrong++ == 0)
            first_wrong = std::string(text) + " -> " + std::to_string(got) + " ns";
    }
    INFO("of 0.000s to 9.999s, the first wrong: " << first_wrong);
    CHECK(wrong == 0);
}

// ---- parse_signal ----------------------------------------------------------------

TEST_CASE("parse_signal: names with or without SIG, any case, and numbers", "[supervision]") {
    CHECK(signal_of("SIGTERM") == SIGTERM);
    CHECK(signal_of("term") == SIGTERM);
    CHECK(signal_of("INT") == SIGINT);
    CHECK(signal_of("SigQuit") == SIGQUIT);
    CHECK(signal_of("sighup") == SIGHUP);
    CHECK(signal_of("USR1") == SIGUSR1);
    CHECK(signal_of("SIGKILL") == SIGKILL);  // a signal; the config refuses it as a stop signal
    CHECK(signal_of("9") == 9);
    CHECK(signal_of("1") == 1);
    CHECK(signal_of("64") == 64);
}

TEST_CASE("parse_signal: real-time signals as Docker and runc name them", "[supervision]") {
    CHECK(signal_of("RTMIN") == SIGRTMIN);
    CHECK(signal_of("SIGRTMIN+3") == SIGRTMIN + 3);
    CHECK(signal_of("rtmax-1") == SIGRTMAX - 1);
    CHECK(signal_of("SIGRTMAX") == SIGRTMAX);
    CHECK(signal_of("RTMIN+30") == SIGRTMAX);
}

TEST_CASE("parse_signal: unknown names and numbers out of 1..64", "[supervision]") {
    for (const char* text : {"SIGFOO", "0", "65", "", "SIG", "-1", "15x", "TERM ", "1000000000000", "SIGTERM15",
                             "RTMIN-1", "RTMAX+1", "RTMIN+31", "RTMIN+", "RTMIN3", "RTMAX-", "RTMIN+1x"}) {
        INFO('"' << text << '"');
        CHECK(signal_of(text) == -1);
    }
}

// ---- defaults --------------------------------------------------------------------

TEST_CASE("supervision defaults: no restart, SIGTERM, the fleet's grace, no dependencies", "[supervision]") {
    const FleetSpec fleet = parse(R"({"containers": {"web": {"image": "busybox", "command": ["true"]}}})");
    REQUIRE(fleet.containers.size() == 1);
    const ContainerSpec& c = fleet.containers.front();
    CHECK(c.restart.policy == RestartPolicy::No);
    CHECK_FALSE(c.restart.max_retries.has_value());
    CHECK(c.restart.initial == 100ms);
    CHECK(c.restart.max == 10s);
    CHECK(c.restart.reset_after == 10s);
    CHECK(c.stop_signal == SIGTERM);
    CHECK_FALSE(c.stop_grace_period.has_value());
    CHECK(c.depends_on.empty());
}

// ---- restart ---------------------------------------------------------------------

TEST_CASE("restart: each policy", "[supervision]") {
    CHECK(web(R"("restart": "no")").restart.policy == RestartPolicy::No);
    CHECK(web(R"("restart": "always")").restart.policy == RestartPolicy::Always);
    CHECK(web(R"("restart": "unless-stopped")").restart.policy == RestartPolicy::UnlessStopped);

    const ContainerSpec plain = web(R"("restart": "on-failure")");
    CHECK(plain.restart.policy == RestartPolicy::OnFailure);
    CHECK_FALSE(plain.restart.max_retries.has_value());

    const ContainerSpec three = web(R"("restart": "on-failure:3")");
    CHECK(three.restart.policy == RestartPolicy::OnFailure);
    CHECK(three.restart.max_retries == std::optional<unsigned>(3));

    // 0 is kept as written; the actor reads it as "no limit", as Docker does.
    const ContainerSpec zero = web(R"("restart": "on-failure:0")");
    CHECK(zero.restart.policy == RestartPolicy::OnFailure);
    CHECK(zero.restart.max_retries == std::optional<unsigned>(0));

    CHECK(web(R"("restart": "on-failure:999999999")").restart.max_retries == std::optional<unsigned>(999999999));
    // The policy leaves the backoff alone.
    CHECK(three.restart.initial == 100ms);
}

TEST_CASE("restart: errors", "[supervision]") {
    CHECK_FAILS(web_plus(R"("restart": "sometimes")"), "/containers/web/restart",
                "unknown restart policy \"sometimes\"" + kRestartHint);
    CHECK_FAILS(web_plus(R"("restart": "on-failure:x")"), "/containers/web/restart",
                "invalid restart policy \"on-failure:x\"" + kRestartHint);
    CHECK_FAILS(web_plus(R"("restart": "on-failure:")"), "/containers/web/restart",
                "invalid restart policy \"on-failure:\"" + kRestartHint);
    CHECK_FAILS(web_plus(R"("restart": "on-failure:-1")"), "/containers/web/restart",
                "invalid restart policy \"on-failure:-1\"" + kRestartHint);
    CHECK_FAILS(web_plus(R"("restart": "on-failure:1234567890")"), "/containers/web/restart",
                "invalid restart policy \"on-failure:1234567890\"" + kRestartHint);
    CHECK_FAILS(web_plus(R"("restart": "Always")"), "/containers/web/restart",
                "unknown restart policy \"Always\"" + kRestartHint);
    CHECK_FAILS(web_plus(R"("restart": true)"), "/containers/web/restart", "expected a string");
}

// ---- restart_backoff -------------------------------------------------------------

TEST_CASE("restart_backoff: durations read into the policy", "[supervision]") {
    const ContainerSpec c =
        web(R"("restart": "always", "restart_backoff": {"initial": "20ms", "max": "1m30s", "reset_after": "1.5s"})");
    CHECK(c.restart.policy == RestartPolicy::Always);
    CHECK(c.restart.initial == 20ms);
    CHECK(c.restart.max == 90s);
    CHECK(c.restart.reset_after == 1500ms);

    // Each field is optional; the others keep their defaults.
    const ContainerSpec only_initial = web(R"("restart_backoff": {"initial": "1s"})");
    CHECK(only_initial.restart.initial == 1s);
    CHECK(only_initial.restart.max == 10s);
    CHECK(only_initial.restart.reset_after == 10s);
    CHECK(web(R"("restart_backoff": {})").restart.initial == 100ms);
    // max equal to initial: a constant delay.
    const ContainerSpec constant = web(R"("restart_backoff": {"initial": "2s", "max": "2s"})");
    CHECK(constant.restart.max == 2s);
    // Before or after "restart", in any order.
    const ContainerSpec after = web(R"("restart_backoff": {"initial": "5ms"}, "restart": "on-failure:2")");
    CHECK(after.restart.initial == 5ms);
    CHECK(after.restart.max_retries == std::optional<unsigned>(2));
}

TEST_CASE("restart_backoff: errors", "[supervision]") {
    // 0s is no backoff at all, not an error.
    CHECK(web(R"("restart_backoff": {"initial": "0s"})").restart.initial == 0ms);
    CHECK_FAILS(web_plus(R"("restart_backoff": {"initial": "1s", "max": "500ms"})"),
                "/containers/web/restart_backoff/max", "is below \"initial\"");
    CHECK_FAILS(web_plus(R"("restart_backoff": {"initail": "1s"})"), "/containers/web/restart_backoff/initail",
                "unknown field; did you mean \"initial\"?");
    CHECK_FAILS(web_plus(R"("restart_backoff": {"factor": 2})"), "/containers/web/restart_backoff/factor",
                "unknown field");
    CHECK_FAILS(web_plus(R"("restart_backoff": {"max": "forever"})"), "/containers/web/restart_backoff/max",
                "invalid duration \"forever\"" + kDurationHint);
    CHECK_FAILS(web_plus(R"("restart_backoff": {"reset_after": 10})"),
                "/containers/web/restart_backoff/reset_after", "expected a string");
    CHECK_FAILS(web_plus(R"("restart_backoff": "1s")"), "/containers/web/restart_backoff",
                "expected an object with initial, max and reset_after");
}

// A consequence of the parse_duration rounding above, in fleet.json: an
// initial backoff of "0.001s" is refused as below 1 ms, and a grace period
// of "0.05s" becomes 49 ms.
TEST_CASE("fleet.json durations: 0.001s is 1 ms, 0.05s is 50 ms", "[supervision]") {
    const Failure f = failure_of(web_plus(R"("restart_backoff": {"initial": "0.001s"})"));
    CHECK(f.pointer == "(parsed without error)");
    CHECK(f.problem == "(parsed without error)");
    CHECK(web(R"("stop_grace_period": "0.05s")").stop_grace_period.value_or(-1ms).count() == 50);
}

// ---- stop_signal -----------------------------------------------------------------

TEST_CASE("stop_signal: names and numbers", "[supervision]") {
    CHECK(web(R"("stop_signal": "SIGINT")").stop_signal == SIGINT);
    CHECK(web(R"("stop_signal": "INT")").stop_signal == SIGINT);
    CHECK(web(R"("stop_signal": "quit")").stop_signal == SIGQUIT);
    CHECK(web(R"("stop_signal": 2)").stop_signal == SIGINT);
    CHECK(web(R"("stop_signal": "10")").stop_signal == 10);
    CHECK(web(R"("stop_signal": 64)").stop_signal == 64);
}

TEST_CASE("stop_signal: errors", "[supervision]") {
    const std::string ptr = "/containers/web/stop_signal";
    CHECK_FAILS(web_plus(R"("stop_signal": "SIGFOO")"), ptr, "unknown signal \"SIGFOO\"" + kSignalHint);
    CHECK_FAILS(web_plus(R"("stop_signal": 0)"), ptr, "unknown signal 0" + kSignalHint);
    CHECK_FAILS(web_plus(R"("stop_signal": 65)"), ptr, "unknown signal 65" + kSignalHint);
    CHECK_FAILS(web_plus(R"("stop_signal": -15)"), ptr, "unknown signal -15" + kSignalHint);
    CHECK_FAILS(web_plus(R"("stop_signal": "SIGKILL")"), ptr, "a stop signal must be one the container can handle");
    CHECK_FAILS(web_plus(R"("stop_signal": "kill")"), ptr, "a stop signal must be one the container can handle");
    CHECK_FAILS(web_plus(R"("stop_signal": 9)"), ptr, "a stop signal must be one the container can handle");
    CHECK_FAILS(web_plus(R"("stop_signal": "SIGSTOP")"), ptr, "a stop signal must be one the container can handle");
    CHECK_FAILS(web_plus(R"("stop_signal": true)"), ptr, "expected a signal name such as \"SIGTERM\" or a number");
    CHECK_FAILS(web_plus(R"("stop_signal": 2.5)"), ptr, "expected a signal name such as \"SIGTERM\" or a number");
}

// ---- stop_grace_period -----------------------------------------------------------

TEST_CASE("stop_grace_period: durations", "[supervision]") {
    CHECK(web(R"("stop_grace_period": "1s")").stop_grace_period == std::optional(std::chrono::milliseconds(1s)));
    CHECK(web(R"("stop_grace_period": "1m30s")").stop_grace_period ==
          std::optional(std::chrono::milliseconds(90s)));
    CHECK(web(R"("stop_grace_period": "200ms")").stop_grace_period == std::optional(200ms));
    CHECK(web(R"("stop_grace_period": "0s")").stop_grace_period == std::optional(0ms));
}

TEST_CASE("stop_grace_period: errors", "[supervision]") {
    const std::string ptr = "/containers/web/stop_grace_period";
    CHECK_FAILS(web_plus(R"("stop_grace_period": "soon")"), ptr, "invalid duration \"soon\"" + kDurationHint);
    CHECK_FAILS(web_plus(R"("stop_grace_period": "10")"), ptr, "invalid duration \"10\"" + kDurationHint);
    CHECK_FAILS(web_plus(R"("stop_grace_period": "-1s")"), ptr, "invalid duration \"-1s\"" + kDurationHint);
    CHECK_FAILS(web_plus(R"("stop_grace_period": 10)"), ptr, "expected a string");
}

// ---- depends_on ------------------------------------------------------------------

TEST_CASE("depends_on: the short form means service_started", "[supervision]") {
    const FleetSpec fleet = parse(fleet_of(R"("db": )" + box() + R"(, "cache": )" + box() + R"(, "app": )" +
                                           box(R"("depends_on": ["db", "cache"])")));
    const ContainerSpec& app = named(fleet, "app");
    REQUIRE(app.depends_on.size() == 2);
    CHECK(app.depends_on[0].name == "db");
    CHECK(app.depends_on[0].condition == DependencyCondition::Started);
    CHECK(app.depends_on[1].name == "cache");
    CHECK(app.depends_on[1].condition == DependencyCondition::Started);
    CHECK(named(fleet, "db").depends_on.empty());
}

TEST_CASE("depends_on: the long form with conditions, in the file's order", "[supervision]") {
    // A dependency may come after its dependent in the file.
    const FleetSpec fleet = parse(fleet_of(
        R"("app": )" +
        box(R"("depends_on": {"migrate": {"condition": "service_completed_successfully"},
                              "db": {"condition": "service_started"}, "cache": {}})") +
        R"(, "db": )" + box() + R"(, "migrate": )" + box() + R"(, "cache": )" + box()));
    const ContainerSpec& app = named(fleet, "app");
    REQUIRE(app.depends_on.size() == 3);
    CHECK(app.depends_on[0].name == "migrate");
    CHECK(app.depends_on[0].condition == DependencyCondition::CompletedSuccessfully);
    CHECK(app.depends_on[1].name == "db");
    CHECK(app.depends_on[1].condition == DependencyCondition::Started);
    CHECK(app.depends_on[2].name == "cache");
    CHECK(app.depends_on[2].condition == DependencyCondition::Started);  // the default
    CHECK(parse(fleet_of(R"("app": )" + box(R"("depends_on": [])"))).containers.front().depends_on.empty());
}

TEST_CASE("depends_on: a chain and a diamond are not cycles", "[supervision]") {
    const FleetSpec fleet = parse(fleet_of(
        R"("a": )" + box(R"("depends_on": ["b", "c"])") + R"(, "b": )" + box(R"("depends_on": ["d"])") +
        R"(, "c": )" + box(R"("depends_on": ["d"])") + R"(, "d": )" + box()));
    CHECK(fleet.containers.size() == 4);
}

// Each is reported at the entry itself: /…/depends_on/0 or /…/depends_on/<name>.
TEST_CASE("depends_on: names that are not other containers", "[supervision]") {
    CHECK_FAILS(fleet_of(R"("db": )" + box() + R"(, "app": )" + box(R"("depends_on": ["dbb"])")),
                "/containers/app/depends_on/0", "unknown container \"dbb\"; did you mean \"db\"?");
    CHECK_FAILS(fleet_of(R"("db": )" + box() + R"(, "app": )" + box(R"("depends_on": ["redis"])")),
                "/containers/app/depends_on/0", "unknown container \"redis\"");
    CHECK_FAILS(fleet_of(R"("db": )" + box() + R"(, "app": )" +
                         box(R"("depends_on": {"dv": {"condition": "service_started"}})")),
                "/containers/app/depends_on/dv", "unknown container \"dv\"; did you mean \"db\"?");
    CHECK_FAILS(fleet_of(R"("app": )" + box(R"("depends_on": ["app"])")), "/containers/app/depends_on/0",
                "a container cannot depend on itself");
    CHECK_FAILS(fleet_of(R"("app": )" + box(R"("depends_on": {"app": {}})")), "/containers/app/depends_on/app",
                "a container cannot depend on itself");
    // With "services", pointers say "services".
    CHECK_FAILS(R"({"services": {"db": )" + box() + R"(, "app": )" + box(R"("depends_on": ["dbb"])") + "}}",
                "/services/app/depends_on/0", "unknown container \"dbb\"; did you mean \"db\"?");
}

TEST_CASE("depends_on: duplicates", "[supervision]") {
    CHECK_FAILS(fleet_of(R"("db": )" + box() + R"(, "app": )" + box(R"("depends_on": ["db", "db"])")),
                "/containers/app/depends_on/1", "duplicate dependency \"db\"");
    // In the long form the JSON itself has a duplicate key.
    CHECK_FAILS(fleet_of(R"("db": )" + box() + R"(, "app": )" + box(R"("depends_on": {"db": {}, "db": {}})")),
                "/containers/app/depends_on/db", "duplicate key");
}

TEST_CASE("depends_on: cycles are named by their path", "[supervision]") {
    // a -> b -> a: found at b, which closes the loop.
    CHECK_FAILS(fleet_of(R"("a": )" + box(R"("depends_on": ["b"])") + R"(, "b": )" + box(R"("depends_on": ["a"])")),
                "/containers/b/depends_on", "dependency cycle: a -> b -> a");
    // Three long, in the long form.
    CHECK_FAILS(fleet_of(R"("a": )" + box(R"("depends_on": {"b": {}})") + R"(, "b": )" +
                         box(R"("depends_on": {"c": {"condition": "service_completed_successfully"}})") +
                         R"(, "c": )" + box(R"("depends_on": ["a"])")),
                "/containers/c/depends_on", "dependency cycle: a -> b -> c -> a");
    // Only the loop is named, not the path that led to it.
    CHECK_FAILS(fleet_of(R"("x": )" + box(R"("depends_on": ["a"])") + R"(, "a": )" +
                         box(R"("depends_on": ["b"])") + R"(, "b": )" + box(R"("depends_on": ["a"])")),
                "/containers/b/depends_on", "dependency cycle: a -> b -> a");
}

TEST_CASE("depends_on: conditions and the shape of the long form", "[supervision]") {
    const std::string db = R"("db": )" + box() + ", ";
    CHECK_FAILS(fleet_of(db + R"("app": )" + box(R"("depends_on": {"db": {"condition": "service_healthy"}})")),
                "/containers/app/depends_on/db/condition",
                "\"service_healthy\", but \"db\" has no healthcheck");
    CHECK_FAILS(fleet_of(db + R"("app": )" + box(R"("depends_on": {"db": {"condition": "service_done"}})")),
                "/containers/app/depends_on/db/condition",
                "unknown condition \"service_done\"; allowed: \"service_started\", \"service_healthy\", "
                "\"service_completed_successfully\"");
    CHECK_FAILS(fleet_of(db + R"("app": )" +
                         box(R"("depends_on": {"db": {"condition": "service_started", "restart": true}})")),
                "/containers/app/depends_on/db/restart", "unknown field");
    CHECK_FAILS(fleet_of(db + R"("app": )" + box(R"("depends_on": {"db": {"conditon": "service_started"}})")),
                "/containers/app/depends_on/db/conditon", "unknown field; did you mean \"condition\"?");
    CHECK_FAILS(fleet_of(db + R"("app": )" + box(R"("depends_on": {"db": "service_started"})")),
                "/containers/app/depends_on/db",
                "expected an object such as {\"condition\": \"service_started\"}");
    CHECK_FAILS(fleet_of(db + R"("app": )" + box(R"("depends_on": {"db": {"condition": 1}})")),
                "/containers/app/depends_on/db/condition", "expected a string");
    CHECK_FAILS(fleet_of(db + R"("app": )" + box(R"("depends_on": "db")")), "/containers/app/depends_on",
                "expected an array of container names or an object");
    CHECK_FAILS(fleet_of(db + R"("app": )" + box(R"("depends_on": ["db", 1])")), "/containers/app/depends_on/1",
                "expected a string");
}

TEST_CASE("healthcheck: Compose's forms of test, durations and retries", "[supervision]") {
    const std::vector<std::string> shell = {"/bin/sh", "-c", "wget -q localhost"};
    CHECK(web(R"("healthcheck": {"test": "wget -q localhost"})").healthcheck->test == shell);
    CHECK(web(R"("healthcheck": {"test": ["CMD-SHELL", "wget -q localhost"]})").healthcheck->test == shell);
    CHECK(web(R"("healthcheck": {"test": ["CMD", "cat", "/tmp/ok"]})").healthcheck->test ==
          std::vector<std::string>{"cat", "/tmp/ok"});
    // Docker's defaults.
    const ContainerSpec defaults = web(R"("healthcheck": {"test": "true"})");
    CHECK(defaults.healthcheck->interval == 30s);
    CHECK(defaults.healthcheck->timeout == 30s);
    CHECK(defaults.healthcheck->retries == 3);
    CHECK(defaults.healthcheck->start_period == 0s);
    CHECK(defaults.healthcheck->start_interval == 5s);
    CHECK(defaults.on_unhealthy == UnhealthyAction::None);
    const ContainerSpec set = web(R"("healthcheck": {"test": "true", "interval": "1m30s", "timeout": "200ms",
        "retries": 5, "start_period": "40s", "start_interval": "1s"}, "on_unhealthy": "restart")");
    CHECK(set.healthcheck->interval == 90s);
    CHECK(set.healthcheck->timeout == 200ms);
    CHECK(set.healthcheck->retries == 5);
    CHECK(set.healthcheck->start_period == 40s);
    CHECK(set.healthcheck->start_interval == 1s);
    CHECK(set.on_unhealthy == UnhealthyAction::Restart);
    // Disabled: no check at all.
    CHECK_FALSE(web(R"("healthcheck": {"test": ["NONE"]})").healthcheck);
    CHECK_FALSE(web(R"("healthcheck": {"test": "true", "disable": true})").healthcheck);
    CHECK_FALSE(web(R"("user": "root")").healthcheck);
}

TEST_CASE("healthcheck: each error names its field", "[supervision]") {
    CHECK_FAILS(web_plus(R"("healthcheck": "true")"), "/containers/web/healthcheck",
                "expected an object with test, interval, timeout, retries, start_period");
    CHECK_FAILS(web_plus(R"("healthcheck": {})"), "/containers/web/healthcheck/test",
                "missing; give the command that checks the container");
    CHECK_FAILS(web_plus(R"("healthcheck": {"test": ["curl", "-f"]})"), "/containers/web/healthcheck/test",
                "expected [\"CMD\", \"program\", args…], [\"CMD-SHELL\", \"command\"], [\"NONE\"] or a shell "
                "command string");
    CHECK_FAILS(web_plus(R"("healthcheck": {"test": ["CMD"]})"), "/containers/web/healthcheck/test",
                "expected [\"CMD\", \"program\", args…], [\"CMD-SHELL\", \"command\"], [\"NONE\"] or a shell "
                "command string");
    CHECK_FAILS(web_plus(R"("healthcheck": {"test": ""})"), "/containers/web/healthcheck/test", "empty command");
    CHECK_FAILS(web_plus(R"("healthcheck": {"test": "true", "interval": "soon"})"),
                "/containers/web/healthcheck/interval",
                "invalid duration \"soon\"; expected e.g. \"10s\", \"1m30s\" or \"200ms\"");
    CHECK_FAILS(web_plus(R"("healthcheck": {"test": "true", "timeout": "0s"})"),
                "/containers/web/healthcheck/timeout", "must be at least 1ms");
    CHECK_FAILS(web_plus(R"("healthcheck": {"test": "true", "retries": 0})"),
                "/containers/web/healthcheck/retries", "must be an integer from 1 to 1000");
    CHECK_FAILS(web_plus(R"("healthcheck": {"test": "true", "intervall": "1s"})"),
                "/containers/web/healthcheck/intervall", "unknown field; did you mean \"interval\"?");
    CHECK_FAILS(web_plus(R"("on_unhealthy": "restart")"), "/containers/web/on_unhealthy", "needs a \"healthcheck\"");
    CHECK_FAILS(web_plus(R"("healthcheck": {"test": "true"}, "on_unhealthy": "reboot")"),
                "/containers/web/on_unhealthy", "unknown action \"reboot\"; allowed: \"restart\", \"none\"");
}

TEST_CASE("ready: notify, and service_healthy on a container with a healthcheck", "[supervision]") {
    CHECK(web(R"("user": "root")").ready == Readiness::Exec);
    CHECK(web(R"("ready": "notify")").ready == Readiness::Notify);
    CHECK_FAILS(web_plus(R"("ready": "yes")"), "/containers/web/ready",
                "unknown readiness \"yes\"; allowed: \"exec\" (ready once started), \"notify\" (ready on sd_notify "
                "READY=1)");
    const FleetSpec fleet = parse(fleet_of(R"("db": )" + box(R"("healthcheck": {"test": "true"})") + R"(, "app": )" +
                                           box(R"("depends_on": {"db": {"condition": "service_healthy"}})")));
    CHECK(named(fleet, "app").depends_on.front().condition == DependencyCondition::Healthy);
    // Replicas: the pointer names the entries as written.
    CHECK_FAILS(fleet_of(R"("db": )" + box(R"("replicas": 2)") + R"(, "app": )" +
                         box(R"("replicas": 2, "depends_on": {"db": {"condition": "service_healthy"}})")),
                "/containers/app/depends_on/db/condition", "\"service_healthy\", but \"db\" has no healthcheck");
}
