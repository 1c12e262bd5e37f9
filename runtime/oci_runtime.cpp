#include "runtime/oci_runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <sstream>

#include "cgroup/layout.hpp"
#include "cgroup/path_cgroup.hpp"
#include "cgroup/retry.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/file.hpp"
#include "core/syscalls.hpp"
#include "core/units.hpp"
#include "lifecycle/container_init.hpp"
#include "lifecycle/messages.hpp"
#include "lifecycle/oci_setup.hpp"
#include "lifecycle/seccomp.hpp"
#include "runtime/input.hpp"

namespace rusty::runtime {
namespace fs = std::filesystem;
using nlohmann::json;
using lifecycle::OciSetup;
using lifecycle::SpawnRequest;

namespace {

// What a status needs of /proc/<pid>/stat: the state letter, and the start
// time (field 22), which tells a pid's process from a later one that reuses
// the number.
struct ProcStat {
    char state = 0;
    std::uint64_t start = 0;
};

std::optional<ProcStat> proc_stat(pid_t pid) {
    const std::optional<std::string> text = try_read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    // The command name (field 2) may hold spaces and parentheses: fields
    // are counted from its last ')'.
    const auto paren = text->rfind(')');
    if (paren == std::string::npos || paren + 2 >= text->size()) return std::nullopt;
    std::istringstream fields(text->substr(paren + 2));
    ProcStat stat;
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i) {
        if (i == 3) stat.state = field.front();
        if (i == 22) {
            stat.start = std::stoull(field);
            return stat;
        }
    }
    return std::nullopt;
}

void check_id(const std::string& id) {
    if (id.empty()) throw Error("container id cannot be empty");
    if (id == "." || id == ".." || id.find('/') != std::string::npos || id.size() > 1024)
        throw Error("invalid container id format: " + id);
}

// The container's directory, locked for the life of this object.
class Locked {
public:
    Locked(const fs::path& root, const std::string& id, bool create) : dir_(root / id) {
        check_id(id);
        if (create) {
            std::error_code ec;
            fs::create_directories(root, ec);
            if (ec) throw Error("mkdir " + root.string() + ": " + ec.message(), ec.value());
            if (::mkdir(dir_.c_str(), 0711) < 0) {
                if (errno == EEXIST) throw Error("container with id exists: " + id);
                throw_sys("mkdir(\"" + dir_.string() + "\")");
            }
        }
        fd_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!fd_) {
            if (errno == ENOENT) throw Error("container does not exist", ENOENT);
            throw_sys("open(\"" + dir_.string() + "\")");
        }
        if (::flock(fd_.get(), LOCK_EX) < 0) throw_sys("flock(\"" + dir_.string() + "\")");
        // Deleted while we waited for the lock, or left by a create that
        // died before its end (a create in progress holds the lock).
        if (!create && ::access((dir_ / "state.json").c_str(), F_OK) < 0 && errno == ENOENT)
            throw Error("container does not exist", ENOENT);
    }
    const fs::path& dir() const { return dir_; }

private:
    fs::path dir_;
    UniqueFd fd_;
};

struct Saved {
    json state;       // state.json
    oci::Spec spec;   // from the copied config.json
};

Saved load(const Locked& locked) {
    Saved s;
    try {
        // state.json holds config.json's annotations: bounded alike.
        s.state = json::parse(read_file(locked.dir() / "state.json", oci::kMaxConfigFile));
        s.spec = oci::parse_spec(read_file(locked.dir() / "config.json", oci::kMaxConfigFile),
                                 s.state.at("bundle").get<std::string>());
    } catch (const json::exception& e) {
        throw Error("state of " + locked.dir().string() + " is corrupt: " + e.what());
    } catch (const oci::SpecError& e) {
        throw Error(std::string("saved ") + e.what(), e.sys_errno());
    }
    return s;
}

