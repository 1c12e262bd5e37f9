#include "lifecycle/container_init.hpp"

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
#include "lifecycle/init_steps.hpp"
#include "lifecycle/oci_setup.hpp"
#include "net/loopback.hpp"

namespace rusty::lifecycle {
namespace init_steps {


// The fds in `keep` (still needed during setup; -1 entries are skipped)
// move to 4, 5, … in order, O_CLOEXEC, and are updated in place; every
// other fd above 3 is closed.
void Init::setup_stdio(const InitFds& fds, std::initializer_list<int*> keep) {
    // Out of the way of the dup2s below, which may land on their numbers.
    for (int* fd : keep)
        if (*fd >= 0 && (*fd = ::fcntl(*fd, F_DUPFD_CLOEXEC, 64)) < 0) fail(errno, "fcntl(F_DUPFD_CLOEXEC)");
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) fail(errno, "open(\"/dev/null\")");
    if (::dup2(fds.stdin_fd >= 0 ? fds.stdin_fd : devnull, 0) < 0 || ::dup2(fds.stdout_fd, 1) < 0 ||
        ::dup2(fds.stderr_fd, 2) < 0)
        fail(errno, "dup2(stdio)");
    // The setup-error pipe becomes fd 3, O_CLOEXEC so that execve closes it;
    // everything above the kept fds goes, so no fd of the helper, the
    // runtime or the supervisor reaches the container.
    if (error_fd_ != 3) {
        if (::dup3(error_fd_, 3, O_CLOEXEC) < 0) fail(errno, "dup3(setup-error pipe)");
        error_fd_ = 3;
    }
    int next = 4;
    for (int* fd : keep) {
        if (*fd < 0) continue;
        if (::dup3(*fd, next, O_CLOEXEC) < 0) fail(errno, "dup3(fd %d, %d)", *fd, next);
        *fd = next++;
    }
    if (sys::raw_close_range(next, ~0U, 0) < 0) fail(errno, "close_range(%d, ~0)", next);
}

// The v1 hierarchies cannot place a process at birth: it joins them itself,
// by their host paths, before anything else runs in the container and before
// it enters a cgroup namespace.
void Init::join_cgroups() {
    for (const std::string& file : req_.cgroup_join) {
        int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) fail(errno, "join cgroup: open(\"%s\")", file.c_str());
        if (::write(fd, "0", 1) < 0) fail(errno, "join cgroup: write(\"%s\", \"0\")", file.c_str());
        ::close(fd);
    }
}

// The namespaces of the container's init, but pid: a process is born in its
// pid namespace (the helper's clone3 saw to that). After CLONE_NEWNS the
// root and cwd are the container's root, the one the init pivoted to.
void Init::join_namespaces(int container_pidfd) {
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    const char* names = "mnt|uts|ipc|cgroup";
    if (req_.spec.network == NetworkMode::None) {
        flags |= CLONE_NEWNET;
        names = "mnt|uts|ipc|cgroup|net";
    }
    if (::setns(container_pidfd, flags) < 0) fail(errno, "setns(pidfd %d, %s)", container_pidfd, names);
    ::close(container_pidfd);
}

void Init::check_own_mount_namespace(ino_t parent_mount_ns) {
    // Never mount anything while still in the host's mount namespace.
    struct stat ns {};
    if (::stat("/proc/self/ns/mnt", &ns) < 0) fail(errno, "stat(\"/proc/self/ns/mnt\")");
    if (ns.st_ino == parent_mount_ns) fail(0, "refusing to mount: not in a new mount namespace");
}

