// rusty-supervisor: parses the command line and prints; the library runs the fleet.
#include <CLI/CLI.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cgroup/layout.hpp"
#include "cli/attach.hpp"
#include "cli/control_client.hpp"
#include "cli/logs.hpp"
#include "cli/printer.hpp"
#include "cli/verbs.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/syscalls.hpp"
#include "core/units.hpp"
#include "lifecycle/fleet.hpp"

namespace {

// Exit statuses: 0 every container exited 0 (or a requested stop finished),
// 1 a container failed or exited non-zero, 2 bad usage or configuration.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// The longest --stop-timeout: a year, far inside what milliseconds and the
// reactor's timers hold. Larger values (and nan, which every range check
// lets through) would overflow the conversion to milliseconds.
constexpr double kMaxStopTimeout = 365.0 * 24 * 3600;

std::vector<std::string> names_of(const rusty::FleetSpec& spec) {
    std::vector<std::string> names;
    for (auto& c : spec.containers) names.push_back(c.name);
    return names;
}

// The verbs that talk to a running fleet through its control socket.
struct ClientCommand {
    CLI::App* app = nullptr;
    rusty::cli::VerbRequest request;
};

struct ClientOptions {
    std::string socket;
    std::string fleet;
    bool json = false;
    std::vector<std::string> names;
    double timeout = 0;  // when -t/--timeout is given
    std::string signal;
};

// "SIGHUP" for the classic signals, the number for real-time ones (which
// parse_signal takes only as numbers).
std::string canonical_signal(const std::string& text) {
    const int sig = *rusty::parse_signal(text);
    return sig < 32 ? rusty::sys::signal_name(sig) : std::to_string(sig);
}

// Runs a command that talks to a fleet (or reads its files), turning what
// it throws into a message and an exit status.
template <class Command>
int run_reported(Command command) {
    try {
        std::setvbuf(stdout, nullptr, _IOLBF, 0);
        return command();
    } catch (const rusty::cli::UsageError& e) {
        std::fprintf(stderr, "rusty-supervisor: %s\n", e.what());
        return kExitUsage;
    } catch (const rusty::ConfigError& e) {  // the --config file
        std::fprintf(stderr, "rusty-supervisor: %s\n", e.what());
        return kExitUsage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rusty-supervisor: %s\n", e.what());
        return kExitFailure;
    }
}

// Runs a client verb; the socket is found from --socket, --config, --fleet
// or the only fleet under --root.
int run_client(rusty::cli::VerbRequest request, const rusty::cli::SocketChoice& choice) {
    return run_reported([&] { return rusty::cli::run_verb(request, rusty::cli::locate_socket(choice)); });
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"rusty-supervisor: runs a fleet of containers from one fleet.json"};
    app.set_version_flag("--version", "rusty-supervisor 0.1.0");
    std::string config_path;
    std::string state_dir;
    std::string root = "/run/rusty-supervisor";
    std::string log_format = "text";
    double stop_timeout = 10.0;
    bool debug = false;
    std::string cgroup_parent;
    app.add_option("-c,--config", config_path, "fleet.json to run")->check(CLI::ExistingFile);
    app.add_option("--state-dir", state_dir, "this fleet's state directory (default: ROOT/<fleet name>)");
    app.add_option("--root", root, "directory for images and fleet state")->capture_default_str();
    app.add_option("--log-format", log_format, "event output: text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_option("--stop-timeout", stop_timeout, "seconds between SIGTERM and SIGKILL when stopping")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--cgroup-parent", cgroup_parent,
                   "absolute cgroup path holding <fleet>/<container> cgroups (default: fleet.json's "
                   "cgroup_parent, else /rusty-supervisor)");
    app.add_flag("--debug", debug, "log the supervisor's own diagnostics");

    CLI::App* check = app.add_subcommand(
        "check", "validate a fleet.json, and its limits against this host's cgroups; start nothing");
    std::string check_path;
    check->add_option("-c,--config", check_path, "fleet.json to check")->required()->check(CLI::ExistingFile);

