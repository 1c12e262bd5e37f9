#include "lifecycle/helper_fork.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>

#include "core/error.hpp"
#include "core/syscalls.hpp"
#include "lifecycle/container_init.hpp"
#include "reactor/fd_passing.hpp"

namespace rusty::lifecycle {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxMessage = 64 * 1024;
// stdin, stdout, stderr, the console socket, the v2 cgroup dir, the
// container init's pidfd.
constexpr std::size_t kMaxRequestFds = 6;

// What the helper keeps from its start.
struct HelperState {
    int sock = -1;
    pid_t supervisor = -1;
    ino_t mount_ns = 0;
    int pid_ns = -1;  // its own, O_CLOEXEC, to return to after an exec's clone
};

void reply(int sock, const SpawnReply& r, std::span<const int> fds) {
    std::string bytes = encode(r);
    sys::send_with_fds(sock, std::as_bytes(std::span(bytes)), fds);
}

// setup_error.read is -1 for a pool stub, which reports on its own socket.
void reply_spawned(int sock, std::uint64_t id, pid_t pid, UniqueFd pidfd, sys::Pipe setup_error) {
    setup_error.write.reset();
    int out[] = {pidfd.get(), setup_error.read.get()};
    try {
        reply(sock, {id, pid, 0, ""}, std::span(out, setup_error.read ? 2 : 1));
    } catch (...) {
        // The supervisor will never learn this pid: do not leave it running.
        sys::raw_pidfd_send_signal(pidfd.get(), SIGKILL);
        throw;
    }
}

// The fds a spawn request brings, in the order of messages.hpp: the child's
// stdio and console socket, then the v2 cgroup dir (returned; -1 if none).
int take_init_fds(const SpawnRequest& request, const std::vector<UniqueFd>& fds, const sys::Pipe& setup_error,
                  InitFds& child_fds) {
    std::size_t next = 0;
    child_fds.stdin_fd = request.has_stdin ? fds[next++].get() : -1;
    child_fds.stdout_fd = fds[next++].get();
    child_fds.stderr_fd = fds[next++].get();
    child_fds.console_fd = request.has_console ? fds[next++].get() : -1;
    child_fds.setup_error_fd = setup_error.write.get();
    return request.has_cgroup_fd ? fds[next++].get() : -1;
}

bool check_fd_count(int sock, const SpawnRequest& request, std::size_t got, std::size_t expected) {
    if (got == expected) return true;
    reply(sock, {request.id, -1, EINVAL, "spawn request with " + std::to_string(got) + " fds instead of " +
                                             std::to_string(expected)}, {});
    return false;
}

// A pool stub, in the child the helper made: prepares, says so, and waits to
// be claimed. The claim's init is born from here, with CLONE_PARENT (a child
// of the supervisor, like any init), in a new pid namespace if it wants one
// and in a new cgroup namespace rooted at the cgroups it is born in: the v1
// ones the stub joined, and the v2 one whose directory comes with the claim.
[[noreturn]] void stub_main(const HelperState& helper, const SpawnRequest& request, int sock) {
    ::prctl(PR_SET_NAME, "rusty-stub", 0, 0, 0);
    // Its parent is the supervisor (CLONE_PARENT): die with it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != helper.supervisor) ::_exit(1);
    ::setsid();
    // Only stdio (diagnostics) and its socket, as fd 3: none of the helper's.
    if (sock != 3 && ::dup3(sock, 3, O_CLOEXEC) < 0) ::_exit(1);
    sock = 3;
    sys::raw_close_range(4, ~0U, 0);
    const std::string failure = prepare_stub(request, helper.mount_ns);
    try {
        reply(sock, {0, failure.empty() ? ::getpid() : -1, 0, failure}, {});
    } catch (...) {
        ::_exit(1);
    }
    if (!failure.empty()) ::_exit(1);

    std::vector<std::byte> buffer(kMaxMessage);
    SpawnRequest claim;
    sys::Received msg;
    try {
        msg = sys::recv_with_fds(sock, buffer, kMaxRequestFds);
        const std::int64_t received = monotonic_ns();
        if (msg.size == 0) ::_exit(0);  // the pool let it go
        claim = decode_spawn_request(std::string_view(reinterpret_cast<const char*>(buffer.data()), msg.size));
        claim.from_stub = true;
        const std::size_t expected = std::size_t{2} + claim.has_stdin + claim.has_console + claim.has_cgroup_fd;
        if (!claim.exec_argv.empty() || claim.stub) {
            reply(sock, {claim.id, -1, EINVAL, "a pool stub starts only containers"}, {});
            ::_exit(1);
        }
        if (!check_fd_count(sock, claim, msg.fds.size(), expected)) ::_exit(1);
        sys::Pipe setup_error = sys::make_pipe();
        InitFds child_fds;
        sys::Clone3Request clone;
        clone.flags = CLONE_PARENT | CLONE_NEWCGROUP;
        if (claim.spec.pid == PidMode::Private) clone.flags |= CLONE_NEWPID;
        clone.exit_signal = 0;  // as for the helper's children
        if (const int cgroup_fd = take_init_fds(claim, msg.fds, setup_error, child_fds); cgroup_fd >= 0)
            clone.cgroup_fd = cgroup_fd;
        child_fds.received_ns = received;
        child_fds.cloned_ns = monotonic_ns();
        int pidfd = -1;
        const pid_t pid = sys::raw_clone3(clone, &pidfd);
        if (pid == 0) {
            ::setsid();
            run_container_init(claim, child_fds, helper.mount_ns);
        }
        if (pid < 0) reply(sock, {claim.id, -1, errno, "clone3 from the pool stub"}, {});
        else reply_spawned(sock, claim.id, pid, UniqueFd(pidfd), std::move(setup_error));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rusty-stub: %s\n", e.what());
        ::_exit(1);
    }
    ::_exit(0);
}

// Asks for a stub: clone3 in fresh mount, uts, ipc (and network) namespaces,
// a child of the supervisor as an init is.
void serve_stub(const HelperState& helper, const SpawnRequest& request, std::vector<UniqueFd>& fds) {
    if (!check_fd_count(helper.sock, request, fds.size(), std::size_t{1} + request.has_cgroup_fd)) return;
    sys::Clone3Request clone;
    clone.flags = CLONE_PARENT | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
    if (request.spec.network == NetworkMode::None) clone.flags |= CLONE_NEWNET;
    clone.exit_signal = 0;
    if (request.has_cgroup_fd) clone.cgroup_fd = fds[1].get();
    int pidfd = -1;
    const pid_t pid = sys::raw_clone3(clone, &pidfd);
    if (pid == 0) stub_main(helper, request, fds[0].get());
    if (pid < 0) reply(helper.sock, {request.id, -1, errno, "clone3(pool stub)"}, {});
    else reply_spawned(helper.sock, request.id, pid, UniqueFd(pidfd), sys::Pipe{});
}

// Handles one request. Errors that concern only this request are replied;
// errors on the socket itself end the helper.
void serve_one(const HelperState& helper, std::string_view bytes, std::vector<UniqueFd>& fds,
               std::int64_t received) {
    const int sock = helper.sock;
    SpawnRequest request = decode_spawn_request(bytes);
    if (request.stub) {
        serve_stub(helper, request, fds);
        return;
    }
    const bool exec = !request.exec_argv.empty();
    const std::size_t expected = std::size_t{2} + request.has_stdin + request.has_console + request.has_cgroup_fd + exec;
    if (exec && request.has_console) {
        reply(sock, {request.id, -1, EINVAL, "exec request with a console socket"}, {});
        return;
    }
    if (!check_fd_count(sock, request, fds.size(), expected)) return;
    sys::Pipe setup_error = sys::make_pipe();
    InitFds child_fds;
    const int cgroup_fd = take_init_fds(request, fds, setup_error, child_fds);
    child_fds.received_ns = received;

    sys::Clone3Request clone;
    clone.flags = CLONE_PARENT;
    // With CLONE_PARENT the child inherits our exit signal (SIGCHLD, to the
    // supervisor); clone3 insists that none be given.
    clone.exit_signal = 0;
    // Born in its v2 cgroup.
    if (cgroup_fd >= 0) clone.cgroup_fd = cgroup_fd;
    int pidfd = -1;
    pid_t pid = -1;
    const char* failed = "clone3";
    int pid_ns_lost = 0;  // errno of a failed setns back
    if (!exec) {
        clone.flags |= CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
        if (request.spec.network == NetworkMode::None) clone.flags |= CLONE_NEWNET;
        if (request.spec.pid == PidMode::Private) clone.flags |= CLONE_NEWPID;
        // A cgroup namespace now only if there are no v1 cgroups left to
        // join (the init unshares one after joining them).
        if (request.cgroup_join.empty()) clone.flags |= CLONE_NEWCGROUP;
        child_fds.cloned_ns = monotonic_ns();
        pid = sys::raw_clone3(clone, &pidfd);
        if (pid == 0) {
            // The container's init: its own session, so a terminal's ^C reaches
            // the supervisor only, which then stops containers its own way.
            ::setsid();
            run_container_init(request, child_fds, helper.mount_ns);
        }
    } else {
        const int container_pidfd = fds.back().get();
        // setns(CLONE_NEWPID) changes only the pid namespace of the children
        // the helper makes next: this one is born in the container's, a
        // child of the supervisor like an init, so that one pidfd covers it
        // and the namespace's end kills it.
        const bool own_pid_ns = request.spec.pid == PidMode::Private;
        if (own_pid_ns && ::setns(container_pidfd, CLONE_NEWPID) < 0) {
            failed = "setns(container pidfd, pid)";
        } else {
            pid = sys::raw_clone3(clone, &pidfd);
            if (pid == 0) {
                ::setsid();  // as the init, for the same reason
                run_exec_in_container(request, child_fds, container_pidfd);
            }
            const int clone_errno = errno;
            if (own_pid_ns && ::setns(helper.pid_ns, CLONE_NEWPID) < 0) pid_ns_lost = errno;
            errno = clone_errno;
            // A pid namespace whose init is gone refuses new processes so.
            if (pid < 0 && errno == ENOMEM && own_pid_ns) failed = "clone3 into the container's pid namespace";
        }
    }
    if (pid < 0) {
        reply(sock, {request.id, -1, errno, failed}, {});
    } else {
        reply_spawned(sock, request.id, pid, UniqueFd(pidfd), std::move(setup_error));
    }
    if (pid_ns_lost) {
        // Every later child would be born in that container's pid namespace:
        // end here, so that the supervisor sees the helper gone instead. This
        // child was replied first: the supervisor owns and reaps it.
        std::fprintf(stderr, "rusty-helper: setns back to its own pid namespace: %s\n", std::strerror(pid_ns_lost));
        ::_exit(1);
    }
}

[[noreturn]] void helper_main(int sock, pid_t supervisor) {
    ::prctl(PR_SET_NAME, "rusty-helper", 0, 0, 0);
    // Die with the supervisor; the check closes the race with an early death.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != supervisor) ::_exit(1);
    for (int sig : {SIGINT, SIGQUIT, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE}) ::signal(sig, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Keep only stdio (for diagnostics) and the socket.
    if (sock > 3) sys::raw_close_range(3, static_cast<unsigned>(sock) - 1, 0);
    sys::raw_close_range(static_cast<unsigned>(sock) + 1, ~0U, 0);

    HelperState state;
    state.sock = sock;
    state.supervisor = supervisor;
    try {
        state.mount_ns = sys::namespace_inode("mnt");
    } catch (...) {
        ::_exit(1);
    }
    // O_CLOEXEC, and every child closes it with the rest (close_range).
    state.pid_ns = ::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (state.pid_ns < 0) ::_exit(1);
    std::vector<std::byte> buffer(kMaxMessage);
    for (;;) {
        try {
            sys::Received msg = sys::recv_with_fds(sock, buffer, kMaxRequestFds);
            const std::int64_t received = monotonic_ns();
            if (msg.size == 0) ::_exit(0);
            std::string_view bytes(reinterpret_cast<const char*>(buffer.data()), msg.size);
            serve_one(state, bytes, msg.fds, received);
        } catch (const std::exception& e) {
            // The socket is gone or a message is malformed: the supervisor
            // sees the helper's exit and fails every pending spawn.
            std::fprintf(stderr, "rusty-helper: %s\n", e.what());
            ::_exit(1);
        }
    }
}

}  // namespace

HelperProcess HelperProcess::start() {
    auto [parent_end, child_end] = sys::make_socketpair(SOCK_SEQPACKET);
    pid_t supervisor = ::getpid();
    std::fflush(nullptr);  // nothing buffered may be written twice
    pid_t pid = ::fork();
    if (pid < 0) throw_sys("fork(helper)");
    if (pid == 0) {
        parent_end.reset();
        helper_main(child_end.release(), supervisor);
    }
    child_end.reset();
    return HelperProcess(pid, std::move(parent_end), sys::pidfd_open(pid));
}

HelperProcess::~HelperProcess() {
    if (pid_ <= 0) return;
    socket_.reset();
    sys::ExitStatus status;
    try {
        if (pidfd_) {
            // The helper exits when its socket closes; if the client still
            // holds the socket open, make sure it goes anyway.
            if (!sys::wait_pidfd(pidfd_.get(), status, true)) {
                sys::pidfd_send_signal(pidfd_.get(), SIGKILL);
                sys::wait_pidfd(pidfd_.get(), status, false);
            }
        }
    } catch (...) {
    }
}

HelperClient::HelperClient(asio::any_io_executor ex, UniqueFd socket) : socket_(ex, socket.release()) {
    socket_.non_blocking(true);
}

reactor::Task<void> HelperClient::run() {
    std::vector<std::byte> buffer(kMaxMessage);
    try {
        // closed_ as well as the cancel: a reply completed in the same turn as
        // close() would otherwise start a receive nobody cancels.
        while (!closed_) {
            sys::Received msg = co_await reactor::async_recv_with_fds(socket_, buffer, 2);
            if (msg.size == 0) break;
            SpawnReply reply = decode_reply(std::span(buffer).first(msg.size));
            auto it = pending_.find(reply.id);
            if (it == pending_.end()) continue;  // cannot happen: spawn() is not cancellable
            Pending& p = *it->second;
            pending_.erase(it);
            p.reply = reply;
            // A stub comes without a setup-error pipe.
            if (reply.error == 0 && !msg.fds.empty()) {
                p.init.pid = reply.pid;
                p.init.pidfd = std::move(msg.fds[0]);
                if (msg.fds.size() > 1) p.init.setup_error = std::move(msg.fds[1]);
            } else if (reply.error == 0) {
                p.reply.error = EPROTO;
                p.reply.what = "helper reply without pidfd";
            }
            p.done = true;
            p.wakeup.notify_all();
        }
    } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted) {
            fail_all_pending();
            throw;
        }
    } catch (...) {
        // A malformed or truncated reply: spawns waiting on it must not wait
        // forever, and the fleet must still be able to stop.
        fail_all_pending();
        throw;
    }
    // The socket stays open until the client is destroyed, after the reactor
    // has stopped: a spawn() may still wait to write on it, and Asio's
    // io_uring backend misroutes a wait whose descriptor is closed under it.
    fail_all_pending();
}

