// update --resources: new limits for a container's cgroup.
#include "runtime/oci_runtime.hpp"

#include "cgroup/path_cgroup.hpp"
#include "core/error.hpp"
#include "runtime/cgroup_config.hpp"
#include "runtime/container_dir.hpp"

namespace rusty::runtime {

void Runtime::update(const std::string& id, const nlohmann::json& resources) {
    oci::Resources parsed;
    try {
        parsed = oci::parse_resources(resources, "resources");
    } catch (const oci::SpecError& e) {
        throw Error(e.field() + ": " + e.problem());
    }
    for (const std::string& w : parsed.ignored) warn_(w + " is not enforced");
    const Container c = inspect(ContainerDir::open(root_, id), layout());
    if (c.status == Status::Stopped) throw Error("container not running");
    const cgroup::Layout& layout = this->layout();
    auto cg = c.saved.cgroup(layout);
    cgroup::PathCgroups::update(layout, cg, limits_of(parsed));
}

}  // namespace rusty::runtime
