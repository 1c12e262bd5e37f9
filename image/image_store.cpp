#include "image/image_store.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <system_error>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/strings.hpp"
#include "core/syscalls.hpp"

extern char** environ;

namespace rusty::image {
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, std::string_view text, mode_t mode = 0644) {
    std::ofstream out(path);
    out << text;
    out.close();
    if (!out) throw Error("write \"" + path.string() + "\" failed");
    ::chmod(path.c_str(), mode);
}

// `busybox --list-full` names every applet with its install path
// ("bin/sh", "usr/bin/awk"); the image links each to /bin/busybox.
std::vector<std::string> list_applets(const fs::path& busybox) {
    sys::Pipe pipe = sys::make_pipe();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe.write.get(), 1);
    std::string path = busybox.string();
    char* argv[] = {path.data(), const_cast<char*>("--list-full"), nullptr};
    pid_t pid;
    int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw sys_error("run \"" + path + " --list-full\"", rc);
    pipe.write.reset();
    std::string output;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipe.read.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) output.append(buf, static_cast<std::size_t>(n));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw Error("\"" + path + " --list-full\" failed");
    std::vector<std::string> applets;
    for (std::string_view line : split(output, '\n'))
        if (!line.empty()) applets.emplace_back(line);
    return applets;
}

}  // namespace

void build_busybox_rootfs(const fs::path& dir, const fs::path& busybox) {
    if (::access(busybox.c_str(), X_OK) < 0)
        throw sys_error("busybox image needs \"" + busybox.string() + "\" (apt-get install busybox-static)");
    for (const char* sub : {"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "home",
                            "var/log", "run", "mnt"})
        fs::create_directories(dir / sub);
    fs::create_directory(dir / "tmp");
    fs::permissions(dir / "tmp", fs::perms(01777));
    fs::create_directory(dir / "root");
    fs::permissions(dir / "root", fs::perms(0700));
    fs::copy_file(busybox, dir / "bin/busybox");
    fs::permissions(dir / "bin/busybox", fs::perms(0755));
    for (const std::string& applet : list_applets(busybox)) {
        fs::path link = dir / applet;
        if (applet == "bin/busybox" || fs::exists(fs::symlink_status(link))) continue;
        fs::create_directories(link.parent_path());
        fs::create_symlink("/bin/busybox", link);
    }
    write_text(dir / "etc/passwd",
               "root:x:0:0:root:/root:/bin/sh\n"
               "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
               "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    write_text(dir / "etc/group",
               "root:x:0:\ndaemon:x:1:\ntty:x:5:\nusers:x:100:\nnogroup:x:65534:\n");
    write_text(dir / "etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    write_text(dir / "etc/os-release", "NAME=\"rusty busybox\"\nID=busybox\n");
}

fs::path ImageStore::ensure(std::string_view name) {
    if (name != "busybox") throw Error("unknown image \"" + std::string(name) + "\"");
    fs::path image = root_ / name;
    std::error_code ec;
    if (fs::is_directory(image, ec)) return image;  // the fast path: built before

    fs::create_directories(root_, ec);
    if (ec) throw Error("create \"" + root_.string() + "\": " + ec.message());
    fs::path lock_path = root_ / ".lock";
    UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock) throw_sys("open(\"" + lock_path.string() + "\")");
    if (::flock(lock.get(), LOCK_EX) < 0) throw_sys("flock(\"" + lock_path.string() + "\")");
    if (fs::is_directory(image, ec)) return image;  // another process built it meanwhile

    fs::path staging = root_ / ("." + std::string(name) + ".building-" + std::to_string(::getpid()));
    fs::remove_all(staging, ec);
    fs::create_directory(staging);
    try {
        build_busybox_rootfs(staging, kBusyboxBinary);
        fs::rename(staging, image);
    } catch (const std::exception& e) {
        fs::remove_all(staging, ec);
        throw Error(std::string("build image \"busybox\": ") + e.what());
    }
    return image;
}

}  // namespace rusty::image
