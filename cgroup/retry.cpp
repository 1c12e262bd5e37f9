#include "cgroup/retry.hpp"

#include <cerrno>
#include <thread>

namespace rusty::cgroup {

std::optional<std::chrono::milliseconds> Backoff::next() {
    if (spent_ >= kBudget) return std::nullopt;
    const std::chrono::milliseconds wait = std::min(next_, kBudget - spent_);
    spent_ += wait;
    next_ = std::min(next_ * 2, kLongest);
    return wait;
}

bool retry(const std::function<bool()>& step) {
    Backoff backoff;
    for (;;) {
        if (step()) return true;
        const std::optional<std::chrono::milliseconds> wait = backoff.next();
        if (!wait) return false;
        std::this_thread::sleep_for(*wait);
    }
}

reactor::Task<bool> retry_async(std::function<bool()> step) {
    Backoff backoff;
    for (;;) {
        if (step()) co_return true;
        const std::optional<std::chrono::milliseconds> wait = backoff.next();
        if (!wait) co_return false;
        co_await reactor::sleep_for(*wait);
    }
}

int remove_retrying(const std::function<int()>& remove) {
    int err = 0;
    retry([&] { return (err = remove()) != EBUSY; });
    return err;
}

reactor::Task<int> remove_retrying_async(std::function<int()> remove) {
    int err = 0;
    co_await retry_async([&] { return (err = remove()) != EBUSY; });
    co_return err;
}

}  // namespace rusty::cgroup
