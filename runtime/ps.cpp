// ps: the pids of a container's processes, from its cgroup.
#include "runtime/oci_runtime.hpp"

#include <sstream>

#include "core/file.hpp"
#include "runtime/container_dir.hpp"

namespace rusty::runtime {
namespace fs = std::filesystem;

std::vector<pid_t> Runtime::ps(const std::string& id) {
    const ContainerDir dir = ContainerDir::open(root_, id);
    Saved saved = load(dir);
    std::vector<pid_t> pids;
    auto cg = saved.cgroup(layout());
    const fs::path procs = !cg.v2_dir().empty() ? cg.v2_dir() / "cgroup.procs" : fs::path();
    std::string text;
    if (!procs.empty()) text = read_file(procs);
    if (text.empty()) {
        for (const std::string& file : cg.join_files()) {
            text = read_file(file);
            break;
        }
    }
    std::istringstream in(text);
    pid_t pid;
    while (in >> pid) pids.push_back(pid);
    return pids;
}

}  // namespace rusty::runtime
