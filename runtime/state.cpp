// state and list: what runtime-spec's `state` prints, for one container or
// for every container under the root.
#include "runtime/oci_runtime.hpp"

#include <algorithm>

#include "runtime/container_dir.hpp"

namespace rusty::runtime {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

State to_state(const std::string& id, const Saved& saved, Status status) {
    State s;
    s.id = id;
    s.status = status;
    s.pid = status == Status::Stopped ? 0 : saved.pid();  // as runc: no pid once stopped
    s.bundle = saved.bundle();
    s.rootfs = saved.state.value("rootfs", "");
    s.created = saved.state.value("created", "");
    s.annotations = saved.state.value("annotations", std::map<std::string, std::string>{});
    return s;
}

}  // namespace

json State::to_json() const {
    json j = {{"ociVersion", oci::kSpecVersion}, {"id", id}, {"pid", pid}, {"status", to_string(status)},
              {"bundle", bundle}, {"rootfs", rootfs}, {"created", created}, {"owner", ""}};
    if (!annotations.empty()) j["annotations"] = annotations;
    return j;
}

State Runtime::state(const std::string& id) {
    const Container c = inspect(ContainerDir::open(root_, id), layout());
    return to_state(id, c.saved, c.status);
}

std::vector<State> Runtime::list() {
    std::vector<State> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_, ec)) {
        if (!entry.is_directory()) continue;
        try {
            out.push_back(state(entry.path().filename().string()));
        } catch (const std::exception&) {
            // Being created or deleted meanwhile.
        }
    }
    std::sort(out.begin(), out.end(), [](const State& a, const State& b) { return a.id < b.id; });
    return out;
}

}  // namespace rusty::runtime
