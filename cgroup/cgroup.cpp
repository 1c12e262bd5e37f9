#include "cgroup/cgroup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/xattr.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "cgroup/limits.hpp"
#include "cgroup/retry.hpp"
#include "core/error.hpp"
#include "core/file.hpp"
#include "core/strings.hpp"
#include "core/syscalls.hpp"

namespace rusty::cgroup {
namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path& path) { return "\"" + path.string() + "\""; }

// True when it made the directory, false when it was there already.
bool make_dir(const fs::path& dir) {
    if (::mkdir(dir.c_str(), 0755) == 0) return true;
    if (errno == EEXIST) return false;
    throw_sys("mkdir(" + quoted(dir) + ")");
}

std::optional<std::uint64_t> read_number(const fs::path& path) {
    std::optional<std::string> text = try_read_file(path);
    if (!text) return std::nullopt;
    try {
        return std::stoull(*text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::vector<pid_t> parse_pids(std::string_view text) {
    std::vector<pid_t> out;
    for (std::string_view line : split(text, '\n')) {
        if (line.empty()) continue;
        pid_t pid = 0;
        for (char c : line) pid = pid * 10 + (c - '0');
        out.push_back(pid);
    }
    return out;
}

bool is_cpuset_root(const Layout& layout, const fs::path& root) {
    auto cpuset = layout.v1_root("cpuset");
    return cpuset && *cpuset == root;
}

// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and takes
// no task until given some: copy the parent's.
void inherit_cpuset(const fs::path& dir, bool create) {
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        std::optional<std::string> own = try_read_file(dir / file);
        if (own && own->find_first_not_of(" \n") != std::string::npos) continue;
        write_file(dir / file, read_file(dir.parent_path() / file), create);
    }
}

std::vector<std::string_view> components(std::string_view path) {
    std::vector<std::string_view> out;
    for (std::string_view part : split(path, '/'))
        if (!part.empty()) out.push_back(part);
    return out;
}

}  // namespace

void write_file(const fs::path& file, std::string_view value, bool create) {
    const int flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0);
    UniqueFd fd(::open(file.c_str(), flags, 0644));
    if (!fd) throw_sys("open(" + quoted(file) + ")");
    // Setting a v1 memory limit checks for pending signals first and
    // returns EINTR; io_uring task work counts as one (TIF_NOTIFY_SIGNAL),
    // and the supervisor's reactor has such work queued all the time.
    ssize_t n;
    do {
        n = ::write(fd.get(), value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_sys("write(" + quoted(file) + ", \"" + std::string(value) + "\")");
}

std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key) {
    for (std::string_view line : split(text, '\n')) {
        if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
            std::uint64_t value = 0;
            for (char c : line.substr(key.size() + 1)) {
                if (c < '0' || c > '9') return std::nullopt;
                value = value * 10 + static_cast<std::uint64_t>(c - '0');
            }
            return value;
        }
    }
    return std::nullopt;
}

