// rusty-runtime: runc's command line over runtime/oci_runtime.hpp, so that
// podman (through conmon), containerd's runc shim and CRI-O can run rusty
// containers. Flags are spelled as runc spells them; every error exits 1,
// as runc's do, and goes to stderr and to --log in --log-format.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/file.hpp"
#include "core/oci_spec.hpp"
#include "runtime/input.hpp"
#include "runtime/oci_runtime.hpp"

namespace {

using nlohmann::json;
using rusty::runtime::Runtime;

// Errors and warnings as runc writes them: logrus text or JSON lines.
struct Log {
    std::string file;
    bool json_format = false;

    void write(const char* level, const std::string& msg) const {
        const std::string time = rusty::rfc3339(std::chrono::system_clock::now(), 0);
        // Bytes that are not UTF-8 (a path in argv, say) become U+FFFD
        // rather than an exception.
        auto dump = [](const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); };
        std::string line = json_format ? dump({{"level", level}, {"msg", msg}, {"time", time}})
                                       : "time=\"" + time + "\" level=" + level + " msg=" + dump(msg);
        if (!file.empty()) {
            std::ofstream out(file, std::ios::app);
            out << line << '\n';
        }
        // stderr also: conmon and podman show it to the user.
        if (file.empty() || std::string(level) == "error") std::fprintf(stderr, "%s\n", line.c_str());
    }
};

