// Shared by the fleet.json tests: parsing a document, the error it raises
// (pointer and problem), and fleets of one container "web".
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/error.hpp"

namespace rusty::test {

inline FleetSpec parse(std::string_view text, const std::filesystem::path& base_dir = "/") {
    return parse_fleet(text, base_dir, "test");
}

struct Failure {
    std::string pointer;
    std::string problem;
};

// The ConfigError `text` raises; "(parsed without error)" in both fields if none.
inline Failure failure_of(std::string_view text, const std::filesystem::path& base_dir = "/") {
    try {
        parse_fleet(text, base_dir, "test");
    } catch (const ConfigError& error) {
        return {error.pointer(), error.problem()};
    }
    return {"(parsed without error)", "(parsed without error)"};
}

#define CHECK_FAILS(text, expected_pointer, expected_problem)         \
    do {                                                              \
        const ::rusty::test::Failure failure = ::rusty::test::failure_of(text); \
        CHECK(failure.pointer == (expected_pointer));                 \
        CHECK(failure.problem == (expected_problem));                 \
    } while (false)

// A fleet with one container "web" whose body is `fields` (no braces),
// e.g. with_web(R"("image": "busybox", "command": ["true"])").
inline std::string with_web(std::string_view fields) {
    return R"({"containers": {"web": {)" + std::string(fields) + "}}}";
}

// `with_web` with a valid image and command, plus `extra` fields.
inline std::string web_plus(std::string_view extra) {
    return with_web(R"("image": "busybox", "command": ["true"], )" + std::string(extra));
}

}  // namespace rusty::test