void Init::setup_rootfs(ino_t parent_mount_ns) {
    check_own_mount_namespace(parent_mount_ns);
    if (!req_.from_stub && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
        fail(errno, "make mounts private: mount(\"/\", MS_REC|MS_PRIVATE)");

    const RootfsPlan& plan = req_.rootfs;
    target_ = plan.target.string();
    if (!plan.upper.empty()) {
        // overlayfs splits its options at ',' and lowerdir at ':'; a
        // backslash escapes either (and itself) in a path.
        auto escape = [](const std::string& path) {
            std::string r;
            for (char c : path) {
                if (c == ',' || c == ':' || c == '\\') r += '\\';
                r += c;
            }
            return r;
        };
        std::string options = "lowerdir=" + escape(plan.lower.string()) + ",upperdir=" +
                              escape(plan.upper.string()) + ",workdir=" + escape(plan.work.string());
        // nodev: device nodes in an image must not open host devices.
        if (::mount("overlay", target_.c_str(), "overlay", MS_NODEV, options.c_str()) < 0)
            fail(errno, "mount(\"overlay\", \"%s\", \"%s\")", target_.c_str(), options.c_str());
    } else {
        if (::mount(plan.lower.c_str(), target_.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
            fail(errno, "mount(\"%s\", \"%s\", MS_BIND)", plan.lower.c_str(), target_.c_str());
        // Recursive, so mounts below a user's rootfs change too; before
        // /proc, /dev and /sys are mounted, which keep their own flags.
        mount_attr attr{};
        attr.attr_set = MOUNT_ATTR_NODEV | (plan.read_only ? MOUNT_ATTR_RDONLY : 0);
        if (::mount_setattr(AT_FDCWD, target_.c_str(), AT_RECURSIVE, &attr, sizeof attr) < 0)
            fail(errno, "mount_setattr(\"%s\", %s)", target_.c_str(), plan.read_only ? "nodev,ro" : "nodev");
    }
    root_fd_ = ::open(target_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd_ < 0) fail(errno, "open(\"%s\")", target_.c_str());
    stamp(steps_.rootfs);

    mount_in_root("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    setup_dev();
    mount_in_root("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, nullptr);
    stamp(steps_.filesystems);
    harden_proc_and_sys();
    stamp(steps_.hardened);
}

// Opens the top-level mount point `rel` (/proc, /dev, /sys) of the root
// filesystem, creating it when missing. It must be a real directory: a
// symlink would move the mount elsewhere in the image, and every later step
// that names paths below it (masks, device nodes) would then miss its mark
// or land on the host. RESOLVE_IN_ROOT keeps even ".." inside the root.
int Init::open_in_root(const char* rel) {
    const char* name = rel[0] == '/' ? rel + 1 : rel;
    if (!std::strchr(name, '/') && ::mkdirat(root_fd_, name, 0755) < 0 && errno != EEXIST) {
        if (errno != EROFS) fail(errno, "mkdir(\"%s%s\")", target_.c_str(), rel);
    }
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd = static_cast<int>(::syscall(SYS_openat2, root_fd_, name, &how, sizeof how));
    if (fd < 0 && errno == ELOOP) fail(0, "\"%s\" in the root filesystem is a symlink; refusing to mount on it", rel);
    if (fd < 0) fail(errno, "open(\"%s%s\") inside the root", target_.c_str(), rel);
    return fd;
}

void Init::mount_in_root(const char* source, const char* rel, const char* fstype, unsigned long flags,
                         const char* data) {
    int fd = open_in_root(rel);
    char proc_path[64];
    std::snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", fd);
    if (::mount(source, proc_path, fstype, flags, data) < 0)
        fail(errno, "mount(\"%s\", \"%s%s\")", source, target_.c_str(), rel);
    ::close(fd);
}

void Init::setup_dev() {
    mount_in_root("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    // /dev is now our own fresh tmpfs: plain paths are safe below it.
    std::string dev = at("/dev");
    for (const DeviceNode& d : kDevices) {
        std::string path = dev + "/" + d.name;
        if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(d.major, d.minor)) < 0)
            fail(errno, "mknod(\"%s\")", path.c_str());
        ::chmod(path.c_str(), 0666);  // whatever the umask
    }
    const char* links[][2] = {
        {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"},
    };
    for (auto& link : links) {
        std::string path = dev + "/" + link[1];
        if (::symlink(link[0], path.c_str()) < 0) fail(errno, "symlink(\"%s\")", path.c_str());
    }
    struct Sub {
        const char* name;
        const char* fstype;
        unsigned long flags;
        const char* data;
    };
    const Sub subs[] = {
        {"pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
        {"shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k"},
        {"mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    };
    for (const Sub& s : subs) {
        std::string path = dev + "/" + s.name;
        if (::mkdir(path.c_str(), 0755) < 0) fail(errno, "mkdir(\"%s\")", path.c_str());
        if (::mount(s.fstype, path.c_str(), s.fstype, s.flags, s.data) < 0)
            fail(errno, "mount(\"%s\", \"%s\")", s.fstype, path.c_str());
    }
    // The supervisor's notify socket: the directory, not the socket itself,
    // so that a socket the supervisor makes again later is still seen.
    // Read-only: connecting to a socket needs no writable mount.
    if (const std::filesystem::path& notify = req_.rootfs.notify_dir; !notify.empty()) {
        std::string path = at(kNotifyDirInContainer);
        if (::mkdir(path.c_str(), 0755) < 0) fail(errno, "mkdir(\"%s\")", path.c_str());
        if (::mount(notify.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) < 0)
            fail(errno, "mount(\"%s\", \"%s\", MS_BIND)", notify.c_str(), path.c_str());
        unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        if (::mount(nullptr, path.c_str(), nullptr, flags, nullptr) < 0)
            fail(errno, "remount read-only(\"%s\")", path.c_str());
    }
}

// Mount flags to keep when remounting: a bind remount that drops a locked
// flag (nosuid, nodev, noexec…) is refused with EPERM.
unsigned long preserved_flags(const std::string& path) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) < 0) return 0;
    unsigned long flags = 0;
    if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    return flags;
}

void Init::remount_read_only(const std::string& path) {
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | preserved_flags(path);
    if (::mount(nullptr, path.c_str(), nullptr, flags, nullptr) < 0)
        fail(errno, "remount read-only(\"%s\")", path.c_str());
}

// Opens `path` (absolute, as seen from inside the container) below the
// root, following symlinks only inside it: RESOLVE_IN_ROOT treats the root
// as "/" even for ".." and absolute link targets, so an image cannot send a
// mount or a mask onto the host. With `create`, missing directories are
// made on the way, and the last component as a directory or, with
// Create::File, an empty file. Returns an O_PATH fd, or -1 with errno.
int Init::resolve_in_root(const std::string& path, Create create) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    auto open_at = [&](const std::string& rel) {
        return static_cast<int>(::syscall(SYS_openat2, root_fd_, rel.empty() ? "." : rel.c_str(), &how, sizeof how));
    };
    const std::string rel = path.substr(path.find_first_not_of('/') == std::string::npos ? path.size()
                                                                                        : path.find_first_not_of('/'));
    int fd = open_at(rel);
    if (fd >= 0 || errno != ENOENT || create == Create::No) return fd;
    // Make each missing component, in the directory its prefix resolves to.
    std::string prefix;
    std::vector<std::string_view> parts;
    for (std::string_view part : split(rel, '/'))
        if (!part.empty()) parts.push_back(part);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        std::string next = prefix.empty() ? std::string(parts[i]) : prefix + "/" + std::string(parts[i]);
        int probe = open_at(next);
        if (probe >= 0) {
            ::close(probe);
        } else {
            if (errno != ENOENT) return -1;
            how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
            int dir = open_at(prefix);
            how.flags = O_PATH | O_CLOEXEC;
            if (dir < 0) return -1;
            const std::string name(parts[i]);
            int rc;
            if (i + 1 == parts.size() && create == Create::File) {
                rc = ::openat(dir, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (rc >= 0) ::close(rc);
            } else {
                rc = ::mkdirat(dir, name.c_str(), 0755);
            }
            const int err = errno;
            ::close(dir);
            if (rc < 0 && err != EEXIST) {
                errno = err;
                return -1;
            }
        }
        prefix = std::move(next);
    }
    return open_at(rel);
}

std::string Init::fd_path(int fd) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
    return buf;
}

void Init::harden_proc_and_sys() {
    // Each path resolved inside the root (a masked path outside /proc and
    // /sys may be an image's symlink). Files are covered by /dev/null,
    // directories by one empty read-only tmpfs, mounted on the first and
    // bound on the others: one superblock to make (and to tear down at
    // exit) instead of one per directory.
    std::string devnull = at("/dev/null");
    std::string empty_dir;
    for (const std::string& rel : req_.security.masked_paths) {
        UniqueFd fd(resolve_in_root(rel, Create::No));
        if (!fd && (errno == ENOENT || errno == ENOTDIR)) continue;  // not on this kernel, not in this image
        if (!fd) fail(errno, "mask(\"%s\"): open inside the root", rel.c_str());
        const std::string path = fd_path(fd.get());
        struct stat st {};
        if (::fstat(fd.get(), &st) < 0) fail(errno, "mask(\"%s\"): fstat", rel.c_str());
        int rc = 0;
        if (!S_ISDIR(st.st_mode)) {
            rc = ::mount(devnull.c_str(), path.c_str(), nullptr, MS_BIND, nullptr);
        } else if (empty_dir.empty()) {
            rc = ::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
            if (rc == 0) empty_dir = at(rel.c_str());
        } else {
            rc = ::mount(empty_dir.c_str(), path.c_str(), nullptr, MS_BIND, nullptr);
        }
        if (rc < 0) fail(errno, "mask(\"%s\")", rel.c_str());
    }
    for (const std::string& rel : req_.security.readonly_paths) {
        UniqueFd fd(resolve_in_root(rel, Create::No));
        if (!fd && (errno == ENOENT || errno == ENOTDIR)) continue;
        if (!fd) fail(errno, "read-only path \"%s\": open inside the root", rel.c_str());
        if (::mount(fd_path(fd.get()).c_str(), fd_path(fd.get()).c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
            fail(errno, "bind(\"%s\")", rel.c_str());
        // The fd names the directory under the new mount: open it again.
        UniqueFd bound(resolve_in_root(rel, Create::No));
        if (!bound) fail(errno, "read-only path \"%s\": open inside the root", rel.c_str());
        remount_read_only(fd_path(bound.get()));
    }
}

void Init::enter_root() {
    // pivot_root(".", ".") stacks the old root on top of the new one; the
    // detach then drops it, with no directory for it needed in the image.
    if (::fchdir(root_fd_) < 0) fail(errno, "chdir(\"%s\")", target_.c_str());
    if (sys::raw_pivot_root(".", ".") < 0) fail(errno, "pivot_root(\"%s\")", target_.c_str());
    if (::umount2(".", MNT_DETACH) < 0) fail(errno, "umount2(old root, MNT_DETACH)");
    if (::chdir("/") < 0) fail(errno, "chdir(\"/\")");
    ::close(root_fd_);
    root_fd_ = -1;

    const std::string& host = req_.spec.hostname;
    if (::sethostname(host.data(), host.size()) < 0) fail(errno, "sethostname(\"%s\")", host.c_str());
    if (req_.spec.network == NetworkMode::None && !req_.from_stub && net::raw_bring_up_loopback() < 0)
        fail(errno, "bring up loopback");
}

// A uid or gid: decimal, below (uid_t)-1, which the set*id calls read as
// "leave unchanged" and which would leave the process root.
bool parse_id(std::string_view text, std::uint32_t& id) {
    if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string_view::npos)
        return false;
    std::uint64_t value = 0;
    for (char c : text) value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value >= 0xFFFFFFFFu) return false;
    id = static_cast<std::uint32_t>(value);
    return true;
}

// Lines of a colon-separated database (/etc/passwd, /etc/group), read from
// the container's own root, as runc does: the host's NSS has no say here.
// The image may be hostile: only a regular file of sane size is read (a FIFO
// or /dev/zero in its place must not hang or swell the init). Plain read(2):
// iostreams cost a tenth of a millisecond here.
std::vector<std::vector<std::string>> Init::read_colon_file(const char* path) {
    std::vector<std::vector<std::string>> rows;
    int fd = ::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return rows;
    struct stat st {};
    if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > kMaxDatabase) {
        ::close(fd);
        fail(0, "%s in the root filesystem is not a regular file of at most 4 MiB", path);
    }
    std::string text;
    char buf[4096];
    ssize_t n;
    while (text.size() <= kMaxDatabase &&
           ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0) text.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    for (std::string_view line : split(text, '\n')) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> fields;
        for (std::string_view field : split(line, ':')) fields.emplace_back(field);
        rows.push_back(std::move(fields));
    }
    return rows;
}

void Init::resolve_user() {
    const std::string& text = req_.spec.user;
    std::string user_part = text, group_part;
    if (auto colon = text.find(':'); colon != std::string::npos) {
        user_part = text.substr(0, colon);
        group_part = text.substr(colon + 1);
    }
    std::uint32_t wanted_uid = 0;
    bool numeric_user = user_part.empty() || parse_id(user_part, wanted_uid);
    if (!numeric_user && user_part.find_first_not_of("0123456789") == std::string::npos)
        fail(0, "user \"%s\": not a valid uid", user_part.c_str());

    std::string user_name;
    bool found = false;
    for (auto& row : read_colon_file("/etc/passwd")) {
        std::uint32_t uid, gid;
        if (row.size() < 7 || !parse_id(row[2], uid) || !parse_id(row[3], gid)) continue;
        if (numeric_user ? uid != wanted_uid : row[0] != user_part) continue;
        user_name = row[0];
        uid_ = uid;
        gid_ = gid;
        home_ = row[5].empty() ? "/" : row[5];
        found = true;
        break;
    }
    if (!found) {
        if (!numeric_user) fail(0, "user \"%s\": no such user in the container's /etc/passwd", user_part.c_str());
        uid_ = wanted_uid;  // an id without a passwd entry, as docker allows: gid 0
        gid_ = 0;
    }
    auto groups = read_colon_file("/etc/group");
    if (!group_part.empty()) {
        std::uint32_t gid;
        if (parse_id(group_part, gid)) {
            gid_ = gid;
        } else {
            bool group_found = false;
            for (auto& row : groups) {
                if (row.size() >= 3 && row[0] == group_part && parse_id(row[2], gid)) {
                    gid_ = gid;
                    group_found = true;
                    break;
                }
            }
            if (!group_found)
                fail(0, "group \"%s\": no such group in the container's /etc/group", group_part.c_str());
        }
    }
    // Supplementary groups: those listing the user as a member.
    groups_.clear();
    if (!user_name.empty()) {
        for (auto& row : groups) {
            std::uint32_t gid;
            if (row.size() < 4 || !parse_id(row[2], gid)) continue;
            for (std::string_view member : split(row[3], ','))
                if (member == user_name) groups_.push_back(gid);
        }
    }
}

void Init::drop_privileges() {
    const SecurityPlan& sec = req_.security;
    if (sec.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(errno, "prctl(PR_SET_NO_NEW_PRIVS)");
    for (int cap = 0; cap < 64; ++cap) {
        if (sec.cap_bounding & (std::uint64_t{1} << cap)) continue;
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL) break;  // past the kernel's last capability
            fail(errno, "prctl(PR_CAPBSET_DROP, %d)", cap);
        }
    }
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        fail(errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");

    if (::setgroups(groups_.size(), groups_.data()) < 0) fail(errno, "setgroups");
    if (::setresgid(gid_, gid_, gid_) < 0) fail(errno, "setresgid(%u)", gid_);
    // Keep the permitted set across setresuid, so that a non-root user can
    // still be given capabilities (the capabilities of config.json, or
    // cap_add); without any, setresuid clears them all, as for docker.
    const bool keep = uid_ != 0 && (sec.cap_permitted != 0);
    if (keep && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(errno, "prctl(PR_SET_KEEPCAPS)");
    if (::setresuid(uid_, uid_, uid_) < 0) fail(errno, "setresuid(%u)", uid_);
    if (keep && ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail(errno, "prctl(PR_SET_KEEPCAPS, 0)");

    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    data[0].effective = static_cast<std::uint32_t>(sec.cap_effective);
    data[1].effective = static_cast<std::uint32_t>(sec.cap_effective >> 32);
    data[0].permitted = static_cast<std::uint32_t>(sec.cap_permitted);
    data[1].permitted = static_cast<std::uint32_t>(sec.cap_permitted >> 32);
    data[0].inheritable = static_cast<std::uint32_t>(sec.cap_inheritable);
    data[1].inheritable = static_cast<std::uint32_t>(sec.cap_inheritable >> 32);
    if (uid_ != 0 && !keep) {
        // setresuid cleared them all: nothing to set.
    } else if (::syscall(SYS_capset, &header, data) < 0) {
        fail(errno, "capset");
    }
    // The kernel keeps an ambient capability only if it is also permitted
    // and inheritable; the others are skipped, as runc and crun skip them
    // (their default spec lists ambient capabilities with no inheritable set).
    const std::uint64_t ambient = sec.cap_ambient & sec.cap_permitted & sec.cap_inheritable;
    for (int cap = 0; cap < 64; ++cap) {
        if (!(ambient & (std::uint64_t{1} << cap))) continue;
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            fail(errno, "prctl(PR_CAP_AMBIENT_RAISE, %d)", cap);
    }
}

// The last step before execve: from here on the filter judges every system
// call, so nothing but execve may follow it.
void Init::load_seccomp() {
    const SecurityPlan& sec = req_.security;
    if (sec.seccomp_filter.empty()) return;
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(sec.seccomp_filter.size() / sizeof(sock_filter));
    prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(sec.seccomp_filter.data()));
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, sec.seccomp_flags, &prog) < 0)
        fail(errno, "seccomp(SECCOMP_SET_MODE_FILTER, %u instructions)", static_cast<unsigned>(prog.len));
}

