#include "core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace rusty {
namespace {
std::string quoted(const std::filesystem::path& path) { return "\"" + path.string() + "\""; }
}  // namespace

std::string read_fd(int fd, std::string_view what, std::size_t limit) {
    std::string text;
    char chunk[16384];
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("read(" + std::string(what) + ")");
        if (n == 0) return text;
        if (text.size() + static_cast<std::size_t>(n) > limit)
            throw sys_error("read(" + std::string(what) + "): more than " + std::to_string(limit) + " bytes", EFBIG);
        text.append(chunk, static_cast<std::size_t>(n));
    }
}

std::string read_file(const std::filesystem::path& path, std::size_t limit) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_sys("open(" + quoted(path) + ")");
    return read_fd(fd.get(), quoted(path), limit);
}

std::string read_regular_file(const std::filesystem::path& path, std::size_t limit) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd) throw_sys("open(" + quoted(path) + ")");
    struct stat info;
    if (::fstat(fd.get(), &info) < 0) throw_sys("fstat(" + quoted(path) + ")");
    if (!S_ISREG(info.st_mode)) throw Error(quoted(path) + ": not a regular file", EINVAL);
    if (static_cast<std::uint64_t>(info.st_size) > limit)
        throw Error(quoted(path) + ": more than " + std::to_string(limit) + " bytes", EFBIG);
    return read_fd(fd.get(), quoted(path), limit);
}

std::optional<std::string> try_read_file(const std::filesystem::path& path, std::size_t limit) {
    try {
        return read_file(path, limit);
    } catch (const Error&) {
        return std::nullopt;
    }
}

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
    std::filesystem::path tmp = path;
    tmp += ".tmp-" + std::to_string(::getpid());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw_sys("open(" + quoted(tmp) + ")");
    while (!contents.empty()) {
        ssize_t n = ::write(fd.get(), contents.data(), contents.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::unlink(tmp.c_str());
            throw_sys("write(" + quoted(tmp) + ")", err);
        }
        contents.remove_prefix(static_cast<std::size_t>(n));
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw_sys("rename(" + quoted(tmp) + ", " + quoted(path) + ")", err);
    }
}

}  // namespace rusty
