// The helper: a small process forked from the supervisor before its
// io_context exists, whose only job is to clone3 container inits (and
// processes exec'd into running containers).
//
// Why a helper: cloning from a process that owns an io_uring and a large
// address space costs more and would share the ring's mappings with every
// child; the helper is single-threaded and tiny. Its children are created
// with CLONE_PARENT, so the supervisor is their parent and reaps them by
// pidfd. The helper ignores terminal signals and dies with the supervisor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>
#include <utility>
#include <unordered_map>

#include "core/fd.hpp"
#include "lifecycle/messages.hpp"
#include "reactor/awaitable.hpp"
#include "reactor/notifier.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

namespace rusty::lifecycle {

// Owns the helper process. Must be started before any thread or io_context.
class HelperProcess {
public:
    static HelperProcess start();

    HelperProcess(HelperProcess&& other) noexcept
        : pid_(std::exchange(other.pid_, -1)),
          socket_(std::move(other.socket_)),
          pidfd_(std::move(other.pidfd_)) {}
    HelperProcess& operator=(HelperProcess&&) = delete;
    // Closes the socket (the helper exits on EOF) and reaps the helper.
    ~HelperProcess();

    pid_t pid() const { return pid_; }
    // The supervisor's end of the request socket; the client takes it.
    UniqueFd take_socket() { return std::move(socket_); }

private:
    HelperProcess(pid_t pid, UniqueFd socket, UniqueFd pidfd)
        : pid_(pid), socket_(std::move(socket)), pidfd_(std::move(pidfd)) {}
    pid_t pid_ = -1;
    UniqueFd socket_;
    UniqueFd pidfd_;
};

struct SpawnedInit {
    pid_t pid = -1;
    UniqueFd pidfd;
    UniqueFd setup_error;  // read end: EOF on execve, a SetupFailure otherwise
};

// The supervisor's side of the helper socket, driven by the reactor. Several
// actors may spawn at once; replies are matched to requests by id.
class HelperClient {
public:
    HelperClient(boost::asio::any_io_executor ex, UniqueFd socket);

    // Reads replies until the helper closes the socket or close() is called.
    reactor::Task<void> run();

    // Asks the helper for a new container init. The stdio fds (and the v2
    // cgroup directory to place it in, if >= 0) are passed to it; the
    // caller still closes its copies. Throws rusty::Error
    // when clone3 failed or the helper is gone. Not cancellable: once asked,
    // the caller always learns the pid, so no container is ever orphaned.
    reactor::Task<SpawnedInit> spawn(SpawnRequest request, StdioFds stdio, int cgroup_fd = -1);

    // Asks the helper to run request.exec_argv inside the running container
    // whose init is behind `container_pidfd` (see run_exec_in_container):
    // in its pid namespace if it has one, and in the v2 cgroup `cgroup_fd`
    // if >= 0, as a child of the supervisor like an init. The reply is as
    // for spawn(); request.rootfs is unused. Throws rusty::Error when the
    // container is gone (its init reaped, or its pid namespace ending).
    reactor::Task<SpawnedInit> exec_in(SpawnRequest request, int container_pidfd, StdioFds stdio,
                                       int cgroup_fd = -1);

    // Asks the helper for a pool stub (stub_pool.hpp) of the shape
    // request.spec.network and .pid gives, joining request.cgroup_join;
    // `stub_socket` is the stub's end of its socket. The reply has no
    // setup-error fd: the stub reports on its socket.
    reactor::Task<SpawnedInit> make_stub(SpawnRequest request, int stub_socket);

    void close();

private:
    struct Pending {
        explicit Pending(boost::asio::any_io_executor ex) : wakeup(ex) {}
        reactor::Notifier wakeup;  // notified when the reply is in, or the helper is gone
        bool done = false;
        SpawnReply reply;
        SpawnedInit init;
    };

    void fail_all_pending();
    // Sends the request with its fds, waits for the reply.
    reactor::Task<SpawnedInit> ask(SpawnRequest request, std::vector<int> fds);

    boost::asio::posix::stream_descriptor socket_;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, Pending*> pending_;
    bool closed_ = false;
};

// The fds that go with a spawn request, in the order of messages.hpp; sets
// the request's has_* flags to match.
std::vector<int> request_fds(SpawnRequest& request, StdioFds stdio, int cgroup_fd, int container_pidfd);
// A spawn request as it is sent: its JSON head, then its seccomp program,
// shared with the request rather than copied (a burst of starts would
// otherwise hold a copy per start in flight).
struct EncodedRequest {
    std::string head;
    SharedBytes program;
};
// Throws when the message would exceed what the receiver reads.
EncodedRequest encode_request(const SpawnRequest& request);
// One message, with `fds`; throws rusty::Error (sys_errno EAGAIN when the
// socket is full).
void send_request(int sock, const EncodedRequest& request, std::span<const int> fds);
SpawnReply decode_reply(std::span<const std::byte> bytes);

}  // namespace rusty::lifecycle
