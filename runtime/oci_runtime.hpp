// rusty-runtime as a library: runc's verbs over a state directory, one
// container per <root>/<id> (runtime/container_dir.hpp), each verb in
// runtime/<verb>.cpp. The CLI (cli/runtime_main.cpp) is a thin layer over
// this. Every container is set up by the same init as the supervisor's
// (lifecycle/container_init.cpp), cloned straight from this process: a
// one-shot runtime needs no helper fork.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cgroup/layout.hpp"
#include "core/oci_spec.hpp"
#include "runtime/status.hpp"

namespace rusty::runtime {

struct CreateOptions {
    std::filesystem::path bundle;  // absolute
    std::string console_socket;    // process.terminal: where the pty master goes (SCM_RIGHTS)
    std::string pid_file;
    bool no_pivot = false;
};

struct ExecOptions {
    std::string process_file;        // --process: a process object (JSON); "-" reads stdin
    std::vector<std::string> args;   // else the command
    bool tty = false;
    std::string console_socket;
    std::string pid_file;
    bool detach = false;
    std::vector<std::string> env;    // --env KEY=VALUE
    std::string cwd;                 // --cwd
    std::string user;                // --user UID[:GID]
};

// What `state` prints: the runtime-spec's state, plus runc's extras.
struct State {
    std::string id;
    Status status = Status::Stopped;
    pid_t pid = 0;
    std::string bundle;
    std::string rootfs;
    std::string created;  // RFC 3339
    std::map<std::string, std::string> annotations;
    nlohmann::json to_json() const;
};

// Every verb throws rusty::Error (core/error.hpp) with runc's wording, and
// the errno when a system call failed; config.json's problems are
// oci::SpecError, a rusty::Error too. The CLI exits 1 for any (as runc).
class Runtime {
public:
    // `warn` receives each warning (config.json fields not applied, …).
    Runtime(std::filesystem::path root, std::function<void(const std::string&)> warn);

    void create(const std::string& id, const CreateOptions& options);
    void start(const std::string& id);
    // create + start; without `detach`, waits for the init, forwarding
    // signals, deletes the container and returns its exit status (128 + n
    // for a signal, as a shell does).
    int run(const std::string& id, const CreateOptions& options, bool detach);
    State state(const std::string& id);
    std::vector<State> list();
    // `signal` as rusty::parse_signal reads it: "TERM", "SIGTERM", "15",
    // "RTMIN+3".
    void kill(const std::string& id, const std::string& signal, bool all);
    // runc's `delete` (a keyword here): runtime/delete.cpp.
    void remove(const std::string& id, bool force);
    void pause(const std::string& id);
    void resume(const std::string& id);
    std::vector<pid_t> ps(const std::string& id);
    void update(const std::string& id, const nlohmann::json& resources);
    int exec(const std::string& id, const ExecOptions& options);

    // runtime-spec features.md: what this runtime supports.
    static nlohmann::json features();

private:
    // The host's hierarchies, read once (list() asks for every container's).
    const cgroup::Layout& layout();

    std::filesystem::path root_;
    std::function<void(const std::string&)> warn_;
    std::optional<cgroup::Layout> layout_;
};

}  // namespace rusty::runtime
