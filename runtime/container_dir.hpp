// The shared core of rusty-runtime's verbs: a container's state directory,
// <root>/<id>, held under an exclusive flock while a verb works (concurrent
// commands on one ID are serialised), what create saved there, and the
// container's status as it is now.
//
// The directory holds state.json (written atomically), config.json (the
// bundle's, copied: the bundle may be gone by `delete`) and exec.fifo while
// the container is created but not started.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cgroup/cgroup.hpp"
#include "cgroup/layout.hpp"
#include "core/fd.hpp"
#include "core/oci_spec.hpp"
#include "runtime/status.hpp"

namespace rusty::runtime {

// Throws unless `id` can name a directory of its own under the root.
void check_id(const std::string& id);

// A container's directory, locked for the life of this object.
class ContainerDir {
public:
    // Makes <root>/<id> (the root too); "container with id exists: ID" if
    // it is there already.
    static ContainerDir create(const std::filesystem::path& root, const std::string& id);
    // Opens a container that create finished. "container does not exist"
    // (with ENOENT) when there is none, when a delete removed it while we
    // waited for the lock, or when a create died before its end.
    static ContainerDir open(const std::filesystem::path& root, const std::string& id);

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path file(const char* name) const { return dir_ / name; }

private:
    ContainerDir(const std::filesystem::path& root, const std::string& id, bool create);
    std::filesystem::path dir_;
    UniqueFd fd_;
};

// What create saved: state.json and the copied config.json.
struct Saved {
    nlohmann::json state;
    oci::Spec spec;

    pid_t pid() const { return state.value("pid", 0); }
    std::string bundle() const { return state.value("bundle", ""); }
    bool has_cgroup() const { return state.contains("cgroup"); }
    // The container's cgroup as it exists now (linux.cgroupsPath's, saved).
    cgroup::ContainerCgroup cgroup(const cgroup::Layout& layout) const;
};
Saved load(const ContainerDir& dir);

// A container as a verb finds it: its directory, locked for the verb's
// life; what create saved; its status now.
struct Container {
    ContainerDir dir;
    Saved saved;
    Status status = Status::Stopped;
    UniqueFd init_pidfd;  // unless stopped
};
// Loads what create saved, and tells the status from the init's liveness,
// the exec fifo and the cgroup's freezer.
Container inspect(ContainerDir dir, const cgroup::Layout& layout);

// The start time of `pid` (field 22 of /proc/<pid>/stat), saved beside the
// pid so that a later process under the same number is not taken for the
// init; nullopt if there is no such process.
std::optional<std::uint64_t> process_start_time(pid_t pid);

}  // namespace rusty::runtime
