// pause and resume: the container's cgroup frozen and thawed.
#include "runtime/oci_runtime.hpp"

#include "core/error.hpp"
#include "runtime/container_dir.hpp"

namespace rusty::runtime {

void Runtime::pause(const std::string& id) {
    const Container c = inspect(ContainerDir::open(root_, id), layout());
    if (c.status != Status::Running) throw Error("container not running");
    c.saved.cgroup(layout()).freeze(true);
}

void Runtime::resume(const std::string& id) {
    const Container c = inspect(ContainerDir::open(root_, id), layout());
    if (c.status != Status::Paused) throw Error("container not paused");
    c.saved.cgroup(layout()).freeze(false);
}

}  // namespace rusty::runtime
