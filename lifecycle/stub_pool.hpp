// The start pool: processes made ahead of time, each already in fresh mount,
// uts, ipc (and network) namespaces and already in cgroups of its own, idle
// until a container start claims one (the "zygote" of the SOCK paper, USENIX
// ATC'18).
//
// Why: on a host whose limits live in cgroup v1 (hybrid or v1), a container's
// init must join its memory and pids cgroups by writing cgroup.procs, which
// after a moment of idleness waits for an RCU grace period (8–20 ms on the
// hosts measured; see bench/results). A stub joins a slot of v1 cgroups
// (cgroup::PoolSlot) while the fleet is idle; a start renames the slot to the
// container's name, writes its limits, and sends the stub the spawn request.
// The stub then clones the container's init with CLONE_PARENT (so the
// supervisor is its parent, as for any init), in a new pid and cgroup
// namespace and born into its v2 cgroup (CLONE_INTO_CGROUP), replies with the
// pidfd as the helper would, and exits. The namespaces the stub made are the
// container's; creating a network namespace alone costs about 0.5 ms.
//
// Stubs are asked of the helper (helper_fork.hpp) and are children of the
// supervisor, reaped through their pidfds. A claimed stub is replaced at once,
// off the start's path. Disabled (size 0), the pool makes nothing.
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cgroup/cgroup.hpp"
#include "core/spec.hpp"
#include "lifecycle/helper_fork.hpp"
#include "lifecycle/messages.hpp"
#include "reactor/awaitable.hpp"
#include "reactor/pidfd_watch.hpp"

namespace rusty::lifecycle {

class StubPool {
public:
    // What a stub is made for: the namespaces it creates.
    struct Shape {
        NetworkMode network = NetworkMode::None;
        PidMode pid = PidMode::Private;
        auto operator<=>(const Shape&) const = default;
    };

    // One stub. Handed out by claim(); the pool keeps track of it until it
    // has been reaped.
    struct Stub {
        Stub(boost::asio::any_io_executor ex, Shape s) : shape(s), socket(ex) {}
        Shape shape;
        pid_t pid = -1;
        std::unique_ptr<reactor::PidfdWatch> watch;
        boost::asio::posix::stream_descriptor socket;
        cgroup::PoolSlot slot;
        std::set<std::string> v1;  // the v1 controllers of its slot
        enum class State { Preparing, Ready, Claimed, Gone } state = State::Preparing;
        bool reaped = false;
        bool asking = false;  // its make_stub() request is at the helper
    };
    using StubPtr = std::shared_ptr<Stub>;

    // `cgroups` may be null (a host without cgroups): stubs then have no slot.
    // Nothing is made before plan().
    StubPool(boost::asio::any_io_executor ex, HelperClient& helper, cgroup::FleetCgroups* cgroups);
    // Kills and reaps every stub left, and removes their slots. Never throws.
    ~StubPool();
    StubPool(const StubPool&) = delete;
    StubPool& operator=(const StubPool&) = delete;

    // fleet.pool_size stubs kept ready for each shape `fleet`'s containers
    // have, their slots in the v1 controllers those containers join. Called
    // again on a reload, which lets go of the idle stubs that no longer fit.
    // Then fills the pool.
    void plan(const FleetSpec& fleet);
    // Lets every idle stub go and makes no more. Their exits are reaped on
    // the reactor. `then` runs once no stub request is in flight at the
    // helper (at once if none is): only then may the helper's connection be
    // closed, or a stub the helper just made would never be known, nor reaped.
    void close(std::function<void()> then = {});

    // A ready stub fit for `spec`, or null: the caller then starts the
    // container the usual way. Called for every start, which puts off the
    // refill (kQuiet).
    StubPtr claim(const ContainerSpec& spec);
    // Starts the container of `request` from a claimed stub: its init is born
    // in the v2 cgroup `cgroup_fd` (-1: none) and inherits the stub's v1
    // cgroups. As HelperClient::spawn, with the same reply. Throws when the
    // stub cannot; the caller then calls discard().
    reactor::Task<SpawnedInit> start(Stub& stub, SpawnRequest request, StdioFds stdio, int cgroup_fd);
    // Kills a claimed stub that could not start its container and waits for
    // its end (a tiny process: well under a millisecond), so that the
    // cgroups it was in can be removed next. Removes its slot if still
    // unused. Never throws.
    reactor::Task<void> discard(StubPtr stub);

    // For tests and the debug log.
    std::size_t ready() const;
    std::uint64_t claimed() const { return claimed_; }
    std::uint64_t made() const { return made_; }

    // How long the fleet must have started nothing before the pool refills.
    // A stub joining v1 cgroups waits for an RCU grace period with the
    // kernel's fork lock held for writing: every fork on the host, a
    // container's start included, stalls behind it. And any stub costs a
    // clone with new namespaces: made during a restart loop, it took more
    // from the next restart (2.6 -> 3.9 ms exit to exec) than a stub gives
    // back. So stubs are made between bursts of starts, never during one.
    static constexpr std::chrono::milliseconds kQuiet{20};

private:
    reactor::Task<void> make_one(StubPtr stub);
    // top_up() once no start has come for kQuiet.
    void refill_when_quiet();
    reactor::Task<void> wait_quiet();
    reactor::Task<void> watch(StubPtr stub);
    void top_up();
    void let_go(Stub& stub) noexcept;
    // Whether a make_stub() request is at the helper (a stub is `asking`
    // until its answer; no stub leaves stubs_ before that).
    bool asking() const;
    // `stub`'s request has its answer: runs close()'s `then` after the last.
    void answered(Stub& stub);

    boost::asio::any_io_executor ex_;
    HelperClient& helper_;
    cgroup::FleetCgroups* cgroups_;
    unsigned size_ = 0;
    std::set<Shape> shapes_;
    std::set<std::string> v1_;           // what every new slot joins
    std::vector<StubPtr> stubs_;         // every stub not yet reaped
    std::set<Shape> broken_;             // a stub of this shape failed: no more are made
    bool closed_ = false;
    std::function<void()> after_close_;
    boost::asio::steady_timer quiet_timer_;
    std::chrono::steady_clock::time_point quiet_from_{};
    bool waiting_quiet_ = false;
    std::uint64_t claimed_ = 0;
    std::uint64_t made_ = 0;
};

}  // namespace rusty::lifecycle
