// Quantities as Compose files write them: sizes (mem_limit and friends) and
// CPU lists (cpuset).
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "core/units.hpp"

using rusty::parse_cpu_list;
using rusty::parse_size;

namespace {

constexpr std::int64_t KiB = 1024;
constexpr std::int64_t MiB = 1024 * KiB;
constexpr std::int64_t GiB = 1024 * MiB;
constexpr std::int64_t TiB = 1024 * GiB;
constexpr std::int64_t PiB = 1024 * TiB;

using Size = std::optional<std::int64_t>;
using Cpu = std::optional<unsigned>;

}  // namespace

// ---- parse_size ----------------------------------------------------------------

TEST_CASE("parse_size: plain bytes", "[units]") {
    CHECK(parse_size("4096") == Size(4096));
    CHECK(parse_size("0") == Size(0));
    CHECK(parse_size("1b") == Size(1));
    CHECK(parse_size("1B") == Size(1));
}

TEST_CASE("parse_size: units are powers of 1024, case-insensitive", "[units]") {
    CHECK(parse_size("1k") == Size(KiB));
    CHECK(parse_size("64m") == Size(64 * MiB));
    CHECK(parse_size("64M") == Size(64 * MiB));
    CHECK(parse_size("1g") == Size(GiB));
    CHECK(parse_size("1G") == Size(GiB));
    CHECK(parse_size("2t") == Size(2 * TiB));
    CHECK(parse_size("3p") == Size(3 * PiB));
}

TEST_CASE("parse_size: unit spellings b, ib and one space", "[units]") {
    CHECK(parse_size("512kb") == Size(512 * KiB));
    CHECK(parse_size("512KB") == Size(512 * KiB));
    CHECK(parse_size("2MiB") == Size(2 * MiB));
    CHECK(parse_size("2mib") == Size(2 * MiB));
    CHECK(parse_size("1.5GiB") == Size(GiB + GiB / 2));
    CHECK(parse_size("10 m") == Size(10 * MiB));
    CHECK(parse_size("10 MiB") == Size(10 * MiB));
}

TEST_CASE("parse_size: fractions", "[units]") {
    CHECK(parse_size("1.5g") == Size(GiB + GiB / 2));
    CHECK(parse_size("0.5k") == Size(512));
    CHECK(parse_size("0.25m") == Size(MiB / 4));
    // Fractions of a byte are dropped.
    CHECK(parse_size("1.5") == Size(1));
    CHECK(parse_size("1.5b") == Size(1));
}

TEST_CASE("parse_size: malformed", "[units]") {
    for (const char* text : {"", "m", "k", " ", "-1", "-1m", "+1", "1x", "1.", "1.m", ".5", "1.2.3", "64mbb",
                             "64mb b", "64ibm", "1kk", "1  m", " 1", "1m ", "0x10", "1e3", "1,5g", "one"}) {
        INFO('"' << text << '"');
        CHECK_FALSE(parse_size(text));
    }
}

TEST_CASE("parse_size: the largest value is INT64_MAX", "[units]") {
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    CHECK(parse_size("9223372036854775807") == Size(max));
    CHECK_FALSE(parse_size("9223372036854775808"));
    CHECK_FALSE(parse_size("18446744073709551616"));
    CHECK_FALSE(parse_size("99999999999999999999999999999"));
    // 8192 PiB is 2^63: one byte too many.
    CHECK(parse_size("8191p") == Size(8191 * PiB));
    CHECK_FALSE(parse_size("8192p"));
    CHECK_FALSE(parse_size("8388608t"));
    CHECK_FALSE(parse_size("100000000000000000g"));
}

// ---- parse_cpu_list ------------------------------------------------------------

TEST_CASE("parse_cpu_list: the highest CPU named", "[units]") {
    CHECK(parse_cpu_list("0") == Cpu(0u));
    CHECK(parse_cpu_list("7") == Cpu(7u));
    CHECK(parse_cpu_list("0-3") == Cpu(3u));
    CHECK(parse_cpu_list("0-3,6") == Cpu(6u));
    CHECK(parse_cpu_list("1,3-5") == Cpu(5u));
    CHECK(parse_cpu_list("8-9,0-2") == Cpu(9u));  // not necessarily in order
    CHECK(parse_cpu_list("2-2") == Cpu(2u));
    CHECK(parse_cpu_list("1,1") == Cpu(1u));
}

TEST_CASE("parse_cpu_list: malformed", "[units]") {
    for (const char* text : {"", "3-1", "a", "1,", ",1", "1--2", "-1", "1-", "1,,2", "1 ", " 1", "0-3 ,6", "1-2-3",
                             "0x1", "99999999999"}) {
        INFO('"' << text << '"');
        CHECK_FALSE(parse_cpu_list(text));
    }
}
