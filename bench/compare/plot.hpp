// The latency plot: the CDF of each runtime's samples, one panel per
// scenario and network, drawn by gnuplot into an SVG.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "bench/compare/report.hpp"

namespace rusty::bench::compare {

// Writes the gnuplot script and its data into `work` and runs gnuplot to
// draw `svg`. Returns an error text, empty on success.
std::string render_plot(const Report& r, const std::vector<std::string>& order, const std::filesystem::path& svg,
                        const std::filesystem::path& work, int null_fd);

}  // namespace rusty::bench::compare