// spec.tty, in the container's root: a pty from the container's own devpts
// instance (so `tty` names /dev/pts/0 there), its master sent to the
// supervisor, its slave made stdin, stdout, stderr, the controlling terminal
// (the init leads its own session) and /dev/console. Before the privileges
// are dropped: the slave is handed to the user, as a login would.
void Init::setup_console() {
    int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) fail(errno, "open(\"/dev/ptmx\")");
    int unlock = 0;
    if (::ioctl(master, TIOCSPTLCK, &unlock) < 0) fail(errno, "ioctl(/dev/ptmx, TIOCSPTLCK)");
    // The peer of this very master, whatever /dev/pts/N names meanwhile.
    int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) fail(errno, "ioctl(/dev/ptmx, TIOCGPTPEER)");
    unsigned number = 0;
    if (::ioctl(master, TIOCGPTN, &number) < 0) fail(errno, "ioctl(/dev/ptmx, TIOCGPTN)");
    if (::fchown(slave, uid_, static_cast<gid_t>(-1)) < 0) fail(errno, "fchown(/dev/pts/%u, %u)", number, uid_);
    // A terminal's usual size until someone attaches with theirs (0x0 makes
    // full-screen programs fail).
    winsize size{};
    size.ws_row = 24;
    size.ws_col = 80;
    if (req_.oci && req_.oci->spec->process.console_size) {
        size.ws_row = static_cast<unsigned short>(req_.oci->spec->process.console_size->height);
        size.ws_col = static_cast<unsigned short>(req_.oci->spec->process.console_size->width);
    }
    if (::ioctl(master, TIOCSWINSZ, &size) < 0) fail(errno, "ioctl(/dev/ptmx, TIOCSWINSZ)");

    char pts[32];
    std::snprintf(pts, sizeof pts, "/dev/pts/%u", number);
    // The init's terminal is also /dev/console; a process exec'd later
    // leaves the container's /dev alone.
    if (req_.exec_argv.empty() && own_dev_) {
        // /dev is the init's own tmpfs: a plain path is safe.
        int console = ::open("/dev/console", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (console < 0) fail(errno, "create /dev/console");
        ::close(console);
        if (::mount(pts, "/dev/console", nullptr, MS_BIND, nullptr) < 0)
            fail(errno, "mount(\"%s\", \"/dev/console\", MS_BIND)", pts);
    }

    const char tag = 'm';
    const int passed[] = {master};
    try {
        sys::send_with_fds(console_fd_, std::as_bytes(std::span(&tag, 1)), passed);
    } catch (const std::exception& e) {
        fail(0, "send the terminal to the supervisor: %s", e.what());
    }
    ::close(master);
    ::close(console_fd_);
    console_fd_ = -1;

    if (::ioctl(slave, TIOCSCTTY, 0) < 0) fail(errno, "ioctl(%s, TIOCSCTTY)", pts);
    for (int fd = 0; fd < 3; ++fd)
        if (::dup2(slave, fd) < 0) fail(errno, "dup2(%s, %d)", pts, fd);
    ::close(slave);
}

