// Helpers of the rusty-runtime suite: running the real binary (and runc, to
// compare) as a subprocess with a deadline, and Bundle, a scratch OCI bundle
// with a busybox rootfs, its own --root and its own cgroups.
//
// Every command's stdout and stderr go to files, not pipes: `create`,
// `run --detach` and `exec --detach` leave a container holding the
// runtime's stdout, and a pipe would never reach EOF. A test reads the
// container's later output from the file of the command that made it
// (Result::out_file).
//
// Cgroups: each Bundle puts its containers under
// /rusty-test-<pid>/<bundle name>/<id>; its destructor runs `delete --force`
// for every id it created, then removes its own subtree in every hierarchy
// (deepest first) and the /rusty-test-<pid> parent when that is empty.
// Nothing outside /rusty-test-<pid> is ever touched, and only processes this
// test started are signalled, by pid.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/oci_spec.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

namespace rusty::runtime_test {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

inline constexpr std::chrono::milliseconds kCommandTimeout = 60s;

// ---- small file and process helpers ----------------------------------------

inline std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

inline std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    return s.substr(i);
}

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(line);
    }
    return out;
}

inline bool contains(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

// The line that starts with `prefix`, without it (trimmed); nullopt if none.
inline std::optional<std::string> line_after(const std::string& text, const std::string& prefix) {
    for (const std::string& line : lines_of(text))
        if (line.rfind(prefix, 0) == 0) return trim(line.substr(prefix.size()));
    return std::nullopt;
}

// True while /proc/<pid> exists and is not a zombie.
inline bool process_alive(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!in || !std::getline(in, stat)) return false;
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
    const char state = stat[paren + 2];
    return state != 'Z' && state != 'X';
}

// Polls `cond` every 10 ms until it holds or `timeout` passes.
template <class Cond>
bool eventually(Cond cond, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (cond()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
}

// ---- running a command ------------------------------------------------------

struct Result {
    std::vector<std::string> argv;
    bool exited = false;
    int code = -1;        // exit status, or 128 + signal
    bool timed_out = false;
    std::string out;      // stdout when the command ended
    std::string err;
    fs::path out_file;    // where its stdout went (a container it left behind still writes there)

    // The file's contents now: output a container wrote after the command ended.
    std::string out_now() const { return read_file(out_file); }

    std::string describe() const {
        std::ostringstream s;
        s << "$";
        for (const auto& a : argv) s << ' ' << a;
        s << "\n";
        if (timed_out) s << "TIMED OUT (killed); ";
        s << "exit " << code << "\n--- stdout ---\n" << out << "--- stderr ---\n" << err << "---";
        return s.str();
    }
};

// Runs argv[0] (an absolute path) with stdout and stderr into files of
// `io_dir`, stdin from `stdin_file` (/dev/null when empty). Waits for it up
// to `timeout`, then SIGKILLs it (our own child, by pid) and reaps it.
inline Result run_command(std::vector<std::string> argv, const fs::path& io_dir,
                          std::chrono::milliseconds timeout = kCommandTimeout, const fs::path& stdin_file = {}) {
    static std::atomic<int> counter{0};
    const int n = counter++;
    Result r;
    r.argv = argv;
    r.out_file = io_dir / ("cmd-" + std::to_string(n) + ".out");
    const fs::path err_file = io_dir / ("cmd-" + std::to_string(n) + ".err");
    fs::create_directories(io_dir);

    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const int out_fd = ::open(r.out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err_fd = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int in_fd = ::open(stdin_file.empty() ? "/dev/null" : stdin_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || err_fd < 0 || in_fd < 0) FAIL("open the command's io files: " << std::strerror(errno));
    const pid_t parent = ::getpid();

    sigset_t all, saved;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved);
    const pid_t pid = ::fork();
    if (pid == 0) {
        // The runtime, not the containers it clones, dies with the test.
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || ::getppid() != parent) ::_exit(126);
        if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(126);
        ::syscall(SYS_close_range, 3U, ~0U, 0U);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(cargv[0], cargv.data(), environ);
        ::_exit(127);
    }
    const int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    ::close(out_fd);
    ::close(err_fd);
    ::close(in_fd);
    if (pid < 0) FAIL("fork: " << std::strerror(fork_errno));

    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    bool done = false;
    if (pidfd >= 0) {
        pollfd p{pidfd, POLLIN, 0};
        int rc;
        do {
            rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
        } while (rc < 0 && errno == EINTR);
        done = rc > 0;
        ::close(pidfd);
    }
    if (!done) {
        r.timed_out = true;
        ::kill(pid, SIGKILL);  // our unreaped child: the pid is still ours
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        r.exited = true;
        r.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r.code = 128 + WTERMSIG(status);
    }
    r.out = read_file(r.out_file);
    r.err = read_file(err_file);
    return r;
}

