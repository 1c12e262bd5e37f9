// Parsing and validating fleet.json into a FleetSpec.
//
// Every problem is reported as a ConfigError whose pointer names the field
// (RFC 6901 JSON pointer), before anything is started.
#pragma once

#include <filesystem>
#include <string_view>

#include "core/spec.hpp"

namespace rusty {

// Reads and validates `path`. Relative `rootfs` paths are resolved against
// the directory of `path`; the fleet name defaults to the file's stem.
FleetSpec load_fleet(const std::filesystem::path& path);

// Validates fleet.json text. `base_dir` resolves relative rootfs paths;
// `default_name` is used when the document has no `name`.
FleetSpec parse_fleet(std::string_view text, const std::filesystem::path& base_dir,
                      std::string_view default_name);

}  // namespace rusty
