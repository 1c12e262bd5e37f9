#include "lifecycle/fleet.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/spdlog.h>

#include "cgroup/layout.hpp"
#include "cgroup/limits.hpp"
#include "core/file.hpp"
#include "core/config.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "image/image_store.hpp"
#include "lifecycle/container_actor.hpp"
#include "lifecycle/fleet_impl.hpp"
#include "lifecycle/helper_fork.hpp"
#include "lifecycle/security.hpp"
#include "reactor/signal_reader.hpp"

namespace rusty {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using lifecycle::ContainerActor;
using lifecycle::ContainerPaths;

namespace {
// The completion of a detached coroutine whose failure is only worth a log line.
auto log_failure(const char* what) {
    return [what](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& err) {
            spdlog::error("{}: {}", what, err.what());
        }
    };
}
}  // namespace

void EventTee::on_event(const Event& event) {
    observer_.on_event(event);
    if (!control) return;
    control->publish(to_json(event));
    // Its output is drained before these: attached clients have it all.
    if ((event.kind == EventKind::Exited || event.kind == EventKind::Failed) && control->streaming())
        control->end_stream(attach_stream(event.container));
}

void EventTee::on_output_bytes(const std::string& container, OutputStream stream, std::string_view bytes) {
    observer_.on_output_bytes(container, stream, bytes);
    if (control && control->streaming()) control->publish_stream(attach_stream(container), bytes);
}

void Fleet::Impl::lock_state_dir() {
    fs::path lock_path = state_dir / "lock";
    // The supervisor that ends removes the lock file; one that opened it just
    // before would hold a lock on a file no one else can find. So, having the
    // lock, check that it is still the file at the path, and retry if not.
    // Container directories in it are deleted and recreated at will: never
    // adopt a directory holding someone else's files (--state-dir . in a
    // project with a web/ folder and a container named web).
    {
        std::error_code ec;
        if (fs::is_directory(state_dir, ec) && !fs::is_empty(state_dir, ec) && !fs::exists(lock_path, ec))
            throw ConfigError("", "state directory \"" + state_dir.string() +
                                      "\" is not empty and holds no fleet state (no \"lock\" file); "
                                      "give an empty or new directory");
    }
    for (;;) {
        // Inside the loop: an ending supervisor removes an empty state dir.
        std::error_code ec;
        fs::create_directories(state_dir, ec);
        if (ec) throw Error("create state directory \"" + state_dir.string() + "\": " + ec.message());
        lock.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (!lock) throw_sys("open(\"" + lock_path.string() + "\")");
        if (::flock(lock.get(), LOCK_EX | LOCK_NB) < 0) {
            const int err = errno;
            lock.reset();  // not ours: the other supervisor's files stay
            if (err == EWOULDBLOCK)
                throw Error("fleet \"" + spec.name + "\" is already running (\"" + lock_path.string() +
                            "\" is locked by another supervisor)");
            throw_sys("flock(\"" + lock_path.string() + "\")", err);
        }
        struct stat held {}, named {};
        if (::fstat(lock.get(), &held) < 0) throw_sys("fstat(\"" + lock_path.string() + "\")");
        if (::stat(lock_path.c_str(), &named) == 0 && named.st_ino == held.st_ino && named.st_dev == held.st_dev)
            return;
    }
}

// Each container's directory is container_dir(name), removed and recreated
// on start and removed at the end: it must not be one of the fleet's own
// files, nor hold the images (a fleet named "images" with a container named
// "busybox" would delete the built-in image, shared by all fleets).
void Fleet::Impl::check_layout(const FleetSpec& fleet, const fs::path& image_dir) const {
    auto normal = [](const fs::path& p) {
        std::error_code ec;
        fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
        if (ec) r = fs::absolute(p).lexically_normal();
        return r.has_filename() ? r : r.parent_path();  // no trailing '/'
    };
    auto inside = [](const fs::path& a, const fs::path& b) {  // a == b or a below b
        return std::mismatch(a.begin(), a.end(), b.begin(), b.end()).second == b.end();
    };
    const fs::path images = normal(image_dir);
    bool overlap = inside(normal(state_dir), images);
    for (const ContainerSpec& c : fleet.containers) {
        if (c.name == "lock" || c.name == "supervisor.json" || c.name == "control.sock")  // parse_fleet refuses them too
            throw ConfigError("/containers/" + c.name,
                              "the container name \"" + c.name + "\" is reserved for the fleet's own state");
        overlap = overlap || inside(images, normal(container_dir(c.name)));
    }
    if (overlap)
        throw ConfigError("", "fleet \"" + fleet.name + "\": its state directory \"" + state_dir.string() +
                                  "\" overlaps the image directory \"" + image_dir.string() +
                                  "\"; use another fleet name or state directory");
}

