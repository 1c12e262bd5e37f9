// Exec into a running container, and the notify socket directory, driven
// through HelperProcess and HelperClient directly (as a Fleet does, without
// one): what the exec'd process shares with the container's init (namespaces,
// root, cgroups, privileges), what it does not inherit (fds, signal state),
// and how its exit and setup failures come back.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstring>

#include "cgroup/layout.hpp"
#include "image/image_store.hpp"
#include "lifecycle/helper_fork.hpp"
#include "tests/lifecycle/helpers.hpp"

namespace rusty::test {
namespace {

namespace asio = boost::asio;
using lifecycle::HelperClient;
using lifecycle::HelperProcess;
using lifecycle::SpawnedInit;
using lifecycle::SpawnRequest;

constexpr int kTimeoutMs = 10'000;

// A helper and its client on a private io_context, made in the order a Fleet
// makes them: the helper is forked before the io_context exists.
class Helper {
public:
    Helper() : process_(HelperProcess::start()), client_(io_.get_executor(), process_.take_socket()) {
        asio::co_spawn(io_, client_.run(), asio::detached);
    }
    ~Helper() {
        client_.close();
        io_.run_for(std::chrono::seconds(5));
    }

    SpawnedInit spawn(SpawnRequest request, int out, int err, int cgroup_fd = -1) {
        return await(client_.spawn(std::move(request), {-1, out, err, -1}, cgroup_fd));
    }
    SpawnedInit exec_in(SpawnRequest request, int container_pidfd, int out, int err, int cgroup_fd = -1) {
        return await(client_.exec_in(std::move(request), container_pidfd, {-1, out, err, -1}, cgroup_fd));
    }

private:
    // Runs the reactor until `task` is done; the test waits for everything
    // else (pipes, pidfds) with blocking calls.
    SpawnedInit await(asio::awaitable<SpawnedInit> task) {
        // Shared with the completion, which may outlive a failed wait.
        struct Outcome {
            std::optional<SpawnedInit> result;
            std::exception_ptr error;
            bool done = false;
        };
        auto outcome = std::make_shared<Outcome>();
        asio::co_spawn(io_, std::move(task), [outcome](std::exception_ptr e, SpawnedInit r) {
            outcome->error = e;
            if (!e) outcome->result.emplace(std::move(r));
            outcome->done = true;
        });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
        while (!outcome->done && std::chrono::steady_clock::now() < deadline)
            io_.run_one_for(std::chrono::milliseconds(100));
        if (!outcome->done) FAIL("no reply from the helper");
        if (outcome->error) std::rethrow_exception(outcome->error);
        return std::move(*outcome->result);
    }

    HelperProcess process_;
    asio::io_context io_{1};
    HelperClient client_;
};

bool wait_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    int rc;
    do {
        rc = ::poll(&p, 1, kTimeoutMs);
    } while (rc < 0 && errno == EINTR);
    return rc == 1;
}

// Everything until EOF.
std::string read_all(int fd) {
    std::string text;
    char buf[4096];
    for (;;) {
        if (!wait_readable(fd)) FAIL("no EOF within the timeout; so far: " << text);
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return text;
        text.append(buf, static_cast<std::size_t>(n));
    }
}

// The setup-error pipe's story (messages.hpp), as ContainerActor tells it:
// "" when the command was exec'd, else the failure.
std::string setup_story(UniqueFd& fd) {
    std::string bytes = read_all(fd.get());
    fd.reset();
    std::string story = lifecycle::setup_story(bytes);
    return story == lifecycle::kDiedDuringSetup ? "<died during setup>" : story;
}

// Never blocks for good: a container's init, for one, cannot be reaped
// before the processes exec'd into its pid namespace are.
sys::ExitStatus wait_exit(const UniqueFd& pidfd) {
    sys::ExitStatus status;
    if (wait_readable(pidfd.get()) && sys::wait_pidfd(pidfd.get(), status, true)) return status;
    sys::raw_pidfd_send_signal(pidfd.get(), SIGKILL);
    if (wait_readable(pidfd.get())) sys::wait_pidfd(pidfd.get(), status, true);
    FAIL("the process did not exit within the timeout");
    return status;
}

sys::ExitStatus kill_and_reap(const UniqueFd& pidfd) {
    sys::raw_pidfd_send_signal(pidfd.get(), SIGKILL);
    return wait_exit(pidfd);
}

std::string slurp(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The value of "Key:" in /proc/<pid>/status, whitespace-separated words
// joined by one space.
std::string status_field(pid_t pid, const std::string& key) {
    std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/status"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key + ":", 0) != 0) continue;
        std::string joined;
        for (const std::string& w : split_words(line.substr(key.size() + 1))) joined += (joined.empty() ? "" : " ") + w;
        return joined;
    }
    return "<missing>";
}

std::string ns_of(pid_t pid, const char* kind) {
    return fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + kind).string();
}