nlohmann::json to_json(const Stats& s) {
    auto value = [](const std::optional<std::uint64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    return {{"memory_bytes", value(s.memory_bytes)},
            {"memory_peak_bytes", value(s.memory_peak_bytes)},
            {"cpu_usage_usec", value(s.cpu_usage_usec)},
            {"pids", value(s.pids)}};
}

// ---- ContainerCgroup ---------------------------------------------------------

std::vector<std::string> ContainerCgroup::join_files() const {
    std::set<std::string> files;
    for (const auto& [controller, dir] : v1_dirs_) files.insert((dir / "cgroup.procs").string());
    return {files.begin(), files.end()};
}

std::optional<fs::path> ContainerCgroup::v1_dir(std::string_view controller) const {
    auto it = v1_dirs_.find(std::string(controller));
    if (it == v1_dirs_.end()) return std::nullopt;
    return it->second;
}

fs::path ContainerCgroup::events_file() const { return v2_dir_.empty() ? fs::path() : v2_dir_ / "cgroup.events"; }

std::optional<ContainerCgroup::MemoryEvents> ContainerCgroup::memory_events() const {
    auto it = where_.find("memory");
    if (it == where_.end()) return std::nullopt;
    if (it->second == Version::V2) return MemoryEvents{Version::V2, v2_dir_};
    if (it->second == Version::V1) return MemoryEvents{Version::V1, *v1_dir("memory")};
    return std::nullopt;
}

std::vector<pid_t> ContainerCgroup::pids() const {
    if (!v2_dir_.empty()) return parse_pids(read_file(v2_dir_ / "cgroup.procs"));
    if (!v1_dirs_.empty()) return parse_pids(read_file(v1_dirs_.begin()->second / "cgroup.procs"));
    return {};
}

bool ContainerCgroup::populated() const {
    if (!v2_dir_.empty()) return keyed_value(read_file(events_file()), "populated").value_or(0) != 0;
    return !pids().empty();
}

bool ContainerCgroup::can_freeze() const { return !v2_dir_.empty() || v1_dirs_.contains("freezer"); }

void ContainerCgroup::freeze(bool frozen) const {
    if (!v2_dir_.empty()) return write_file(v2_dir_ / "cgroup.freeze", frozen ? "1" : "0", stand_in_);
    if (auto dir = v1_dir("freezer")) return write_file(*dir / "freezer.state", frozen ? "FROZEN" : "THAWED", stand_in_);
    throw Error("cgroup " + path_ + ": pausing needs cgroup v2 or the v1 freezer controller");
}

bool ContainerCgroup::frozen() const {
    if (!v2_dir_.empty()) return keyed_value(read_file(events_file()), "frozen").value_or(0) != 0;
    if (auto dir = v1_dir("freezer")) return read_file(*dir / "freezer.state").starts_with("FROZEN");
    return false;
}

bool ContainerCgroup::kill_once() const {
    if (!v2_dir_.empty() && ::access((v2_dir_ / "cgroup.kill").c_str(), W_OK) == 0) {
        write_file(v2_dir_ / "cgroup.kill", "1", false);
        return true;
    }
    // No cgroup.kill (v1, or v2 before Linux 5.14): freeze so that no new
    // process can fork in, SIGKILL every process through a pidfd after
    // checking it is still ours (signal_all: a pid read from cgroup.procs
    // may be reused meanwhile), thaw so the kills are taken; the caller
    // comes back until none is left. The thaw happens whatever fails: a
    // process frozen on v1 would not even die of SIGKILL.
    const bool freeze_first = can_freeze();
    struct Thaw {
        const ContainerCgroup* cg;
        ~Thaw() {
            if (!cg) return;
            try {
                cg->freeze(false);
            } catch (const std::exception&) {
            }
        }
    };
    if (!populated()) return true;
    if (freeze_first) freeze(true);
    Thaw thaw{freeze_first ? this : nullptr};
    signal_all(SIGKILL);
    return false;
}

void ContainerCgroup::kill() const {
    if (!retry([this] { return kill_once(); })) throw Error("cgroup " + path_ + ": processes remain after SIGKILL");
}

reactor::Task<void> ContainerCgroup::kill_async() const {
    if (!co_await retry_async([this] { return kill_once(); }))
        throw Error("cgroup " + path_ + ": processes remain after SIGKILL");
}

void ContainerCgroup::signal_all(int sig) const {
    const std::string member = ":" + path_ + "\n";
    for (pid_t pid : pids()) {
        // The pidfd pins the process: check it is still ours, then signal
        // that very process, never a later one that reuses the pid.
        UniqueFd pidfd(sys::raw_pidfd_open(pid, 0));
        if (!pidfd) continue;
        std::optional<std::string> cgroups = try_read_file("/proc/" + std::to_string(pid) + "/cgroup");
        if (!cgroups || cgroups->find(member) == std::string::npos) continue;
        sys::raw_pidfd_send_signal(pidfd.get(), sig);
    }
}

std::uint64_t ContainerCgroup::oom_kills() const {
    auto memory = memory_events();
    if (!memory) return 0;
    const char* file = memory->version == Version::V2 ? "memory.events" : "memory.oom_control";
    return keyed_value(try_read_file(memory->dir / file).value_or(""), "oom_kill").value_or(0);
}

Stats ContainerCgroup::stats() const {
    Stats s;
    auto memory = memory_events();
    if (memory && memory->version == Version::V2) {
        s.memory_bytes = read_number(v2_dir_ / "memory.current");
        s.memory_peak_bytes = read_number(v2_dir_ / "memory.peak");
    } else if (memory) {
        s.memory_bytes = read_number(memory->dir / "memory.usage_in_bytes");
        s.memory_peak_bytes = read_number(memory->dir / "memory.max_usage_in_bytes");
    }
    if (!v2_dir_.empty()) {
        s.cpu_usage_usec = keyed_value(try_read_file(v2_dir_ / "cpu.stat").value_or(""), "usage_usec");
    } else if (auto dir = v1_dir("cpuacct")) {
        if (auto ns = read_number(*dir / "cpuacct.usage")) s.cpu_usage_usec = *ns / 1000;
    }
    auto pids_where = where_.find("pids");
    if (pids_where != where_.end() && pids_where->second == Version::V2) {
        s.pids = read_number(v2_dir_ / "pids.current");
    } else if (auto dir = v1_dir("pids")) {
        s.pids = read_number(*dir / "pids.current");
    } else {
        // No pids controller: count the threads the cgroup lists.
        std::optional<std::string> threads = !v2_dir_.empty() ? try_read_file(v2_dir_ / "cgroup.threads")
                                             : !v1_dirs_.empty() ? try_read_file(v1_dirs_.begin()->second / "tasks")
                                                                 : std::nullopt;
        if (threads) s.pids = parse_pids(*threads).size();
    }
    return s;
}

int ContainerCgroup::remove() noexcept {
    std::set<fs::path> dirs;
    for (const auto& [controller, dir] : v1_dirs_) dirs.insert(dir);
    if (!v2_dir_.empty()) dirs.insert(v2_dir_);
    v2_fd_.reset();
    int first_error = 0;
    for (const fs::path& dir : dirs) {
        if (stand_in_) {
            std::error_code ec;
            fs::remove_all(dir, ec);
        } else if (::rmdir(dir.c_str()) < 0 && errno != ENOENT && first_error == 0) {
            first_error = errno;
        }
    }
    return first_error;
}

// ---- FleetCgroups ------------------------------------------------------------

FleetCgroups::FleetCgroups(Layout layout, const FleetSpec& fleet) : layout_(std::move(layout)) {
    for (std::string_view part : components(fleet.cgroup_parent)) (parent_ += "/") += part;
    fleet_path_ = parent_ + "/" + fleet.name;
    if (parent_.empty()) parent_ = "/";
    for (const ContainerSpec& c : fleet.containers) {
        for (const std::string& controller : controllers_for(c.resources))
            if (layout_.where(controller) == Version::V2) v2_needed_.insert(controller);
    }
}

void FleetCgroups::admit(const FleetSpec& fleet) {
    for (const ContainerSpec& c : fleet.containers)
        for (const std::string& controller : controllers_for(c.resources))
            if (layout_.where(controller) == Version::V2 && v2_needed_.insert(controller).second) v2_ready_ = false;
}

fs::path FleetCgroups::ensure_ancestors(const fs::path& root) {
    // Once made (or claimed), the fleet's directory stays until remove(): no
    // one else removes it, and it keeps the ancestors above it non-empty.
    if (const fs::path made = root / fleet_path_.substr(1); fleet_dirs_.contains(made)) return made;
    const bool cpuset = is_cpuset_root(layout_, root);
    // A fleet of the same parent that just ended may remove the parent
    // between our mkdirs (ENOENT): make the whole path again, a few times.
    for (int attempt = 0;; ++attempt) {
        fs::path dir = root;
        bool made = false;
        try {
            for (std::string_view part : components(fleet_path_)) {
                dir /= part;
                made = make_dir(dir);
                if (made) created_.push_back(dir);
                if (cpuset) inherit_cpuset(dir, layout_.stand_in());
            }
        } catch (const Error& e) {
            if (e.sys_errno() != ENOENT || attempt == 3 || ::access(root.c_str(), F_OK) != 0) throw;
            continue;
        }
        if (!fleet_dirs_.contains(dir)) claim_fleet_dir(dir, made);
        fleet_dirs_.insert(dir);
        return dir;
    }
}

// The fleet's directory is swept, written and removed as ours: one that
// exists already must carry the mark a supervisor of this fleet left on it
// (a trusted.* extended attribute), so that a fleet named like another
// program's cgroup ("docker" under cgroup_parent "/") never takes it over.
void FleetCgroups::claim_fleet_dir(const fs::path& dir, bool made) {
    static constexpr const char* kMark = "trusted.rusty-supervisor.fleet";
    if (made) {
        // A hierarchy without xattr support cannot be marked: then an
        // existing directory cannot be told apart either (below).
        if (::setxattr(dir.c_str(), kMark, fleet_path_.data(), fleet_path_.size(), 0) < 0 && errno != ENOTSUP)
            throw_sys("setxattr(" + quoted(dir) + ", \"" + kMark + "\")");
        return;
    }
    char value[4096];
    const ssize_t n = ::getxattr(dir.c_str(), kMark, value, sizeof value);
    if (n < 0 && errno == ENOTSUP) return;
    if (n < 0 && errno != ENODATA) throw_sys("getxattr(" + quoted(dir) + ", \"" + kMark + "\")");
    if (n < 0 || std::string_view(value, static_cast<std::size_t>(n)) != fleet_path_)
        throw Error("cgroup " + quoted(dir) + " exists and was not made by a supervisor of this fleet; give the "
                    "fleet another name or another cgroup parent");
}

// Controllers reach a cgroup only when every ancestor lists them in
// cgroup.subtree_control. We write that file in the cgroup parent and below
// (ours to manage), never above it: there the host must have enabled them.
void FleetCgroups::enable_v2_controllers() {
    // memory, pids and cpu also serve statistics and OOM events: enabled
    // where the host lets us, even for containers without limits.
    v2_enabled_ = v2_needed_;
    for (const char* c : {"memory", "pids", "cpu"})
        if (layout_.where(c) == Version::V2) v2_enabled_.insert(c);
    if (v2_enabled_.empty()) return;
    const fs::path root = layout_.v2_root();
    const std::vector<std::string_view> parts = components(fleet_path_);
    const std::size_t parent_depth = components(parent_).size();
    fs::path dir = root;
    for (std::size_t depth = 0; depth <= parts.size(); ++depth) {
        if (depth > 0) dir /= parts[depth - 1];
        // `dir` hands controllers to its children: depth 0 is the root.
        const bool ours = depth >= std::max<std::size_t>(parent_depth, 1) ||
                          std::find(created_.begin(), created_.end(), dir) != created_.end();
        if (ours) {
            if (v2_enabled_.empty()) return;
            std::string enable;
            for (const std::string& c : v2_enabled_) enable += (enable.empty() ? "+" : " +") + c;
            write_file(dir / "cgroup.subtree_control", enable, layout_.stand_in());
            continue;
        }
        const std::string enabled = read_file(dir / "cgroup.subtree_control");
        const std::string first_line = enabled.substr(0, enabled.find('\n'));
        const std::vector<std::string_view> have = split(first_line, ' ');
        for (auto it = v2_enabled_.begin(); it != v2_enabled_.end();) {
            const std::string& c = *it;
            if (std::find(have.begin(), have.end(), c) != have.end()) {
                ++it;
                continue;
            }
            if (!v2_needed_.contains(c)) {  // only wanted for statistics
                it = v2_enabled_.erase(it);
                continue;
            }
            throw Error("the " + c + " controller is not enabled in " + quoted(dir / "cgroup.subtree_control") +
                            "; rusty writes that file only in its cgroup parent \"" + parent_ +
                            "\" and below (enable it there, e.g. echo +" + c + " > that file)");
        }
    }
}

void FleetCgroups::lock() {
    fs::path root = layout_.v2_root();
    if (root.empty() && !layout_.v1_roots().empty()) root = layout_.v1_roots().begin()->second;
    if (root.empty()) return;
    // A supervisor that ends removes the directory: one that opened it just
    // before would hold a lock on a directory no one else can find. So,
    // having the lock, check that it is still the directory at the path.
    for (;;) {
        const fs::path dir = ensure_ancestors(root);
        lock_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!lock_) throw_sys("open(" + quoted(dir) + ")");
        if (::flock(lock_.get(), LOCK_EX | LOCK_NB) < 0) {
            const int err = errno;
            // Not ours: remove() must leave it to its owner.
            lock_.reset();
            fleet_dirs_.erase(dir);
            if (err == EWOULDBLOCK)
                throw Error("cgroup " + quoted(dir) + " is in use by another supervisor of a fleet named \"" +
                            fleet_path_.substr(fleet_path_.rfind('/') + 1) +
                            "\"; give this fleet another name or another cgroup parent");
            throw_sys("flock(" + quoted(dir) + ")", err);
        }
        struct stat held {}, named {};
        if (::fstat(lock_.get(), &held) < 0) throw_sys("fstat(" + quoted(dir) + ")");
        if (::stat(dir.c_str(), &named) == 0 && named.st_ino == held.st_ino && named.st_dev == held.st_dev) break;
    }
    sweep_leftovers();
}