void Init::build_env() {
    env_ = req_.spec.env;
    auto has = [&](const char* key) {
        std::size_t len = std::strlen(key);
        for (auto& kv : env_)
            if (kv.compare(0, len, key) == 0 && kv.size() > len && kv[len] == '=') return true;
        return false;
    };
    if (!has("PATH")) env_.push_back(std::string("PATH=") + kDefaultPath);
    if (!has("HOSTNAME")) env_.push_back("HOSTNAME=" + req_.spec.hostname);
    if (!has("HOME")) env_.push_back("HOME=" + home_);
    if (req_.has_console && !has("TERM")) env_.push_back("TERM=xterm");  // as docker run -t
}

void Init::become_user_and_exec(const std::vector<std::string>& argv, bool create_working_dir) {
    resolve_user();
    if (console_fd_ >= 0) setup_console();
    build_env();
    const std::string& wd = req_.spec.working_dir;
    // Like docker, the init creates a missing working directory (as root, 0755).
    if (create_working_dir && wd != "/") {
        std::string partial;
        for (std::string_view part : split(wd, '/')) {
            if (part.empty()) continue;
            partial += '/';
            partial += part;
            ::mkdir(partial.c_str(), 0755);
        }
    }
    // Without no_new_privs only a process that still holds CAP_SYS_ADMIN may
    // load a filter: before the privileges go, as runc does.
    if (!req_.security.no_new_privileges) load_seccomp();
    drop_privileges();
    // As the user: a directory it may not enter is an error, not a way in.
    if (::chdir(wd.c_str()) < 0) fail(errno, "chdir(\"%s\")", wd.c_str());
    stamp(steps_.user);
    exec(argv);
}