std::pair<dev_t, ino_t> identity(const fs::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return {st.st_dev, st.st_ino};
}

std::set<std::string> entries(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> r;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) r.push_back(line);
    return r;
}

// The value of the "key=value" line in `text`.
std::string value(const std::string& text, const std::string& key) {
    for (const std::string& line : lines(text))
        if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
    return "<missing>";
}

// Cgroups of this test under its own parent, /rusty-test-<pid>/<name>: a v2
// one (for CLONE_INTO_CGROUP) and, where the host has it, a v1 pids one (for
// cgroup_join). Removed, parents too, at scope exit; the processes in them
// must be gone by then.
class TestCgroups {
public:
    explicit TestCgroups(const std::string& name) {
        const cgroup::Layout layout = cgroup::Layout::detect();
        const std::string rel = test_cgroup_parent().substr(1);
        if (!layout.v2_root().empty()) {
            v2_ = make(layout.v2_root() / rel, name);
            if (!v2_.empty()) v2_fd_.reset(::open(v2_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        }
        if (auto pids = layout.v1_root("pids")) v1_pids_ = make(*pids / rel, name);
    }
    ~TestCgroups() {
        v2_fd_.reset();
        for (const fs::path& dir : made_) {
            // A killed task may leave its cgroup a moment after its reaping.
            for (int attempt = 0; attempt < 200 && ::rmdir(dir.c_str()) < 0 && errno == EBUSY; ++attempt)
                std::this_thread::sleep_for(5ms);
        }
    }
    // -1 when the host has no v2 hierarchy.
    int v2_fd() const { return v2_fd_.get(); }
    const fs::path& v2() const { return v2_; }
    // Empty when the host has no v1 pids hierarchy.
    std::vector<std::string> v1_join() const {
        if (v1_pids_.empty()) return {};
        return {(v1_pids_ / "cgroup.procs").string()};
    }

private:
    fs::path make(const fs::path& parent, const std::string& name) {
        if (::mkdir(parent.c_str(), 0755) == 0) made_.insert(made_.begin(), parent);
        fs::path dir = parent / name;
        if (::mkdir(dir.c_str(), 0755) < 0) return {};
        made_.insert(made_.begin(), dir);
        return dir;
    }
    std::vector<fs::path> made_;  // innermost first
    fs::path v2_, v1_pids_;
    UniqueFd v2_fd_;
};

// A busybox container's init request on a fresh overlay in `dir` (the image
// too is built there, once: a few milliseconds).
SpawnRequest container_request(const TempDir& dir, const std::string& name, std::vector<std::string> argv) {
    const fs::path image = image::ImageStore(dir.path() / "images").ensure("busybox");
    SpawnRequest r;
    r.spec.name = name;
    r.spec.hostname = name;
    r.spec.argv = std::move(argv);
    r.rootfs.lower = image;
    r.rootfs.upper = dir.make_dir(name + "/upper");
    r.rootfs.work = dir.make_dir(name + "/work");
    r.rootfs.target = dir.make_dir(name + "/rootfs");
    return r;
}

// A process the helper made, with the read ends of its stdout and stderr.
struct Started {
    SpawnedInit process;
    UniqueFd out;
    UniqueFd err;
    std::string story;  // the setup-error pipe's
};

Started start(Helper& helper, SpawnRequest request, int cgroup_fd = -1) {
    sys::Pipe out = sys::make_pipe(), err = sys::make_pipe();
    Started s;
    s.process = helper.spawn(std::move(request), out.write.get(), err.write.get(), cgroup_fd);
    s.out = std::move(out.read);
    s.err = std::move(err.read);
    s.story = setup_story(s.process.setup_error);
    return s;
}

// Runs `argv` in the container of `init`, as `request` (the init's, or a
// variant) says.
Started exec(Helper& helper, const Started& init, SpawnRequest request, std::vector<std::string> argv,
             int cgroup_fd = -1) {
    request.exec_argv = std::move(argv);
    sys::Pipe out = sys::make_pipe(), err = sys::make_pipe();
    Started s;
    s.process = helper.exec_in(std::move(request), init.process.pidfd.get(), out.write.get(), err.write.get(),
                               cgroup_fd);
    s.out = std::move(out.read);
    s.err = std::move(err.read);
    s.story = setup_story(s.process.setup_error);
    return s;
}

// What a test leaves behind must be nothing: no child, no fd.
struct LeakCheck {
    std::size_t fds = open_fd_count();
    void check() const {
        CHECK(child_pids().empty());
        CHECK(open_fd_count() == fds);
    }
};

TEST_CASE("exec in a container: the init's namespaces, root, cgroups and privileges, no fds", "[lifecycle][exec]") {
    LeakCheck leaks;
    {
        TempDir dir("exec-in");
        TestCgroups cgroups("box");
        Helper helper;
        SpawnRequest request = container_request(dir, "box", {"sleep", "30"});
        request.spec.env = {"FOO=bar"};
        request.spec.working_dir = "/tmp";
        request.cgroup_join = cgroups.v1_join();
        Started init = start(helper, request, cgroups.v2_fd());
        REQUIRE(init.story.empty());
        const pid_t ipid = init.process.pid;

        // As root (the default user), then as nobody.
        Started root = exec(helper, init, request, {"sleep", "30"}, cgroups.v2_fd());
        REQUIRE(root.story.empty());
        SpawnRequest as_nobody = request;
        as_nobody.spec.user = "nobody";
        Started nobody = exec(helper, init, as_nobody, {"sleep", "30"}, cgroups.v2_fd());
        REQUIRE(nobody.story.empty());

        for (const Started* s : {&root, &nobody}) {
            const pid_t pid = s->process.pid;
            const std::string proc = "/proc/" + std::to_string(pid);
            INFO((s == &root ? "root" : "nobody") << ", pid " << pid);
            for (const char* ns : {"mnt", "uts", "ipc", "net", "pid", "cgroup"}) {
                INFO(ns);
                CHECK(ns_of(pid, ns) == ns_of(ipid, ns));
                CHECK(ns_of(pid, ns) != host_namespace(ns));
            }
            // setns(CLONE_NEWNS) put it at the root the init pivoted to;
            // working_dir was applied below it.
            CHECK(identity(proc + "/root") == identity("/proc/" + std::to_string(ipid) + "/root"));
            CHECK(identity(proc + "/root") != identity("/"));
            CHECK(identity(proc + "/cwd") == identity("/proc/" + std::to_string(ipid) + "/root/tmp"));
            // Born in the container's pid namespace: a small pid there.
            auto nspid = split_words(status_field(pid, "NSpid"));
            REQUIRE(nspid.size() == 2);
            CHECK(nspid[0] == std::to_string(pid));
            CHECK(std::stoi(nspid[1]) > 1);
            CHECK(std::stoi(nspid[1]) < 100);
            CHECK(status_field(ipid, "NSpid") == std::to_string(ipid) + " 1");
            // Same cgroups (v2 by CLONE_INTO_CGROUP, v1 by cgroup_join).
            CHECK(slurp(proc + "/cgroup") == slurp("/proc/" + std::to_string(ipid) + "/cgroup"));
            if (!cgroups.v2().empty()) {
                std::string procs = slurp(cgroups.v2() / "cgroup.procs");
                CHECK_THAT(procs, Catch::Contains(std::to_string(pid)));
            }
            for (const std::string& join : request.cgroup_join)
                CHECK_THAT(slurp(join), Catch::Contains(std::to_string(pid)));
            // The init's reduced privileges; a clean signal state.
            CHECK(status_field(pid, "NoNewPrivs") == "1");
            CHECK(status_field(pid, "CapBnd") == status_field(ipid, "CapBnd"));
            CHECK(status_field(pid, "CapInh") == hex16(0));
            CHECK(status_field(pid, "CapAmb") == hex16(0));
            CHECK(status_field(pid, "SigBlk") == hex16(0));
            CHECK(status_field(pid, "SigIgn") == hex16(0));
            // Only stdin (/dev/null), stdout and stderr.
            CHECK(entries(proc + "/fd") == std::set<std::string>{"0", "1", "2"});
            CHECK(fs::read_symlink(proc + "/fd/0") == "/dev/null");
            const std::string env = slurp(proc + "/environ");
            CHECK_THAT(env, Catch::Contains(std::string("FOO=bar") + '\0'));
            CHECK_THAT(env, Catch::Contains(std::string("HOSTNAME=box") + '\0'));
            CHECK_THAT(env, Catch::Contains("PATH=/usr/local/sbin:"));
        }
        CHECK(status_field(root.process.pid, "Uid") == "0 0 0 0");
        CHECK(status_field(root.process.pid, "CapEff") == status_field(ipid, "CapEff"));
        CHECK(status_field(root.process.pid, "CapPrm") == status_field(ipid, "CapPrm"));
        CHECK(status_field(root.process.pid, "CapEff") != hex16(0));
        CHECK_THAT(slurp("/proc/" + std::to_string(root.process.pid) + "/environ"),
                   Catch::Contains(std::string("HOME=/root") + '\0'));
        CHECK(status_field(nobody.process.pid, "Uid") == "65534 65534 65534 65534");
        CHECK(status_field(nobody.process.pid, "Gid") == "65534 65534 65534 65534");
        CHECK(status_field(nobody.process.pid, "Groups") == "");
        CHECK(status_field(nobody.process.pid, "CapEff") == hex16(0));
        CHECK(status_field(nobody.process.pid, "CapPrm") == hex16(0));

        // A timeout's kill reaches it through its own pidfd.
        CHECK(kill_and_reap(nobody.process.pidfd).signal == SIGKILL);
        // The container's end takes the rest of its pid namespace along;
        // the init can be reaped only once they are (they are not its
        // children: zap_pid_ns_processes waits for their reaping).
        REQUIRE(sys::raw_pidfd_send_signal(init.process.pidfd.get(), SIGKILL) == 0);
        // Once the namespace is being torn down (the kernel kills the rest of
        // it), a dying container takes no new process.
        REQUIRE(wait_readable(root.process.pidfd.get()));
        try {
            Started late = exec(helper, init, request, {"true"});
            wait_exit(late.process.pidfd);
            FAIL("exec into a dying container was not refused");
        } catch (const Error& e) {
            CHECK_THAT(e.what(), Catch::StartsWith("clone3 into the container's pid namespace") ||
                                     Catch::StartsWith("setns(container pidfd, pid)"));
        }
        CHECK(wait_exit(root.process.pidfd).signal == SIGKILL);
        CHECK(wait_exit(init.process.pidfd).signal == SIGKILL);
    }
    leaks.check();
    CHECK_NO_TEST_CGROUPS();
}

TEST_CASE("exec in a container: what the command sees, its exit code, and a missing command",
          "[lifecycle][exec]") {
    LeakCheck leaks;
    {
        TempDir dir("exec-in");
        Helper helper;
        SpawnRequest request = container_request(dir, "seen", {"sleep", "30"});
        Started init = start(helper, request);
        REQUIRE(init.story.empty());

        const std::string script =
            "echo host=$(hostname);"
            "echo pid=$$;"
            "echo root=$(ls -a / | tr '\\n' ' ');"
            "echo whoami=$(whoami);"
            "echo pwd=$(pwd);"
            "echo nproc=$(ls -d /proc/[0-9]* | wc -l);"
            // The shell's own fds, listed by a child writing straight to stdout.
            "echo fds-begin; ls -1 /proc/$$/fd; echo fds-end;"
            "echo oops >&2;"
            "exit 7";
        SpawnRequest as_daemon = request;
        as_daemon.spec.user = "1";
        Started sh = exec(helper, init, as_daemon, {"sh", "-c", script});
        REQUIRE(sh.story.empty());
        const std::string out = read_all(sh.out.get());
        INFO(out);
        const sys::ExitStatus status = wait_exit(sh.process.pidfd);
        CHECK(status.signal == 0);
        CHECK(status.exit_code == 7);
        CHECK(read_all(sh.err.get()) == "oops\n");
        CHECK(value(out, "host") == "seen");
        const int inner_pid = std::stoi(value(out, "pid"));
        CHECK(inner_pid > 1);
        CHECK(inner_pid != sh.process.pid);
        // busybox's root, as the init sees it, not the host's.
        std::string root_listing = ". ..";
        for (const std::string& name : entries("/proc/" + std::to_string(init.process.pid) + "/root"))
            root_listing += " " + name;
        CHECK(value(out, "root") == root_listing);
        CHECK(value(out, "whoami") == "daemon");
        CHECK(value(out, "pwd") == "/");
        // The init, the shell and its pipeline: the container's /proc.
        CHECK(std::stoi(value(out, "nproc")) < 10);
        auto all = lines(out);
        auto begin = std::find(all.begin(), all.end(), "fds-begin");
        auto end = std::find(all.begin(), all.end(), "fds-end");
        REQUIRE(begin < end);
        CHECK(std::vector<std::string>(begin + 1, end) == std::vector<std::string>{"0", "1", "2"});

        // A missing command fails through the setup-error pipe, naming it.
        Started nope = exec(helper, init, request, {"nope"});
        CHECK(nope.story == "exec \"nope\": No such file or directory");
        CHECK(wait_exit(nope.process.pidfd).exit_code == 127);
        // So do the other steps, and a missing working directory is not made.
        SpawnRequest bad_user = request;
        bad_user.spec.user = "nosuchuser";
        Started unknown = exec(helper, init, bad_user, {"true"});
        CHECK(unknown.story == "user \"nosuchuser\": no such user in the container's /etc/passwd");
        CHECK(wait_exit(unknown.process.pidfd).exit_code == 127);
        SpawnRequest bad_dir = request;
        bad_dir.spec.working_dir = "/not/there";
        Started nodir = exec(helper, init, bad_dir, {"true"});
        CHECK(nodir.story == "chdir(\"/not/there\"): No such file or directory");
        CHECK(wait_exit(nodir.process.pidfd).exit_code == 127);
        CHECK_FALSE(fs::exists("/proc/" + std::to_string(init.process.pid) + "/root/not"));

        CHECK(kill_and_reap(init.process.pidfd).signal == SIGKILL);

        // Once the init is reaped its pidfd leads nowhere: refused, and the
        // helper still serves.
        try {
            Started late = exec(helper, init, request, {"true"});
            wait_exit(late.process.pidfd);
            FAIL("exec into a reaped container was not refused");
        } catch (const Error& e) {
            CHECK(std::string(e.what()) == "setns(container pidfd, pid): No such process");
        }
        Started again = start(helper, container_request(dir, "again", {"true"}));
        CHECK(again.story.empty());
        CHECK(wait_exit(again.process.pidfd).exit_code == 0);
    }
    leaks.check();
}

TEST_CASE("exec in a container with the host's pid and network namespaces", "[lifecycle][exec]") {
    LeakCheck leaks;
    {
        TempDir dir("exec-in");
        Helper helper;
        SpawnRequest request = container_request(dir, "hostns", {"sleep", "30"});
        request.spec.pid = PidMode::Host;
        request.spec.network = NetworkMode::Host;
        Started init = start(helper, request);
        REQUIRE(init.story.empty());
        Started e = exec(helper, init, request, {"sleep", "30"});
        REQUIRE(e.story.empty());
        const pid_t pid = e.process.pid;
        CHECK(ns_of(pid, "pid") == host_namespace("pid"));
        CHECK(ns_of(pid, "net") == host_namespace("net"));
        CHECK(status_field(pid, "NSpid") == std::to_string(pid));
        for (const char* ns : {"mnt", "uts", "ipc", "cgroup"}) {
            INFO(ns);
            CHECK(ns_of(pid, ns) == ns_of(init.process.pid, ns));
            CHECK(ns_of(pid, ns) != host_namespace(ns));
        }
        CHECK(identity("/proc/" + std::to_string(pid) + "/root") ==
              identity("/proc/" + std::to_string(init.process.pid) + "/root"));
        // Without a pid namespace of its own, the container's end does not
        // take it along: each is killed by its pidfd.
        CHECK(kill_and_reap(init.process.pidfd).signal == SIGKILL);
        CHECK(kill_and_reap(e.process.pidfd).signal == SIGKILL);
    }
    leaks.check();
}

TEST_CASE("a notify_dir is bound read-only at /dev/rusty, and its socket is reachable there",
          "[lifecycle][exec]") {
    LeakCheck leaks;
    {
        TempDir dir("notify");
        const fs::path notify = dir.make_dir("notify");
        dir.write("notify/hello", "hi\n");
        UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        REQUIRE(sock);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        const std::string sock_path = (notify / "notify.sock").string();
        std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
        REQUIRE(::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);

        Helper helper;
        SpawnRequest request = container_request(dir, "notified", {"sh", "-c",
            "echo ls=$(ls /dev/rusty | tr '\\n' ' ');"
            "echo hello=$(cat /dev/rusty/hello);"
            "echo touch=$(touch /dev/rusty/new 2>&1 || echo refused);"
            "echo mnt=$(grep ' /dev/rusty ' /proc/self/mountinfo | cut -d ' ' -f 6);"
            "echo socket=$(stat -c %F " + std::string(lifecycle::kNotifySocketInContainer) + ");"
            "echo ready; exec sleep 30"});
        request.rootfs.notify_dir = notify;
        Started init = start(helper, request);
        REQUIRE(init.story.empty());
        std::string out;
        char buf[4096];
        while (out.find("ready\n") == std::string::npos) {
            REQUIRE(wait_readable(init.out.get()));
            ssize_t n = ::read(init.out.get(), buf, sizeof buf);
            REQUIRE(n > 0);
            out.append(buf, static_cast<std::size_t>(n));
        }
        INFO(out);
        CHECK(value(out, "ls") == "hello notify.sock");
        CHECK(value(out, "hello") == "hi");
        CHECK_THAT(value(out, "touch"), Catch::Contains("Read-only file system"));
        const std::string flags = value(out, "mnt");
        for (const char* flag : {"ro", "nosuid", "nodev", "noexec"}) {
            INFO(flag);
            CHECK((',' + flags + ',').find(std::string(",") + flag + ",") != std::string::npos);
        }
        CHECK(value(out, "socket") == "socket");
        CHECK_FALSE(fs::exists(notify / "new"));

        // A datagram sent to the socket through the container's mounts (its
        // root, as the host reaches it) arrives: a read-only mount does not
        // stop a connect or a send.
        UniqueFd client(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_un inside{};
        inside.sun_family = AF_UNIX;
        const std::string via = "/proc/" + std::to_string(init.process.pid) + "/root" +
                                lifecycle::kNotifySocketInContainer;
        std::strncpy(inside.sun_path, via.c_str(), sizeof inside.sun_path - 1);
        CHECK(::sendto(client.get(), "READY=1", 7, 0, reinterpret_cast<sockaddr*>(&inside), sizeof inside) == 7);
        REQUIRE(wait_readable(sock.get()));
        char got[16] = {};
        CHECK(::recv(sock.get(), got, sizeof got, 0) == 7);
        CHECK(std::string(got) == "READY=1");

        CHECK(kill_and_reap(init.process.pidfd).signal == SIGKILL);
    }
    leaks.check();
}

TEST_CASE("without a notify_dir there is no /dev/rusty; a missing one fails the start, named",
          "[lifecycle][exec]") {
    LeakCheck leaks;
    {
        TempDir dir("notify");
        Helper helper;
        Started plain = start(helper, container_request(dir, "plain", {"sh", "-c", "test -e /dev/rusty"}));
        CHECK(plain.story.empty());
        CHECK(wait_exit(plain.process.pidfd).exit_code == 1);

        SpawnRequest request = container_request(dir, "missing", {"true"});
        request.rootfs.notify_dir = dir.path() / "nowhere";
        Started missing = start(helper, request);
        CHECK_THAT(missing.story, Catch::StartsWith("mount(\"" + (dir.path() / "nowhere").string() + "\", \"") &&
                                      Catch::EndsWith("/dev/rusty\", MS_BIND): No such file or directory"));
        CHECK(wait_exit(missing.process.pidfd).exit_code == 127);
    }
    leaks.check();
}

TEST_CASE("exec requests: the wire keeps the new fields; spawn and exec_in refuse each other's requests",
          "[lifecycle][exec]") {
    SpawnRequest r;
    r.id = 9;
    r.spec.name = "x";
    r.spec.argv = {"sleep", "1"};
    r.exec_argv = {"sh", "-c", "echo hi"};
    r.has_cgroup_fd = true;
    r.rootfs.notify_dir = "/run/x/notify";
    r.cgroup_join = {"/sys/fs/cgroup/pids/a/cgroup.procs"};
    SpawnRequest back = lifecycle::decode_spawn_request(lifecycle::encode(r));
    CHECK(back.id == 9);
    CHECK(back.exec_argv == r.exec_argv);
    CHECK(back.has_cgroup_fd);
    CHECK(back.rootfs.notify_dir == r.rootfs.notify_dir);
    CHECK(back.cgroup_join == r.cgroup_join);
    CHECK(back.spec.argv == r.spec.argv);
    CHECK_FALSE(lifecycle::decode_spawn_request(lifecycle::encode(SpawnRequest{})).has_cgroup_fd);

    LeakCheck leaks;
    {
        Helper helper;
        sys::Pipe out = sys::make_pipe();
        CHECK_THROWS_WITH(helper.spawn(r, out.write.get(), out.write.get()),
                          "spawn request with an exec command: use exec_in()");
        SpawnRequest no_command = r;
        no_command.exec_argv.clear();
        CHECK_THROWS_WITH(helper.exec_in(no_command, out.write.get(), out.write.get(), out.write.get()),
                          "exec request without a command");
        CHECK_THROWS_WITH(helper.exec_in(r, -1, out.write.get(), out.write.get()),
                          "exec request without the container's pidfd");
    }
    leaks.check();
}

}  // namespace
}  // namespace rusty::test
