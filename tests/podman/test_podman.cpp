// rusty-runtime driven by Debian's podman (through conmon), offline: a
// busybox image imported from a tarball into a podman storage of the
// test's own (--root, --runroot), removed afterwards. What a podman user
// does: run, run -d then stop, exec (with and without -t), logs, run -t,
// run --memory.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;

namespace {

struct Output {
    int status = -1;
    std::string out;  // stdout and stderr
};

Output shell(const std::string& command) {
    Output o;
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p) return o;
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) o.out.append(buf.data(), n);
    const int status = ::pclose(p);
    o.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

// A podman of the test's own: its storage, run state and cgroup parent
// under a temporary directory, the runtime under test, cgroupfs paths.
class Podman {
public:
    Podman() {
        char tmpl[] = "/tmp/rusty-podman-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        cgroup_parent_ = "/rusty-test-podman-" + std::to_string(::getpid());
        base_ = "podman --root " + dir_ + "/storage --runroot " + dir_ + "/run --tmpdir " + dir_ +
                "/tmp --runtime " RUSTY_RUNTIME_BIN " --cgroup-manager cgroupfs --events-backend file"
                " --storage-driver vfs";
        // busybox-static, one symlink per applet, imported as an image.
        const std::string rootfs = dir_ + "/image";
        shell("mkdir -p " + rootfs + "/bin " + rootfs + "/etc " + rootfs + "/tmp && cp /bin/busybox " + rootfs +
              "/bin/ && for c in $(/bin/busybox --list); do [ $c = busybox ] || ln -s busybox " + rootfs +
              "/bin/$c; done && echo 'root:x:0:0:root:/root:/bin/sh' > " + rootfs +
              "/etc/passwd && echo 'root:x:0:' > " + rootfs + "/etc/group && tar -C " + rootfs + " -cf " + dir_ +
              "/busybox.tar .");
        imported_ = shell(base_ + " import " + dir_ + "/busybox.tar localhost/rusty-busybox:test");
    }
    ~Podman() {
        shell(base_ + " rm -a -f -t 0");
        shell(base_ + " rmi -a -f");
        shell(base_ + " system reset -f");
        shell("rm -rf " + dir_);
        // The containers' and conmon's cgroups (<parent>/libpod-…, <parent>/conmon):
        // only this test's parent, deepest first, once podman's cleanup
        // processes (started by conmon, in its cgroup) have left them (5 s at most).
        const std::string dirs = "/sys/fs/cgroup/*/" + cgroup_parent_.substr(1) + " /sys/fs/cgroup/" +
                                 cgroup_parent_.substr(1);
        shell("for i in $(seq 50); do left=0; for d in " + dirs +
              "; do [ -d \"$d\" ] || continue; find \"$d\" -depth -type d -exec rmdir {} + 2>/dev/null;"
              " [ -d \"$d\" ] && left=1; done; [ $left = 0 ] && break; sleep 0.1; done; true");
    }
    const Output& imported() const { return imported_; }
    Output run(const std::string& args) const { return shell("timeout 120 " + base_ + " " + args); }
    // `podman run` with ulimits this host allows: podman's default nofile
    // (1048576) exceeds the hard limit of a host without CAP_SYS_RESOURCE.
    Output run_image(const std::string& flags, const std::string& command) const {
        return run("run " + flags + " --cgroup-parent " + cgroup_parent_ +
                   " --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 localhost/rusty-busybox:test " + command);
    }

private:
    std::string dir_;
    std::string cgroup_parent_;  // the test's own, not podman's /libpod_parent
    std::string base_;
    Output imported_;
};

bool have_podman() { return shell("command -v podman").status == 0; }

}  // namespace

