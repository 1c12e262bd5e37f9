// A scratch directory for a test: created with mkdtemp under /tmp and
// removed, with everything in it, at scope exit. Shared by every suite.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace rusty::test {

class TempDir {
public:
    // /tmp/rusty-test-<tag>-XXXXXX; the tag only tells a leftover's origin.
    explicit TempDir(std::string_view tag = "tmp") {
        std::string pattern = "/tmp/rusty-test-" + std::string(tag) + "-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) FAIL("mkdtemp: " << std::strerror(errno));
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // Creates path()/relative (and its parents); returns the full path.
    std::filesystem::path make_dir(const std::filesystem::path& relative) const {
        std::filesystem::create_directories(path_ / relative);
        return path_ / relative;
    }
    // Writes `text` to path()/relative (whose directory must exist); returns
    // the full path.
    std::filesystem::path write(const std::filesystem::path& relative, std::string_view text) const {
        const std::filesystem::path file = path_ / relative;
        std::ofstream out(file);
        out << text;
        out.close();
        if (!out) FAIL("cannot write " << file);
        return file;
    }

private:
    std::filesystem::path path_;
};

}  // namespace rusty::test
