// Where container images live on disk and how built-in ones are made.
//
// For now the only image is the built-in "busybox", made from Debian's
// busybox-static: one static binary plus a link for each applet, and a
// minimal /etc. OCI images (pulled layers on overlayfs) come later and will
// live here too.
#pragma once

#include <filesystem>
#include <string_view>

namespace rusty::image {

class ImageStore {
public:
    // `root` holds one directory per image, e.g. <root>/busybox.
    explicit ImageStore(std::filesystem::path root) : root_(std::move(root)) {}

    // The root filesystem directory of image `name`, built on first use.
    // Concurrent callers (several supervisors) are serialised with a lock
    // file; a half-built image is never visible (built aside, then renamed).
    std::filesystem::path ensure(std::string_view name);

    const std::filesystem::path& root() const { return root_; }

private:
    std::filesystem::path root_;
};

// Where Debian's busybox-static installs its binary.
inline constexpr const char* kBusyboxBinary = "/bin/busybox";

// Fills `dir` (existing, empty) with a busybox root filesystem.
void build_busybox_rootfs(const std::filesystem::path& dir, const std::filesystem::path& busybox);

}  // namespace rusty::image
