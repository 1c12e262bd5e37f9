// process.terminal with --console-socket (the pty master by SCM_RIGHTS),
// and exec into a running container.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>

#include <thread>

#include "tests/runtime/runtime_helpers.hpp"

using namespace rusty::runtime_test;

namespace {

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_;
};

Fd listen_unix(const fs::path& path) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.string().size() < sizeof addr.sun_path);
    std::strcpy(addr.sun_path, path.c_str());
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd.get(), 4) == 0);
    return fd;
}

// Accepts one connection (waiting up to 10 s) and receives one fd from it.
Fd receive_fd(int listener) {
    pollfd p{listener, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 10'000) == 1);
    Fd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(conn);
    pollfd q{conn.get(), POLLIN, 0};
    REQUIRE(::poll(&q, 1, 10'000) == 1);
    char data[256];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
    REQUIRE(n >= 0);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return Fd(fd);
        }
    }
    FAIL("no fd came with the message");
    return Fd();
}

// Everything readable from the pty master until the slave side is closed
// (EIO) or `timeout` passes.
std::string read_pty(int master, std::chrono::milliseconds timeout = 10s) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{master, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        char buf[4096];
        const ssize_t n = ::read(master, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace

TEST_CASE("process.terminal sends the pty master to the console socket", "[runtime]") {
    Bundle b("console");
    const fs::path sock = b.tmp() / "console.sock";
    Fd listener = listen_unix(sock);
    b.config["process"]["terminal"] = true;
    b.set_shell("tty; echo hi-from-pty; test -t 0 && echo stdin-is-tty");

    Result created = b.create("tty1", {"--console-socket", sock.string()});
    INFO(created.describe());
    REQUIRE(created.code == 0);
    Fd master = receive_fd(listener.get());
    REQUIRE(master);
    Result started = b.start("tty1");
    INFO(started.describe());
    REQUIRE(started.code == 0);
    const std::string out = read_pty(master.get());
    INFO("pty output:\n" << out);
    CHECK(contains(out, "/dev/pts/0"));
    CHECK(contains(out, "hi-from-pty"));
    CHECK(contains(out, "stdin-is-tty"));
    CHECK(b.wait_status("tty1", "stopped"));
    CHECK(b.remove("tty1").code == 0);
    CHECK_NO_CGROUP(b.cgroup_path("tty1"));
}

TEST_CASE("process.terminal without --console-socket is refused", "[runtime]") {
    Bundle b("noconsole");
    b.config["process"]["terminal"] = true;
    Result r = b.create("tty2");
    INFO(r.describe());
    CHECK(r.code == 1);
    CHECK(contains(r.err, "console-socket"));
    CHECK(b.root_entries().empty());
    CHECK_NO_CGROUP(b.cgroup_path("tty2"));

    // And the reverse: a socket without a terminal.
    b.config["process"]["terminal"] = false;
    Result r2 = b.create("tty2", {"--console-socket", (b.tmp() / "nothing.sock").string()});
    CHECK(r2.code == 1);
    CHECK(b.root_entries().empty());
}

TEST_CASE("exec runs a process in a running container", "[runtime]") {
    Bundle b("exec");
    b.config["hostname"] = "exec-host";
    b.set_args({"sleep", "100"});
    Result run = b.run("ex", {"--detach"});
    INFO(run.describe());
    REQUIRE(run.code == 0);
    REQUIRE(b.wait_status("ex", "running"));
    const pid_t init = b.init_pid("ex");

    SECTION("ARGS") {
        Result r = b.rt({"exec", "ex", "sh", "-c", "echo $$; hostname; readlink /proc/1/exe; exit 3"});
        INFO(r.describe());
        CHECK(r.code == 3);  // its exit status
        const auto lines = lines_of(r.out);
        REQUIRE(lines.size() >= 3);
        // A pid in the container's pid namespace (the init is 1 there).
        CHECK(std::all_of(lines[0].begin(), lines[0].end(), ::isdigit));
        CHECK(lines[0] != "1");
        CHECK(lines[1] == "exec-host");
        CHECK(lines[2] == "/bin/busybox");  // the container's init, seen from inside
    }
    SECTION("--process FILE") {
        const fs::path process = b.tmp() / "process.json";
        std::ofstream(process) << json{{"args", {"sh", "-c", "echo via-process; id -u; echo $FOO"}},
                                       {"cwd", "/"},
                                       {"env", {"PATH=/bin", "FOO=bar"}},
                                       {"user", {{"uid", 1000}, {"gid", 1000}}}}
                                      .dump();
        Result r = b.rt({"exec", "--process", process.string(), "ex"});
        INFO(r.describe());
        CHECK(r.code == 0);
        CHECK(lines_of(r.out) == std::vector<std::string>{"via-process", "1000", "bar"});
    }
    SECTION("--detach --pid-file") {
        const fs::path pid_file = b.tmp() / "exec.pid";
        Result r = b.rt({"exec", "--detach", "--pid-file", pid_file.string(), "ex", "sleep", "100"});
        INFO(r.describe());
        REQUIRE(r.code == 0);
        REQUIRE(fs::exists(pid_file));
        const pid_t pid = std::stoi(read_file(pid_file));
        CHECK(pid > 0);
        CHECK(pid != init);
        CHECK(process_alive(pid));
        // It is the container's: in its cgroup (ps) and its pid namespace.
        Result ps = b.rt({"ps", "--format", "json", "ex"});
        INFO(ps.describe());
        json pids = json::parse(ps.out, nullptr, false);
        REQUIRE(pids.is_array());
        CHECK(std::find(pids.begin(), pids.end(), json(pid)) != pids.end());
        std::error_code ec;
        CHECK(fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/pid", ec) ==
              fs::read_symlink("/proc/" + std::to_string(init) + "/ns/pid", ec));
        // delete --force takes it down with the init.
        CHECK(b.remove("ex", true).code == 0);
        CHECK(eventually([&] { return !process_alive(pid); }));
    }
    SECTION("exec in a stopped container fails") {
        REQUIRE(b.kill("ex", "KILL").code == 0);
        REQUIRE(b.wait_status("ex", "stopped"));
        Result r = b.rt({"exec", "ex", "true"});
        CHECK(r.code == 1);
        CHECK(contains(r.err, "stopped"));
    }
    b.remove("ex", true);
    CHECK_NO_CGROUP(b.cgroup_path("ex"));
}

TEST_CASE("exec --tty sends a pty of the container's devpts to the console socket", "[runtime]") {
    Bundle b("exectty");
    b.set_shell("sleep 100");
    Result r = b.run("et", {"--detach"});
    INFO(r.describe());
    REQUIRE(r.code == 0);
    const fs::path sock = b.tmp() / "exec.sock";
    Fd listener = listen_unix(sock);
    Result e = b.rt({"exec", "--tty", "--detach", "--console-socket", sock.string(), "et", "sh", "-c",
                     "tty; test -t 1 && echo exec-stdout-is-tty"});
    INFO(e.describe());
    REQUIRE(e.code == 0);
    Fd master = receive_fd(listener.get());
    REQUIRE(master);
    const std::string out = read_pty(master.get());
    INFO("pty output:\n" << out);
    CHECK(contains(out, "/dev/pts/"));
    CHECK(contains(out, "exec-stdout-is-tty"));
    // The init's /dev/console is untouched by the exec.
    Result c = b.rt({"exec", "et", "sh", "-c", "test -e /dev/console && echo has-console || echo no-console"});
    CHECK(contains(c.out, "no-console"));  // the init has no terminal: no /dev/console was made
    CHECK(b.remove("et", true).code == 0);
    CHECK_NO_CGROUP(b.cgroup_path("et"));
}

TEST_CASE("kill --all signals every process of the container; run forwards signals to its init", "[runtime]") {
    Bundle b("killall");
    // The init ignores SIGTERM; its child does not.
    b.set_shell("trap '' TERM; sleep 100 & wait; echo child-ended; sleep 100");
    Result r = b.run("ka", {"--detach"});
    INFO(r.describe());
    REQUIRE(r.code == 0);
    CHECK(b.rt({"kill", "ka", "TERM"}).code == 0);
    std::this_thread::sleep_for(200ms);
    CHECK(b.status("ka") == "running");  // the init ignored it
    CHECK(b.rt({"kill", "--all", "ka", "KILL"}).code == 0);
    CHECK(b.wait_status("ka", "stopped"));
    CHECK(b.remove("ka").code == 0);

    // A foreground run: SIGTERM to the runtime reaches the container's init,
    // whose trap answers; the runtime returns the init's exit status.
    Bundle f("forward");
    f.set_shell("trap 'echo got-term; exit 42' TERM; while true; do sleep 0.05; done");
    f.write_config("fw");
    const fs::path out = f.tmp() / "fw.out";
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ::dup2(fd, 1);
        ::execl(RUSTY_RUNTIME_BIN, RUSTY_RUNTIME_BIN, "--root", f.root().c_str(), "run", "--bundle",
                f.dir().c_str(), "fw", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    CHECK(eventually([&] { return f.status("fw") == "running"; }));
    std::this_thread::sleep_for(100ms);  // the trap is set
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 42);
    CHECK(contains(read_file(out), "got-term"));
    CHECK(f.root_entries().empty());  // run deletes what it made
    CHECK_NO_CGROUP(f.cgroup_path("fw"));
}