// Checks every limit against the host before anything starts: one the host
// cannot enforce is a ConfigError, or a warning with best_effort_limits.
void Fleet::Impl::prepare_cgroups() {
    layout = options.cgroup_layout ? *options.cgroup_layout : cgroup::Layout::detect();
    for (const std::string& warning : check_on_host(spec, options, *layout)) spdlog::warn("{}", warning);
    if (layout->mode() == cgroup::Mode::None) {
        spdlog::warn("no cgroup hierarchy is mounted: containers run without cgroups");
        return;
    }
    cgroups.emplace(*layout, spec);
}

std::vector<std::string> check_on_host(FleetSpec& spec, const FleetOptions& options, const cgroup::Layout& layout) {
    if (options.cgroup_parent) spec.cgroup_parent = parse_cgroup_path(*options.cgroup_parent, "cgroup_parent");
    if (layout.mode() == cgroup::Mode::None) {
        // Without a cgroup, processes that outlive the init could escape a stop.
        for (const ContainerSpec& c : spec.containers)
            if (c.pid == PidMode::Host)
                throw ConfigError("/containers/" + c.name + "/pid",
                                  "\"host\" needs cgroups to keep track of the container's processes, and this "
                                  "host has no cgroup hierarchy mounted");
    }
    const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    return cgroup::check_limits(spec, layout, cpus > 0 ? static_cast<unsigned>(cpus) : 1);
}

void Fleet::Impl::prepare() {
    state_dir = options.state_dir.empty() ? options.state_root / spec.name : options.state_dir;
    prepare_cgroups();
    check_layout(spec, image_dir());
    image_rootfs = build_images(spec);
    lock_state_dir();
    if (cgroups) cgroups->lock();
    nlohmann::json info = {{"name", spec.name}, {"pid", ::getpid()},
                           {"started", rfc3339_nano(std::chrono::system_clock::now())}};
    write_file_atomic(state_dir / "supervisor.json", info.dump() + "\n");
}

void Fleet::Impl::remove_state() {
    // Each container's writable layer goes with the fleet, as with
    // `docker compose down`; the images stay.
    // Their logs stay, for `rusty-supervisor logs` and the next run (which
    // appends), and so does the lock file that marks the directory as ours.
    std::error_code ec;
    bool logs_kept = false;
    for (const ContainerSpec& c : spec.containers) {
        const fs::path dir = container_dir(c.name);
        lifecycle::remove_all_but_logs(dir, ec);
        fs::remove(dir, ec);  // only if empty
        logs_kept = logs_kept || fs::exists(dir, ec);
    }
    fs::remove(state_dir / "supervisor.json", ec);
    if (!logs_kept) fs::remove(state_dir / "lock", ec);
    lock.reset();
    fs::remove(state_dir, ec);  // only if empty: never take a user's files with it
}

// Each container's image directory (empty for a rootfs one), each distinct
// image built once however many containers use it.
std::vector<fs::path> Fleet::Impl::build_images(const FleetSpec& fleet) const {
    image::ImageStore images(image_dir());
    std::map<std::string, fs::path> built;
    std::vector<fs::path> rootfs;
    for (const ContainerSpec& c : fleet.containers) {
        if (c.image.empty()) {
            rootfs.emplace_back();
            continue;
        }
        auto it = built.find(c.image);
        if (it == built.end()) {
            try {
                it = built.emplace(c.image, images.ensure(c.image)).first;
            } catch (const Error& e) {
                throw e.context(c.name);
            }
        }
        rootfs.push_back(it->second);
    }
    return rootfs;
}

fs::path Fleet::Impl::image_dir() const {
    return options.image_dir.empty() ? options.state_root / "images" : options.image_dir;
}

std::unique_ptr<ContainerActor> Fleet::Impl::make_actor(const ContainerSpec& c, fs::path rootfs) {
    auto actor = std::make_unique<ContainerActor>(io->get_executor(), *helper_client, tee,
                                                  cgroups ? &*cgroups : nullptr, c, std::move(rootfs),
                                                  ContainerPaths(container_dir(c.name)), options.stop_grace);
    actor->use_pool(pool ? &*pool : nullptr);
    return actor;
}

