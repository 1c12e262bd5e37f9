#include "bench/compare/machine.hpp"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <numeric>
#include <sstream>

#include "bench/compare/text.hpp"
#include "core/clock.hpp"
#include "core/file.hpp"

namespace rusty::bench::compare {

json CpuMeter::result() const {
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double busy = static_cast<double>(busy_ticks() - busy0_) / hz;
    const double total = static_cast<double>(total_ticks() - total0_) / hz;
    const double own = own_seconds() - own0_;
    const double wall = std::chrono::duration<double>(Clock::now() - t0_).count();
    return {{"wall_s", wall},
            {"cpu_busy_s", busy},
            {"cpu_capacity_s", total},
            {"bench_cpu_s", own},
            {"other_cpu_s", std::max(0.0, busy - own)},
            {"busy_fraction", total > 0 ? busy / total : 0.0},
            {"other_fraction", total > 0 ? std::max(0.0, busy - own) / total : 0.0}};
}

std::vector<unsigned long long> CpuMeter::cpu_line() {
    std::istringstream in(first_line(read_file("/proc/stat")));
    std::string label;
    in >> label;
    std::vector<unsigned long long> v;
    unsigned long long x;
    while (in >> x) v.push_back(x);
    v.resize(8, 0);  // user nice system idle iowait irq softirq steal
    return v;
}

unsigned long long CpuMeter::total_ticks() {
    auto v = cpu_line();
    return std::accumulate(v.begin(), v.begin() + 8, 0ULL);
}

unsigned long long CpuMeter::busy_ticks() {
    auto v = cpu_line();
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

double CpuMeter::own_seconds() {
    double s = 0;
    for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
        rusage ru{};
        ::getrusage(who, &ru);
        s += static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    }
    return s;
}

std::string loadavg() { return first_line(try_read_file("/proc/loadavg").value_or("")); }

json describe_machine(const std::string& cmdline, const cgroup::Layout& layout) {
    utsname uts{};
    ::uname(&uts);
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    json m = {{"kernel", uts.release},
              {"machine", uts.machine},
              {"hostname", host},
              {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
              {"cgroup_mode", cgroup::to_string(layout.mode())},
              {"date", rfc3339(std::chrono::system_clock::now(), 0)},
              {"loadavg_before", loadavg()},
              {"command_line", cmdline}};
    if (const char* script = std::getenv("RUSTY_BENCH_SCRIPT")) m["script"] = script;
    return m;
}

}  // namespace rusty::bench::compare