// The container's status from its init's liveness and the exec fifo.
Status status_of(const Locked& locked, const json& state, const cgroup::Layout& layout, UniqueFd* pidfd_out = nullptr) {
    const pid_t pid = state.value("pid", 0);
    const auto expected = state.value("pid_start", std::uint64_t{0});
    if (pid <= 0) return Status::Stopped;
    UniqueFd pidfd(sys::raw_pidfd_open(pid, 0));
    const std::optional<ProcStat> stat = pidfd ? proc_stat(pid) : std::nullopt;
    // Gone, another process under the pid, or a zombie not yet reaped by
    // its parent: stopped.
    if (!stat || stat->start != expected || stat->state == 'Z' || stat->state == 'X') return Status::Stopped;
    if (pidfd_out) *pidfd_out = std::move(pidfd);
    if (::access((locked.dir() / "exec.fifo").c_str(), F_OK) == 0) return Status::Created;
    if (state.contains("cgroup")) {
        try {
            auto cg = cgroup::PathCgroups::open(layout, state["cgroup"].get<std::string>());
            if (cg.can_freeze() && cg.frozen()) return Status::Paused;
        } catch (const std::exception&) {
        }
    }
    return Status::Running;
}

State to_state(const std::string& id, const json& saved, Status status) {
    State s;
    s.id = id;
    s.status = status;
    s.pid = status == Status::Stopped ? 0 : saved.value("pid", 0);
    s.bundle = saved.value("bundle", "");
    s.rootfs = saved.value("rootfs", "");
    s.created = saved.value("created", "");
    s.annotations = saved.value("annotations", std::map<std::string, std::string>{});
    return s;
}

std::string hook_state(const std::string& id, Status status, pid_t pid, const std::string& bundle,
                       const std::map<std::string, std::string>& annotations) {
    json j = {{"ociVersion", oci::kSpecVersion}, {"id", id}, {"status", to_string(status)}, {"bundle", bundle}};
    if (pid > 0) j["pid"] = pid;
    if (!annotations.empty()) j["annotations"] = annotations;
    return j.dump();
}

// Where linux.cgroupsPath puts the container.
std::string cgroup_path_for(const oci::Spec& spec, const std::string& id) {
    const std::string& path = spec.linux.cgroups_path;
    if (path.empty()) return "/rusty-runtime/" + id;
    if (path.find(':') != std::string::npos)
        throw Error("linux.cgroupsPath \"" + path + "\": a systemd slice:prefix:name path needs --systemd-cgroup, which "
             "rusty-runtime does not support; give a cgroupfs path");
    // runc puts a relative path under its own cgroup; we under the root:
    // under the caller's would land in whatever unit the caller runs in.
    return path.front() == '/' ? path : "/" + path;
}