// Container cgroups an earlier supervisor of this fleet left (it died, or
// the fleet no longer has that container): the empty ones go. rmdir never
// removes a cgroup that holds a process, so nothing running is touched.
void FleetCgroups::sweep_leftovers() noexcept {
    std::vector<fs::path> roots;
    if (!layout_.v2_root().empty()) roots.push_back(layout_.v2_root());
    for (const auto& [controller, root] : layout_.v1_roots()) roots.push_back(root);
    for (const fs::path& root : roots) {
        std::error_code ec;
        const fs::path dir = root / fleet_path_.substr(1);
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            if (!entry.is_directory(ec)) continue;
            if (layout_.stand_in()) continue;  // a stand-in tree has no earlier runs
            ::rmdir(entry.path().c_str());
        }
    }
}

namespace {

// A leaf of an earlier run: replaced if empty, an error if not.
void replace_stale_leaf(const fs::path& dir, bool stand_in) {
    std::optional<std::string> procs = try_read_file(dir / "cgroup.procs");
    if (procs && !procs->empty())
        throw Error("cgroup " + quoted(dir) + " still holds processes of an earlier run (pids " +
                    std::to_string(parse_pids(*procs).size()) + "); stop them or remove it");
    if (stand_in) fs::remove_all(dir);
    else if (::rmdir(dir.c_str()) < 0) throw_sys("rmdir(" + quoted(dir) + ")");
}

void fresh_leaf(const fs::path& dir, bool stand_in) {
    if (make_dir(dir)) return;
    replace_stale_leaf(dir, stand_in);
    make_dir(dir);
}

// Removes what was made so far if a step fails.
struct Undo {
    ContainerCgroup& cg;
    bool armed = true;
    ~Undo() {
        if (armed) cg.remove();
    }
};

}  // namespace

