// Whole files: read at once (bounded), or written so that readers never see
// them half-written. The one place the project reads a file whole; kernfs
// interface files (cgroup, /proc) go through here too.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace rusty {

// What read_file() reads at most unless told otherwise: far above any
// interface file, state file or config the project reads.
inline constexpr std::size_t kMaxFileRead = std::size_t{1} << 20;

// The whole contents of `path`, or of an open descriptor, read to EOF (a
// kernfs or /proc file may report size 0: its size is not trusted). More
// than `limit` bytes is an error (EFBIG), so a wrong path (a device, a
// growing log) cannot make the caller buffer without bound. Throws
// rusty::Error naming the path and keeping the errno:
//   open("/sys/fs/cgroup/x/cgroup.events"): No such file or directory
std::string read_file(const std::filesystem::path& path, std::size_t limit = kMaxFileRead);
std::string read_fd(int fd, std::string_view what, std::size_t limit = kMaxFileRead);

// read_file() of a regular file only: a FIFO or a device, whose read could
// block or never end, is refused (EINVAL), as is one over `limit` (EFBIG).
// For files a user names whose content must be whole (profiles, bundles).
std::string read_regular_file(const std::filesystem::path& path, std::size_t limit = kMaxFileRead);

// read_file(), or nullopt when it fails for any reason (the file is gone:
// a process that exited, a cgroup removed meanwhile).
std::optional<std::string> try_read_file(const std::filesystem::path& path, std::size_t limit = kMaxFileRead);

// Writes `contents` to a temporary file beside `path`, then renames it over
// `path`: a reader sees the old file or the new one, never a mix.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

}  // namespace rusty