TEST_CASE("podman runs rusty-runtime containers: run, -d and stop, exec, logs, -t, --memory", "[podman]") {
    if (!have_podman()) FAIL("podman is not installed: scripts/install-deps.sh installs it");
    const std::string parent = "rusty-test-podman-" + std::to_string(::getpid());
    {
        Podman podman;
        INFO(podman.imported().out);
        REQUIRE(podman.imported().status == 0);

        SECTION("run --rm … echo hi") {
            Output o = podman.run_image("--rm --network none", "echo hi");
            INFO(o.out);
            CHECK(o.status == 0);
            CHECK(o.out.find("hi\n") != std::string::npos);
        }
        SECTION("an exit status comes back") {
            Output o = podman.run_image("--rm", "sh -c 'exit 3'");
            CHECK(o.status == 3);
        }
        SECTION("run -d, exec, logs, stop") {
            Output id = podman.run_image("-d --name rusty-d",
                                         "sh -c 'echo started; trap \"echo bye; exit 0\" TERM; while true; do sleep 0.1; done'");
            INFO(id.out);
            REQUIRE(id.status == 0);
            Output exec = podman.run("exec rusty-d sh -c 'echo exec-ok; cat /proc/1/cmdline | tr \"\\0\" \" \"'");
            INFO(exec.out);
            CHECK(exec.status == 0);
            CHECK(exec.out.find("exec-ok") != std::string::npos);
            CHECK(exec.out.find("while true") != std::string::npos);  // the same pid namespace
            Output exec_tty = podman.run("exec -t rusty-d sh -c 'tty; echo exec-tty-ok'");
            INFO(exec_tty.out);
            CHECK(exec_tty.status == 0);
            CHECK(exec_tty.out.find("/dev/pts/") != std::string::npos);
            CHECK(exec_tty.out.find("exec-tty-ok") != std::string::npos);
            Output stop = podman.run("stop -t 10 rusty-d");
            INFO(stop.out);
            CHECK(stop.status == 0);
            Output logs = podman.run("logs rusty-d");
            INFO(logs.out);
            CHECK(logs.out.find("started") != std::string::npos);
            CHECK(logs.out.find("bye") != std::string::npos);  // stopped by SIGTERM, not killed
            Output state = podman.run("inspect -f '{{.State.Status}} {{.State.ExitCode}}' rusty-d");
            CHECK(state.out.find("exited 0") != std::string::npos);
            CHECK(podman.run("rm rusty-d").status == 0);
        }
        SECTION("run -t: a terminal through --console-socket") {
            Output o = podman.run_image("--rm -t", "sh -c 'tty; echo tty-ok'");
            INFO(o.out);
            CHECK(o.status == 0);
            CHECK(o.out.find("/dev/pts/0") != std::string::npos);
            CHECK(o.out.find("tty-ok") != std::string::npos);
        }
        SECTION("the containers' cgroups are under the test's own parent") {
            Output id = podman.run_image("-d --name rusty-cg", "sleep 100");
            REQUIRE(id.status == 0);
            Output host = podman.run("inspect -f '{{.State.Pid}}' rusty-cg");
            const std::string pid = host.out.substr(0, host.out.find('\n'));
            Output cgroups = shell("cat /proc/" + pid + "/cgroup");
            INFO(cgroups.out);
            CHECK(cgroups.out.find("/rusty-test-podman-") != std::string::npos);
            CHECK(podman.run("rm -f -t 0 rusty-cg").status == 0);
        }
        SECTION("run --memory 64m: the limit is visible inside") {
            Output o = podman.run_image("--rm --memory 64m",
                                        "sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat "
                                        "/sys/fs/cgroup/memory.max'");
            INFO(o.out);
            CHECK(o.status == 0);
            CHECK(o.out.find("67108864") != std::string::npos);
        }
    }
    // Podman's teardown left no cgroup of this test behind, in any hierarchy.
    CHECK(shell("ls -d /sys/fs/cgroup/*/" + parent + " /sys/fs/cgroup/" + parent + " 2>/dev/null | wc -l").out ==
          "0\n");
}