inline std::string runc_binary() {
    for (const char* p : {"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"})
        if (::access(p, X_OK) == 0) return p;
    return {};
}

// ---- cgroups ----------------------------------------------------------------

inline std::string test_cgroup_parent() { return "/rusty-test-" + std::to_string(::getpid()); }

// The root of every mounted hierarchy: /sys/fs/cgroup itself on a pure v2
// host, else each directory under it (v1 controllers, name=systemd, unified).
inline std::vector<fs::path> cgroup_hierarchies() {
    std::vector<fs::path> out;
    if (::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
        out.emplace_back("/sys/fs/cgroup");
        return out;
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup", ec)) {
        if (entry.is_symlink(ec) || !entry.is_directory(ec)) continue;
        if (::access((entry.path() / "cgroup.procs").c_str(), F_OK) != 0) continue;
        out.push_back(entry.path());
    }
    return out;
}

// Directories of cgroup `path` (absolute, e.g. "/rusty-test-1/b0/c1") that
// exist in any hierarchy.
inline std::vector<fs::path> existing_cgroup_dirs(const std::string& path) {
    std::vector<fs::path> out;
    for (const fs::path& h : cgroup_hierarchies()) {
        const fs::path dir = h / path.substr(1);
        std::error_code ec;
        if (fs::is_directory(dir, ec)) out.push_back(dir);
    }
    return out;
}

// rmdir of cgroup `path` and everything below it, deepest first, in every
// hierarchy. Only under this process's /rusty-test-<pid>. Retries while the
// kernel still counts a dying task.
inline void remove_cgroup_tree(const std::string& path) {
    const std::string parent = test_cgroup_parent();
    if (path != parent && path.rfind(parent + "/", 0) != 0) return;  // never anything else
    for (const fs::path& dir : existing_cgroup_dirs(path)) {
        std::vector<fs::path> dirs;
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
            if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path());
        dirs.push_back(dir);
        std::sort(dirs.begin(), dirs.end(),
                  [](const fs::path& a, const fs::path& b) { return a.string().size() > b.string().size(); });
        for (const fs::path& d : dirs)
            for (int i = 0; i < 200 && ::rmdir(d.c_str()) < 0 && errno == EBUSY; ++i) std::this_thread::sleep_for(10ms);
    }
}

inline std::string memory_v1_root() {
    return ::access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0 ? "/sys/fs/cgroup/memory" : "";
}

// ---- Bundle -------------------------------------------------------------------

// The busybox applets linked into every rootfs.
inline const std::vector<std::string>& applets() {
    static const std::vector<std::string> names = {
        "sh",    "cat",   "grep",  "echo",  "sleep", "id",   "hostname", "ls",   "mount",  "unshare", "touch",
        "mkdir", "wc",    "head",  "awk",   "sort",  "stat", "readlink", "tty",  "cut",    "tr",      "sed",
        "test",  "true",  "false", "kill",  "env",   "rm",   "printf",   "ps",   "uniq",   "tail"};
    return names;
}

