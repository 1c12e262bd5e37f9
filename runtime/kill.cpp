// kill: a signal to the container's init, or with --all to every process
// of its cgroup.
#include "runtime/oci_runtime.hpp"

#include <csignal>

#include "core/error.hpp"
#include "core/syscalls.hpp"
#include "core/units.hpp"
#include "runtime/container_dir.hpp"

namespace rusty::runtime {

void Runtime::kill(const std::string& id, const std::string& signal, bool all) {
    const std::optional<int> parsed = parse_signal(signal);
    if (!parsed) {
        // runc's words: a number out of range is invalid, anything else unknown.
        const bool number = !signal.empty() && signal.find_first_not_of("0123456789") == std::string::npos;
        throw Error(number ? "invalid signal: " + signal : "unknown signal \"" + signal + "\"");
    }
    const int sig = *parsed;
    const Container c = inspect(ContainerDir::open(root_, id), layout());
    if (all && c.saved.has_cgroup()) {
        auto cg = c.saved.cgroup(layout());
        if (sig == SIGKILL) cg.kill();
        else cg.signal_all(sig);
        return;
    }
    if (c.status == Status::Stopped) throw Error("container not running");
    if (!sys::pidfd_send_signal(c.init_pidfd.get(), sig)) throw Error("container not running");
}

}  // namespace rusty::runtime
