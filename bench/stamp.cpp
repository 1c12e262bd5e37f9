// rusty-bench-stamp: the container command of rusty-bench-restart. Prints
// CLOCK_MONOTONIC in nanoseconds as one line on stdout and exits 1 at once.
// Linked statically (no dynamic loader, no libraries to map), so the stamp is
// taken within microseconds of the exec. CLOCK_MONOTONIC is the host's inside
// the container: the supervisor gives it no time namespace.
#include <time.h>
#include <unistd.h>

int main() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long ns =
        static_cast<unsigned long long>(ts.tv_sec) * 1'000'000'000ULL + static_cast<unsigned long long>(ts.tv_nsec);
    char buf[32];
    char* end = buf + sizeof buf;
    char* p = end;
    *--p = '\n';
    do {
        *--p = static_cast<char>('0' + ns % 10);
        ns /= 10;
    } while (ns != 0);
    // One write: the line arrives whole or not at all.
    (void)::write(STDOUT_FILENO, p, static_cast<size_t>(end - p));
    ::_exit(1);
}
