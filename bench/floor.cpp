// rusty-bench-floor: the physical floor of a container start on this host.
// Only what no container runtime can skip: clone3 into the same namespaces
// as rusty's init, a private mount tree, the busybox rootfs bound, /proc,
// pivot_root, exec /bin/true, and waitid on the pidfd. No helper, no
// reactor, no /dev, no hardening. rusty-bench-start's numbers are read
// against these.
//
// --cgroup puts each start in a fresh cgroup of its own, made on the clock
// (as rusty's FleetCgroups::create is) and removed off the clock once the
// child is reaped:
//   into   born in it: clone3(CLONE_INTO_CGROUP) with the directory's fd;
//   procs  the child moves itself: it writes "0" to the cgroup's
//          cgroup.procs as its first step, before any mount, as rusty's init
//          does for each v1 cgroup it joins (lifecycle/container_init.cpp).
// Both use the v2 hierarchy, so they differ only in how the child is placed.
// --v1-procs memory,pids adds a v1 cgroup per start in those hierarchies,
// joined the same way as procs: what rusty pays on a hybrid host for limits.
// --wait-events (with into) ends the clock when the cgroup's cgroup.events
// reports "populated 0" through POLLPRI, the way rusty's ContainerActor
// learns that a container is gone, rather than at the reap.
// --idle-ms N sleeps before each start, off the clock.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "bench/common.hpp"
#include "core/syscalls.hpp"
#include "image/image_store.hpp"

namespace fs = std::filesystem;
using namespace rusty;
using bench::Clock;

namespace {

struct Config {
    bench::CommonOptions common;
    std::string rootfs;                 // empty: the busybox image, built in a temporary directory
    std::string cgroup = "none";        // none | into | procs
    std::vector<std::string> v1_procs;  // v1 controllers ("memory", "pids") joined by a cgroup.procs write
    bool wait_events = false;           // the exit counts once cgroup.events says "populated 0"
};

// What the child needs; it gets its own copy of this through clone3.
struct ChildPlan {
    std::string rootfs;
    ino_t parent_mount_ns = 0;
    // cgroup.procs files the child writes "0" to before anything else; it
    // then enters a cgroup namespace of its own, as rusty's init does.
    std::vector<std::string> join_files;
};

// The cgroup mounts of this mount namespace, from /proc/self/mountinfo (the
// floor links no cgroup library): the cgroup2 mount point, and the v1 mount
// point of each controller.
struct CgroupMounts {
    fs::path v2_root;
    std::map<std::string, fs::path> v1_roots;

    static CgroupMounts detect() {
        CgroupMounts m;
        std::ifstream in("/proc/self/mountinfo");
        if (!in) throw Error("open(\"/proc/self/mountinfo\") failed");
        std::string line;
        while (std::getline(in, line)) {
            // "36 25 0:31 / /sys/fs/cgroup/memory rw,… shared:12 - cgroup cgroup rw,memory"
            std::istringstream fields(line);
            std::string id, parent, dev, root, mount_point, word;
            fields >> id >> parent >> dev >> root >> mount_point;
            while (fields >> word && word != "-") {
            }
            std::string fstype, source, options;
            fields >> fstype >> source >> options;
            if (root != "/") continue;  // a bind of a subtree: not a hierarchy's root
            if (fstype == "cgroup2" && m.v2_root.empty()) m.v2_root = mount_point;
            if (fstype != "cgroup") continue;
            std::istringstream opts(options);
            while (std::getline(opts, word, ','))
                if (word == "memory" || word == "pids") m.v1_roots.emplace(word, mount_point);
        }
        return m;
    }
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
    // EBUSY is retried for up to a second.
    void remove() noexcept {
        if (dir_.empty()) return;
        for (int attempt = 0; attempt < 1000; ++attempt) {
            if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) break;
            if (errno != EBUSY) {
                std::fprintf(stderr, "rusty-bench-floor: rmdir(\"%s\"): %s\n", dir_.c_str(), std::strerror(errno));
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        dir_.clear();
    }

private:
    fs::path dir_;
};

// The per-start cgroups, under /rusty-bench-<pid> of each hierarchy used.
class StartCgroups {
public:
    explicit StartCgroups(const Config& cfg) : into_(cfg.cgroup == "into") {
        if (cfg.cgroup == "none" && cfg.v1_procs.empty()) return;
        const CgroupMounts mounts = CgroupMounts::detect();
        const std::string parent = "rusty-bench-" + std::to_string(::getpid());
        if (cfg.cgroup != "none") {
            if (mounts.v2_root.empty()) throw Error("--cgroup " + cfg.cgroup + ": no cgroup2 hierarchy is mounted");
            v2_parent_ = OwnedCgroup(mounts.v2_root / parent);
        }
        for (const std::string& controller : cfg.v1_procs) {
            auto it = mounts.v1_roots.find(controller);
            if (it == mounts.v1_roots.end())
                throw Error("--v1-procs " + controller + ": no v1 hierarchy has the " + controller + " controller");
            v1_parents_.emplace_back(it->second / parent);
        }
    }