// From the specs, anew: a reload may have changed any of them.
void Fleet::Impl::link_dependencies() {
    for (auto& a : actors) a->clear_dependencies();
    for (auto& a : actors)
        for (const Dependency& d : a->spec().depends_on) a->add_dependency(actor(d.name), d.condition);
}

void Fleet::Impl::launch(ContainerActor& a) {
    ++running_actors;
    asio::co_spawn(io->get_executor(), a.run(), [this](std::exception_ptr) { on_actor_done(); });
}

void Fleet::Impl::on_actor_done() {
    --running_actors;
    maybe_finish();
}

void Fleet::Impl::maybe_finish() {
    if (finished || running_actors > 0 || holds > 0) return;
    finished = true;
    // The helper's connection stays until no stub request is in flight.
    pool->close([this] { helper_client->close(); });
    if (signals) signals->cancel();
    if (control) control->close();
}

// The fleet's stop, once however often asked: each container is stopped
// once the containers depending on it have ended.
void Fleet::Impl::stop_all(std::optional<std::chrono::milliseconds> grace) {
    if (stopping) return;
    stopping = true;
    for (auto it = actors.rbegin(); it != actors.rend(); ++it)
        asio::co_spawn(io->get_executor(), (*it)->stop_in_order(grace), asio::detached);
}

void Fleet::Impl::kill_all() {
    for (auto& actor : actors) actor->end(lifecycle::EndReason::Kill);
}

reactor::Task<void> Fleet::Impl::handle_signals(reactor::SignalReader& reader) {
    try {
        // cancel() only reaches a wait in flight; a signal read in the same
        // turn as the last exit would start a new wait nobody cancels, so
        // the loop also checks that containers remain.
        while (!finished) {
            signalfd_siginfo info = co_await reader.next();
            handle_signal(static_cast<int>(info.ssi_signo));
        }
    } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted) {
            // Without this loop SIGINT and SIGTERM stay blocked and unread:
            // the fleet could no longer be stopped. Kill it rather.
            spdlog::error("reading signals: {}; killing the fleet", e.what());
            kill_all();
        }
    } catch (const std::exception& e) {
        spdlog::error("reading signals: {}; killing the fleet", e.what());
        kill_all();
    }
}

void Fleet::Impl::handle_signal(int sig) {
    switch (sig) {
        case SIGINT:
        case SIGTERM:
            if (!stopping) {
                stop_signal = sig;
                spdlog::info("{}: stopping the fleet (again to kill at once)", sys::signal_name(sig));
                stop_all();
            } else {
                spdlog::info("{}: killing the fleet", sys::signal_name(sig));
                kill_all();
            }
            break;
        case SIGHUP:
            if (stopping) break;
            asio::co_spawn(io->get_executor(), reload(), [](std::exception_ptr e, nlohmann::json summary) {
                try {
                    if (e) std::rethrow_exception(e);
                    spdlog::info("SIGHUP: reloaded: {}", summary.dump());
                } catch (const std::exception& error) {
                    // The fleet runs on unchanged: say why the new file was not used.
                    spdlog::error("SIGHUP: reload refused, nothing changed: {}", error.what());
                }
            });
            break;
        default:  // SIGCHLD: each container is reaped through its pidfd
            break;
    }
}

Fleet::Fleet(FleetSpec spec, FleetOptions options, FleetObserver& observer)
    : impl_(std::make_unique<Impl>(std::move(spec), std::move(options), observer)) {
    try {
        // Seccomp programs compiled once, here (the built-in profile takes
        // ~10 ms), not on the reactor's path at the first start.
        for (const ContainerSpec& c : impl_->spec.containers) lifecycle::security_for(c);
        impl_->prepare();
        // The helper is forked before the io_context exists: a process
        // forked after the io_uring instance exists inherits its fd and
        // mappings, and so would every container it clones.
        impl_->helper.emplace(lifecycle::HelperProcess::start());
        impl_->io.emplace(1);
        impl_->helper_client.emplace(impl_->io->get_executor(), impl_->helper->take_socket());
        impl_->pool.emplace(impl_->io->get_executor(), *impl_->helper_client,
                            impl_->cgroups ? &*impl_->cgroups : nullptr);
        impl_->change_done.emplace(impl_->io->get_executor());
        for (std::size_t i = 0; i < impl_->spec.containers.size(); ++i)
            impl_->actors.push_back(impl_->make_actor(impl_->spec.containers[i], impl_->image_rootfs[i]));
        impl_->link_dependencies();
        if (impl_->options.control_socket) {
            impl_->control.emplace(impl_->io->get_executor(), impl_->state_dir / "control.sock", *impl_);
            impl_->tee.control = &*impl_->control;
        }
    } catch (...) {
        // ~Fleet will not run: leave no lock file or state of ours behind
        // (the cgroups go with impl_).
        if (impl_->lock) impl_->remove_state();
        throw;
    }
}