    // Client verbs. -c/--config and --root here are the same settings as the
    // run mode's, so they may come before or after the verb.
    ClientOptions client;
    std::vector<ClientCommand> verbs;
    const CLI::Validator signal_check(
        [](std::string& text) -> std::string {
            if (rusty::parse_signal(text)) return {};
            return "unknown signal \"" + text + "\"; expected e.g. SIGHUP, HUP or 1";
        },
        "SIGNAL");
    auto add_verb = [&](const char* name, const char* help) {
        CLI::App* sub = app.add_subcommand(name, help);
        sub->add_option("--socket", client.socket, "the fleet's control socket (default: ROOT/<fleet>/control.sock)");
        sub->add_option("--fleet", client.fleet, "the fleet's name (default: the only one running under --root)");
        sub->add_option("-c,--config", config_path, "the fleet's fleet.json, for its name")->check(CLI::ExistingFile);
        sub->add_option("--root", root, "directory for images and fleet state")->capture_default_str();
        sub->add_flag("--json", client.json, "print JSON instead of text");
        verbs.push_back({sub, {name, {}, std::nullopt, {}, false}});
        return sub;
    };
    auto add_names = [&](CLI::App* sub, bool required) {
        CLI::Option* names = sub->add_option("NAME", client.names, required ? "containers" : "containers (default: all)");
        if (required) names->required();
    };
    auto add_timeout = [&](CLI::App* sub) {
        sub->add_option("-t,--timeout", client.timeout, "seconds between the stop signal and SIGKILL")
            ->check(CLI::NonNegativeNumber);
    };
    add_names(add_verb("ps", "list the containers of a running fleet"), false);
    add_names(add_verb("stop", "stop containers (all: stop the fleet, which then exits)"), false);
    add_timeout(verbs.back().app);
    add_names(add_verb("start", "start stopped containers"), true);
    add_names(add_verb("restart", "restart containers"), false);
    add_timeout(verbs.back().app);
    CLI::App* kill = add_verb("kill", "send a signal to containers (default SIGKILL)");
    kill->add_option("-s,--signal", client.signal, "the signal: SIGHUP, HUP or a number")->check(signal_check);
    add_names(kill, false);
    add_names(add_verb("pause", "freeze containers"), true);
    add_names(add_verb("unpause", "thaw paused containers"), true);
    add_names(add_verb("events", "print the fleet's events as they happen, until it stops"), false);
    add_names(add_verb("stats", "memory, CPU and pids of running containers"), false);
    add_verb("reload", "re-read fleet.json and apply the changes");

    rusty::cli::AttachOptions attach;
    CLI::App* attach_verb = app.add_subcommand(
        "attach", "join a running container's terminal (or stdin and output); ctrl-p ctrl-q detaches");
    attach_verb->add_option("--socket", client.socket, "the fleet's control socket (default: ROOT/<fleet>/control.sock)");
    attach_verb->add_option("--fleet", client.fleet, "the fleet's name (default: the only one running under --root)");
    attach_verb->add_option("-c,--config", config_path, "the fleet's fleet.json, for its name")->check(CLI::ExistingFile);
    attach_verb->add_option("--root", root, "directory for images and fleet state")->capture_default_str();
    attach_verb->add_flag("--no-stdin", attach.no_stdin, "only watch: do not send typed input");
    attach_verb->add_option("NAME", attach.name, "the container")->required();

    // logs reads the files itself: it works once the fleet has ended too.
    rusty::cli::LogsOptions logs;
    std::string since, tail;
    bool no_color = false;
    CLI::App* logs_verb = app.add_subcommand("logs", "print the containers' logs");
    logs_verb->add_option("--socket", client.socket, "the fleet's control socket; its directory holds the logs");
    logs_verb->add_option("--fleet", client.fleet, "the fleet's name (default: the only one under --root)");
    logs_verb->add_option("-c,--config", config_path, "the fleet's fleet.json, for its name")->check(CLI::ExistingFile);
    logs_verb->add_option("--root", root, "directory for images and fleet state")->capture_default_str();
    logs_verb->add_option("--state-dir", state_dir, "the fleet's state directory");
    logs_verb->add_flag("-f,--follow", logs.follow, "keep printing new lines until the fleet ends");
    logs_verb->add_option("-n,--tail", tail, "only the last N lines of each container (or \"all\")");
    logs_verb->add_option("--since", since, "only lines since a time: RFC 3339, Unix seconds, or a duration (10m)");
    logs_verb->add_flag("-t,--timestamps", logs.timestamps, "show each line's time");
    logs_verb->add_flag("--no-color", no_color, "no colours in the prefixes");
    logs_verb->add_option("NAME", client.names, "containers (default: all)");
    app.require_subcommand(0, 1);

