// The cgroup subtree /<top> a bench owns in every hierarchy: whatever the
// bench, and the runtimes it drives (crun, runc, rusty), make below it.
// Removed at the end, deepest first. Shared by rusty-bench-compare and
// rusty-bench-logs.
#pragma once

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cgroup/retry.hpp"
#include "core/error.hpp"
#include "core/file.hpp"
#include "core/strings.hpp"

namespace rusty::bench {

// Every cgroup hierarchy's mount point in this mount namespace (v1 and v2),
// from /proc/self/mountinfo. Not cgroup::Layout's roots: those are the
// hierarchies of the controllers rusty uses, while runc also makes its
// cgroups in every other one mounted (blkio, name=systemd…), and those must
// be removed too.
inline std::vector<std::filesystem::path> cgroup_mounts() {
    std::vector<std::filesystem::path> mounts;
    const std::string mountinfo = read_file("/proc/self/mountinfo");
    for (std::string_view line : split(mountinfo, '\n')) {
        // "36 25 0:31 / /sys/fs/cgroup/memory rw,… shared:12 - cgroup cgroup rw,memory"
        const auto dash = line.find(" - ");
        if (dash == std::string_view::npos) continue;
        std::istringstream after{std::string(line.substr(dash + 3))};
        std::string fstype;
        after >> fstype;
        if (fstype != "cgroup" && fstype != "cgroup2") continue;
        std::istringstream before{std::string(line.substr(0, dash))};
        std::string id, parent, dev, root, mount_point;
        before >> id >> parent >> dev >> root >> mount_point;
        if (root == "/") mounts.emplace_back(mount_point);  // a hierarchy's root, not a bind of a subtree
    }
    return mounts;
}

class CgroupTree {
public:
    explicit CgroupTree(std::string top) : top_(std::move(top)) {}
    ~CgroupTree() {
        try {
            remove();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: removing /%s: %s\n", program_invocation_short_name, top_.c_str(), e.what());
        }
    }
    CgroupTree(const CgroupTree&) = delete;
    CgroupTree& operator=(const CgroupTree&) = delete;

    const std::string& top() const { return top_; }
    // An absolute cgroup path below the top: "/<top>/<below>".
    std::string path(const std::string& below) const { return "/" + top_ + "/" + below; }

    // Makes the top directory in `hierarchy` (a mount point) if missing.
    void ensure(const std::filesystem::path& hierarchy) const {
        const std::filesystem::path dir = hierarchy / top_;
        if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_sys("mkdir(\"" + dir.string() + "\")");
    }

    // Kills every process in the cgroups /<top>/<prefix>* and below, in every
    // hierarchy: what a runtime left when its process was killed. Returns how
    // many it killed.
    int kill_below(const std::string& prefix) const {
        std::set<pid_t> killed;
        std::error_code ec;
        for (const std::filesystem::path& mount : cgroup_mounts())
            for (const auto& entry : std::filesystem::directory_iterator(mount / top_, ec))
                if (entry.is_directory(ec) && entry.path().filename().string().rfind(prefix, 0) == 0)
                    kill_in(entry.path(), killed);
        return static_cast<int>(killed.size());
    }

    // Removes the tree from every hierarchy; returns what is left. A cgroup
    // still holding processes has them killed (only the bench's own are ever
    // placed below the top), and a removal the kernel is still finishing is
    // retried (cgroup::remove_retrying).
    std::vector<std::string> remove() {
        std::vector<std::string> left;
        for (const std::filesystem::path& mount : cgroup_mounts()) {
            const std::filesystem::path dir = mount / top_;
            std::error_code ec;
            if (!std::filesystem::exists(dir, ec)) continue;
            if (remove_below(dir) == EBUSY) {
                std::set<pid_t> killed;
                cgroup::remove_retrying([&] {
                    kill_in(dir, killed);
                    return remove_below(dir);
                });
            }
            if (std::filesystem::exists(dir, ec)) left.push_back(dir.string());
        }
        return left;
    }

private:
    // Removes `dir` and the cgroups below it, deepest first; rmdir only
    // succeeds on an empty cgroup, so nothing running is touched. 0, or the
    // errno of the first rmdir that failed (one already gone counts as done).
    static int remove_below(const std::filesystem::path& dir) {
        int first = 0;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
            if (entry.is_directory(ec) && !entry.is_symlink(ec)) {
                const int err = remove_below(entry.path());
                if (first == 0) first = err;
            }
        if (::rmdir(dir.c_str()) < 0 && errno != ENOENT && first == 0) first = errno;
        return first;
    }

    static void kill_in(const std::filesystem::path& dir, std::set<pid_t>& killed) {
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec)) return;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
            if (entry.is_directory(ec) && !entry.is_symlink(ec)) kill_in(entry.path(), killed);
        std::istringstream procs(try_read_file(dir / "cgroup.procs").value_or(""));
        pid_t pid;
        while (procs >> pid)
            if (pid > 0 && !killed.count(pid) && ::kill(pid, SIGKILL) == 0) killed.insert(pid);
    }

    std::string top_;
};

}  // namespace rusty::bench
