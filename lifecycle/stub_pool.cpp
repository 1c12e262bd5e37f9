#include "lifecycle/stub_pool.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

#include "cgroup/retry.hpp"
#include "core/error.hpp"
#include "core/syscalls.hpp"
#include "reactor/fd_passing.hpp"

namespace rusty::lifecycle {
namespace asio = boost::asio;

StubPool::StubPool(asio::any_io_executor ex, HelperClient& helper, cgroup::FleetCgroups* cgroups)
    : ex_(std::move(ex)), helper_(helper), cgroups_(cgroups), quiet_timer_(ex_) {}

StubPool::~StubPool() {
    for (const StubPtr& stub : stubs_) {
        if (stub->watch && !stub->reaped) {
            stub->watch->send_signal(SIGKILL);
            sys::ExitStatus status;
            try {
                sys::wait_pidfd(stub->watch->fd(), status, false);
            } catch (...) {
            }
            stub->reaped = true;
        }
        // After the reactor has stopped: the sleeping retry is allowed here.
        if (const int err = cgroup::remove_retrying([&] { return stub->slot.remove(); }); err != 0)
            spdlog::warn("start pool: cannot remove the cgroups of {}: {}", stub->slot.name, errno_text(err));
    }
}

void StubPool::plan(const FleetSpec& fleet) {
    std::set<Shape> shapes;
    std::set<std::string> v1;
    for (const ContainerSpec& c : fleet.containers) {
        shapes.insert({c.network, c.pid});
        if (cgroups_) v1.merge(cgroups_->v1_joins(c));
    }
    if (v1 != v1_ || shapes != shapes_ || fleet.pool_size != size_) {
        const std::vector<StubPtr> stubs = stubs_;  // let_go() may erase
        for (const StubPtr& stub : stubs)
            if (stub->v1 != v1 || !shapes.contains(stub->shape) || fleet.pool_size < size_) let_go(*stub);
    }
    size_ = fleet.pool_size;
    shapes_ = std::move(shapes);
    v1_ = std::move(v1);
    // The fleet's first starts come first; a fleet that is over by then
    // (a one-shot run) makes no stub at all.
    refill_when_quiet();
}

void StubPool::refill_when_quiet() {
    if (closed_ || size_ == 0) return;
    quiet_from_ = std::chrono::steady_clock::now() + kQuiet;
    if (waiting_quiet_) return;  // that wait sees the new deadline
    waiting_quiet_ = true;
    asio::co_spawn(ex_, wait_quiet(), asio::detached);
}

reactor::Task<void> StubPool::wait_quiet() {
    while (!closed_ && std::chrono::steady_clock::now() < quiet_from_) {
        quiet_timer_.expires_at(quiet_from_);
        co_await quiet_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    waiting_quiet_ = false;
    top_up();
}

void StubPool::close(std::function<void()> then) {
    closed_ = true;
    quiet_timer_.cancel();  // a refill wait would hold the reactor open until it expires
    const std::vector<StubPtr> stubs = stubs_;  // let_go() may erase
    for (const StubPtr& stub : stubs) let_go(*stub);
    if (!asking()) {
        if (then) then();
    } else {
        after_close_ = std::move(then);
    }
}

std::size_t StubPool::ready() const {
    return static_cast<std::size_t>(
        std::count_if(stubs_.begin(), stubs_.end(), [](const StubPtr& s) { return s->state == Stub::State::Ready; }));
}

bool StubPool::asking() const {
    return std::any_of(stubs_.begin(), stubs_.end(), [](const StubPtr& s) { return s->asking; });
}

void StubPool::answered(Stub& stub) {
    stub.asking = false;
    if (!asking() && after_close_) std::exchange(after_close_, {})();
}

void StubPool::top_up() {
    if (closed_ || size_ == 0) return;
    for (const Shape& shape : shapes_) {
        if (broken_.contains(shape)) continue;
        std::size_t have = static_cast<std::size_t>(std::count_if(stubs_.begin(), stubs_.end(), [&](const StubPtr& s) {
            return s->shape == shape && (s->state == Stub::State::Preparing || s->state == Stub::State::Ready);
        }));
        for (; have < size_; ++have) {
            auto stub = std::make_shared<Stub>(ex_, shape);
            stubs_.push_back(stub);
            asio::co_spawn(ex_, make_one(stub), asio::detached);
        }
    }
}

// Makes the stub's slot, asks the helper for the process, and waits until it
// says it is ready (its v1 cgroups joined: the slow part, paid here).
reactor::Task<void> StubPool::make_one(StubPtr stub) {
    try {
        if (cgroups_) {
            stub->slot = cgroups_->create_slot(v1_);
            stub->v1 = v1_;
        }
        auto [mine, theirs] = sys::make_socketpair(SOCK_SEQPACKET);
        stub->socket.assign(mine.release());
        stub->socket.non_blocking(true);
        SpawnRequest request;
        request.spec.name = "pool stub";
        request.spec.network = stub->shape.network;
        request.spec.pid = stub->shape.pid;
        request.cgroup_join = stub->slot.join_files();
        SpawnedInit init;
        stub->asking = true;
        try {
            init = co_await helper_.make_stub(std::move(request), theirs.get());
        } catch (...) {
            answered(*stub);
            throw;
        }
        answered(*stub);
        theirs.reset();
        stub->pid = init.pid;
        stub->watch = std::make_unique<reactor::PidfdWatch>(ex_, std::move(init.pidfd));
        ++made_;
        asio::co_spawn(ex_, watch(stub), asio::detached);
        std::array<std::byte, 4096> buffer;
        sys::Received msg = co_await reactor::async_recv_with_fds(stub->socket, buffer, 0);
        if (msg.size == 0) {
            if (stub->state == Stub::State::Gone) co_return;  // let go meanwhile
            throw Error("it ended while preparing");
        }
        SpawnReply reply = decode_reply(std::span(buffer).first(msg.size));
        if (reply.pid < 0) throw Error(reply.what);
        if (stub->state != Stub::State::Preparing) co_return;
        stub->state = Stub::State::Ready;
        spdlog::debug("start pool: stub {} ready ({} made, {} claimed)", stub->pid, made_, claimed_);
    } catch (const std::exception& e) {
        // A stub let go on purpose ends without an exception (above): this
        // one failed, and so would the next of its kind. Without marking the
        // shape, each quiet moment would make another.
        if (!closed_ && broken_.insert(stub->shape).second)
            spdlog::warn("start pool: a stub could not be prepared ({}); such containers start without the pool",
                         e.what());
        let_go(*stub);
    }
}

// Reaps the stub when it exits: at once after a claim, or when let go. An
// idle one that died otherwise is replaced.
reactor::Task<void> StubPool::watch(StubPtr stub) {
    try {
        co_await stub->watch->wait_exited();
    } catch (const std::exception&) {
        co_return;  // the pool is being torn down: its destructor reaps
    }
    if (!stub->reaped) {
        sys::ExitStatus status;
        try {
            sys::wait_pidfd(stub->watch->fd(), status, true);
        } catch (...) {
        }
        stub->reaped = true;
    }
    // A ready one killed from outside is replaced; one that died preparing
    // is make_one()'s to judge.
    const bool unexpected = stub->state == Stub::State::Ready;
    stub->state = Stub::State::Gone;
    // Its slot, unless a claim took it (adopt() empties it).
    if (const int err = co_await cgroup::remove_retrying_async([&] { return stub->slot.remove(); }); err != 0)
        spdlog::warn("start pool: cannot remove the cgroups of {}: {}", stub->slot.name, errno_text(err));
    std::erase(stubs_, stub);
    if (unexpected) refill_when_quiet();
}

void StubPool::let_go(Stub& stub) noexcept {
    if (stub.state == Stub::State::Claimed) return;  // its claimer decides
    stub.state = Stub::State::Gone;
    // The stub reads EOF and exits; watch() reaps it and removes its slot.
    if (stub.socket.is_open()) ::shutdown(stub.socket.native_handle(), SHUT_RDWR);
    if (!stub.watch && !stub.asking) {
        // Never made: nothing to reap. (One being made is make_one()'s:
        // once the helper answers, watch() or its failure path removes it.)
        stub.slot.remove();
        std::erase_if(stubs_, [&](const StubPtr& s) { return s.get() == &stub; });
    }
}

StubPool::StubPtr StubPool::claim(const ContainerSpec& spec) {
    if (closed_ || size_ == 0) return nullptr;
    // The stub stays in the container's pids cgroup until it has exited,
    // a moment after the init's birth: a limit of 1 would refuse the birth.
    if (spec.resources.pids && *spec.resources.pids < 2) return nullptr;
    const Shape shape{spec.network, spec.pid};
    const std::set<std::string> needs = cgroups_ ? cgroups_->v1_joins(spec) : std::set<std::string>{};
    StubPtr found;
    for (const StubPtr& stub : stubs_) {
        if (stub->state != Stub::State::Ready || stub->shape != shape) continue;
        if (!std::includes(stub->v1.begin(), stub->v1.end(), needs.begin(), needs.end())) continue;
        found = stub;
        found->state = Stub::State::Claimed;
        ++claimed_;
        break;
    }
    refill_when_quiet();
    return found;
}

reactor::Task<SpawnedInit> StubPool::start(Stub& stub, SpawnRequest request, StdioFds stdio, int cgroup_fd) {
    request.id = 1;
    request.cgroup_join.clear();  // joined by the stub
    const std::vector<int> fds = request_fds(request, stdio, cgroup_fd, -1);
    const EncodedRequest encoded = encode_request(request);
    for (;;) {
        try {
            send_request(stub.socket.native_handle(), encoded, fds);
            break;
        } catch (const Error& e) {
            if (e.sys_errno() != EAGAIN) throw e.context("send the spawn request to a pool stub");
        }
        co_await stub.socket.async_wait(asio::posix::stream_descriptor::wait_write, asio::use_awaitable);
    }
    std::array<std::byte, 4096> buffer;
    sys::Received msg = co_await reactor::async_recv_with_fds(stub.socket, buffer, 2);
    if (msg.size == 0) throw Error("the pool stub ended before starting the container");
    const SpawnReply reply = decode_reply(std::span(buffer).first(msg.size));
    if (reply.error != 0) throw sys_error(reply.what, reply.error);
    if (msg.fds.size() != 2) {
        // An init we could not follow must not live on unreaped.
        if (!msg.fds.empty() && sys::raw_pidfd_send_signal(msg.fds[0].get(), SIGKILL) == 0) {
            reactor::PidfdWatch init(ex_, std::move(msg.fds[0]));
            co_await init.wait_exit();
        }
        throw Error("pool stub reply without pidfd and setup-error fd");
    }
    SpawnedInit init;
    init.pid = reply.pid;
    init.pidfd = std::move(msg.fds[0]);
    init.setup_error = std::move(msg.fds[1]);
    co_return init;
}

reactor::Task<void> StubPool::discard(StubPtr stub) {
    stub->state = Stub::State::Gone;
    if (stub->watch && !stub->reaped) {
        stub->watch->send_signal(SIGKILL);
        try {
            co_await stub->watch->wait_exited();
            sys::ExitStatus status;
            if (!stub->reaped && sys::wait_pidfd(stub->watch->fd(), status, true)) stub->reaped = true;
        } catch (const std::exception& e) {
            spdlog::debug("start pool: discarding a stub: {}", e.what());  // reaped by watch() meanwhile
        }
    }
    if (const int err = co_await cgroup::remove_retrying_async([&] { return stub->slot.remove(); }); err != 0)
        spdlog::warn("start pool: cannot remove the cgroups of {}: {}", stub->slot.name, errno_text(err));
}

}  // namespace rusty::lifecycle
