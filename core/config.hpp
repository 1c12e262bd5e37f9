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

// An absolute cgroup path ("/rusty-supervisor"), normalised: no empty, "."
// or ".." components, none named like a cgroup interface file, no trailing
// '/'. Throws ConfigError with `pointer` (a JSON pointer or an option name).
std::string parse_cgroup_path(std::string_view path, const std::string& pointer);

// Names cgroupfs uses for its own files ("cgroup.procs", "memory.max",
// "tasks", …): no cgroup can be made under such a name.
bool is_interface_file_name(std::string_view name);

}  // namespace rusty