void Init::exec(const std::vector<std::string>& args) {
    if (args.empty()) fail(0, "exec: no command");
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::string path_var = kDefaultPath;
    for (auto& kv : env_) {
        envp.push_back(const_cast<char*>(kv.c_str()));
        if (kv.rfind("PATH=", 0) == 0) path_var = kv.substr(5);
    }
    envp.push_back(nullptr);

    // Signals blocked by the supervisor or ignored by it must not reach the
    // container's command that way.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGPIPE) ::signal(sig, SIG_DFL);
    ::umask(umask_);

    stamp(steps_.exec);
    char record[2 + sizeof(InitSteps)];
    record[0] = kStepsMarker;
    std::memcpy(record + 1, &steps_, sizeof steps_);
    record[sizeof record - 1] = kExecMarker;
    // Once started through the gate, `create` may have returned and closed
    // the pipe (EPIPE, SIGPIPE ignored until execve).
    if (::write(error_fd_, record, sizeof record) != static_cast<ssize_t>(sizeof record) && !start_gated_)
        fail(errno, "write(setup-error pipe)");
    ::signal(SIGPIPE, SIG_DFL);
    if (req_.security.no_new_privileges) load_seccomp();
    const std::string& cmd = exec_path_.empty() ? args.front() : exec_path_;
    if (cmd.find('/') != std::string::npos) {
        ::execve(cmd.c_str(), argv.data(), envp.data());
        fail(errno, "exec \"%s\"", cmd.c_str());
    }
    // execvpe's search, but in the container's PATH, not the supervisor's.
    int first_error = ENOENT;
    for (std::string_view dir : split(path_var, ':')) {
        std::string candidate = std::string(dir.empty() ? "." : dir) + "/" + cmd;
        ::execve(candidate.c_str(), argv.data(), envp.data());
        if (errno == EACCES) first_error = EACCES;
        else if (errno != ENOENT && errno != ENOTDIR) fail(errno, "exec \"%s\"", candidate.c_str());
    }
    fail(first_error, "exec \"%s\"", cmd.c_str());
}

