// rusty-bench-floor: the physical floor of a container start on this host.
// Only what no container runtime can skip: clone3 into the same namespaces
// as rusty's init, a private mount tree, the busybox rootfs bound, /proc,
// pivot_root, exec /bin/true, and waitid on the pidfd. No helper, no
// reactor, no /dev, no hardening. rusty-bench-start's numbers are read
// against these.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>

#include "bench/common.hpp"
#include "core/syscalls.hpp"
#include "image/image_store.hpp"

namespace fs = std::filesystem;
using namespace rusty;
using bench::Clock;

namespace {

struct Config {
    bench::CommonOptions common;
    std::string rootfs;  // empty: the busybox image, built in a temporary directory
};

// What the child needs; it gets its own copy of this through clone3.
struct ChildPlan {
    std::string rootfs;
    ino_t parent_mount_ns = 0;
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

// One start, timed; throws with the child's own message if it failed.
bench::Sample start_once(const ChildPlan& plan, std::uint64_t flags) {
    Clock::time_point t0 = Clock::now();
    sys::Pipe report = sys::make_pipe();  // O_CLOEXEC: EOF means exec happened
    sys::Clone3Request request;
    request.flags = flags;
    int pidfd = -1;
    pid_t pid = sys::raw_clone3(request, &pidfd);
    if (pid == 0) child_main(plan, report.write.get());
    if (pid < 0) throw_sys("clone3");
    UniqueFd owned_pidfd(pidfd);
    report.write.reset();

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

    if (!failure.empty()) throw Error("container setup: " + failure);
    if (status.signal != 0) throw Error("/bin/true killed by " + sys::signal_name(status.signal));
    if (status.exit_code != 0) throw Error("/bin/true exited with " + std::to_string(status.exit_code));
    return {bench::to_ms(running - t0), bench::to_ms(t1 - t0)};
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

    std::vector<bench::Sample> samples;
    const int total = cfg.common.warmup + cfg.common.count;
    for (int i = 0; i < total; ++i) {
        bench::Sample s;
        try {
            s = start_once(plan, flags);
        } catch (const Error& e) {
            throw e.context("start " + std::to_string(i));
        }
        if (i >= cfg.common.warmup) samples.push_back(s);
    }

    nlohmann::json config = cfg.common.to_json();
    config["rootfs"] = plan.rootfs;
    std::string title = "floor: clone3 + bind + /proc + pivot_root + exec /bin/true, network " + cfg.common.network;
    bench::publish("rusty-bench-floor", title, cfg.common, std::move(config), samples);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"The floor of a container start: clone3 with rusty's namespaces, bind the rootfs, mount "
                 "/proc, pivot_root, exec /bin/true; prints the same latency table as rusty-bench-start."};
    Config cfg;
    cfg.common.add_to(app);
    app.add_option("--rootfs", cfg.rootfs, "root filesystem directory (default: the busybox image, built aside)");
    CLI11_PARSE(app, argc, argv);
    cfg.common.finish();

    return bench::run_as_root("rusty-bench-floor", [&] { return run(cfg); });
}
