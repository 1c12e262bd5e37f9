// Files that readers never see half-written.
#pragma once

#include <filesystem>
#include <string_view>

namespace rusty {

// Writes `contents` to a temporary file beside `path`, then renames it over
// `path`: a reader sees the old file or the new one, never a mix.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

}  // namespace rusty
