#include "cgroup/path_cgroup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "cgroup/limits.hpp"
#include "core/error.hpp"
#include "core/file.hpp"
#include "core/strings.hpp"

namespace rusty::cgroup {
namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path& path) { return "\"" + path.string() + "\""; }

std::vector<std::string> parts_of(const std::string& path) {
    std::vector<std::string> out;
    for (std::string_view part : split(path, '/'))
        if (!part.empty()) out.emplace_back(part);
    return out;
}

// mkdir -p below `root`; a v1 cpuset directory gets its parent's CPUs and
// memory nodes, without which it takes no task. Returns the leaf, which
// must be new or empty.
fs::path make_path(const fs::path& root, const std::vector<std::string>& parts, bool cpuset) {
    fs::path dir = root;
    for (const std::string& part : parts) {
        dir /= part;
        if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_sys("mkdir(" + quoted(dir) + ")");
        if (!cpuset) continue;
        for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
            std::string own = read_file(dir / file);
            if (own.find_first_not_of(" \n") != std::string::npos) continue;
            write_file(dir / file, read_file(dir.parent_path() / file));
        }
    }
    std::string procs = read_file(dir / "cgroup.procs");
    if (procs.find_first_not_of(" \n") != std::string::npos)
        throw Error("cgroup " + quoted(dir) + " already holds processes");
    return dir;
}

void write_limits(const Layout& layout, const Resources& r, const fs::path& v2_dir,
                  const std::map<std::string, fs::path>& v1_dirs) {
    for (const LimitWrite& w : plan_limits(r, layout).writes) {
        fs::path dir;
        if (layout.where(w.controller) == Version::V2) dir = v2_dir;
        else if (auto it = v1_dirs.find(w.controller); it != v1_dirs.end()) dir = it->second;
        if (dir.empty()) continue;
        try {
            write_file(dir / w.file, w.value);
        } catch (const Error& e) {
            if (w.optional && e.sys_errno() == ENOENT) continue;
            throw e.context(w.field);
        }
    }
}

}  // namespace