    try {
        app.parse(argc, argv);
        for (ClientCommand& verb : verbs) {
            if (!*verb.app) continue;
            rusty::cli::VerbRequest request = verb.request;
            request.names = client.names;
            request.json = client.json;
            if (CLI::Option* t = verb.app->get_option_no_throw("--timeout"); t && t->count() > 0) {
                if (!(client.timeout >= 0 && client.timeout <= kMaxStopTimeout))  // nan passes CLI::Range
                    throw CLI::ValidationError("--timeout", "must be a number of seconds from 0 to " +
                                                                std::to_string(static_cast<long>(kMaxStopTimeout)));
                request.timeout = client.timeout;
            }
            if (!client.signal.empty()) request.signal = canonical_signal(client.signal);
            return run_client(std::move(request), {client.socket, config_path, client.fleet, root});
        }
        if (*attach_verb) {
            return run_reported([&] {
                return rusty::cli::run_attach(attach, rusty::cli::locate_socket({client.socket, config_path, client.fleet, root}));
            });
        }
        if (*logs_verb) {
            if (!tail.empty() && tail != "all") {
                std::size_t n = 0;
                if (tail.size() > 9 || tail.find_first_not_of("0123456789") != std::string::npos)
                    throw CLI::ValidationError("--tail", "must be a number of lines or \"all\", not \"" + tail + "\"");
                for (char c : tail) n = n * 10 + static_cast<std::size_t>(c - '0');
                logs.tail = n;
            }
            if (!since.empty()) {
                logs.since = rusty::cli::parse_since(since, std::chrono::system_clock::now());
                if (!logs.since)
                    throw CLI::ValidationError("--since", "\"" + since + "\" is neither an RFC 3339 time, Unix "
                                                          "seconds nor a duration such as 10m");
            }
            logs.names = client.names;
            logs.state_dir = state_dir;
            logs.choice = {client.socket, config_path, client.fleet, root};
            logs.color = !no_color && ::isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
            return run_reported([&] { return rusty::cli::run_logs(logs, stdout); });
        }
        if (!*check && config_path.empty()) throw CLI::RequiredError("--config");
        if (!cgroup_parent.empty()) {
            try {
                cgroup_parent = rusty::parse_cgroup_path(cgroup_parent, "--cgroup-parent");
            } catch (const rusty::ConfigError& e) {
                throw CLI::ValidationError("--cgroup-parent", e.problem());
            }
        }
        if (!(stop_timeout >= 0 && stop_timeout <= kMaxStopTimeout))
            throw CLI::ValidationError("--stop-timeout", "must be a number of seconds from 0 to " +
                                                             std::to_string(static_cast<long>(kMaxStopTimeout)));
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : kExitUsage;
    }

    auto logger = spdlog::stderr_logger_st("rusty");
    logger->set_pattern("rusty-supervisor: %v");
    logger->set_level(debug ? spdlog::level::debug : spdlog::level::warn);
    spdlog::set_default_logger(logger);

    rusty::FleetOptions options;
    if (!cgroup_parent.empty()) options.cgroup_parent = cgroup_parent;
    rusty::FleetSpec spec;
    try {
        spec = rusty::load_fleet(*check ? check_path : config_path);
        if (*check) {
            const rusty::cgroup::Layout layout = rusty::cgroup::Layout::detect();
            for (const std::string& warning : rusty::check_on_host(spec, options, layout))
                std::fprintf(stderr, "rusty-supervisor: warning: %s\n", warning.c_str());
            std::printf("fleet \"%s\": %zu containers, configuration valid\ncgroups: %s, under %s/%s\n",
                        spec.name.c_str(), spec.containers.size(), layout.describe().c_str(),
                        spec.cgroup_parent == "/" ? "" : spec.cgroup_parent.c_str(), spec.name.c_str());
            return 0;
        }
    } catch (const rusty::ConfigError& e) {
        std::fprintf(stderr, "rusty-supervisor: %s\n", e.what());
        return kExitUsage;
    } catch (const std::exception& e) {  // the host's cgroups could not be read
        std::fprintf(stderr, "rusty-supervisor: %s\n", e.what());
        return kExitFailure;
    }

    // A reader that goes away (`rusty-supervisor ... | head`) must not end
    // the supervisor by SIGPIPE halfway through a fleet, leaving its
    // containers orphaned: writes fail with EPIPE instead and the printer
    // drops them. Containers get default dispositions back before exec.
    std::signal(SIGPIPE, SIG_IGN);

    options.state_root = root;
    options.state_dir = state_dir;
    // Absolute: reload re-reads it, whatever the working directory then.
    std::error_code no_cwd;  // then the path stays as given
    options.config_path = std::filesystem::absolute(config_path, no_cwd);
    if (no_cwd) options.config_path = config_path;
    options.stop_grace = std::chrono::milliseconds(std::llround(stop_timeout * 1000));
    auto format = log_format == "json" ? rusty::cli::LogFormat::Json : rusty::cli::LogFormat::Text;
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    rusty::cli::Printer printer(format, names_of(spec), stdout);
    try {
        rusty::Fleet fleet(std::move(spec), options, printer);
        rusty::FleetResult result = fleet.run();
        if (result.stopped) return 0;  // a stop that was asked for (a signal, the stop verb) and done
        return result.all_succeeded ? 0 : kExitFailure;
    } catch (const rusty::ConfigError& e) {  // options that do not fit this fleet
        std::fprintf(stderr, "rusty-supervisor: %s\n", e.what());
        return kExitUsage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rusty-supervisor: %s\n", e.what());
        return kExitFailure;
    }
}