void HelperClient::fail_all_pending() {
    closed_ = true;
    for (auto& [id, p] : pending_) p->wakeup.notify_all();  // done stays false
    pending_.clear();
}

std::vector<int> request_fds(SpawnRequest& request, StdioFds stdio, int cgroup_fd, int container_pidfd) {
    request.has_stdin = stdio.stdin_fd >= 0;
    request.has_console = stdio.console_fd >= 0;
    request.has_cgroup_fd = cgroup_fd >= 0;
    // The order the helper expects (messages.hpp).
    std::vector<int> fds;
    if (stdio.stdin_fd >= 0) fds.push_back(stdio.stdin_fd);
    fds.push_back(stdio.stdout_fd);
    fds.push_back(stdio.stderr_fd);
    if (stdio.console_fd >= 0) fds.push_back(stdio.console_fd);
    if (cgroup_fd >= 0) fds.push_back(cgroup_fd);
    if (container_pidfd >= 0) fds.push_back(container_pidfd);
    return fds;
}

EncodedRequest encode_request(const SpawnRequest& request) {
    EncodedRequest encoded{encode_head(request), request.security.seccomp_filter};
    const std::size_t size = encoded.head.size() + encoded.program.size();
    if (size > kMaxMessage)
        throw Error("spawn request of " + std::to_string(size) + " bytes is over the " +
                    std::to_string(kMaxMessage / 1024) + " KiB limit; shorten the command or environment");
    return encoded;
}

