// A test that cannot run on this host says so: ctest reports it as skipped,
// never as passed. Catch2 v2 has no skip of its own, so
//
//     RUSTY_SKIP_IF(!have_runc, "runc is not installed");
//
// prints a fixed marker with the reason through Catch2 (a WARN, which the
// console reporter always shows) and returns from the test case; every suite
// is registered by `rusty_test_suite` in CMakeLists.txt with that marker as
// ctest's SKIP_REGULAR_EXPRESSION, so the test counts as "Skipped".
//
// Use it only as the first thing in a TEST_CASE's body, before any check:
// ctest marks a test skipped whenever its output holds the marker, even if a
// check failed before it, so a skip after a failure would hide the failure.
// (Its `return` only leaves the function it is written in: not in a helper
// or a lambda.)
//
// The marker is spelled in two pieces here, and as a regular expression with
// a character class in CMakeLists.txt, so that its text appears in no source
// file, test name or message: only this macro's output can hold it.
//
// RUSTY_TEST_FORCE_SKIP=1 in the environment makes every such host check
// fail, to see how a host without the feature reports:
//     RUSTY_TEST_FORCE_SKIP=1 ctest -R kernfs
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string_view>

namespace rusty::test {

inline constexpr std::string_view skip_marker = "@@rusty" "-test-skipped@@";

inline bool skip_forced() {
    const char* forced = std::getenv("RUSTY_TEST_FORCE_SKIP");
    return forced != nullptr && *forced != '\0';
}

}  // namespace rusty::test

#define RUSTY_SKIP_IF(condition, reason)                                              \
    do {                                                                              \
        const bool rusty_skip_missing_ = static_cast<bool>(condition);                \
        if (rusty_skip_missing_ || ::rusty::test::skip_forced()) {                    \
            WARN(::rusty::test::skip_marker                                           \
                 << " " << (reason)                                                   \
                 << (rusty_skip_missing_ ? "" : " (forced by RUSTY_TEST_FORCE_SKIP)")); \
            return;                                                                   \
        }                                                                             \
    } while (false)
