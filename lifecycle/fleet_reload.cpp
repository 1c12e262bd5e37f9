// Reload: fleet.json read again and the difference applied, as
// `docker compose up` does for a changed file: containers new in the file
// start, those gone stop, those whose entry changed are stopped and started
// with the new one; the rest run on untouched (same process, same pid).
//
// Everything that can refuse the new file (parsing, the host's cgroups,
// images) happens before the first container is touched: an invalid file
// changes nothing.
#include <spdlog/spdlog.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "lifecycle/fleet_impl.hpp"

namespace rusty {
namespace fs = std::filesystem;
using lifecycle::ContainerActor;
using nlohmann::json;

reactor::Task<json> Fleet::Impl::reload() {
    if (options.config_path.empty())
        throw Error("reload needs the fleet's file, and this fleet was not started from one");
    co_await begin_change();
    ChangeGuard change(*this);

    FleetSpec next = load_fleet(options.config_path);
    for (const std::string& warning : check_on_host(next, options, *layout)) spdlog::warn("{}", warning);
    if (next.name != spec.name)
        throw ConfigError("/name", "the fleet's name cannot change on reload (it names the state directory "
                                   "and the cgroups); stop the fleet and start it under the new name");
    if (next.cgroup_parent != spec.cgroup_parent)
        throw ConfigError("/cgroup_parent", "cannot change on reload; stop the fleet and start it again");
    check_layout(next, image_dir());
    std::vector<fs::path> next_rootfs = build_images(next);
    if (cgroups) cgroups->admit(next);

    // The difference, by name.
    json summary = {{"started", json::array()}, {"stopped", json::array()},
                    {"restarted", json::array()}, {"unchanged", json::array()}};
    std::vector<ContainerActor*> changed;
    std::vector<ContainerActor*> removed;
    for (std::size_t i = 0; i < next.containers.size(); ++i) {
        const ContainerSpec& c = next.containers[i];
        ContainerActor* a = find_actor(c.name);
        if (!a) summary["started"].push_back(c.name);
        else if (a->spec() == c && a->image_rootfs() == next_rootfs[i]) summary["unchanged"].push_back(c.name);
        else changed.push_back(a);
    }
    for (const auto& a : actors) {
        const bool kept = std::any_of(next.containers.begin(), next.containers.end(),
                                      [&](const ContainerSpec& c) { return c.name == a->spec().name; });
        if (!kept) removed.push_back(a.get());
    }

    FleetHold hold(*this);
    std::vector<ContainerActor*> ending = changed;
    ending.insert(ending.end(), removed.begin(), removed.end());
    for (ContainerActor* a : ending) {
        if (a->ended()) continue;
        a->end(lifecycle::EndReason::Restart);
    }
    for (ContainerActor* a : ending) co_await a->wait_ended();
    if (stopping) throw Error("the fleet is stopping: the reload was cut short");

    // The new order of actors is the new file's; removed ones retire.
    std::vector<std::unique_ptr<ContainerActor>> old = std::move(actors);
    actors.clear();
    std::vector<ContainerActor*> to_start;
    for (std::size_t i = 0; i < next.containers.size(); ++i) {
        const ContainerSpec& c = next.containers[i];
        auto found = std::find_if(old.begin(), old.end(), [&](const auto& a) { return a && a->spec().name == c.name; });
        if (found == old.end()) {
            actors.push_back(make_actor(c, next_rootfs[i]));
            to_start.push_back(actors.back().get());
            continue;
        }
        if (std::find(changed.begin(), changed.end(), found->get()) != changed.end()) {
            (*found)->replace_spec(c, next_rootfs[i]);
            (*found)->start();
            to_start.push_back(found->get());
            summary["restarted"].push_back(c.name);
        }
        actors.push_back(std::move(*found));
    }
    for (auto& a : old) {
        if (!a) continue;
        summary["stopped"].push_back(a->spec().name);
        a->clear_dependencies();
        std::error_code ec;
        fs::remove_all(container_dir(a->spec().name), ec);
        retired.push_back(std::move(a));
    }
    spec = std::move(next);
    image_rootfs = std::move(next_rootfs);
    link_dependencies();
    pool->plan(spec);
    for (ContainerActor* a : to_start) launch(*a);
    co_return summary;
}

}  // namespace rusty