void send_request(int sock, const EncodedRequest& request, std::span<const int> fds) {
    const std::span<const std::byte> parts[] = {std::as_bytes(std::span(request.head)),
                                                std::as_bytes(std::span(request.program.str()))};
    sys::send_with_fds(sock, std::span<const std::span<const std::byte>>(parts), fds);
}

SpawnReply decode_reply(std::span<const std::byte> bytes) {
    return decode_spawn_reply(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

reactor::Task<SpawnedInit> HelperClient::spawn(SpawnRequest request, StdioFds stdio, int cgroup_fd) {
    if (!request.exec_argv.empty()) throw Error("spawn request with an exec command: use exec_in()");
    std::vector<int> fds = request_fds(request, stdio, cgroup_fd, -1);
    co_return co_await ask(std::move(request), std::move(fds));
}

reactor::Task<SpawnedInit> HelperClient::exec_in(SpawnRequest request, int container_pidfd, StdioFds stdio,
                                                 int cgroup_fd) {
    if (request.exec_argv.empty()) throw Error("exec request without a command");
    if (container_pidfd < 0) throw Error("exec request without the container's pidfd");
    if (stdio.console_fd >= 0) throw Error("exec request with a console socket");
    std::vector<int> fds = request_fds(request, stdio, cgroup_fd, container_pidfd);
    co_return co_await ask(std::move(request), std::move(fds));
}

reactor::Task<SpawnedInit> HelperClient::make_stub(SpawnRequest request, int stub_socket) {
    request.stub = true;
    request.exec_argv.clear();
    request.has_stdin = request.has_console = request.has_cgroup_fd = false;
    std::vector<int> fds(1, stub_socket);
    co_return co_await ask(std::move(request), std::move(fds));
}

reactor::Task<SpawnedInit> HelperClient::ask(SpawnRequest request, std::vector<int> fds) {
    if (closed_) throw Error("the helper process is gone");
    Pending pending(socket_.get_executor());
    request.id = next_id_++;
    const std::uint64_t id = request.id;
    const EncodedRequest encoded = encode_request(request);
    request = SpawnRequest{};  // the frame waits for the reply: keep only what it needs
    for (;;) {
        try {
            send_request(socket_.native_handle(), encoded, fds);
            break;
        } catch (const Error& e) {
            if (e.sys_errno() != EAGAIN) throw e.context("send spawn request to the helper");
        }
        co_await socket_.async_wait(asio::posix::stream_descriptor::wait_write, asio::use_awaitable);
        if (closed_) throw Error("the helper process is gone");
    }
    pending_.emplace(id, &pending);
    // However this frame is left, run() must not find it afterwards.
    struct Forget {
        std::unordered_map<std::uint64_t, Pending*>& pending;
        std::uint64_t id;
        ~Forget() { pending.erase(id); }
    } forget{pending_, id};
    // run() notifies: with a reply, or because the helper is gone.
    while (!pending.done && !closed_) co_await pending.wakeup.wait();
    if (!pending.done) throw Error("the helper process is gone");
    if (pending.reply.error != 0) throw sys_error(pending.reply.what, pending.reply.error);
    co_return std::move(pending.init);
}

void HelperClient::close() {
    closed_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);  // run() ends; the destructor closes the socket
}

}  // namespace rusty::lifecycle
