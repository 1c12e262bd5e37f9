#include "bench/compare/plot.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "bench/compare/processes.hpp"
#include "bench/compare/text.hpp"

namespace rusty::bench::compare {

std::string render_plot(const Report& r, const std::vector<std::string>& order, const fs::path& svg,
                        const fs::path& work, int null_fd) {
    const fs::path gnuplot = bench::find_program("gnuplot");
    if (gnuplot.empty()) return "gnuplot is not in PATH (apt-get install gnuplot-nox): no plot";
    const fs::path data = work / "plot.dat", script = work / "plot.gp";
    const std::map<std::string, std::string> colors = {{"floor", "#7f7f7f"},
                                                       {"crun", "#1f77b4"},
                                                       {"runc", "#ff7f0e"},
                                                       {"rusty-runtime", "#9467bd"},
                                                       {"rusty-oneshot", "#2ca02c"},
                                                       {"rusty-supervisor", "#d62728"}};
    std::ostringstream dat, gp;
    std::vector<std::string> networks;  // in the order they ran
    std::vector<std::string> scenario_names;
    for (const ScenarioResult& sr : r.results) {
        if (std::find(networks.begin(), networks.end(), sr.network) == networks.end()) networks.push_back(sr.network);
        if (std::find(scenario_names.begin(), scenario_names.end(), sr.scenario) == scenario_names.end())
            scenario_names.push_back(sr.scenario);
    }
    const std::size_t rows = networks.size(), cols = scenario_names.size();
    gp << "set terminal svg size " << 380 * cols << "," << 400 * rows << " dynamic font 'sans,10'\n";
    gp << "set output '" << svg.string() << "'\n";
    gp << "set datafile separator ' '\n";
    gp << "set multiplot layout " << rows << "," << cols << " title 'Container start to exit: CDF per runtime ("
       << r.machine.value("date", "") << ", " << r.machine.value("cpus", 0) << " CPUs, kernel "
       << r.machine.value("kernel", "") << ")'\n";
    gp << "set logscale x\nset grid\nset yrange [0:1]\nset key below horizontal maxrows 2 font ',8'\n";
    gp << "set xlabel 'ms (log)'\nset ylabel 'fraction of samples'\n";
    int index = 0;
    for (const std::string& network : networks) {
        for (const std::string& scenario : scenario_names) {
            const ScenarioResult* sr = nullptr;
            for (const ScenarioResult& x : r.results)
                if (x.network == network && x.scenario == scenario) sr = &x;
            gp << "set title '" << scenario << ", network " << network << "'\n";
            std::vector<std::string> plots;
            if (sr)
                for (const std::string& name : order) {
                    auto it = sr->cells.find(name);
                    if (it == sr->cells.end() || it->second.exit_ms.empty()) continue;
                    std::vector<double> v = it->second.exit_ms;
                    std::sort(v.begin(), v.end());
                    dat << "# " << scenario << " " << network << " " << name << "\n";
                    dat << v.front() << " 0\n";
                    for (std::size_t k = 0; k < v.size(); ++k)
                        dat << v[k] << " " << static_cast<double>(k + 1) / static_cast<double>(v.size()) << "\n";
                    dat << "\n\n";
                    const std::string color = colors.count(name) ? colors.at(name) : "#000000";
                    plots.push_back("'" + data.string() + "' index " + std::to_string(index++) +
                                    " using 1:2 with steps lw 2 lc rgb '" + color + "' title '" + name + "'");
                }
            if (plots.empty()) {
                gp << "set label 1 'no samples' at graph 0.5,0.5 center\nplot NaN notitle\nunset label 1\n";
                continue;
            }
            gp << "plot ";
            for (std::size_t k = 0; k < plots.size(); ++k) gp << (k ? ", \\\n     " : "") << plots[k];
            gp << "\n";
        }
    }
    gp << "unset multiplot\n";
    bench::write_text(data, dat.str());
    bench::write_text(script, gp.str());
    auto [status, output] = run_capture({gnuplot.string(), script.string()}, work / "gnuplot.log", null_fd);
    if (status.signal != 0 || status.exit_code != 0) return "gnuplot: " + exit_text(status) + ": " + trim(output);
    return {};
}

}  // namespace rusty::bench::compare