std::set<std::string> FleetCgroups::v1_joins(const ContainerSpec& spec) const {
    std::set<std::string> join;
    if (layout_.mode() == Mode::V1) {
        for (const char* c : {"memory", "pids", "cpu", "cpuacct", "freezer"})
            if (layout_.v1_root(c)) join.insert(c);
    }
    for (const std::string& c : controllers_for(spec.resources))
        if (layout_.where(c) == Version::V1) join.insert(c);
    return join;
}

void FleetCgroups::make_v2_leaf(ContainerCgroup& cg, const std::string& name) {
    if (layout_.v2_root().empty()) return;
    fs::path fleet_dir = ensure_ancestors(layout_.v2_root());
    if (!v2_ready_) {
        enable_v2_controllers();
        v2_ready_ = true;
    }
    cg.v2_dir_ = fleet_dir / name;
    fresh_leaf(cg.v2_dir_, cg.stand_in_);
    cg.v2_fd_.reset(::open(cg.v2_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cg.v2_fd_) throw_sys("open(" + quoted(cg.v2_dir_) + ")");
}

void FleetCgroups::write_limits(ContainerCgroup& cg, const ContainerSpec& spec) {
    const bool create_files = layout_.stand_in();
    for (const char* c : {"memory", "pids", "cpu", "cpuset"}) {
        const Version v = layout_.where(c);
        const bool used = v == Version::V2 ? v2_enabled_.contains(c) : v == Version::V1 && cg.v1_dirs_.contains(c);
        cg.where_[c] = used ? v : Version::None;
    }
    for (const LimitWrite& w : plan_limits(spec.resources, layout_).writes) {
        if (cg.where_[w.controller] == Version::None) continue;  // best effort: warned at check time
        const fs::path dir = cg.where_[w.controller] == Version::V2 ? cg.v2_dir_ : *cg.v1_dir(w.controller);
        try {
            write_file(dir / w.file, w.value, create_files);
        } catch (const Error& e) {
            if (w.optional && e.sys_errno() == ENOENT) continue;
            throw e.context(w.field);
        }
    }
}

ContainerCgroup FleetCgroups::create(const ContainerSpec& spec) {
    ContainerCgroup cg;
    cg.path_ = fleet_path_ + "/" + spec.name;
    cg.stand_in_ = layout_.stand_in();
    Undo undo{cg};
    make_v2_leaf(cg, spec.name);

    // The v1 hierarchies to join; several controllers may share one.
    std::map<fs::path, fs::path> leaf_of_root;
    for (const std::string& c : v1_joins(spec)) {
        const fs::path root = *layout_.v1_root(c);
        auto it = leaf_of_root.find(root);
        if (it == leaf_of_root.end()) {
            fs::path leaf = ensure_ancestors(root) / spec.name;
            fresh_leaf(leaf, cg.stand_in_);
            cg.v1_dirs_.emplace(c, leaf);  // from here on, Undo removes it
            if (is_cpuset_root(layout_, root)) inherit_cpuset(leaf, layout_.stand_in());
            it = leaf_of_root.emplace(root, leaf).first;
        }
        cg.v1_dirs_.emplace(c, it->second);
    }
    write_limits(cg, spec);
    undo.armed = false;
    return cg;
}

std::vector<std::string> PoolSlot::join_files() const {
    std::set<std::string> files;
    for (const auto& [controller, dir] : v1_dirs) files.insert((dir / "cgroup.procs").string());
    return {files.begin(), files.end()};
}

int PoolSlot::remove() noexcept {
    int first_error = 0;
    std::set<fs::path> left;
    for (const auto& [controller, dir] : v1_dirs) {
        if (left.contains(dir)) continue;
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) continue;
        if (first_error == 0) first_error = errno;
        left.insert(dir);
    }
    // What could not be removed stays, for another try.
    std::erase_if(v1_dirs, [&](const auto& entry) { return !left.contains(entry.second); });
    return first_error;
}

