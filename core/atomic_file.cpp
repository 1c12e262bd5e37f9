#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace rusty {

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
    std::filesystem::path tmp = path;
    tmp += ".tmp-" + std::to_string(::getpid());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw_sys("open(\"" + tmp.string() + "\")");
    while (!contents.empty()) {
        ssize_t n = ::write(fd.get(), contents.data(), contents.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::unlink(tmp.c_str());
            throw_sys("write(\"" + tmp.string() + "\")", err);
        }
        contents.remove_prefix(static_cast<std::size_t>(n));
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw_sys("rename(\"" + tmp.string() + "\", \"" + path.string() + "\")", err);
    }
}

}  // namespace rusty
