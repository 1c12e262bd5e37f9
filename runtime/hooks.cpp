#include "runtime/hooks.hpp"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file.hpp"
#include "core/syscalls.hpp"
#include "lifecycle/oci_setup.hpp"

namespace rusty::runtime {

std::string hook_state(const std::string& id, Status status, pid_t pid, const std::string& bundle,
                       const std::map<std::string, std::string>& annotations) {
    nlohmann::json j = {{"ociVersion", oci::kSpecVersion}, {"id", id}, {"status", to_string(status)}, {"bundle", bundle}};
    if (pid > 0) j["pid"] = pid;
    if (!annotations.empty()) j["annotations"] = annotations;
    return j.dump();
}

void run_hooks(const std::vector<oci::Hook>& hooks, const char* moment, const std::string& state) {
    for (const oci::Hook& hook : hooks)
        if (std::string error = lifecycle::run_hook(hook, state); !error.empty())
            throw Error(std::string(moment) + " " + error);
}

void run_hooks_warning(const std::vector<oci::Hook>& hooks, const char* moment, const std::string& state,
                       const std::function<void(const std::string&)>& warn) {
    for (const oci::Hook& hook : hooks)
        if (std::string error = lifecycle::run_hook(hook, state); !error.empty()) warn(std::string(moment) + " " + error);
}

void run_in_mount_ns(const std::vector<oci::Hook>& hooks, int init_pidfd, const std::string& state) {
    if (hooks.empty()) return;
    sys::Pipe report = sys::make_pipe();
    const pid_t pid = ::fork();
    if (pid < 0) throw_sys("fork (createContainer hooks)");
    if (pid == 0) {
        std::string error;
        if (::setns(init_pidfd, CLONE_NEWNS) < 0) error = "setns(mount): " + errno_text(errno);
        for (std::size_t i = 0; error.empty() && i < hooks.size(); ++i) error = lifecycle::run_hook(hooks[i], state);
        [[maybe_unused]] ssize_t n = ::write(report.write.get(), error.data(), error.size());
        ::_exit(error.empty() ? 0 : 1);
    }
    report.write.reset();
    const std::string error = read_fd(report.read.get(), "the createContainer hooks' report");
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!error.empty()) throw Error("createContainer " + error);
}

}  // namespace rusty::runtime