Fleet::~Fleet() {
    Impl& s = *impl_;
    s.finished = true;  // coroutine frames destroyed below must not try to end the fleet again
    s.tee.control = nullptr;
    s.control.reset();
    // run() returns only when every container has ended; for a fleet torn
    // down otherwise (run() threw, or was never called), an actor's
    // destructor kills, reaps and removes what its run still holds.
    s.actors.clear();
    s.retired.clear();
    s.pool.reset();  // its stubs' cgroups are below the fleet's
    if (s.cgroups)
        for (const std::string& problem : s.cgroups->remove()) spdlog::warn("cannot remove cgroup {}", problem);
    s.helper_client.reset();
    s.change_done.reset();
    s.io.reset();
    s.helper.reset();  // reaps the helper
    if (s.lock) s.remove_state();
}

const fs::path& Fleet::state_dir() const { return impl_->state_dir; }

ContainerActor* Fleet::Impl::find_actor(const std::string& name) const {
    for (const auto& a : actors)
        if (a->spec().name == name) return a.get();
    return nullptr;
}

ContainerActor& Fleet::Impl::actor(const std::string& name) const {
    if (ContainerActor* a = find_actor(name)) return *a;
    throw Error("no container named \"" + name + "\" in fleet \"" + spec.name + "\"");
}

void Fleet::pause(const std::string& container) { impl_->actor(container).pause(); }
void Fleet::resume(const std::string& container) { impl_->actor(container).resume(); }

cgroup::Stats Fleet::stats(const std::string& container) const {
    std::optional<cgroup::Stats> stats = impl_->actor(container).stats();
    if (!stats) throw Error(container + ": not running");
    return *stats;
}

std::string Fleet::cgroup_path(const std::string& container) const {
    return impl_->actor(container).cgroup_path();
}

asio::any_io_executor Fleet::executor() { return impl_->io->get_executor(); }

Fleet::PoolStats Fleet::pool_stats() const {
    const lifecycle::StubPool& pool = *impl_->pool;
    return {pool.ready(), pool.made(), pool.claimed()};
}

void Fleet::request_stop() {
    impl_->stop_all();
}

FleetResult Fleet::run() {
    Impl& s = *impl_;
    if (s.ran) throw Error("Fleet::run called twice");
    s.ran = true;
    auto ex = s.io->get_executor();

    std::optional<reactor::SignalReader> signals;
    if (s.options.handle_signals) {
        signals.emplace(ex, std::initializer_list<int>{SIGINT, SIGTERM, SIGHUP, SIGCHLD});
        s.signals = &*signals;
        asio::co_spawn(ex, s.handle_signals(*signals), asio::detached);
    }
    asio::co_spawn(ex, s.helper_client->run(), log_failure("helper connection"));
    if (s.control) asio::co_spawn(ex, s.control->run(), log_failure("control socket"));
    for (auto& actor : s.actors) s.launch(*actor);
    s.pool->plan(s.spec);  // after the first starts, which need no stub
    s.maybe_finish();  // a fleet of no containers
    s.io->run();
    s.signals = nullptr;
    if (signals) {
        // A SIGTERM that came after the last exit would, once the mask is
        // restored, end the process before ~Fleet cleans up.
        for (int sig : signals->take_pending()) spdlog::info("{} after the fleet ended: ignored", sys::signal_name(sig));
    }

    FleetResult result;
    result.stop_signal = s.stop_signal;
    result.stopped = s.stopping;
    result.all_succeeded = true;
    for (auto& actor : s.actors) result.all_succeeded = result.all_succeeded && actor->succeeded();
    return result;
}

}  // namespace rusty
