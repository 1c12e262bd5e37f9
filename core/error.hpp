// The one error type of the project, and its configuration-error refinement.
//
// Every failure carries what was being done and, for system calls, the errno:
//   "pivot_root(\"/var/lib/x\"): Invalid argument"
// Callers add context as the error travels up ("web: " + …) with context().
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rusty {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, int sys_errno = 0)
        : std::runtime_error(message), errno_(sys_errno) {}

    // The errno of the failed system call, 0 when none was involved.
    int sys_errno() const noexcept { return errno_; }

    // A copy whose message reads "<ctx>: <message>", keeping the errno.
    Error context(std::string_view ctx) const;

private:
    int errno_;
};

// "<what>: <strerror(err)>"
Error sys_error(std::string_view what, int err = errno);
[[noreturn]] void throw_sys(std::string_view what, int err = errno);

// strerror without the thread-safety and locale pitfalls of strerror().
std::string errno_text(int err);

// A problem with the user's input (fleet.json, command line). The CLI maps it
// to exit status 2. `pointer` is a JSON pointer (RFC 6901) naming the field,
// e.g. "/containers/web/command"; empty for the document as a whole.
class ConfigError : public Error {
public:
    ConfigError(std::string pointer, std::string problem);
    const std::string& pointer() const noexcept { return pointer_; }
    const std::string& problem() const noexcept { return problem_; }

private:
    std::string pointer_;
    std::string problem_;
};

}  // namespace rusty
