// The container init's steps, shared by lifecycle/container_init.cpp (the
// supervisor's fixed layout, exec into a running container) and
// lifecycle/container_init_oci.cpp (rusty-runtime's config.json). Internal
// to those two files: the public entry points are in container_init.hpp.
#pragma once

#include <sys/types.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "core/oci_spec.hpp"
#include "lifecycle/container_init.hpp"
#include "lifecycle/messages.hpp"

namespace rusty::lifecycle::init_steps {

inline constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// /etc/passwd and /etc/group larger than this are not believed.
inline constexpr std::size_t kMaxDatabase = 4 << 20;

struct DeviceNode {
    const char* name;
    unsigned major, minor;
};
inline constexpr DeviceNode kDevices[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

// The steps of a container's init, and of a process exec'd into a running
// container, which shares the user, privilege and exec steps.
class Init {
public:
    Init(const SpawnRequest& request, int error_fd) : req_(request), error_fd_(error_fd) {}

    [[noreturn]] void run(const InitFds& fds, ino_t parent_mount_ns);
    [[noreturn]] void run_exec(const InitFds& fds, int container_pidfd);

private:
    template <class Steps>
    [[noreturn]] void guarded(Steps steps);
    [[noreturn]] void run_steps(const InitFds& fds, ino_t parent_mount_ns);
    [[noreturn]] void run_exec_steps(const InitFds& fds, int container_pidfd);

    // Reports the failed step to the supervisor and ends the child.
    [[noreturn]] __attribute__((format(printf, 3, 4))) void fail(int err, const char* fmt, ...) {
        SetupFailure failure;
        failure.sys_errno = err;
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(failure.what, sizeof failure.what, fmt, ap);
        va_end(ap);
        const ssize_t n = ::write(error_fd_, &failure, sizeof failure);
        if (n != static_cast<ssize_t>(sizeof failure) || start_gated_) {
            // After `create` returned no one reads the pipe: tell the
            // container's stderr, which its manager logs.
            std::string text = "rusty-runtime: " + describe(failure) + "\n";
            [[maybe_unused]] ssize_t w = ::write(2, text.data(), text.size());
        }
        ::_exit(127);
    }

    std::string at(const char* rel) const { return target_ + rel; }

    void setup_stdio(const InitFds& fds, std::initializer_list<int*> keep);
    void setup_console();
    void join_cgroups();
    void join_namespaces(int container_pidfd);
    void setup_rootfs(ino_t parent_mount_ns);
    int open_in_root(const char* rel);
    void mount_in_root(const char* source, const char* rel, const char* fstype, unsigned long flags,
                       const char* data);
    void setup_dev();
    void harden_proc_and_sys();
    // rusty-runtime's steps (req_.oci): config.json's mounts, devices,
    // sysctl, hooks, rlimits and the create/start gate.
    [[noreturn]] void run_oci_steps(const InitFds& fds, ino_t parent_mount_ns);
    void check_own_mount_namespace(ino_t parent_mount_ns);
    void setup_oci_rootfs(ino_t parent_mount_ns);
    void mount_oci(const oci::Mount& m);
    void mount_cgroup_view(const oci::Mount& m);
    void make_oci_devices(bool dev_is_tmpfs);
    void write_sysctls();
    void run_create_hooks();
    void enter_oci_root();
    void apply_process_limits();
    void wait_for_start();
    std::string find_executable(const std::string& cmd);
    enum class Create { No, Directory, File };
    int resolve_in_root(const std::string& path, Create create);
    static std::string fd_path(int fd);
    void remount_read_only(const std::string& path);
    void enter_root();
    void resolve_user();
    std::vector<std::vector<std::string>> read_colon_file(const char* path);
    void drop_privileges();
    void load_seccomp();
    void build_env();
    [[noreturn]] void become_user_and_exec(const std::vector<std::string>& argv, bool create_working_dir);
    [[noreturn]] void exec(const std::vector<std::string>& argv);

    static void stamp(std::int64_t& at) { at = monotonic_ns(); }

    const SpawnRequest& req_;
    int error_fd_;
    InitSteps steps_;
    int console_fd_ = -1;  // the console socket, until setup_console() has used it
    std::string target_;
    int root_fd_ = -1;

    uid_t uid_ = 0;
    gid_t gid_ = 0;
    std::vector<gid_t> groups_;
    std::string home_ = "/";
    std::vector<std::string> env_;
    mode_t umask_ = 022;
    // rusty-runtime: the fds of OciSetup after setup_stdio, and the state
    // JSON its startContainer hooks get.
    int exec_fifo_fd_ = -1;
    int hook_fd_ = -1;
    std::string state_json_;
    std::string exec_path_;  // the command, already looked up in PATH
    bool start_gated_ = false;  // 'R' said: the runtime may be gone, its pipe with it
    bool own_dev_ = true;       // /dev is a tmpfs of the init's own (config.json may say otherwise)
};

// Mount flags to keep when remounting: a bind remount that drops a locked
// flag (nosuid, nodev, noexec…) is refused with EPERM.
unsigned long preserved_flags(const std::string& path);
// A uid or gid: decimal, below (uid_t)-1.
bool parse_id(std::string_view text, std::uint32_t& id);

}  // namespace rusty::lifecycle::init_steps