ContainerCgroup PathCgroups::create(const Layout& layout, const std::string& path, const Resources& r,
                                    const std::set<std::string>& extra_v1) {
    ContainerCgroup cg;
    cg.path_ = path;
    const std::vector<std::string> parts = parts_of(path);
    if (parts.empty()) throw Error("cgroup path \"" + path + "\" names the root cgroup");
    struct Undo {
        ContainerCgroup& cg;
        bool armed = true;
        ~Undo() {
            if (armed) cg.remove();
        }
    } undo{cg};

    std::set<std::string> v2_needed;
    std::set<std::string> v1_join;
    if (layout.mode() == Mode::V1)
        for (const char* c : {"memory", "pids", "cpu", "cpuacct", "freezer"}) v1_join.insert(c);
    for (const std::string& c : controllers_for(r)) {
        if (layout.where(c) == Version::V2) v2_needed.insert(c);
        if (layout.where(c) == Version::V1) v1_join.insert(c);
    }
    for (const std::string& c : extra_v1) v1_join.insert(c);

    if (!layout.v2_root().empty()) {
        // Hand the controllers down from the root to the leaf's parent.
        fs::path dir = layout.v2_root();
        std::string enable;
        for (const std::string& c : v2_needed) enable += (enable.empty() ? "+" : " +") + c;
        for (const std::string& part : parts) {
            if (!enable.empty()) write_file(dir / "cgroup.subtree_control", enable);
            dir /= part;
            if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_sys("mkdir(" + quoted(dir) + ")");
        }
        cg.v2_dir_ = make_path(layout.v2_root(), parts, false);
        cg.v2_fd_.reset(::open(cg.v2_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!cg.v2_fd_) throw_sys("open(" + quoted(cg.v2_dir_) + ")");
    }
    std::map<fs::path, fs::path> leaf_of_root;
    for (const std::string& c : v1_join) {
        const std::optional<fs::path> root = layout.v1_root(c);
        if (!root) continue;
        auto it = leaf_of_root.find(*root);
        if (it == leaf_of_root.end()) {
            const auto cpuset = layout.v1_root("cpuset");
            fs::path leaf = make_path(*root, parts, cpuset && *cpuset == *root);
            it = leaf_of_root.emplace(*root, leaf).first;
        }
        cg.v1_dirs_.emplace(c, it->second);
    }
    for (const char* c : {"memory", "pids", "cpu", "cpuset"}) {
        const Version v = layout.where(c);
        const bool used = v == Version::V2 ? v2_needed.contains(c) : v == Version::V1 && cg.v1_dirs_.contains(c);
        cg.where_[c] = used ? v : Version::None;
    }
    write_limits(layout, r, cg.v2_dir_, cg.v1_dirs_);
    undo.armed = false;
    return cg;
}

ContainerCgroup PathCgroups::open(const Layout& layout, const std::string& path) {
    ContainerCgroup cg;
    cg.path_ = path;
    const std::string rel = path.empty() || path[0] != '/' ? path : path.substr(1);
    if (!layout.v2_root().empty()) {
        fs::path dir = layout.v2_root() / rel;
        if (::access(dir.c_str(), F_OK) == 0) {
            cg.v2_dir_ = dir;
            cg.v2_fd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        }
    }
    for (const auto& [controller, root] : layout.v1_roots()) {
        fs::path dir = root / rel;
        if (::access(dir.c_str(), F_OK) == 0) cg.v1_dirs_.emplace(controller, dir);
    }
    for (const char* c : {"memory", "pids", "cpu", "cpuset"}) {
        const Version v = layout.where(c);
        const bool used = v == Version::V2 ? !cg.v2_dir_.empty() && ::access((cg.v2_dir_ / (std::string(c) + ".max")).c_str(), F_OK) == 0
                                           : v == Version::V1 && cg.v1_dirs_.contains(c);
        cg.where_[c] = used ? v : Version::None;
    }
    return cg;
}

void PathCgroups::update(const Layout& layout, ContainerCgroup& cg, const Resources& r) {
    const LimitPlan plan = plan_limits(r, layout);
    if (!plan.missing.empty())
        throw Error("cannot update " + plan.missing.front().field + ": this host has no " +
                    plan.missing.front().controller + " controller");
    // A v1 hierarchy the container was not created in (it had no such
    // limit): make its directory now and move every process in.
    const std::vector<std::string> parts = parts_of(cg.path_);
    for (const std::string& c : controllers_for(r)) {
        if (layout.where(c) != Version::V1 || cg.v1_dirs_.contains(c)) continue;
        const fs::path root = *layout.v1_root(c);
        const auto cpuset = layout.v1_root("cpuset");
        const fs::path dir = make_path(root, parts, cpuset && *cpuset == root);
        cg.v1_dirs_.emplace(c, dir);
        cg.where_[c] = Version::V1;
        for (pid_t pid : cg.pids()) {
            try {
                write_file(dir / "cgroup.procs", std::to_string(pid));
            } catch (const Error& e) {
                if (e.sys_errno() != ESRCH) throw;  // gone meanwhile
            }
        }
    }
    write_limits(layout, r, cg.v2_dir_, cg.v1_dirs_);
}

bool PathCgroups::write_device_rules(const ContainerCgroup& cg, const std::vector<DeviceAccess>& rules) {
    auto dir = cg.v1_dir("devices");
    if (!dir) return false;
    for (const DeviceAccess& rule : rules)
        write_file(*dir / (rule.allow ? "devices.allow" : "devices.deny"), rule.rule);
    return true;
}

std::vector<std::pair<std::string, fs::path>> PathCgroups::mount_view(const Layout& layout,
                                                                     const ContainerCgroup& cg) {
    std::vector<std::pair<std::string, fs::path>> view;
    std::set<fs::path> seen;
    for (const auto& [controller, root] : layout.v1_roots()) {
        if (!seen.insert(root).second) continue;
        const fs::path dir = root / cg.path().substr(1);
        if (::access(dir.c_str(), F_OK) == 0) view.emplace_back(root.filename().string(), dir);
    }
    if (!cg.v2_dir().empty()) view.emplace_back(layout.mode() == Mode::V2 ? "" : "unified", cg.v2_dir());
    return view;
}

}  // namespace rusty::cgroup