std::string absolute(const std::string& path) {
    return std::filesystem::absolute(path.empty() ? "." : path).lexically_normal().string();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"rusty-runtime: a runc-compatible OCI runtime", "rusty-runtime"};
    app.set_version_flag("--version,-v", std::string("rusty-runtime 0.1.0\nspec: ") + rusty::oci::kSpecVersion);
    app.require_subcommand(1);
    std::string root = "/run/rusty-runtime";
    Log log;
    std::string log_format = "text";
    bool systemd_cgroup = false;
    app.add_option("--root", root, "state directory")->capture_default_str();
    app.add_option("--log", log.file, "where errors and warnings go (default stderr)");
    app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
    bool debug = false;
    app.add_flag("--debug", debug, "debug output in the log");
    app.add_flag("--systemd-cgroup", systemd_cgroup, "systemd cgroup driver (not supported)");

    std::string id;
    bool ignored = false;
    rusty::runtime::CreateOptions create;
    std::string bundle;
    auto bundle_opts = [&](CLI::App* sub) {
        sub->add_option("--bundle,-b", bundle, "the bundle directory (default: .)");
        sub->add_option("--console-socket", create.console_socket, "unix socket that receives the pty master");
        sub->add_option("--pid-file", create.pid_file, "file to write the init's pid to");
        sub->add_flag("--no-pivot", create.no_pivot, "move the root instead of pivot_root (ramfs roots)");
        sub->add_flag("--no-new-keyring", ignored, "accepted; no keyring is made anyway");
        sub->add_option("id", id, "container id")->required();
    };
    CLI::App* create_cmd = app.add_subcommand("create", "create a container, stopped before its command");
    bundle_opts(create_cmd);
    bool detach = false;
    CLI::App* run_cmd = app.add_subcommand("run", "create and start a container");
    bundle_opts(run_cmd);
    run_cmd->add_flag("--detach,-d", detach, "return once started");
    CLI::App* start_cmd = app.add_subcommand("start", "run the command of a created container");
    start_cmd->add_option("id", id)->required();
    CLI::App* state_cmd = app.add_subcommand("state", "print a container's state (JSON)");
    state_cmd->add_option("id", id)->required();
    bool all = false;
    std::string signal = "SIGTERM";
    CLI::App* kill_cmd = app.add_subcommand("kill", "send a signal to the container's init");
    kill_cmd->add_flag("--all,-a", all, "to every process of the container");
    kill_cmd->add_option("id", id)->required();
    kill_cmd->add_option("signal", signal, "name or number (default SIGTERM)");
    bool force = false;
    CLI::App* delete_cmd = app.add_subcommand("delete", "remove a stopped container (--force: any)");
    delete_cmd->add_flag("--force,-f", force, "kill it first if it runs");
    delete_cmd->add_option("id", id)->required();
    std::string format = "table";
    bool quiet = false;
    CLI::App* list_cmd = app.add_subcommand("list", "list containers");
    list_cmd->add_option("--format,-f", format)->check(CLI::IsMember({"table", "json"}));
    list_cmd->add_flag("--quiet,-q", quiet, "ids only");
    CLI::App* ps_cmd = app.add_subcommand("ps", "list a container's processes");
    ps_cmd->add_option("--format,-f", format)->check(CLI::IsMember({"table", "json"}));
    ps_cmd->add_option("id", id)->required();
    CLI::App* pause_cmd = app.add_subcommand("pause", "freeze every process of a container");
    pause_cmd->add_option("id", id)->required();
    CLI::App* resume_cmd = app.add_subcommand("resume", "thaw a paused container");
    resume_cmd->add_option("id", id)->required();
    std::string resources;
    CLI::App* update_cmd = app.add_subcommand("update", "change a container's resource limits");
    update_cmd->add_option("--resources,-r", resources, "LinuxResources JSON file, - for stdin")->required();
    update_cmd->add_option("id", id)->required();
    CLI::App* features_cmd = app.add_subcommand("features", "what this runtime supports (JSON)");
    CLI::App* spec_cmd = app.add_subcommand("spec", "write a default config.json");
    spec_cmd->add_option("--bundle,-b", bundle, "where to write it (default: .)");
    bool rootless = false;
    spec_cmd->add_flag("--rootless", rootless, "not supported");
    rusty::runtime::ExecOptions exec;
    CLI::App* exec_cmd = app.add_subcommand("exec", "run a process in a running container");
    exec_cmd->add_option("--process,-p", exec.process_file, "process.json (- for stdin)");
    exec_cmd->add_flag("--tty,-t", exec.tty, "allocate a pty");
    exec_cmd->add_flag("--detach,-d", exec.detach, "return once started");
    exec_cmd->add_option("--console-socket", exec.console_socket);
    exec_cmd->add_option("--pid-file", exec.pid_file);
    exec_cmd->add_option("--env,-e", exec.env);
    exec_cmd->add_option("--cwd", exec.cwd);
    exec_cmd->add_option("--user,-u", exec.user);
    exec_cmd->prefix_command();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 1;
    }
    log.json_format = log_format == "json";
    // runc's --debug: debug-level lines in the log. Ours says which verb ran
    // with which arguments (as a caller such as conmon spelled them).
    if (debug) {
        std::string command = "rusty-runtime";
        for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
        log.write("debug", command);
    }
    try {
        if (systemd_cgroup) throw rusty::Error("--systemd-cgroup is not supported: rusty-runtime manages cgroupfs paths only (use --cgroup-manager=cgroupfs in podman)");
        Runtime runtime(root, [&](const std::string& w) { log.write("warning", w); });
        if (create_cmd->parsed() || run_cmd->parsed()) {
            create.bundle = absolute(bundle);
            if (!create.pid_file.empty()) create.pid_file = absolute(create.pid_file);
            if (create_cmd->parsed()) {
                runtime.create(id, create);
                return 0;
            }
            return runtime.run(id, create, detach);
        }
        if (start_cmd->parsed()) runtime.start(id);
        if (state_cmd->parsed()) std::cout << runtime.state(id).to_json().dump(2) << '\n';
        if (kill_cmd->parsed()) runtime.kill(id, signal, all);
        if (delete_cmd->parsed()) runtime.remove(id, force);
        if (pause_cmd->parsed()) runtime.pause(id);
        if (resume_cmd->parsed()) runtime.resume(id);
        if (features_cmd->parsed()) std::cout << Runtime::features().dump(2) << '\n';
        if (list_cmd->parsed()) {
            auto states = runtime.list();
            if (format == "json") {
                json out = json::array();
                for (auto& s : states) out.push_back(s.to_json());
                std::cout << out.dump() << '\n';
            } else if (quiet) {
                for (auto& s : states) std::cout << s.id << '\n';
            } else {
                std::printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
                for (auto& s : states) {
                    const std::string status(to_string(s.status));
                    std::printf("%-20s %-8d %-10s %-40s %s\n", s.id.c_str(), s.pid, status.c_str(), s.bundle.c_str(),
                                s.created.c_str());
                }
            }
        }
        if (ps_cmd->parsed()) {
            auto pids = runtime.ps(id);
            if (format == "json") {
                std::cout << json(pids).dump() << '\n';
            } else {
                std::printf("%-8s %s\n", "PID", "CMD");
                for (pid_t pid : pids) {
                    std::string cmd = rusty::try_read_file("/proc/" + std::to_string(pid) + "/cmdline").value_or("");
                    for (char& c : cmd)
                        if (c == '\0') c = ' ';
                    std::printf("%-8d %s\n", pid, cmd.c_str());
                }
            }
        }
        if (update_cmd->parsed()) {
            std::string text;
            try {
                text = rusty::runtime::read_input(resources);
            } catch (const rusty::Error& e) {
                if (resources == "-") throw;
                throw rusty::Error("open " + resources + ": " + rusty::errno_text(e.sys_errno()), e.sys_errno());
            }
            json parsed = json::parse(text, nullptr, false);
            if (parsed.is_discarded()) throw rusty::Error("--resources: invalid JSON");
            runtime.update(id, parsed);
        }
        if (spec_cmd->parsed()) {
            if (rootless) throw rusty::Error("spec --rootless: rootless containers are not supported yet");
            const std::filesystem::path file = std::filesystem::path(absolute(bundle)) / "config.json";
            if (std::filesystem::exists(file)) throw rusty::Error("File " + file.string() + " exists. Remove it first");
            rusty::write_file_atomic(file, rusty::oci::default_spec_json().dump(4) + "\n");
        }
        if (exec_cmd->parsed()) {
            std::vector<std::string> rest = exec_cmd->remaining();
            if (rest.empty()) throw rusty::Error("exec: a container id is required");
            id = rest.front();
            exec.args.assign(rest.begin() + 1, rest.end());
            return runtime.exec(id, exec);
        }
        return 0;
    } catch (const std::exception& e) {  // rusty::Error, and the odd std:: one (bad_alloc…)
        log.write("error", e.what());
    }
    return 1;
}
