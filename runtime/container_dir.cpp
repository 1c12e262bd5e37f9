#include "runtime/container_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <system_error>

#include "cgroup/path_cgroup.hpp"
#include "core/error.hpp"
#include "core/file.hpp"
#include "core/syscalls.hpp"

namespace rusty::runtime {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// What a status needs of /proc/<pid>/stat: the state letter, and the start
// time (field 22), which tells a pid's process from a later one that reuses
// the number.
struct ProcStat {
    char state = 0;
    std::uint64_t start = 0;
};

std::optional<ProcStat> proc_stat(pid_t pid) {
    const std::optional<std::string> text = try_read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    // The command name (field 2) may hold spaces and parentheses: fields
    // are counted from its last ')'.
    const auto paren = text->rfind(')');
    if (paren == std::string::npos || paren + 2 >= text->size()) return std::nullopt;
    std::istringstream fields(text->substr(paren + 2));
    ProcStat stat;
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i) {
        if (i == 3) stat.state = field.front();
        if (i == 22) {
            stat.start = std::stoull(field);
            return stat;
        }
    }
    return std::nullopt;
}

}  // namespace

void check_id(const std::string& id) {
    if (id.empty()) throw Error("container id cannot be empty");
    if (id == "." || id == ".." || id.find('/') != std::string::npos || id.size() > 1024)
        throw Error("invalid container id format: " + id);
}

ContainerDir ContainerDir::create(const fs::path& root, const std::string& id) { return {root, id, true}; }

ContainerDir ContainerDir::open(const fs::path& root, const std::string& id) { return {root, id, false}; }

ContainerDir::ContainerDir(const fs::path& root, const std::string& id, bool create) : dir_(root / id) {
    check_id(id);
    if (create) {
        std::error_code ec;
        fs::create_directories(root, ec);
        if (ec) throw Error("mkdir " + root.string() + ": " + ec.message(), ec.value());
        if (::mkdir(dir_.c_str(), 0711) < 0) {
            if (errno == EEXIST) throw Error("container with id exists: " + id, EEXIST);
            throw_sys("mkdir(\"" + dir_.string() + "\")");
        }
    }
    fd_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd_) {
        if (errno == ENOENT) throw Error("container does not exist", ENOENT);
        throw_sys("open(\"" + dir_.string() + "\")");
    }
    if (::flock(fd_.get(), LOCK_EX) < 0) throw_sys("flock(\"" + dir_.string() + "\")");
    // Deleted while we waited for the lock, or left by a create that died
    // before its end (a create in progress holds the lock).
    if (!create && ::access(file("state.json").c_str(), F_OK) < 0 && errno == ENOENT)
        throw Error("container does not exist", ENOENT);
}

cgroup::ContainerCgroup Saved::cgroup(const cgroup::Layout& layout) const {
    return cgroup::PathCgroups::open(layout, state.at("cgroup").get<std::string>());
}

Saved load(const ContainerDir& dir) {
    Saved s;
    try {
        // state.json holds config.json's annotations: bounded alike.
        s.state = json::parse(read_file(dir.file("state.json"), oci::kMaxConfigFile));
        s.spec = oci::parse_spec(read_file(dir.file("config.json"), oci::kMaxConfigFile),
                                 s.state.at("bundle").get<std::string>());
    } catch (const json::exception& e) {
        throw Error("state of " + dir.dir().string() + " is corrupt: " + e.what());
    } catch (const oci::SpecError& e) {
        throw Error(std::string("saved ") + e.what(), e.sys_errno());
    }
    return s;
}

namespace {

Status probe_status(const ContainerDir& dir, const Saved& saved, const cgroup::Layout& layout, UniqueFd& init_pidfd) {
    const pid_t pid = saved.pid();
    const auto expected = saved.state.value("pid_start", std::uint64_t{0});
    if (pid <= 0) return Status::Stopped;
    UniqueFd pidfd(sys::raw_pidfd_open(pid, 0));
    const std::optional<ProcStat> stat = pidfd ? proc_stat(pid) : std::nullopt;
    // Gone, another process under the pid, or a zombie not yet reaped by
    // its parent: stopped.
    if (!stat || stat->start != expected || stat->state == 'Z' || stat->state == 'X') return Status::Stopped;
    init_pidfd = std::move(pidfd);
    if (::access(dir.file("exec.fifo").c_str(), F_OK) == 0) return Status::Created;
    if (saved.has_cgroup()) {
        try {
            const cgroup::ContainerCgroup cg = saved.cgroup(layout);
            if (cg.can_freeze() && cg.frozen()) return Status::Paused;
        } catch (const std::exception&) {
        }
    }
    return Status::Running;
}

}  // namespace

Container inspect(ContainerDir dir, const cgroup::Layout& layout) {
    Saved saved = load(dir);
    UniqueFd init_pidfd;
    const Status status = probe_status(dir, saved, layout, init_pidfd);
    return {std::move(dir), std::move(saved), status, std::move(init_pidfd)};
}

std::optional<std::uint64_t> process_start_time(pid_t pid) {
    if (const std::optional<ProcStat> stat = proc_stat(pid)) return stat->start;
    return std::nullopt;
}

}  // namespace rusty::runtime
