// One cgroup per container, in every hierarchy it needs, under
// <cgroup_parent>/<fleet>/<container>, always by absolute path.
//
// FleetCgroups creates them (and the fleet's directories above them),
// writes their limits, and removes only what it created. A ContainerCgroup is
// one container's cgroup for one run: the directory fd that places the init
// at birth (clone3 CLONE_INTO_CGROUP), the v1 cgroup.procs files the init
// joins itself before exec, and kill, freeze, statistics and removal.
//
// Which hierarchies a container joins:
//   v2      its v2 cgroup only;
//   hybrid  its v2 cgroup (placement, events, kill, freeze), plus a v1 cgroup
//           for each controller its limits need that only v1 has;
//   v1      a v1 cgroup in memory, pids, cpu, cpuacct and freezer (for kill,
//           pause and statistics), plus cpuset when it sets a cpuset.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cgroup/layout.hpp"
#include "core/fd.hpp"
#include "core/spec.hpp"
#include "reactor/awaitable.hpp"

namespace rusty::cgroup {

struct Stats {
    std::optional<std::uint64_t> memory_bytes;       // memory.current | memory.usage_in_bytes
    std::optional<std::uint64_t> memory_peak_bytes;  // memory.peak | memory.max_usage_in_bytes
    std::optional<std::uint64_t> cpu_usage_usec;     // cpu.stat usage_usec | cpuacct.usage / 1000
    std::optional<std::uint64_t> pids;               // pids.current, else the threads listed
};
// {"memory_bytes":…,"memory_peak_bytes":…,"cpu_usage_usec":…,"pids":…}; null where unknown.
nlohmann::json to_json(const Stats& stats);

class ContainerCgroup {
public:
    ContainerCgroup(ContainerCgroup&&) noexcept = default;
    ContainerCgroup& operator=(ContainerCgroup&&) noexcept = default;

    // "/rusty-supervisor/<fleet>/<container>"
    const std::string& path() const { return path_; }
    // The v2 directory fd for CLONE_INTO_CGROUP; -1 without a v2 hierarchy.
    int placement_fd() const { return v2_fd_.get(); }
    // The v2 directory; empty without a v2 hierarchy.
    const std::filesystem::path& v2_dir() const { return v2_dir_; }
    // The v1 cgroup.procs files the init must write "0" to before exec.
    std::vector<std::string> join_files() const;

    // v2 cgroup.events, watched for "populated" and "frozen"; empty without v2.
    std::filesystem::path events_file() const;
    // Where OOM kills are counted and signalled: v2 memory.events, or the v1
    // memory directory (memory.oom_control, cgroup.event_control); nullopt
    // without a memory cgroup.
    struct MemoryEvents {
        Version version;
        std::filesystem::path dir;
    };
    std::optional<MemoryEvents> memory_events() const;

    // Whether any process is in the cgroup.
    bool populated() const;
    // Sends SIGKILL to every process: cgroup.kill on v2, which the kernel
    // sees through; else one round of freeze, SIGKILL to every pid, thaw.
    // True when nothing is left to do (v2; v1 once no process is listed):
    // a process sent SIGKILL stays listed until it is gone.
    bool kill_once() const;
    // kill_once() until nothing is left, retrying as cgroup/retry.hpp says.
    // Throws rusty::Error when processes remain. The sleeping form is for
    // one-shot CLIs and teardown; the supervisor awaits kill_async().
    void kill() const;
    reactor::Task<void> kill_async() const;
    // Sends `sig` to every process in the cgroup (through a pidfd each).
    void signal_all(int sig) const;
    // Freezes (pause) or thaws (resume): v2 cgroup.freeze, else the v1 freezer.
    void freeze(bool frozen) const;
    // Frozen as the kernel reports it (v2 cgroup.events "frozen", v1 freezer.state).
    bool frozen() const;
    bool can_freeze() const;
    // Processes killed by the OOM killer in this cgroup since it was created.
    std::uint64_t oom_kills() const;
    Stats stats() const;

    // Removes the cgroup from every hierarchy, once. Returns 0, or the errno
    // of the first rmdir that failed (EBUSY while processes or child cgroups
    // remain); never throws. cgroup/retry.hpp retries it.
    int remove() noexcept;

private:
    friend class FleetCgroups;
    friend struct PathCgroups;
    ContainerCgroup() = default;
    std::optional<std::filesystem::path> v1_dir(std::string_view controller) const;
    std::vector<pid_t> pids() const;

