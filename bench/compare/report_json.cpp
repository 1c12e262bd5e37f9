#include "bench/compare/report.hpp"

namespace rusty::bench::compare {

namespace {

json summary_json(const std::vector<double>& v) { return bench::to_json(bench::summarize(v)); }

}  // namespace

json report_json(const Report& report, const Options& o, const std::map<std::string, bool>& sees_running) {
    json results = json::array();
    for (const ScenarioResult& sr : report.results) {
        json cells = json::object();
        for (const auto& [name, c] : sr.cells) {
            json per_round = json::array();
            for (const std::optional<double>& p50 : c.p50_per_round(o.rounds))
                per_round.push_back(p50 ? json(*p50) : json(nullptr));
            cells[name] = {{"to_exit", summary_json(c.exit_ms)},
                           {"to_running", sees_running.at(name) ? summary_json(c.running_ms) : json(nullptr)},
                           {"p50_per_round_ms", per_round},
                           {"failures", c.failures}};
        }
        results.push_back({{"scenario", sr.scenario}, {"network", sr.network}, {"containers", sr.n}, {"runtimes", cells}});
    }
    json failures = json::array();
    for (const Failure& f : report.failures)
        failures.push_back({{"runtime", f.runtime},
                            {"scenario", f.scenario},
                            {"network", f.network},
                            {"round", f.round},
                            {"iteration", f.iteration},
                            {"warmup", f.warmup},
                            {"error", f.error}});
    json other = json::array();
    for (const auto& [file, j] : report.includes) other.push_back(j);
    return {{"benchmark", "rusty-bench-compare"},
            {"machine", report.machine},
            {"config", o.to_json()},
            {"runtimes", report.runtimes},
            {"summary", results},
            {"samples", report.samples},
            {"failures", failures},
            {"notes", report.notes},
            {"other_benchmarks", other}};
}

Report report_from_json(const json& j, Options& o, std::vector<std::string>& order,
                        std::map<std::string, bool>& sees_running) {
    const json& cfg = j.at("config");
    o.runtimes = cfg.value("runtimes", o.runtimes);
    o.scenarios = cfg.value("scenarios", o.scenarios);
    o.limits = !cfg.value("limits", json()).is_null();
    o.rounds = cfg.value("rounds", o.rounds);
    o.order = cfg.value("order", std::string("fixed"));
    o.seed = cfg.value("seed", o.seed);
    o.idle_ms = cfg.value("idle", json::object()).value("idle_ms", o.idle_ms);
    o.bursts = cfg.value("burst", json::object()).value("sizes", o.bursts);
    o.burst_settle_ms = cfg.value("burst", json::object()).value("settle_ms", o.burst_settle_ms);
    Report report;
    report.machine = j.at("machine");
    report.runtimes = j.value("runtimes", std::vector<json>{});
    for (const json& rt : report.runtimes)
        if (rt.value("available", false)) {
            order.push_back(rt.value("name", ""));
            sees_running[order.back()] = rt.value("sees_running", false);
        }
    for (const json& sum : j.value("summary", json::array())) {
        ScenarioResult sr;
        sr.scenario = sum.value("scenario", "");
        sr.network = sum.value("network", "");
        sr.n = sum.value("containers", 1);
        const json cells = sum.value("runtimes", json::object());
        for (const auto& [name, cell] : cells.items()) sr.cells[name].failures = cell.value("failures", 0);
        report.results.push_back(std::move(sr));
    }
    report.samples = j.value("samples", std::vector<json>{});
    for (const json& s : report.samples)
        for (ScenarioResult& sr : report.results)
            if (sr.scenario == s.value("scenario", "") && sr.network == s.value("network", "")) {
                Cell& c = sr.cells[s.value("runtime", "")];
                c.exit_ms.push_back(s.value("to_exit_ms", 0.0));
                c.round.push_back(s.value("round", 1));
                if (s.contains("to_running_ms") && s["to_running_ms"].is_number())
                    c.running_ms.push_back(s["to_running_ms"].get<double>());
            }
    for (const json& f : j.value("failures", json::array()))
        report.failures.push_back({f.value("runtime", ""), f.value("scenario", ""), f.value("network", ""),
                                   f.value("error", ""), f.value("round", 0), f.value("iteration", 0),
                                   f.value("warmup", false)});
    report.notes = j.value("notes", std::vector<std::string>{});
    for (const json& other : j.value("other_benchmarks", json::array())) report.includes.emplace_back("", other);

    return report;
}

}  // namespace rusty::bench::compare