template <class Steps>
void Init::guarded(Steps steps) {
    // The child is a copy of the helper: an exception must not unwind into
    // the helper's loop and run it a second time inside the container.
    try {
        steps();
    } catch (const std::exception& e) {
        fail(0, "container setup: %s", e.what());
    } catch (...) {
        fail(0, "container setup: unknown error");
    }
    fail(0, "container setup: ended without exec");
}

void Init::run(const InitFds& fds, ino_t parent_mount_ns) {
    guarded([&] { run_steps(fds, parent_mount_ns); });
}

void Init::run_exec(const InitFds& fds, int container_pidfd) {
    guarded([&] { run_exec_steps(fds, container_pidfd); });
}

void Init::run_steps(const InitFds& fds, ino_t parent_mount_ns) {
    if (req_.oci) run_oci_steps(fds, parent_mount_ns);
    stamp(steps_.started);
    steps_.received = fds.received_ns;
    steps_.cloned = fds.cloned_ns;
    ::umask(0);
    console_fd_ = fds.console_fd;
    setup_stdio(fds, {&console_fd_});
    join_cgroups();
    // Only now a cgroup namespace, rooted at the cgroups it has joined.
    if (!req_.cgroup_join.empty() && ::unshare(CLONE_NEWCGROUP) < 0) fail(errno, "unshare(CLONE_NEWCGROUP)");
    stamp(steps_.joined);
    setup_rootfs(parent_mount_ns);
    enter_root();
    stamp(steps_.pivoted);
    become_user_and_exec(req_.spec.argv, true);
}