Resources limits_of(const oci::Resources& r) {
    Resources out;
    out.memory = r.memory_limit;
    out.memory_swap = r.memory_swap;
    out.memory_reservation = r.memory_reservation;
    if (r.cpu_quota && *r.cpu_quota > 0) {
        const double period = static_cast<double>(r.cpu_period.value_or(100'000));
        out.cpus = static_cast<double>(*r.cpu_quota) / period;
    }
    out.cpu_shares = r.cpu_shares;
    out.cpuset = r.cpuset_cpus;
    out.pids = r.pids_limit;
    if (out.pids && *out.pids <= 0) out.pids.reset();  // 0 or -1: unlimited, as runc
    return out;
}

// The device cgroup's rules: deny everything, then the spec's own rules,
// then runc's defaults (the nodes every container gets and ptys), then the
// spec's devices. Nothing else opens.
std::vector<cgroup::DeviceAccess> device_rules(const oci::Spec& spec) {
    std::vector<cgroup::DeviceAccess> rules{{false, "a *:* rwm"}};
    auto number = [](const std::optional<std::int64_t>& n) { return n ? std::to_string(*n) : std::string("*"); };
    for (const oci::DeviceRule& r : spec.linux.resources.devices) {
        if (r.type == 'a' && !r.allow) continue;  // already denied
        rules.push_back({r.allow, std::string(1, r.type) + " " + number(r.major) + ":" + number(r.minor) + " " + r.access});
    }
    for (const char* rule : {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm",
                             "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"})
        rules.push_back({true, rule});
    for (const oci::Device& d : spec.linux.devices)
        if (d.type != 'p')
            rules.push_back({true, std::string(1, d.type == 'u' ? 'c' : d.type) + " " + std::to_string(d.major) + ":" +
                                       std::to_string(d.minor) + " rwm"});
    return rules;
}

lifecycle::SecurityPlan security_of(const oci::Spec& spec, const oci::Process& process) {
    lifecycle::SecurityPlan plan;
    plan.cap_bounding = process.capabilities.bounding;
    plan.cap_effective = process.capabilities.effective;
    plan.cap_permitted = process.capabilities.permitted;
    plan.cap_inheritable = process.capabilities.inheritable;
    plan.cap_ambient = process.capabilities.ambient;
    plan.no_new_privileges = process.no_new_privileges;
    plan.masked_paths = spec.linux.masked_paths;
    plan.readonly_paths = spec.linux.readonly_paths;
    if (spec.linux.seccomp) {
        try {
            lifecycle::CompiledSeccomp compiled = lifecycle::compile_seccomp(*spec.linux.seccomp);
            plan.seccomp_filter = std::move(compiled.filter);
            plan.seccomp_flags = compiled.flags;
        } catch (const Error& e) {
            throw e.context("linux.seccomp");
        }
    }
    return plan;
}

UniqueFd connect_console(const std::string& path) {
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_sys("socket(AF_UNIX)");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw Error("--console-socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw_sys("connect to the console socket \"" + path + "\"");
    return sock;
}

// Reads the setup-error pipe: true once the init said it is ready (or, for
// `wait_exec`, that it exec'd); throws with the init's own words otherwise.
void read_story(int fd, bool wait_exec) {
    std::string got;
    char buf[2048];
    for (;;) {
        if (!wait_exec && got.size() == 1 && got[0] == lifecycle::kReadyMarker) return;
        const ssize_t n = ::read(fd, buf, wait_exec ? sizeof buf : 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("read the init's setup pipe");
        if (n == 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    const std::string story = lifecycle::setup_story(got);
    if (!story.empty()) throw Error(story);
}

// Runs the hooks of one moment; a failure is an error, as runc makes it.
void run_hooks(const std::vector<oci::Hook>& hooks, const char* moment, const std::string& state) {
    for (const oci::Hook& hook : hooks)
        if (std::string error = lifecycle::run_hook(hook, state); !error.empty())
            throw Error(std::string(moment) + " " + error);
}

// createContainer hooks run in the container's mount namespace, before
// pivot_root: from a child that joined it.
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

// A container's stdio is the runtime's own (conmon and the shims hand the
// runtime the pipes or files the container should get).
lifecycle::InitFds inherited_stdio(int console_socket, int setup_error) {
    lifecycle::InitFds fds;
    fds.stdin_fd = 0;
    fds.stdout_fd = 1;
    fds.stderr_fd = 2;
    fds.console_fd = console_socket;
    fds.setup_error_fd = setup_error;
    return fds;
}

void wait_gone(int pidfd) {
    pollfd p{pidfd, POLLIN, 0};
    while (::poll(&p, 1, 10'000) < 0 && errno == EINTR) {
    }
}

}  // namespace

json State::to_json() const {
    json j = {{"ociVersion", oci::kSpecVersion}, {"id", id}, {"pid", pid}, {"status", to_string(status)},
              {"bundle", bundle}, {"rootfs", rootfs}, {"created", created}, {"owner", ""}};
    if (!annotations.empty()) j["annotations"] = annotations;
    return j;
}

Runtime::Runtime(fs::path root, std::function<void(const std::string&)> warn)
    : root_(std::move(root)), warn_(std::move(warn)) {}

const cgroup::Layout& Runtime::layout() {
    if (!layout_) layout_ = cgroup::Layout::detect();
    return *layout_;
}

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

    Locked locked(root_, id, true);
    CreateUndo undo{locked.dir()};
    const cgroup::Layout& layout = this->layout();
    std::set<std::string> extra_v1;
    if (layout.v1_root("devices")) extra_v1.insert("devices");
    undo.cgroup = cgroup::PathCgroups::create(layout, cgroup_path, limits_of(linux.resources), extra_v1);
    if (!cgroup::PathCgroups::write_device_rules(*undo.cgroup, device_rules(spec)))
        warn_("linux.resources.devices: this host has no v1 devices controller; the device allow-list is not enforced");

    write_file_atomic(locked.dir() / "config.json", read_file(options.bundle / "config.json", oci::kMaxConfigFile));
    const fs::path fifo = locked.dir() / "exec.fifo";
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

    json saved = {{"id", id}, {"pid", pid}, {"pid_start", proc_stat(pid).value_or(ProcStat{}).start}, {"bundle", bundle},
                  {"rootfs", spec.root_path}, {"created", rfc3339_nano(std::chrono::system_clock::now())}, {"cgroup", cgroup_path}, {"annotations", spec.annotations}};
    write_file_atomic(locked.dir() / "state.json", saved.dump());
    if (!options.pid_file.empty()) write_file_atomic(options.pid_file, std::to_string(pid));
    undo.armed = false;
}

void Runtime::start(const std::string& id) {
    Locked locked(root_, id, false);
    Saved saved = load(locked);
    UniqueFd pidfd;
    const Status status = status_of(locked, saved.state, layout(), &pidfd);
    if (status == Status::Stopped) throw Error("cannot start a container that has stopped");
    if (status != Status::Created) throw Error("cannot start an already running container");
    const fs::path fifo = locked.dir() / "exec.fifo";
    UniqueFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) throw_sys("open(\"" + fifo.string() + "\")");
    // The init writes one byte, then holds the fifo open until its execve
    // (close-on-exec): EOF after the byte means the command runs.
    pollfd polls[2] = {{fd.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    bool released = false;
    for (;;) {
        if (::poll(polls, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw_sys("poll(exec fifo)");
        }
        if (polls[0].revents & (POLLIN | POLLHUP)) {
            char go;
            const ssize_t n = ::read(fd.get(), &go, 1);
            if (n == 1) {
                released = true;
                ::unlink(fifo.c_str());
                continue;
            }
            if (n == 0 && released) break;
        }
        if (polls[1].revents & POLLIN) {
            if (!released) throw Error("cannot start a container that has stopped");
            break;  // it ended before or at its execve: a stopped container
        }
    }
    ::unlink(fifo.c_str());
    const std::string state = hook_state(id, Status::Running, saved.state.value("pid", 0), saved.state.value("bundle", ""),
                                         saved.spec.annotations);
    for (const oci::Hook& hook : saved.spec.hooks.poststart)
        if (std::string error = lifecycle::run_hook(hook, state); !error.empty()) warn_("poststart " + error);
}

int Runtime::run(const std::string& id, const CreateOptions& options, bool detach) {
    // Signals that arrive before the init runs are forwarded once it does.
    sigset_t forwarded;
    sigemptyset(&forwarded);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(&forwarded, sig);
    if (!detach) ::sigprocmask(SIG_BLOCK, &forwarded, nullptr);
    create(id, options);
    try {
        start(id);
    } catch (...) {
        try {
            remove(id, true);
        } catch (...) {
        }
        throw;
    }
    if (detach) return 0;
    pid_t pid;
    {
        Locked locked(root_, id, false);
        pid = load(locked).state.value("pid", 0);
    }
    UniqueFd pidfd(sys::raw_pidfd_open(pid, 0));
    UniqueFd sigfd(::signalfd(-1, &forwarded, SFD_CLOEXEC));
    int code = 255;
    for (;;) {
        pollfd polls[2] = {{pidfd.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
        if (::poll(polls, 2, -1) < 0 && errno != EINTR) throw_sys("poll");
        if (polls[1].revents & POLLIN) {
            signalfd_siginfo info{};
            if (::read(sigfd.get(), &info, sizeof info) == sizeof info)
                sys::raw_pidfd_send_signal(pidfd.get(), static_cast<int>(info.ssi_signo));
        }
        if (polls[0].revents & POLLIN) {
            sys::ExitStatus status;
            sys::wait_pidfd(pidfd.get(), status, false);
            code = status.signal ? 128 + status.signal : status.exit_code;
            break;
        }
    }
    remove(id, true);
    return code;
}

State Runtime::state(const std::string& id) {
    Locked locked(root_, id, false);
    Saved saved = load(locked);
    return to_state(id, saved.state, status_of(locked, saved.state, layout()));
}

std::vector<State> Runtime::list() {
    std::vector<State> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_, ec)) {
        if (!entry.is_directory()) continue;
        try {
            out.push_back(state(entry.path().filename().string()));
        } catch (const std::exception&) {
            // Being created or deleted meanwhile.
        }
    }
    std::sort(out.begin(), out.end(), [](const State& a, const State& b) { return a.id < b.id; });
    return out;
}

void Runtime::kill(const std::string& id, const std::string& signal, bool all) {
    const std::optional<int> parsed = parse_signal(signal);
    if (!parsed) {
        // runc's words: a number out of range is invalid, anything else unknown.
        const bool number = !signal.empty() && std::all_of(signal.begin(), signal.end(), [](unsigned char c) {
            return std::isdigit(c) != 0;
        });
        throw Error(number ? "invalid signal: " + signal : "unknown signal \"" + signal + "\"");
    }
    const int sig = *parsed;
    Locked locked(root_, id, false);
    Saved saved = load(locked);
    UniqueFd pidfd;
    const Status status = status_of(locked, saved.state, layout(), &pidfd);
    if (all && saved.state.contains("cgroup")) {
        auto cg = cgroup::PathCgroups::open(layout(), saved.state["cgroup"].get<std::string>());
        if (sig == SIGKILL) cg.kill();
        else cg.signal_all(sig);
        return;
    }
    if (status == Status::Stopped) throw Error("container not running");
    if (!sys::pidfd_send_signal(pidfd.get(), sig)) throw Error("container not running");
}

void Runtime::remove(const std::string& id, bool force) {
    check_id(id);  // before any path is made of it, below too
    std::optional<Locked> locked;
    try {
        locked.emplace(root_, id, false);
    } catch (const Error& e) {
        if (!force || e.sys_errno() != ENOENT) throw;  // only "container does not exist" is no error
        // As runc: --force on a container that is gone is no error. A
        // directory without state is what a create killed half way left
        // (one in progress holds the lock): it goes.
        const fs::path dir = root_ / id;
        UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (fd && ::flock(fd.get(), LOCK_EX) == 0 && ::access((dir / "state.json").c_str(), F_OK) < 0 &&
            errno == ENOENT) {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
        return;
    }
    Saved saved = load(*locked);
    UniqueFd pidfd;
    const Status status = status_of(*locked, saved.state, layout(), &pidfd);
    if (status != Status::Stopped && status != Status::Created && !force)
        throw Error("cannot delete container " + id + " that is not stopped: " + std::string(to_string(status)));
    std::optional<cgroup::ContainerCgroup> cg;
    if (saved.state.contains("cgroup"))
        cg = cgroup::PathCgroups::open(layout(), saved.state["cgroup"].get<std::string>());
    if (status != Status::Stopped) {
        if (cg) cg->kill();
        if (pidfd) {
            sys::raw_pidfd_send_signal(pidfd.get(), SIGKILL);
            wait_gone(pidfd.get());
        }
    }
    if (cg) {
        const int err = cgroup::remove_retrying([&] { return cg->remove(); });
        if (err != 0 && err != ENOENT) warn_("remove cgroup " + cg->path() + ": " + errno_text(err));
    }
    const std::string state = hook_state(id, Status::Stopped, 0, saved.state.value("bundle", ""), saved.spec.annotations);
    for (const oci::Hook& hook : saved.spec.hooks.poststop)
        if (std::string error = lifecycle::run_hook(hook, state); !error.empty()) warn_("poststop " + error);
    std::error_code ec;
    fs::remove_all(locked->dir(), ec);
    if (ec) throw Error("remove " + locked->dir().string() + ": " + ec.message(), ec.value());
}

void Runtime::pause(const std::string& id) {
    Locked locked(root_, id, false);
    Saved saved = load(locked);
    const Status status = status_of(locked, saved.state, layout());
    if (status != Status::Running) throw Error("container not running");
    cgroup::PathCgroups::open(layout(), saved.state.at("cgroup").get<std::string>()).freeze(true);
}

void Runtime::resume(const std::string& id) {
    Locked locked(root_, id, false);
    Saved saved = load(locked);
    if (status_of(locked, saved.state, layout()) != Status::Paused) throw Error("container not paused");
    cgroup::PathCgroups::open(layout(), saved.state.at("cgroup").get<std::string>()).freeze(false);
}

std::vector<pid_t> Runtime::ps(const std::string& id) {
    Locked locked(root_, id, false);
    Saved saved = load(locked);
    std::vector<pid_t> pids;
    auto cg = cgroup::PathCgroups::open(layout(), saved.state.at("cgroup").get<std::string>());
    const fs::path procs = !cg.v2_dir().empty() ? cg.v2_dir() / "cgroup.procs" : fs::path();
    std::string text;
    if (!procs.empty()) text = read_file(procs);
    if (text.empty()) {
        for (const std::string& file : cg.join_files()) {
            text = read_file(file);
            break;
        }
    }
    std::istringstream in(text);
    pid_t pid;
    while (in >> pid) pids.push_back(pid);
    return pids;
}

void Runtime::update(const std::string& id, const nlohmann::json& resources) {
    oci::Resources parsed;
    try {
        parsed = oci::parse_resources(resources, "resources");
    } catch (const oci::SpecError& e) {
        throw Error(e.field() + ": " + e.problem());
    }
    for (const std::string& w : parsed.ignored) warn_(w + " is not enforced");
    Locked locked(root_, id, false);
    Saved saved = load(locked);
    if (status_of(locked, saved.state, layout()) == Status::Stopped) throw Error("container not running");
    const cgroup::Layout& layout = this->layout();
    auto cg = cgroup::PathCgroups::open(layout, saved.state.at("cgroup").get<std::string>());
    cgroup::PathCgroups::update(layout, cg, limits_of(parsed));
}

int Runtime::exec(const std::string& id, const ExecOptions& options) {
    Locked locked(root_, id, false);
    Saved saved = load(locked);
    UniqueFd container_pidfd;
    const Status status = status_of(locked, saved.state, layout(), &container_pidfd);
    if (status == Status::Stopped) throw Error("cannot exec in a stopped container");
    if (status == Status::Paused) throw Error("cannot exec in a paused container");

    oci::Process process = saved.spec.process;
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
    auto cg = cgroup::PathCgroups::open(layout, saved.state.at("cgroup").get<std::string>());
    SpawnRequest request;
    request.spec.name = id;
    request.spec.argv = process.args;
    request.exec_argv = process.args;
    request.spec.env = process.env;
    request.spec.working_dir = process.cwd;
    request.spec.user = std::to_string(process.user.uid) + ":" + std::to_string(process.user.gid);
    if (!options.user.empty()) request.spec.user = options.user;
    request.spec.hostname = saved.spec.hostname;
    request.spec.network = saved.spec.linux.find(oci::NamespaceType::Network) ? NetworkMode::None : NetworkMode::Host;
    request.security = security_of(saved.spec, process);
    request.cgroup_join = cg.join_files();
    request.has_console = process.terminal;

    UniqueFd console;
    if (process.terminal) console = connect_console(options.console_socket);
    sys::Pipe setup_error = sys::make_pipe();
    lifecycle::InitFds fds = inherited_stdio(console.get(), setup_error.write.get());
    const bool own_pid_ns = saved.spec.linux.find(oci::NamespaceType::Pid) != nullptr;
    if (own_pid_ns && ::setns(container_pidfd.get(), CLONE_NEWPID) < 0) throw_sys("setns(container, pid)");
    sys::Clone3Request clone;
    clone.cgroup_fd = cg.placement_fd();
    int pidfd = -1;
    const pid_t pid = sys::raw_clone3(clone, &pidfd);
    if (pid == 0) {
        ::setsid();
        lifecycle::run_exec_in_container(request, fds, container_pidfd.get());
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

json Runtime::features() {
    json caps = json::array();
    for (int cap = 0; cap <= 40; ++cap) caps.push_back(oci::capability_name(cap));
    return {
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", oci::kSpecVersion},
        {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
        {"mountOptions",
         {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "mand", "noatime", "nodev",
          "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime", "nosuid", "private", "rbind", "relatime",
          "remount", "ro", "rprivate", "rro", "rshared", "rslave", "runbindable", "rw", "shared", "slave",
          "strictatime", "suid", "sync", "unbindable"}},
        {"linux",
         {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "uts", "time"}},
          {"capabilities", caps},
          {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
          {"seccomp",
           {{"enabled", true},
            {"actions",
             {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
              "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
            {"operators",
             {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
              "SCMP_CMP_NE"}}}},
          {"apparmor", {{"enabled", false}}},
          {"selinux", {{"enabled", false}}}}},
        {"annotations", {{"org.opencontainers.runtime-spec.features.runtime", "rusty-runtime"}}},
    };
}

}  // namespace rusty::runtime
