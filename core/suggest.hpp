// "Did you mean …?" suggestions for misspelt names (fields, commands).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace rusty {

// Edit distance counting insertions, deletions, substitutions and swaps of
// two adjacent characters (optimal string alignment), byte-wise.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible
// typo: at most 2 edits, and at most half the length of `word` (so that "ab"
// does not suggest "id"). Ties go to the earlier candidate.
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates);

}  // namespace rusty