    std::string path_;
    bool stand_in_ = false;
    std::filesystem::path v2_dir_;
    UniqueFd v2_fd_;
    std::map<std::string, std::filesystem::path> v1_dirs_;  // controller -> directory
    std::map<std::string, Version> where_;                  // memory, pids, cpu, cpuset -> hierarchy used
};

// A pool stub's v1 cgroups (lifecycle/stub_pool.hpp): made ahead of time,
// joined by the stub while the fleet is idle, and renamed to a container's
// at its start, so that the start pays no cgroup.procs write. A v1 cgroup
// can be renamed within its parent; a v2 one cannot, and needs no slot: the
// container's init is born into its v2 cgroup (CLONE_INTO_CGROUP).
struct PoolSlot {
    std::string name;                               // ".pool-<n>": no container name starts with '.'
    std::map<std::string, std::filesystem::path> v1_dirs;  // controller -> directory (several may share one)
    // The cgroup.procs files the stub writes "0" to.
    std::vector<std::string> join_files() const;
    // Removes the directories (they must be empty): returns 0, or the errno
    // of the first that could not be removed, which stay in v1_dirs. Never throws.
    int remove() noexcept;
};

class FleetCgroups {
public:
    // Nothing is created yet.
    FleetCgroups(Layout layout, const FleetSpec& fleet);
    ~FleetCgroups() { remove(); }
    FleetCgroups(const FleetCgroups&) = delete;
    FleetCgroups& operator=(const FleetCgroups&) = delete;

    const Layout& layout() const { return layout_; }
    // "/rusty-supervisor/<fleet>"
    const std::string& fleet_path() const { return fleet_path_; }

    // Creates the fleet's cgroup directory and takes an exclusive flock on
    // it, held for this object's life: two supervisors of one fleet name
    // under one cgroup parent would fight over the same cgroups. Throws
    // rusty::Error naming the directory when another supervisor holds it.
    void lock();

    // A fresh cgroup for one run of `spec`, its limits written. An empty
    // leftover of an earlier run is replaced; one that still holds processes
    // is an error (they are not ours to kill). Throws rusty::Error naming
    // the file and the errno.
    ContainerCgroup create(const ContainerSpec& spec);
    // The v1 controllers create(spec) would make the container join; empty
    // on a v2 host, and in hybrid mode without limits that only v1 has.
    std::set<std::string> v1_joins(const ContainerSpec& spec) const;
    // An empty slot in the v1 hierarchies of `controllers`, for a pool stub.
    PoolSlot create_slot(const std::set<std::string>& controllers);
    // The cgroup of one run of `spec`, as create() makes it, but whose v1
    // directories are the slot's, renamed <fleet>/<name>, with the stub that
    // joined them still inside. The slot's directories follow the renames
    // done so far, so a caller whose adopt() threw can still remove them.
    ContainerCgroup adopt(PoolSlot& slot, const ContainerSpec& spec);

    // A reload's new containers: the v2 controllers their limits need are
    // enabled too, before the next create().
    void admit(const FleetSpec& fleet);

    // Removes the fleet's directory in each hierarchy it used, and the
    // ancestors this object created, deepest first, where empty. Never
    // throws; returns what could not be removed ("<dir>: <errno text>"),
    // leaving out ancestors that another fleet still uses.
    std::vector<std::string> remove() noexcept;

private:
    std::filesystem::path ensure_ancestors(const std::filesystem::path& root);
    // create() and adopt(): the v2 leaf, and what follows the v1 directories.
    void make_v2_leaf(ContainerCgroup& cg, const std::string& name);
    void write_limits(ContainerCgroup& cg, const ContainerSpec& spec);
    void enable_v2_controllers();
    void sweep_leftovers() noexcept;
    void claim_fleet_dir(const std::filesystem::path& dir, bool made);

    Layout layout_;
    std::string parent_;
    std::string fleet_path_;
    std::set<std::string> v2_needed_;   // v2 controllers the fleet's limits need
    std::set<std::string> v2_enabled_;  // those enabled in the fleet's subtree (needed + statistics)
    bool v2_ready_ = false;
    std::vector<std::filesystem::path> created_;  // ancestors made by us, in creation order
    std::set<std::filesystem::path> fleet_dirs_;  // <root>/<parent>/<fleet> of each hierarchy used
    UniqueFd lock_;
    std::uint64_t next_slot_ = 0;
};

// Interface-file helpers, shared with the watches and tests (reading one is
// rusty::read_file, core/file.hpp).
// Writes `value` to an interface file (retrying on EINTR). With `create`
// (a stand-in tree in tests) the file is made, as the kernel would have.
// Throws rusty::Error naming the file and the value.
void write_file(const std::filesystem::path& file, std::string_view value, bool create = false);
// "key value" lines (cgroup.events, memory.events, cpu.stat): the value of `key`.
std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key);

}  // namespace rusty::cgroup
