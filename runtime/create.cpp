// create: the container's directory, cgroup and init, stopped before its
// command at the exec fifo until `start`. Everything about the bundle is
// checked first; a create that fails part way leaves nothing behind.
#include "runtime/oci_runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include "cgroup/path_cgroup.hpp"
#include "cgroup/retry.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/file.hpp"
#include "core/syscalls.hpp"
#include "lifecycle/container_init.hpp"
#include "lifecycle/oci_setup.hpp"
#include "runtime/cgroup_config.hpp"
#include "runtime/container_dir.hpp"
#include "runtime/hooks.hpp"
#include "runtime/spawn.hpp"

namespace rusty::runtime {
namespace fs = std::filesystem;
using nlohmann::json;
using lifecycle::OciSetup;
using lifecycle::SpawnRequest;

namespace {

// What a create leaves behind if it fails part way: nothing.
struct CreateUndo {
    fs::path dir;
    std::optional<cgroup::ContainerCgroup> cgroup;
    UniqueFd init_pidfd;
    bool armed = true;
    ~CreateUndo() {
        if (!armed) return;
        if (init_pidfd) {
            sys::raw_pidfd_send_signal(init_pidfd.get(), SIGKILL);
            siginfo_t info{};
            ::waitid(P_PIDFD, static_cast<id_t>(init_pidfd.get()), &info, WEXITED);
        }
        if (cgroup) cgroup::remove_retrying([&] { return cgroup->remove(); });
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

}  // namespace

void Runtime::create(const std::string& id, const CreateOptions& options) {
    check_id(id);
    // Everything about the bundle is checked before anything is made.
    const oci::Spec spec = oci::load_spec(options.bundle.string());
    for (const std::string& w : spec.warnings) warn_(w);
    for (const std::string& w : spec.linux.resources.ignored) warn_(w + " is not enforced");
    const oci::Linux& linux = spec.linux;
    if (!linux.find(oci::NamespaceType::Mount)) throw Error("linux.namespaces: a mount namespace is required");
    if (linux.find(oci::NamespaceType::User)) throw Error("linux.namespaces: user namespaces are not supported yet");
    if (!spec.hostname.empty() && !linux.find(oci::NamespaceType::Uts))
        throw Error("hostname: setting a hostname needs a new uts namespace (linux.namespaces has none)");
    if (!spec.domainname.empty() && !linux.find(oci::NamespaceType::Uts))
        throw Error("domainname: setting a domainname needs a new uts namespace");
    if (!linux.sysctl.empty() && !linux.find(oci::NamespaceType::Ipc) && !linux.find(oci::NamespaceType::Network))
        warn_("linux.sysctl without ipc or network namespaces changes the host's settings");
    if (spec.process.terminal && options.console_socket.empty())
        throw Error("process.terminal is true: --console-socket is required");
    if (!spec.process.terminal && !options.console_socket.empty())
        throw Error("--console-socket given but process.terminal is false");
    const std::string cgroup_path = cgroup_path_for(spec, id);
    lifecycle::SecurityPlan security = security_of(spec, spec.process);

    const ContainerDir dir = ContainerDir::create(root_, id);
    CreateUndo undo{dir.dir()};
    const cgroup::Layout& layout = this->layout();
    std::set<std::string> extra_v1;
    if (layout.v1_root("devices")) extra_v1.insert("devices");
    undo.cgroup = cgroup::PathCgroups::create(layout, cgroup_path, limits_of(linux.resources), extra_v1);
    if (!cgroup::PathCgroups::write_device_rules(*undo.cgroup, device_rules(spec)))
        warn_("linux.resources.devices: this host has no v1 devices controller; the device allow-list is not enforced");

    write_file_atomic(dir.file("config.json"), read_file(options.bundle / "config.json", oci::kMaxConfigFile));
    const fs::path fifo = dir.file("exec.fifo");
    if (::mkfifo(fifo.c_str(), 0600) < 0) throw_sys("mkfifo(\"" + fifo.string() + "\")");
    UniqueFd fifo_fd(::open(fifo.c_str(), O_PATH | O_CLOEXEC));
    if (!fifo_fd) throw_sys("open(\"" + fifo.string() + "\")");

    // Namespaces: new ones by clone3, others joined by path.
    OciSetup setup;
    setup.spec = &spec;
    setup.no_pivot = options.no_pivot;
    setup.exec_fifo_fd = fifo_fd.get();
    setup.cgroup_view = cgroup::PathCgroups::mount_view(layout, *undo.cgroup);
    std::vector<UniqueFd> ns_fds;
    std::uint64_t clone_flags = 0;
    UniqueFd pid_ns;
    for (std::size_t i = 0; i < linux.namespaces.size(); ++i) {
        const oci::Namespace& ns = linux.namespaces[i];
        const int flag = lifecycle::clone_flag(ns.type);
        if (ns.path.empty()) {
            clone_flags |= flag;
            continue;
        }
        UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) throw_sys("linux.namespaces[" + std::to_string(i) + "].path: open(\"" + ns.path + "\")");
        if (ns.type == oci::NamespaceType::Pid) pid_ns = std::move(fd);
        else setup.join_namespaces.emplace_back(flag, ns_fds.emplace_back(std::move(fd)).get());
    }
    const std::vector<std::string> joins = undo.cgroup->join_files();
    if ((clone_flags & CLONE_NEWCGROUP) && !joins.empty()) {
        clone_flags &= ~static_cast<std::uint64_t>(CLONE_NEWCGROUP);
        setup.unshare_late = CLONE_NEWCGROUP;
    }
    const bool create_hooks = !spec.hooks.create_runtime.empty() || !spec.hooks.prestart.empty() ||
                              !spec.hooks.create_container.empty() || !spec.hooks.start_container.empty();
    std::pair<UniqueFd, UniqueFd> hook_sock;
    if (create_hooks) {
        hook_sock = sys::make_socketpair(SOCK_SEQPACKET);
        setup.hook_sync_fd = hook_sock.second.get();
    }
    UniqueFd console;
    if (spec.process.terminal) console = connect_console(options.console_socket);