class Bundle {
public:
    // `name` tells the bundle's origin in /tmp and names its cgroup subtree.
    explicit Bundle(const std::string& name = "rt") : tmp_("rt-" + name), name_(unique_name(name)) {
        fs::create_directories(rootfs() / "bin");
        for (const char* d : {"proc", "dev", "sys", "tmp", "etc", "root"}) fs::create_directories(rootfs() / d);
        fs::copy_file("/bin/busybox", rootfs() / "bin" / "busybox");
        for (const std::string& applet : applets()) fs::create_symlink("busybox", rootfs() / "bin" / applet);
        config = rusty::oci::default_spec_json();
        config["process"]["terminal"] = false;
        config["process"]["args"] = json::array({"true"});
    }
    ~Bundle() { cleanup(); }
    Bundle(const Bundle&) = delete;
    Bundle& operator=(const Bundle&) = delete;

    json config;
    // When false, write_config() leaves linux.cgroupsPath as the test set it
    // (it must still be under cgroup_base()).
    bool auto_cgroups_path = true;

    const fs::path& tmp() const { return tmp_.path(); }
    fs::path dir() const { return tmp() / "bundle"; }
    fs::path rootfs() const { return dir() / "rootfs"; }
    fs::path root() const { return tmp() / "state"; }  // --root
    fs::path runc_root() const { return tmp() / "runc-state"; }
    fs::path io() const { return tmp() / "io"; }
    // This bundle's cgroup subtree: /rusty-test-<pid>/<name>.
    std::string cgroup_base() const { return test_cgroup_parent() + "/" + name_; }
    std::string cgroup_path(const std::string& id) const { return cgroup_base() + "/" + id; }

    void set_args(std::vector<std::string> args) { config["process"]["args"] = std::move(args); }
    void set_shell(const std::string& script) { set_args({"sh", "-c", script}); }

