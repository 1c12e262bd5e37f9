// exec: a new process in a running container, cloned into its cgroup and
// pid namespace; it joins the init's other namespaces itself.
#include "runtime/oci_runtime.hpp"

#include <sched.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/file.hpp"
#include "core/syscalls.hpp"
#include "lifecycle/container_init.hpp"
#include "runtime/container_dir.hpp"
#include "runtime/input.hpp"
#include "runtime/spawn.hpp"

namespace rusty::runtime {
using nlohmann::json;
using lifecycle::SpawnRequest;

int Runtime::exec(const std::string& id, const ExecOptions& options) {
    const Container c = inspect(ContainerDir::open(root_, id), layout());
    if (c.status == Status::Stopped) throw Error("cannot exec in a stopped container");
    if (c.status == Status::Paused) throw Error("cannot exec in a paused container");

    oci::Process process = c.saved.spec.process;
    if (!options.process_file.empty()) {
        try {
            const std::string text = read_input(options.process_file);
            process = oci::parse_process(json::parse(text), "process");
        } catch (const json::exception& e) {
            throw Error("--process " + options.process_file + ": " + e.what());
        } catch (const oci::SpecError& e) {
            throw Error("--process " + options.process_file + ": " + e.field() + ": " + e.problem());
        }
    } else {
        if (options.args.empty()) throw Error("exec: no command given (ARGS or --process)");
        process.args = options.args;
        process.terminal = options.tty;
        for (const std::string& kv : options.env) process.env.push_back(kv);
        if (!options.cwd.empty()) process.cwd = options.cwd;
    }
    if (process.terminal && options.console_socket.empty()) throw Error("exec --tty: --console-socket is required");

    const cgroup::Layout& layout = this->layout();
    auto cg = c.saved.cgroup(layout);
    SpawnRequest request;
    request.spec.name = id;
    request.spec.argv = process.args;
    request.exec_argv = process.args;
    request.spec.env = process.env;
    request.spec.working_dir = process.cwd;
    request.spec.user = std::to_string(process.user.uid) + ":" + std::to_string(process.user.gid);
    if (!options.user.empty()) request.spec.user = options.user;
    request.spec.hostname = c.saved.spec.hostname;
    request.spec.network = c.saved.spec.linux.find(oci::NamespaceType::Network) ? NetworkMode::None : NetworkMode::Host;
    request.security = security_of(c.saved.spec, process);
    request.cgroup_join = cg.join_files();
    request.has_console = process.terminal;

    UniqueFd console;
    if (process.terminal) console = connect_console(options.console_socket);
    sys::Pipe setup_error = sys::make_pipe();
    lifecycle::InitFds fds = inherited_stdio(console.get(), setup_error.write.get());
    const bool own_pid_ns = c.saved.spec.linux.find(oci::NamespaceType::Pid) != nullptr;
    if (own_pid_ns && ::setns(c.init_pidfd.get(), CLONE_NEWPID) < 0) throw_sys("setns(container, pid)");
    sys::Clone3Request clone;
    clone.cgroup_fd = cg.placement_fd();
    int pidfd = -1;
    const pid_t pid = sys::raw_clone3(clone, &pidfd);
    if (pid == 0) {
        ::setsid();
        lifecycle::run_exec_in_container(request, fds, c.init_pidfd.get());
    }
    if (pid < 0) throw_sys("clone3");
    UniqueFd child(pidfd);
    setup_error.write.reset();
    console.reset();
    read_story(setup_error.read.get(), true);
    if (!options.pid_file.empty()) write_file_atomic(options.pid_file, std::to_string(pid));
    if (options.detach) return 0;
    sys::ExitStatus exit;
    sys::wait_pidfd(child.get(), exit, false);
    return exit.signal ? 128 + exit.signal : exit.exit_code;
}

}  // namespace rusty::runtime