    SpawnRequest request;
    request.spec.name = id;
    request.spec.argv = spec.process.args;
    request.spec.env = spec.process.env;
    request.spec.working_dir = spec.process.cwd;
    request.spec.hostname = spec.hostname;
    request.security = std::move(security);
    request.cgroup_join = joins;
    request.has_console = spec.process.terminal;
    request.oci = &setup;

    sys::Pipe setup_error = sys::make_pipe();
    lifecycle::InitFds fds = inherited_stdio(console.get(), setup_error.write.get());
    const ino_t own_mount_ns = sys::namespace_inode("mnt");
    // Joining a pid namespace changes where our next child is born: the
    // init there, and then back, so that hooks run in the runtime's own.
    UniqueFd own_pid_ns;
    if (pid_ns) {
        own_pid_ns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
        if (!own_pid_ns) throw_sys("open(\"/proc/self/ns/pid\")");
        if (::setns(pid_ns.get(), CLONE_NEWPID) < 0) throw_sys("linux.namespaces: setns(pid)");
    }

    sys::Clone3Request clone;
    clone.flags = clone_flags;
    clone.cgroup_fd = undo.cgroup->placement_fd();
    int pidfd = -1;
    fds.cloned_ns = lifecycle::monotonic_ns();
    const pid_t pid = sys::raw_clone3(clone, &pidfd);
    if (pid == 0) {
        ::setsid();
        lifecycle::run_container_init(request, fds, own_mount_ns);
    }
    const int clone_errno = errno;
    if (pid > 0) undo.init_pidfd.reset(pidfd);
    if (own_pid_ns && ::setns(own_pid_ns.get(), CLONE_NEWPID) < 0) throw_sys("setns(back to the runtime's pid namespace)");
    if (pid < 0) throw_sys("clone3", clone_errno);
    setup_error.write.reset();
    hook_sock.second.reset();
    console.reset();

    const std::string bundle = options.bundle.string();
    if (create_hooks) {
        // The init says 'H' on the socket once its mounts are done, or fails
        // (its setup pipe then has the story).
        pollfd polls[2] = {{hook_sock.first.get(), POLLIN, 0}, {setup_error.read.get(), POLLIN, 0}};
        while (::poll(polls, 2, -1) < 0)
            if (errno != EINTR) throw_sys("poll");
        char hello = 0;
        if (!(polls[0].revents & POLLIN) || ::read(hook_sock.first.get(), &hello, 1) != 1) read_story(setup_error.read.get(), false);
        const std::string state = hook_state(id, Status::Creating, pid, bundle, spec.annotations);
        // What the init's startContainer hooks will read.
        std::string reply = hook_state(id, Status::Created, pid, bundle, spec.annotations);
        std::optional<Error> failed;
        try {
            run_hooks(spec.hooks.prestart, "prestart", state);
            run_hooks(spec.hooks.create_runtime, "createRuntime", state);
            run_in_mount_ns(spec.hooks.create_container, undo.init_pidfd.get(), state);
        } catch (const Error& e) {
            reply = e.what();
            failed = e;
        }
        if (::send(hook_sock.first.get(), reply.data(), reply.size(), MSG_NOSIGNAL) < 0) throw_sys("send to the init");
        if (failed) throw *failed;
    }
    read_story(setup_error.read.get(), false);

    const json saved = {{"id", id},
                        {"pid", pid},
                        {"pid_start", process_start_time(pid).value_or(0)},
                        {"bundle", bundle},
                        {"rootfs", spec.root_path},
                        {"created", rfc3339_nano(std::chrono::system_clock::now())},
                        {"cgroup", cgroup_path},
                        {"annotations", spec.annotations}};
    write_file_atomic(dir.file("state.json"), saved.dump());
    if (!options.pid_file.empty()) write_file_atomic(options.pid_file, std::to_string(pid));
    undo.armed = false;
}

}  // namespace rusty::runtime