    // A host directory (mode 0777) under the scratch dir, bound at `dest`.
    fs::path bind_host_dir(const std::string& name, const std::string& dest,
                           std::vector<std::string> options = {"rbind", "rw"}) {
        const fs::path host = tmp() / name;
        fs::create_directories(host);
        fs::permissions(host, fs::perms::all);
        config["mounts"].push_back({{"destination", dest}, {"type", "bind"}, {"source", host.string()},
                                    {"options", std::move(options)}});
        return host;
    }
    void add_mount(json mount) { config["mounts"].push_back(std::move(mount)); }
    // A writable tmpfs at `dest` (the default root is read-only).
    void add_tmpfs(const std::string& dest, std::vector<std::string> options = {"nosuid", "nodev", "mode=1777"}) {
        add_mount({{"destination", dest}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", std::move(options)}});
    }

    // Writes config.json, with linux.cgroupsPath = cgroup_path(id) unless
    // auto_cgroups_path is off.
    void write_config(const std::string& id) {
        if (auto_cgroups_path) config["linux"]["cgroupsPath"] = cgroup_path(id);
        write_raw_config(config.dump(2));
    }
    void write_raw_config(const std::string& text) {
        std::ofstream out(dir() / "config.json", std::ios::trunc);
        out << text;
        out.close();
        if (!out) FAIL("cannot write " << dir() / "config.json");
    }

    // rusty-runtime --root root() args…
    Result rt(std::vector<std::string> args, std::chrono::milliseconds timeout = kCommandTimeout,
              const fs::path& stdin_file = {}) {
        args.insert(args.begin(), {RUSTY_RUNTIME_BIN, "--root", root().string()});
        return run_command(std::move(args), io(), timeout, stdin_file);
    }
    // create --bundle dir() [extra…] id, with the config written for `id`.
    Result create(const std::string& id, std::vector<std::string> extra = {}) {
        write_config(id);
        ids_.insert(id);
        std::vector<std::string> args = {"create", "--bundle", dir().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(id);
        return rt(args);
    }
    // run --bundle dir() [extra…] id (foreground unless extra has --detach).
    Result run(const std::string& id, std::vector<std::string> extra = {},
               std::chrono::milliseconds timeout = kCommandTimeout) {
        write_config(id);
        ids_.insert(id);
        std::vector<std::string> args = {"run", "--bundle", dir().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(id);
        return rt(args, timeout);
    }
    Result start(const std::string& id) { return rt({"start", id}); }
    Result state(const std::string& id) { return rt({"state", id}); }
    Result kill(const std::string& id, const std::string& sig = "SIGKILL") { return rt({"kill", id, sig}); }
    Result remove(const std::string& id, bool force = false) {
        return force ? rt({"delete", "--force", id}) : rt({"delete", id});
    }

    // `state` parsed; nullopt when it fails.
    std::optional<json> state_json(const std::string& id) {
        Result r = state(id);
        if (r.code != 0) return std::nullopt;
        json j = json::parse(r.out, nullptr, false);
        if (j.is_discarded()) return std::nullopt;
        return j;
    }
    std::string status(const std::string& id) {
        auto j = state_json(id);
        return j ? j->value("status", "?") : "<state failed>";
    }
    bool wait_status(const std::string& id, const std::string& want, std::chrono::milliseconds timeout = 10s) {
        return eventually([&] { return status(id) == want; }, timeout);
    }
    pid_t init_pid(const std::string& id) {
        auto j = state_json(id);
        return j ? j->value("pid", 0) : 0;
    }

    // runc --root runc_root() args…, with linux.cgroupsPath cgroup_path(id)
    // for run/create.
    Result runc(const std::string& verb, const std::string& id, std::vector<std::string> extra = {},
                std::chrono::milliseconds timeout = kCommandTimeout) {
        const std::string bin = runc_binary();
        if (bin.empty()) FAIL("runc is not installed");
        if (verb == "run" || verb == "create") {
            write_config(id);
            runc_ids_.insert(id);
        }
        std::vector<std::string> args = {bin, "--root", runc_root().string(), verb};
        if (verb == "run" || verb == "create") args.insert(args.end(), {"--bundle", dir().string()});
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(id);
        return run_command(std::move(args), io(), timeout);
    }

    // What --root holds (names), empty when it is empty or missing.
    std::vector<std::string> root_entries() const {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(root(), ec)) out.push_back(e.path().filename().string());
        return out;
    }

    void cleanup() {
        if (cleaned_) return;
        cleaned_ = true;
        // From a destructor: a failure here must not throw (Catch's FAIL does).
        try {
            for (const std::string& id : ids_) rt({"delete", "--force", id}, 30s);
            if (!runc_ids_.empty()) {
                const std::string bin = runc_binary();
                for (const std::string& id : runc_ids_)
                    run_command({bin, "--root", runc_root().string(), "delete", "--force", id}, io(), 30s);
            }
        } catch (...) {
        }
        remove_cgroup_tree(cgroup_base());
        // The parent goes with the last bundle of this process.
        for (const fs::path& dir : existing_cgroup_dirs(test_cgroup_parent())) ::rmdir(dir.c_str());
    }

private:
    static std::string unique_name(const std::string& name) {
        static std::atomic<int> counter{0};
        return name + "-" + std::to_string(counter++);
    }

    rusty::test::TempDir tmp_;
    std::string name_;
    std::set<std::string> ids_;
    std::set<std::string> runc_ids_;
    bool cleaned_ = false;
};

// Checks that cgroup `path` exists in no hierarchy.
#define CHECK_NO_CGROUP(path)                                                       \
    do {                                                                            \
        const auto left_ = ::rusty::runtime_test::existing_cgroup_dirs(path);       \
        for (const auto& l_ : left_) UNSCOPED_INFO("cgroup left behind: " << l_);   \
        CHECK(left_.empty());                                                       \
    } while (0)

}  // namespace rusty::runtime_test
