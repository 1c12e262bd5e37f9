// Network setup done inside a container's own network namespace.
#pragma once

namespace rusty::net {

// Brings the loopback interface "lo" up in the calling process's network
// namespace. Returns 0, or -1 with errno set (it runs in a cloned child
// before exec, where nothing may throw).
int raw_bring_up_loopback();

}  // namespace rusty::net