    bool any() const { return !v2_parent_.dir().empty() || !v1_parents_.empty(); }

    // Start `i`'s directories, made now, and what its child must do with them.
    struct Leaves {
        OwnedCgroup v2;
        std::vector<OwnedCgroup> v1;
        UniqueFd placement;  // --cgroup into: the v2 directory, for CLONE_INTO_CGROUP
    };
    // The leaf names, computed off the clock.
    std::vector<fs::path> names(int i) const {
        const std::string leaf = "floor-" + std::to_string(i);
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
    // On the clock: mkdir each, and open the v2 one for placement.
    Leaves make(const std::vector<fs::path>& names) const {
        Leaves l;
        for (std::size_t k = 0; k < names.size(); ++k) {
            if (k == 0 && !v2_parent_.dir().empty()) {
                l.v2 = OwnedCgroup(names[k]);
                if (into_) {
                    l.placement.reset(::open(names[k].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                    if (!l.placement) throw_sys("open(\"" + names[k].string() + "\")");
                }
            } else {
                l.v1.emplace_back(names[k]);
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
    bool into_;
    OwnedCgroup v2_parent_;  // each leaf is gone before these are removed
    std::vector<OwnedCgroup> v1_parents_;
};

// Reports the failed step through the pipe that exec would have closed, as
// rusty's init does, and ends the child.
[[noreturn]] __attribute__((format(printf, 3, 4))) void child_fail(int report_fd, int err, const char* fmt, ...) {
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

[[noreturn]] void child_main(const ChildPlan& plan, int report_fd) {
    if (!plan.join_files.empty()) {
        for (const std::string& file : plan.join_files) {
            int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0) child_fail(report_fd, errno, "open(\"%s\")", file.c_str());
            if (::write(fd, "0", 1) < 0) child_fail(report_fd, errno, "write(\"%s\", \"0\")", file.c_str());
            ::close(fd);
        }
        if (::unshare(CLONE_NEWCGROUP) < 0) child_fail(report_fd, errno, "unshare(CLONE_NEWCGROUP)");
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
bool populated(int events_fd) {
    char buf[256];
    ssize_t n = ::pread(events_fd, buf, sizeof buf - 1, 0);
    if (n < 0) throw_sys("read(cgroup.events)");
    buf[n] = '\0';
    return std::strstr(buf, "populated 1") != nullptr;
}

struct StartResult {
    bench::Sample sample;
    double cgroup_setup_ms = 0;  // making the start's cgroups (part of the sample)
    double events_wait_ms = 0;   // --wait-events: reap → cgroup.events "populated 0" (part of the sample)
};

// One start, timed; throws with the child's own message if it failed.
// `cgroup_names` are made on the clock and removed off the clock, after the
// child is reaped.
StartResult start_once(const Config& cfg, const ChildPlan& plan, std::uint64_t flags, const StartCgroups& cgroups,
                       const std::vector<fs::path>& cgroup_names) {
    StartResult result;
    Clock::time_point t0 = Clock::now();
    StartCgroups::Leaves leaves = cgroups.make(cgroup_names);
    result.cgroup_setup_ms = bench::to_ms(Clock::now() - t0);
    sys::Pipe report = sys::make_pipe();  // O_CLOEXEC: EOF means exec happened
    sys::Clone3Request request;
    request.flags = flags;
    request.cgroup_fd = leaves.placement.get();  // -1 without one
    // A cgroup namespace at birth only when the child has nothing left to join.
    if (!plan.join_files.empty()) request.flags &= ~static_cast<std::uint64_t>(CLONE_NEWCGROUP);
    int pidfd = -1;
    pid_t pid = sys::raw_clone3(request, &pidfd);
    if (pid == 0) child_main(plan, report.write.get());
    if (pid < 0) throw_sys("clone3");
    UniqueFd owned_pidfd(pidfd);
    report.write.reset();

    // As rusty's ContainerActor does once the helper answers: open the
    // cgroup's cgroup.events and read it ("populated 1": born in it).
    UniqueFd events;
    if (cfg.wait_events) {
        const fs::path file = leaves.v2.dir() / "cgroup.events";
        events.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!events) throw_sys("open(\"" + file.string() + "\")");
        populated(events.get());
    }

    std::string failure;
    char buf[512];
    ssize_t n;
    while ((n = ::read(report.read.get(), buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("read(report pipe)");
        failure.append(buf, static_cast<std::size_t>(n));
    }
    Clock::time_point running = Clock::now();

    sys::ExitStatus status;
    sys::wait_pidfd(owned_pidfd.get(), status, false);
    Clock::time_point t1 = Clock::now();
    if (events) {
        // Then, as its wait_until_empty() does: wait for a change, read, until
        // "populated 0". No read right after the reap.
        Clock::time_point reaped = t1;
        for (;;) {
            pollfd p{events.get(), POLLPRI, 0};
            if (::poll(&p, 1, 5000) < 0 && errno != EINTR) throw_sys("poll(cgroup.events)");
            if (!populated(events.get())) break;
        }
        t1 = Clock::now();
        result.events_wait_ms = bench::to_ms(t1 - reaped);
    }
    events.reset();
    leaves = {};  // off the clock: rmdir, retried on EBUSY

    if (!failure.empty()) throw Error("container setup: " + failure);
    if (status.signal != 0) throw Error("/bin/true killed by " + sys::signal_name(status.signal));
    if (status.exit_code != 0) throw Error("/bin/true exited with " + std::to_string(status.exit_code));
    result.sample = {bench::to_ms(running - t0), bench::to_ms(t1 - t0)};
    return result;
}

int run(const Config& cfg) {
    std::optional<bench::TempDir> temp;
    ChildPlan plan;
    if (cfg.rootfs.empty()) {
        temp.emplace("rusty-bench-floor");
        plan.rootfs = image::ImageStore(temp->path() / "images").ensure("busybox").string();
    } else {
        std::error_code ec;
        fs::path canonical = fs::canonical(cfg.rootfs, ec);
        if (ec || !fs::is_directory(canonical)) throw Error("--rootfs \"" + cfg.rootfs + "\": not a directory");
        plan.rootfs = canonical.string();
    }
    plan.parent_mount_ns = sys::namespace_inode("mnt");

    // The namespaces of rusty's init (lifecycle/helper_fork.cpp), without
    // CLONE_PARENT: here the benchmark itself is the parent.
    std::uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    if (!cfg.common.host_network()) flags |= CLONE_NEWNET;

    StartCgroups cgroups(cfg);
    std::vector<bench::Sample> samples;
    bench::Series cgroup_setup{"cgroup_setup", {}};
    bench::Series events_wait{"events_wait", {}};
    const int total = cfg.common.warmup + cfg.common.count;
    for (int i = 0; i < total; ++i) {
        // Off the clock: the names, then the pause that lets the kernel go idle.
        std::vector<fs::path> names = cgroups.names(i);
        plan.join_files = cgroups.join_files(names);
        if (cfg.common.idle_ms > 0) std::this_thread::sleep_for(cfg.common.idle());
        StartResult r;
        try {
            r = start_once(cfg, plan, flags, cgroups, names);
        } catch (const Error& e) {
            throw e.context("start " + std::to_string(i));
        }
        if (i >= cfg.common.warmup) {
            samples.push_back(r.sample);
            cgroup_setup.values.push_back(r.cgroup_setup_ms);
            events_wait.values.push_back(r.events_wait_ms);
        }
    }

    nlohmann::json config = cfg.common.to_json();
    config["rootfs"] = plan.rootfs;
    config["cgroup"] = cfg.cgroup;
    config["v1_procs"] = cfg.v1_procs;
    config["wait_events"] = cfg.wait_events;
    if (cgroups.any()) {
        config["cgroup_parents"] = cgroups.describe();
        config["placement"] = cfg.cgroup == "into"    ? "clone3 CLONE_INTO_CGROUP (v2)"
                              : cfg.cgroup == "procs" ? "child writes 0 to cgroup.procs (v2) before mounting"
                                                      : "none";
    }
    std::string title = "floor: clone3 + bind + /proc + pivot_root + exec /bin/true, network " + cfg.common.network;
    if (cfg.cgroup == "into") title += ", CLONE_INTO_CGROUP";
    if (cfg.cgroup == "procs") title += ", v2 cgroup.procs write";
    if (!cfg.v1_procs.empty()) {
        title += ", v1 cgroup.procs write (";
        for (std::size_t k = 0; k < cfg.v1_procs.size(); ++k) title += (k ? "," : "") + cfg.v1_procs[k];
        title += ")";
    }
    if (cfg.wait_events) title += ", exit seen through cgroup.events";
    title += cfg.common.pacing();
    std::vector<bench::Series> extra;
    if (cgroups.any()) extra.push_back(std::move(cgroup_setup));
    if (cfg.wait_events) extra.push_back(std::move(events_wait));
    bench::publish("rusty-bench-floor", title, cfg.common, std::move(config), samples, extra);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"The floor of a container start: clone3 with rusty's namespaces, bind the rootfs, mount "
                 "/proc, pivot_root, exec /bin/true; prints the same latency table as rusty-bench-start."};
    Config cfg;
    cfg.common.add_to(app);
    app.add_option("--rootfs", cfg.rootfs, "root filesystem directory (default: the busybox image, built aside)");
    app.add_option("--cgroup", cfg.cgroup,
                   "a fresh v2 cgroup per start, under /rusty-bench-<pid>: none; into: born in it "
                   "(CLONE_INTO_CGROUP); procs: the child writes 0 to its cgroup.procs before mounting")
        ->check(CLI::IsMember({"none", "into", "procs"}));
    app.add_option("--v1-procs", cfg.v1_procs,
                   "also a v1 cgroup per start in these hierarchies (memory, pids), joined by the child "
                   "writing 0 to cgroup.procs, as rusty's init does for limits on a hybrid host")
        ->delimiter(',')
        ->check(CLI::IsMember({"memory", "pids"}));
    app.add_flag("--wait-events", cfg.wait_events,
                 "with --cgroup into: after the reap, wait for cgroup.events to report \"populated 0\" "
                 "(POLLPRI, then read), as rusty's ContainerActor does; on the clock");
    CLI11_PARSE(app, argc, argv);
    cfg.common.finish();
    if (cfg.wait_events && cfg.cgroup != "into") {
        std::fprintf(stderr, "rusty-bench-floor: --wait-events needs --cgroup into\n");
        return 2;
    }

    return bench::run_as_root("rusty-bench-floor", [&] { return run(cfg); });
}
