// rusty-runtime's container init: the steps of lifecycle/init_steps.hpp
// that follow an OCI bundle's config.json (mounts, devices, sysctl, hooks,
// rlimits, the create/start gate) instead of the supervisor's fixed layout.
#include "lifecycle/init_steps.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/strings.hpp"
#include "core/syscalls.hpp"
#include "lifecycle/oci_setup.hpp"
#include "net/loopback.hpp"

namespace rusty::lifecycle::init_steps {

void Init::setup_oci_rootfs(ino_t parent_mount_ns) {
    const oci::Spec& spec = *req_.oci->spec;
    check_own_mount_namespace(parent_mount_ns);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
        fail(errno, "make mounts private: mount(\"/\", MS_REC|MS_PRIVATE)");
    target_ = spec.root_path;
    if (::mount(target_.c_str(), target_.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
        fail(errno, "root.path: mount(\"%s\", MS_BIND|MS_REC)", target_.c_str());
    root_fd_ = ::open(target_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd_ < 0) fail(errno, "open(\"%s\")", target_.c_str());
    stamp(steps_.rootfs);

    bool dev_is_tmpfs = false;
    for (std::size_t i = 0; i < spec.mounts.size(); ++i) {
        const oci::Mount& m = spec.mounts[i];
        if (m.destination == "/dev") dev_is_tmpfs = m.type == "tmpfs";
        mount_oci(m);
    }
    make_oci_devices(dev_is_tmpfs);
    own_dev_ = dev_is_tmpfs;
    stamp(steps_.filesystems);
    write_sysctls();
    harden_proc_and_sys();
    stamp(steps_.hardened);
    run_create_hooks();
    if (const unsigned long propagation = spec.linux.rootfs_propagation; propagation != 0) {
        if (::mount(nullptr, target_.c_str(), nullptr, propagation, nullptr) < 0)
            fail(errno, "linux.rootfsPropagation: mount(\"%s\", %#lx)", target_.c_str(), propagation);
    }
}

void Init::mount_oci(const oci::Mount& m) {
    const char* dest = m.destination.c_str();
    if (m.type == "cgroup" || m.type == "cgroup2") return mount_cgroup_view(m);
    Create create = Create::Directory;
    if (m.bind()) {
        struct stat st {};
        if (::stat(m.source.c_str(), &st) < 0) fail(errno, "mount %s: stat(\"%s\")", dest, m.source.c_str());
        if (!S_ISDIR(st.st_mode)) create = Create::File;
    }
    UniqueFd at_fd(resolve_in_root(m.destination, create));
    if (!at_fd) fail(errno, "mount %s: open inside the root", dest);
    const std::string at_path = fd_path(at_fd.get());
    constexpr unsigned long kPropagation = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
    unsigned long flags = m.flags & ~(kPropagation | MS_REMOUNT);
    if (m.bind()) {
        if (::mount(m.source.c_str(), at_path.c_str(), nullptr, MS_BIND | (flags & MS_REC), nullptr) < 0)
            fail(errno, "mount %s: bind \"%s\"", dest, m.source.c_str());
        flags &= ~(MS_BIND | MS_REC);
    } else {
        const char* source = m.source.empty() ? m.type.c_str() : m.source.c_str();
        if (::mount(source, at_path.c_str(), m.type.c_str(), flags, m.data.empty() ? nullptr : m.data.c_str()) < 0)
            fail(errno, "mount %s: mount(\"%s\", type \"%s\", \"%s\")", dest, source, m.type.c_str(), m.data.c_str());
        flags = 0;
    }
    if (flags == 0 && m.propagation == 0 && !m.recursive_read_only) return;
    // The fd names the directory under the new mount: resolve it again.
    UniqueFd mounted(resolve_in_root(m.destination, Create::No));
    if (!mounted) fail(errno, "mount %s: open inside the root", dest);
    const std::string path = fd_path(mounted.get());
    if (flags != 0) {
        // A bind takes its flags with a remount, keeping those the kernel
        // locked on the source (nosuid, nodev… of a host mount).
        const unsigned long remount = MS_BIND | MS_REMOUNT | flags | preserved_flags(path);
        if (::mount(nullptr, path.c_str(), nullptr, remount, nullptr) < 0)
            fail(errno, "mount %s: remount(%#lx)", dest, remount);
    }
    if (m.propagation != 0 && ::mount(nullptr, path.c_str(), nullptr, m.propagation, nullptr) < 0)
        fail(errno, "mount %s: propagation %#lx", dest, m.propagation);
    if (m.recursive_read_only) {
        mount_attr attr{};
        attr.attr_set = MOUNT_ATTR_RDONLY;
        if (::mount_setattr(mounted.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
            fail(errno, "mount %s: mount_setattr(rro)", dest);
    }
}

// A `cgroup` mount shows the container its own cgroups only: a tmpfs with
// the container's directory of each v1 hierarchy bound under the
// hierarchy's name, or on a pure v2 host that one directory — never the
// host's tree, with or without a cgroup namespace.
void Init::mount_cgroup_view(const oci::Mount& m) {
    const char* dest = m.destination.c_str();
    const auto& view = req_.oci->cgroup_view;
    const bool read_only = m.flags & MS_RDONLY;
    const unsigned long locked = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    UniqueFd at_fd(resolve_in_root(m.destination, Create::Directory));
    if (!at_fd) fail(errno, "mount %s: open inside the root", dest);
    // Binds `source` on `name` in `dir` (or on `dir` itself for an empty
    // name), then remounts the new mount, found by opening the name again.
    auto bind_ro = [&](const std::filesystem::path& source, int parent, const char* name) {
        UniqueFd target(::openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!target) fail(errno, "mount %s: open \"%s\"", dest, name);
        if (::mount(source.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) < 0)
            fail(errno, "mount %s: bind \"%s\"", dest, source.c_str());
        target.reset(::openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!target) fail(errno, "mount %s: open \"%s\"", dest, name);
        const std::string path = fd_path(target.get());
        const unsigned long remount = MS_BIND | MS_REMOUNT | locked | (read_only ? MS_RDONLY : 0) | preserved_flags(path);
        if (::mount(nullptr, path.c_str(), nullptr, remount, nullptr) < 0)
            fail(errno, "mount %s: remount \"%s\"", dest, source.c_str());
    };
    if (view.size() == 1 && view.front().first.empty()) {
        const auto slash = m.destination.rfind('/');
        UniqueFd parent(resolve_in_root(m.destination.substr(0, slash), Create::No));
        if (!parent) fail(errno, "mount %s: open inside the root", dest);
        bind_ro(view.front().second, parent.get(), m.destination.c_str() + slash + 1);
        return;
    }
    if (::mount("tmpfs", fd_path(at_fd.get()).c_str(), "tmpfs", locked, "mode=755") < 0)
        fail(errno, "mount %s: tmpfs", dest);
    UniqueFd dir(resolve_in_root(m.destination, Create::No));
    if (!dir) fail(errno, "mount %s: open inside the root", dest);
    for (const auto& [name, source] : view) {
        if (::mkdirat(dir.get(), name.c_str(), 0755) < 0) fail(errno, "mount %s: mkdir \"%s\"", dest, name.c_str());
        bind_ro(source, dir.get(), name.c_str());
        // "cpu,cpuacct" is also reachable as "cpu" and "cpuacct", as on the host.
        if (name.find(',') != std::string::npos)
            for (std::string_view part : split(name, ','))
                ::symlinkat(name.c_str(), dir.get(), std::string(part).c_str());
    }
    if (read_only) {
        const std::string path = fd_path(dir.get());
        if (::mount(nullptr, path.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | locked, "mode=755") < 0)
            fail(errno, "mount %s: remount read-only", dest);
    }
}

// On a /dev tmpfs: runc's default nodes and links. Then linux.devices,
// wherever they are.
void Init::make_oci_devices(bool dev_is_tmpfs) {
    const oci::Spec& spec = *req_.oci->spec;
    auto make_node = [&](const std::string& path, mode_t type, dev_t dev, mode_t mode, uid_t uid, gid_t gid) {
        const auto slash = path.rfind('/');
        UniqueFd dir(resolve_in_root(path.substr(0, slash), Create::Directory));
        if (!dir) fail(errno, "device %s: open its directory inside the root", path.c_str());
        const std::string name = path.substr(slash + 1);
        if (::mknodat(dir.get(), name.c_str(), type | (mode & 07777), dev) < 0) {
            if (errno == EEXIST) return;
            fail(errno, "device %s: mknod", path.c_str());
        }
        if (::fchmodat(dir.get(), name.c_str(), mode & 07777, 0) < 0) fail(errno, "device %s: chmod", path.c_str());
        if (::fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            fail(errno, "device %s: chown", path.c_str());
    };
    for (const oci::Device& d : spec.linux.devices) {
        const mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
        make_node(d.path, type, makedev(d.major, d.minor), d.file_mode, d.uid, d.gid);
    }
    if (!dev_is_tmpfs) return;
    for (const DeviceNode& d : kDevices)
        make_node(std::string("/dev/") + d.name, S_IFCHR, makedev(d.major, d.minor), 0666, 0, 0);
    UniqueFd dev(resolve_in_root("/dev", Create::No));
    if (!dev) fail(errno, "open /dev inside the root");
    const char* links[][2] = {
        {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"},
    };
    for (auto& link : links)
        if (::symlinkat(link[0], dev.get(), link[1]) < 0 && errno != EEXIST)
            fail(errno, "symlink(\"/dev/%s\")", link[1]);
}

void Init::write_sysctls() {
    for (const auto& [key, value] : req_.oci->spec->linux.sysctl) {
        std::string rel = "/proc/sys/" + key;
        for (std::size_t i = 10; i < rel.size(); ++i)
            if (rel[i] == '.') rel[i] = '/';
        open_how how{};
        how.flags = O_WRONLY | O_CLOEXEC;
        how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root_fd_, rel.c_str() + 1, &how, sizeof how)));
        if (!fd) fail(errno, "linux.sysctl \"%s\": open(\"%s\")", key.c_str(), rel.c_str());
        if (::write(fd.get(), value.data(), value.size()) < 0)
            fail(errno, "linux.sysctl \"%s\": write \"%s\"", key.c_str(), value.c_str());
    }
}

// createRuntime, prestart and createContainer hooks run in the runtime once
// the mounts are done; the init waits for them, and gets the state JSON
// (with its host pid) that its startContainer hooks will read.
void Init::run_create_hooks() {
    if (hook_fd_ < 0) return;
    const char hello = 'H';
    if (::write(hook_fd_, &hello, 1) != 1) fail(errno, "hooks: tell the runtime");
    std::string reply(64 * 1024, '\0');
    const ssize_t n = ::read(hook_fd_, reply.data(), reply.size());
    if (n < 0) fail(errno, "hooks: wait for the runtime");
    if (n == 0) fail(0, "hooks: the runtime went away");
    reply.resize(static_cast<std::size_t>(n));
    if (reply.front() != '{') fail(0, "%s", reply.c_str());  // a failed hook, described
    state_json_ = std::move(reply);
}

void Init::enter_oci_root() {
    const oci::Spec& spec = *req_.oci->spec;
    if (::fchdir(root_fd_) < 0) fail(errno, "chdir(\"%s\")", target_.c_str());
    if (req_.oci->no_pivot) {
        // --no-pivot: for a root on a ramfs, where pivot_root refuses.
        if (::mount(target_.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0)
            fail(errno, "mount(\"%s\", \"/\", MS_MOVE)", target_.c_str());
        if (::chroot(".") < 0) fail(errno, "chroot(\"%s\")", target_.c_str());
    } else {
        if (sys::raw_pivot_root(".", ".") < 0) fail(errno, "pivot_root(\"%s\")", target_.c_str());
        if (::umount2(".", MNT_DETACH) < 0) fail(errno, "umount2(old root, MNT_DETACH)");
    }
    if (::chdir("/") < 0) fail(errno, "chdir(\"/\")");
    ::close(root_fd_);
    root_fd_ = -1;
    if (spec.root_readonly) remount_read_only("/");
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
        fail(errno, "hostname: sethostname(\"%s\")", spec.hostname.c_str());
    if (!spec.domainname.empty() && ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
        fail(errno, "domainname: setdomainname(\"%s\")", spec.domainname.c_str());
    if (spec.linux.find(oci::NamespaceType::Network) && spec.linux.find(oci::NamespaceType::Network)->path.empty() &&
        net::raw_bring_up_loopback() < 0)
        fail(errno, "bring up loopback");
}

void Init::apply_process_limits() {
    const oci::Process& process = req_.oci->spec->process;
    for (std::size_t i = 0; i < process.rlimits.size(); ++i) {
        const oci::Rlimit& r = process.rlimits[i];
        const rlimit limit{r.soft, r.hard};
        if (::setrlimit(static_cast<__rlimit_resource>(r.resource), &limit) < 0)
            fail(errno, "process.rlimits[%zu]: setrlimit(%d, %llu, %llu)", i, r.resource,
                 static_cast<unsigned long long>(r.soft), static_cast<unsigned long long>(r.hard));
    }
    if (process.oom_score_adj) {
        UniqueFd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
        const std::string value = std::to_string(*process.oom_score_adj);
        if (!fd || ::write(fd.get(), value.data(), value.size()) < 0)
            fail(errno, "process.oomScoreAdj %s: write /proc/self/oom_score_adj%s", value.c_str(),
                 errno == EACCES || errno == EPERM ? " (lowering it needs CAP_SYS_RESOURCE)" : "");
    }
    if (const auto& persona = req_.oci->spec->linux.personality; persona && ::personality(*persona) < 0)
        fail(errno, "linux.personality: personality(%#lx)", *persona);
    if (process.user.umask) umask_ = static_cast<mode_t>(*process.user.umask);
}

// The create/start split: `create` returns once this says 'R'; opening the
// fifo for writing blocks until `start` opens it for reading.
void Init::wait_for_start() {
    if (exec_fifo_fd_ < 0) return;
    const char ready = kReadyMarker;
    if (::write(error_fd_, &ready, 1) != 1) fail(errno, "write(setup-error pipe)");
    start_gated_ = true;
    int fifo = ::open(fd_path(exec_fifo_fd_).c_str(), O_WRONLY | O_CLOEXEC);
    if (fifo < 0) fail(errno, "open exec fifo");
    const char go = '0';
    if (::write(fifo, &go, 1) != 1) fail(errno, "write exec fifo");
    // Left open, close-on-exec: `start` reads to EOF, which comes with
    // execve (or the init's end), and only then runs the poststart hooks.
    ::close(exec_fifo_fd_);
    exec_fifo_fd_ = -1;
}

// The command's path, looked up before the gate, so that `create` fails
// (not the later start) when it does not exist, as runc does.
std::string Init::find_executable(const std::string& cmd) {
    if (cmd.find('/') != std::string::npos) {
        if (::access(cmd.c_str(), X_OK) < 0) fail(errno, "exec \"%s\"", cmd.c_str());
        return cmd;
    }
    std::string path_var = kDefaultPath;
    for (const std::string& kv : env_)
        if (kv.rfind("PATH=", 0) == 0) path_var = kv.substr(5);
    for (std::string_view dir : split(path_var, ':')) {
        std::string candidate = std::string(dir.empty() ? "." : dir) + "/" + cmd;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    fail(0, "exec \"%s\": executable file not found in $PATH", cmd.c_str());
}

void Init::run_oci_steps(const InitFds& fds, ino_t parent_mount_ns) {
    const OciSetup& oci = *req_.oci;
    const oci::Process& process = oci.spec->process;
    ::signal(SIGPIPE, SIG_IGN);  // a runtime gone must not kill the init silently
    // A joined pid namespace may hold the container's other processes: none
    // may ptrace this one or read its /proc files (its exe is our binary)
    // before execve, which makes the command dumpable again.
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail(errno, "prctl(PR_SET_DUMPABLE, 0)");
    stamp(steps_.started);
    steps_.received = fds.received_ns;
    steps_.cloned = fds.cloned_ns;
    ::umask(0);
    // Namespaces by path first: they decide what every later step sees.
    for (const auto& [flag, fd] : oci.join_namespaces)
        if (::setns(fd, flag) < 0) fail(errno, "linux.namespaces: setns(fd %d, %#x)", fd, flag);
    console_fd_ = fds.console_fd;
    exec_fifo_fd_ = oci.exec_fifo_fd;
    hook_fd_ = oci.hook_sync_fd;
    setup_stdio(fds, {&console_fd_, &exec_fifo_fd_, &hook_fd_});
    join_cgroups();
    if (oci.unshare_late && ::unshare(oci.unshare_late) < 0) fail(errno, "unshare(CLONE_NEWCGROUP)");
    stamp(steps_.joined);
    setup_oci_rootfs(parent_mount_ns);
    enter_oci_root();
    stamp(steps_.pivoted);

    uid_ = process.user.uid;
    gid_ = process.user.gid;
    groups_.assign(process.user.additional_gids.begin(), process.user.additional_gids.end());
    for (auto& row : read_colon_file("/etc/passwd")) {
        std::uint32_t uid;
        if (row.size() >= 7 && parse_id(row[2], uid) && uid == uid_) {
            home_ = row[5].empty() ? "/" : row[5];
            break;
        }
    }
    apply_process_limits();
    if (console_fd_ >= 0) setup_console();
    env_ = process.env;
    if (std::none_of(env_.begin(), env_.end(), [](const std::string& kv) { return kv.rfind("HOME=", 0) == 0; }))
        env_.push_back("HOME=" + home_);
    exec_path_ = find_executable(process.args.front());
    wait_for_start();
    for (const oci::Hook& hook : oci.spec->hooks.start_container)
        if (std::string error = run_hook(hook, state_json_); !error.empty()) fail(0, "startContainer %s", error.c_str());
    if (!req_.security.no_new_privileges) load_seccomp();
    drop_privileges();
    if (::chdir(process.cwd.c_str()) < 0) fail(errno, "process.cwd: chdir(\"%s\")", process.cwd.c_str());
    stamp(steps_.user);
    exec(process.args);
}

}  // namespace rusty::lifecycle::init_steps
