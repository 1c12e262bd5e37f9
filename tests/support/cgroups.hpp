// Cgroups of a test process: every fleet a test runs goes under a parent of
// its own, /rusty-test-<pid> (tests run in parallel, each test case in its
// own process), always by absolute path, and nothing may remain of it in any
// hierarchy once the fleet is gone.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cgroup/layout.hpp"

namespace rusty::test {

inline std::string test_cgroup_parent() { return "/rusty-test-" + std::to_string(::getpid()); }

// Every directory /rusty-test-<pid> could occupy: the v2 root and each v1 root.
inline std::vector<std::filesystem::path> test_cgroup_dirs() {
    const cgroup::Layout layout = cgroup::Layout::detect();
    std::vector<std::filesystem::path> dirs;
    const std::string name = test_cgroup_parent().substr(1);
    if (!layout.v2_root().empty()) dirs.push_back(layout.v2_root() / name);
    for (const auto& [controller, root] : layout.v1_roots()) dirs.push_back(root / name);
    return dirs;
}

// The cgroups of this test process that still exist; empty when clean.
inline std::vector<std::string> leftover_test_cgroups() {
    std::vector<std::string> left;
    for (const auto& dir : test_cgroup_dirs()) {
        std::error_code ec;
        if (std::filesystem::exists(dir, ec)) left.push_back(dir.string());
    }
    return left;
}

// rmdir of /rusty-test-<pid> itself in every hierarchy, for a test whose
// supervisor died: the next one sweeps the fleet's cgroups but keeps a
// parent it did not make. Only an empty directory can go.
inline void remove_test_cgroup_parent() {
    for (const auto& dir : test_cgroup_dirs()) ::rmdir(dir.c_str());
}

#define CHECK_NO_TEST_CGROUPS()                                                        \
    do {                                                                               \
        const std::vector<std::string> left_ = ::rusty::test::leftover_test_cgroups(); \
        INFO("cgroups left behind: " << left_.size());                                 \
        for (const auto& l_ : left_) UNSCOPED_INFO(l_);                                \
        CHECK(left_.empty());                                                          \
    } while (0)

}  // namespace rusty::test