PoolSlot FleetCgroups::create_slot(const std::set<std::string>& controllers) {
    PoolSlot slot;
    slot.name = ".pool-" + std::to_string(next_slot_++);
    struct SlotUndo {
        PoolSlot& slot;
        bool armed = true;
        ~SlotUndo() {
            if (armed) slot.remove();
        }
    } undo{slot};
    std::map<fs::path, fs::path> leaf_of_root;
    for (const std::string& c : controllers) {
        const std::optional<fs::path> root = layout_.v1_root(c);
        if (!root) throw Error("no v1 hierarchy for the " + c + " controller");
        auto it = leaf_of_root.find(*root);
        if (it == leaf_of_root.end()) {
            fs::path leaf = ensure_ancestors(*root) / slot.name;
            fresh_leaf(leaf, layout_.stand_in());
            slot.v1_dirs.emplace(c, leaf);
            if (is_cpuset_root(layout_, *root)) inherit_cpuset(leaf, layout_.stand_in());
            it = leaf_of_root.emplace(*root, leaf).first;
        }
        slot.v1_dirs.emplace(c, it->second);
    }
    undo.armed = false;
    return slot;
}

ContainerCgroup FleetCgroups::adopt(PoolSlot& slot, const ContainerSpec& spec) {
    ContainerCgroup cg;
    cg.path_ = fleet_path_ + "/" + spec.name;
    cg.stand_in_ = layout_.stand_in();
    Undo undo{cg};  // removes the v2 leaf; the renamed v1 directories, holding the stub, stay
    make_v2_leaf(cg, spec.name);
    std::map<fs::path, fs::path> renamed;  // slot dir -> container dir
    for (auto& [controller, dir] : slot.v1_dirs) {
        auto it = renamed.find(dir);
        if (it == renamed.end()) {
            const fs::path target = dir.parent_path() / spec.name;
            if (::rename(dir.c_str(), target.c_str()) < 0) {
                if (errno != EEXIST && errno != ENOTEMPTY && errno != EBUSY)
                    throw_sys("rename(" + quoted(dir) + ", " + quoted(target) + ")");
                replace_stale_leaf(target, cg.stand_in_);
                if (::rename(dir.c_str(), target.c_str()) < 0)
                    throw_sys("rename(" + quoted(dir) + ", " + quoted(target) + ")");
            }
            it = renamed.emplace(dir, target).first;
        }
        dir = it->second;
    }
    cg.v1_dirs_ = slot.v1_dirs;  // a failure below leaves them to the slot (and its stub)
    write_limits(cg, spec);
    slot.v1_dirs.clear();
    undo.armed = false;
    return cg;
}

std::vector<std::string> FleetCgroups::remove() noexcept {
    std::vector<std::string> problems;
    // The fleet's own directories (ours even if a crashed run left them),
    // then the ancestors made here; rmdir fails on one another fleet uses.
    std::vector<fs::path> dirs(fleet_dirs_.begin(), fleet_dirs_.end());
    dirs.insert(dirs.end(), created_.rbegin(), created_.rend());
    for (const fs::path& dir : dirs) {
        if (layout_.stand_in()) {
            std::error_code ec;
            fs::remove_all(dir, ec);
        } else if (::rmdir(dir.c_str()) < 0 && errno != ENOENT) {
            const bool shared_ancestor = !fleet_dirs_.contains(dir) && (errno == EBUSY || errno == ENOTEMPTY);
            try {
                if (!shared_ancestor) problems.push_back(dir.string() + ": " + errno_text(errno));
            } catch (...) {
            }
        }
    }
    fleet_dirs_.clear();
    created_.clear();
    v2_ready_ = false;
    lock_.reset();
    return problems;
}

}  // namespace rusty::cgroup
