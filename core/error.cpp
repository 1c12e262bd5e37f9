#include "core/error.hpp"

#include <cstring>

namespace rusty {

Error Error::context(std::string_view ctx) const {
    std::string message(ctx);
    message += ": ";
    message += what();
    return Error(message, errno_);
}

std::string errno_text(int err) {
    // strerrordesc_np is thread-safe and does not depend on the locale.
    if (const char* text = strerrordesc_np(err)) return text;
    return "Unknown error " + std::to_string(err);
}

Error sys_error(std::string_view what, int err) {
    std::string message(what);
    message += ": ";
    message += errno_text(err);
    return Error(message, err);
}

void throw_sys(std::string_view what, int err) { throw sys_error(what, err); }

ConfigError::ConfigError(std::string pointer, std::string problem)
    : Error(pointer.empty() ? problem : pointer + ": " + problem),
      pointer_(std::move(pointer)),
      problem_(std::move(problem)) {}

}  // namespace rusty
