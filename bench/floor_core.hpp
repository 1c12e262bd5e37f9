// The physical floor of a container start, shared by rusty-bench-floor and
// rusty-bench-compare: clone3 into fresh namespaces, a private mount tree,
// the rootfs bound onto itself, /proc, pivot_root, exec /bin/true. No helper,
// no reactor, no /dev, no hardening. Also the per-start cgroups the floor
// makes (a v2 leaf to be born in, v1 leaves joined by a cgroup.procs write,
// optionally with limits) in the hierarchies cgroup::Layout finds.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cgroup/cgroup.hpp"
#include "cgroup/layout.hpp"
#include "cgroup/retry.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/syscalls.hpp"

namespace rusty::bench::floor {

namespace fs = std::filesystem;

// What the child needs; it gets its own copy of this through clone3.
struct ChildPlan {
    std::string rootfs;
    ino_t parent_mount_ns = 0;
    // cgroup.procs files the child writes "0" to before anything else.
    std::vector<std::string> join_files;
    // After those joins, enter a cgroup namespace of its own (as rusty's
    // init does); a child with nothing to join gets it from clone3 instead.
    bool cgroup_ns_after_join = true;
};

// One cgroup directory this benchmark made; rmdir'd when dropped.
class OwnedCgroup {
public:
    OwnedCgroup() = default;
    // Throws (and owns nothing) when mkdir fails, EEXIST included: a
    // directory that was there already is not ours to remove.
    explicit OwnedCgroup(const fs::path& dir) {
        if (::mkdir(dir.c_str(), 0755) < 0) throw_sys("mkdir(\"" + dir.string() + "\")");
        dir_ = dir;
    }
    OwnedCgroup(OwnedCgroup&& o) noexcept : dir_(std::exchange(o.dir_, {})) {}
    OwnedCgroup& operator=(OwnedCgroup&& o) noexcept {
        if (this != &o) {
            remove();
            dir_ = std::exchange(o.dir_, {});
        }
        return *this;
    }
    ~OwnedCgroup() { remove(); }

    const fs::path& dir() const { return dir_; }

    // The last task may leave a cgroup a moment after its parent reaped it:
    // cgroup::remove_retrying waits that out. Callers drop their leaves
    // after a sample's clock has stopped, so the wait is never timed.
    void remove() noexcept {
        if (dir_.empty()) return;
        const int err = cgroup::remove_retrying([this] { return ::rmdir(dir_.c_str()) == 0 ? 0 : errno; });
        if (err != 0 && err != ENOENT)
            std::fprintf(stderr, "%s: rmdir(\"%s\"): %s\n", program_invocation_short_name, dir_.c_str(),
                         std::strerror(err));
        dir_.clear();
    }

private:
    fs::path dir_;
};

// How the per-start cgroups are laid out and entered.
struct CgroupOptions {
    std::string v2 = "none";            // none | into (CLONE_INTO_CGROUP) | procs (the child writes cgroup.procs)
    std::vector<std::string> v1_procs;  // v1 controllers ("memory", "pids") joined by a cgroup.procs write
    fs::path parent;                    // relative to each hierarchy's root; made here (must not exist)
    std::string leaf_prefix = "floor-";
    // Control files written into each new leaf on the clock, as a runtime
    // writes its limits: by v1 controller ("memory", "pids"), or "v2".
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> limits;
};

// The per-start cgroups, under `parent` of each hierarchy used.
class StartCgroups {
public:
    StartCgroups(const cgroup::Layout& layout, const CgroupOptions& options)
        : into_(options.v2 == "into"), limits_(options.limits) {
        if (options.v2 == "none" && options.v1_procs.empty()) return;
        if (options.v2 != "none") {
            if (layout.v2_root().empty()) throw Error("--cgroup " + options.v2 + ": no cgroup2 hierarchy is mounted");
            v2_parent_ = OwnedCgroup(layout.v2_root() / options.parent);
        }
        for (const std::string& controller : options.v1_procs) {
            const std::optional<fs::path> root = layout.v1_root(controller);
            if (!root)
                throw Error("--v1-procs " + controller + ": no v1 hierarchy has the " + controller + " controller");
            v1_parents_.emplace_back(*root / options.parent);
            v1_controllers_.push_back(controller);
        }
        leaf_prefix_ = options.leaf_prefix;
    }

