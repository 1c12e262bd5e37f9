// rusty-supervisor: parses the command line and prints; the library runs the fleet.
#include <CLI/CLI.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cgroup/layout.hpp"
#include "cli/printer.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
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
    app.require_subcommand(0, 1);

    try {
        app.parse(argc, argv);
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
    options.stop_grace = std::chrono::milliseconds(std::llround(stop_timeout * 1000));
    auto format = log_format == "json" ? rusty::cli::LogFormat::Json : rusty::cli::LogFormat::Text;
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    rusty::cli::Printer printer(format, names_of(spec), stdout);
    try {
        rusty::Fleet fleet(std::move(spec), options, printer);
        rusty::FleetResult result = fleet.run();
        if (result.stop_signal) return 0;  // a stop that was asked for and done
        return result.all_succeeded ? 0 : kExitFailure;
    } catch (const rusty::ConfigError& e) {  // options that do not fit this fleet
        std::fprintf(stderr, "rusty-supervisor: %s\n", e.what());
        return kExitUsage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rusty-supervisor: %s\n", e.what());
        return kExitFailure;
    }
}