void Init::run_exec_steps(const InitFds& fds, int container_pidfd) {
    // Until execve this process holds every capability and the helper's
    // fds, while already visible in the container's pid namespace: no
    // process there may ptrace it or open its /proc files. execve makes the
    // command dumpable again.
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail(errno, "prctl(PR_SET_DUMPABLE, 0)");
    console_fd_ = fds.console_fd;  // rusty-runtime exec --tty
    setup_stdio(fds, {&container_pidfd, &console_fd_});
    join_cgroups();
    join_namespaces(container_pidfd);
    become_user_and_exec(req_.exec_argv, false);
}

}  // namespace init_steps

using init_steps::Init;

void run_container_init(const SpawnRequest& request, const InitFds& fds, ino_t parent_mount_ns) {
    Init(request, fds.setup_error_fd).run(fds, parent_mount_ns);
}

std::int64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string prepare_stub(const SpawnRequest& request, ino_t parent_mount_ns) {
    // errno first: building the message may change it.
    auto failed = [](int err, std::string what) { return what + ": " + errno_text(err); };
    for (const std::string& file : request.cgroup_join) {
        UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
        if (!fd) return failed(errno, "join cgroup: open(\"" + file + "\")");
        if (::write(fd.get(), "0", 1) < 0) return failed(errno, "join cgroup: write(\"" + file + "\", \"0\")");
    }
    // Never mount anything while still in the host's mount namespace.
    struct stat ns {};
    if (::stat("/proc/self/ns/mnt", &ns) < 0) return failed(errno, "stat(\"/proc/self/ns/mnt\")");
    if (ns.st_ino == parent_mount_ns) return "refusing to mount: not in a new mount namespace";
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
        return failed(errno, "make mounts private: mount(\"/\", MS_REC|MS_PRIVATE)");
    if (request.spec.network == NetworkMode::None && net::raw_bring_up_loopback() < 0)
        return failed(errno, "bring up loopback");
    return {};
}

void run_exec_in_container(const SpawnRequest& request, const InitFds& fds, int container_pidfd) {
    Init(request, fds.setup_error_fd).run_exec(fds, container_pidfd);
}

}  // namespace rusty::lifecycle