    bool any() const { return !v2_parent_.dir().empty() || !v1_parents_.empty(); }
    const fs::path& v2_parent() const { return v2_parent_.dir(); }

    // Start `i`'s directories, made now, and what its child must do with them.
    struct Leaves {
        OwnedCgroup v2;
        std::vector<OwnedCgroup> v1;
        UniqueFd placement;  // into: the v2 directory, for CLONE_INTO_CGROUP
    };
    // The leaf names, computed off the clock.
    std::vector<fs::path> names(int i) const {
        const std::string leaf = leaf_prefix_ + std::to_string(i);
        std::vector<fs::path> out;
        if (!v2_parent_.dir().empty()) out.push_back(v2_parent_.dir() / leaf);
        for (const OwnedCgroup& p : v1_parents_) out.push_back(p.dir() / leaf);
        return out;
    }
    // The cgroup.procs files the child must write to for these names.
    std::vector<std::string> join_files(const std::vector<fs::path>& names) const {
        std::vector<std::string> files;
        for (std::size_t k = 0; k < names.size(); ++k) {
            const bool is_v2 = k == 0 && !v2_parent_.dir().empty();
            if (!is_v2 || !into_) files.push_back((names[k] / "cgroup.procs").string());
        }
        return files;
    }
    // On the clock: mkdir each (writing its limits), and open the v2 one for placement.
    Leaves make(const std::vector<fs::path>& names) const {
        Leaves l;
        const std::size_t v1_first = v2_parent_.dir().empty() ? 0 : 1;
        for (std::size_t k = 0; k < names.size(); ++k) {
            if (k == 0 && !v2_parent_.dir().empty()) {
                l.v2 = OwnedCgroup(names[k]);
                write_limits("v2", names[k]);
                if (into_) {
                    l.placement.reset(::open(names[k].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                    if (!l.placement) throw_sys("open(\"" + names[k].string() + "\")");
                }
            } else {
                l.v1.emplace_back(names[k]);
                write_limits(v1_controllers_[k - v1_first], names[k]);
            }
        }
        return l;
    }

    std::string describe() const {
        std::string text;
        if (!v2_parent_.dir().empty()) text += v2_parent_.dir().string();
        for (const OwnedCgroup& p : v1_parents_) text += (text.empty() ? "" : " ") + p.dir().string();
        return text;
    }

private:
    void write_limits(const std::string& hierarchy, const fs::path& dir) const {
        auto it = limits_.find(hierarchy);
        if (it == limits_.end()) return;
        for (const auto& [file, value] : it->second) cgroup::write_file(dir / file, value);
    }

    bool into_;
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> limits_;
    std::string leaf_prefix_ = "floor-";
    OwnedCgroup v2_parent_;  // each leaf is gone before these are removed
    std::vector<OwnedCgroup> v1_parents_;
    std::vector<std::string> v1_controllers_;  // of v1_parents_, in order
};

// Reports the failed step through the pipe that exec would have closed, as
// rusty's init does, and ends the child.
[[noreturn]] __attribute__((format(printf, 3, 4))) inline void child_fail(int report_fd, int err, const char* fmt,
                                                                          ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int len = std::vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (len < 0) len = 0;
    if (err != 0 && static_cast<std::size_t>(len) < sizeof msg)
        len += std::snprintf(msg + len, sizeof msg - len, ": %s", std::strerror(err));
    len = std::min<int>(len, sizeof msg - 1);
    [[maybe_unused]] ssize_t n = ::write(report_fd, msg, static_cast<std::size_t>(len));
    ::_exit(127);
}

[[noreturn]] inline void child_main(const ChildPlan& plan, int report_fd) {
    if (!plan.join_files.empty()) {
        for (const std::string& file : plan.join_files) {
            int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0) child_fail(report_fd, errno, "open(\"%s\")", file.c_str());
            if (::write(fd, "0", 1) < 0) child_fail(report_fd, errno, "write(\"%s\", \"0\")", file.c_str());
            ::close(fd);
        }
        if (plan.cgroup_ns_after_join && ::unshare(CLONE_NEWCGROUP) < 0)
            child_fail(report_fd, errno, "unshare(CLONE_NEWCGROUP)");
    }
    // The project's safety rule: never mount while still in the host's
    // mount namespace. Costs one stat, which rusty's init pays too.
    struct stat ns {};
    if (::stat("/proc/self/ns/mnt", &ns) < 0) child_fail(report_fd, errno, "stat(\"/proc/self/ns/mnt\")");
    if (ns.st_ino == plan.parent_mount_ns) child_fail(report_fd, 0, "refusing to mount: not in a new mount namespace");

    const char* root = plan.rootfs.c_str();
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
        child_fail(report_fd, errno, "mount(\"/\", MS_REC|MS_PRIVATE)");
    // pivot_root needs the new root to be a mount point: bind it onto itself.
    if (::mount(root, root, nullptr, MS_BIND | MS_REC, nullptr) < 0)
        child_fail(report_fd, errno, "mount(\"%s\", MS_BIND)", root);
    // Entered after the bind, so "." is the new mount, not the directory under it.
    if (::chdir(root) < 0) child_fail(report_fd, errno, "chdir(\"%s\")", root);
    if (::mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0)
        child_fail(report_fd, errno, "mount(\"proc\", \"%s/proc\")", root);
    // The old root ends up stacked on "." and is detached at once.
    if (sys::raw_pivot_root(".", ".") < 0) child_fail(report_fd, errno, "pivot_root(\"%s\")", root);
    if (::umount2(".", MNT_DETACH) < 0) child_fail(report_fd, errno, "umount2(old root, MNT_DETACH)");
    if (::chdir("/") < 0) child_fail(report_fd, errno, "chdir(\"/\")");

    char arg0[] = "/bin/true";
    char* argv[] = {arg0, nullptr};
    char path[] = "PATH=/bin";
    char* envp[] = {path, nullptr};
    ::execve(arg0, argv, envp);
    child_fail(report_fd, errno, "execve(\"/bin/true\")");
}

// Whether the v2 cgroup's cgroup.events says "populated 1".
inline bool populated(int events_fd) {
    char buf[256];
    ssize_t n = ::pread(events_fd, buf, sizeof buf - 1, 0);
    if (n < 0) throw_sys("read(cgroup.events)");
    buf[n] = '\0';
    return std::strstr(buf, "populated 1") != nullptr;
}

// A floor child just cloned: its pidfd, and the read end of its report pipe
// (O_CLOEXEC in the child: EOF means it exec'd, or it failed and said why).
struct Launched {
    pid_t pid = -1;
    UniqueFd pidfd;
    UniqueFd report;
};

// clone3 with `flags` (and CLONE_INTO_CGROUP when cgroup_fd >= 0); the child
// runs child_main(plan). A cgroup namespace at birth only when the child has
// nothing left to join.
inline Launched launch(const ChildPlan& plan, std::uint64_t flags, int cgroup_fd) {
    sys::Pipe report = sys::make_pipe();
    sys::Clone3Request request;
    request.flags = flags;
    request.cgroup_fd = cgroup_fd;
    if (!plan.join_files.empty()) request.flags &= ~static_cast<std::uint64_t>(CLONE_NEWCGROUP);
    int pidfd = -1;
    pid_t pid = sys::raw_clone3(request, &pidfd);
    if (pid == 0) child_main(plan, report.write.get());
    if (pid < 0) throw_sys("clone3");
    Launched l;
    l.pid = pid;
    l.pidfd.reset(pidfd);
    l.report = std::move(report.read);
    return l;
}

// Reads a report pipe to EOF: empty when the child exec'd.
inline std::string read_report(int fd) {
    std::string failure;
    char buf[512];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("read(report pipe)");
        failure.append(buf, static_cast<std::size_t>(n));
    }
    return failure;
}

}  // namespace rusty::bench::floor
