// Steps the kernel completes a moment after it says it has: a cgroup whose
// last task was reaped may still refuse rmdir (EBUSY) while that task's exit
// finishes, and processes sent SIGKILL leave cgroup.procs only once they are
// gone. One retry policy for every such step in the project, in two forms:
// one that waits on the reactor's timers, for the supervisor, and one that
// sleeps, for one-shot CLIs (rusty-runtime) and for teardown after the
// reactor has stopped. The reactor thread never calls the sleeping form.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "reactor/awaitable.hpp"

namespace rusty::cgroup {

// Again after 1 ms, then twice as long each time up to 64 ms between tries,
// for 2 s in all: long enough for any exit the kernel is finishing, short
// enough that a cgroup held for good (a task that is not ours, a child
// cgroup someone made) is reported rather than waited for.
class Backoff {
public:
    static constexpr std::chrono::milliseconds kFirst{1};
    static constexpr std::chrono::milliseconds kLongest{64};
    static constexpr std::chrono::milliseconds kBudget{2000};
    // The wait before the next try; nullopt once the budget is spent.
    std::optional<std::chrono::milliseconds> next();

private:
    std::chrono::milliseconds next_ = kFirst;
    std::chrono::milliseconds spent_{0};
};

// Calls `remove` (0, or the errno of the first rmdir that failed) until it
// succeeds, fails with another errno than EBUSY, or Backoff gives up; returns
// its last result.
int remove_retrying(const std::function<int()>& remove);
reactor::Task<int> remove_retrying_async(std::function<int()> remove);

// Calls `step` until it returns true or Backoff gives up; returns its last result.
bool retry(const std::function<bool()>& step);
reactor::Task<bool> retry_async(std::function<bool()> step);

}  // namespace rusty::cgroup
