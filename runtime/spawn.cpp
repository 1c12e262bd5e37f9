#include "runtime/spawn.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "core/error.hpp"
#include "lifecycle/messages.hpp"
#include "lifecycle/seccomp.hpp"

namespace rusty::runtime {

lifecycle::SecurityPlan security_of(const oci::Spec& spec, const oci::Process& process) {
    lifecycle::SecurityPlan plan;
    plan.cap_bounding = process.capabilities.bounding;
    plan.cap_effective = process.capabilities.effective;
    plan.cap_permitted = process.capabilities.permitted;
    plan.cap_inheritable = process.capabilities.inheritable;
    plan.cap_ambient = process.capabilities.ambient;
    plan.no_new_privileges = process.no_new_privileges;
    plan.masked_paths = spec.linux.masked_paths;
    plan.readonly_paths = spec.linux.readonly_paths;
    if (spec.linux.seccomp) {
        try {
            lifecycle::CompiledSeccomp compiled = lifecycle::compile_seccomp(*spec.linux.seccomp);
            plan.seccomp_filter = std::move(compiled.filter);
            plan.seccomp_flags = compiled.flags;
        } catch (const Error& e) {
            throw e.context("linux.seccomp");
        }
    }
    return plan;
}

UniqueFd connect_console(const std::string& path) {
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_sys("socket(AF_UNIX)");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw Error("--console-socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw_sys("connect to the console socket \"" + path + "\"");
    return sock;
}

lifecycle::InitFds inherited_stdio(int console_socket, int setup_error) {
    lifecycle::InitFds fds;
    fds.stdin_fd = 0;
    fds.stdout_fd = 1;
    fds.stderr_fd = 2;
    fds.console_fd = console_socket;
    fds.setup_error_fd = setup_error;
    return fds;
}

void read_story(int fd, bool wait_exec) {
    std::string got;
    char buf[2048];
    for (;;) {
        if (!wait_exec && got.size() == 1 && got[0] == lifecycle::kReadyMarker) return;
        const ssize_t n = ::read(fd, buf, wait_exec ? sizeof buf : 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("read the init's setup pipe");
        if (n == 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    const std::string story = lifecycle::setup_story(got);
    if (!story.empty()) throw Error(story);
}

}  // namespace rusty::runtime
