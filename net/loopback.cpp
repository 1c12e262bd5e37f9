#include "net/loopback.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rusty::net {

int raw_bring_up_loopback() {
    // One ioctl on any socket of the namespace is all it takes; netlink
    // (libmnl) is for the bridge and veth work of the networking issue.
    int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -1;
    ifreq req{};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    int rc = ::ioctl(sock, SIOCGIFFLAGS, &req);
    if (rc == 0 && !(req.ifr_flags & IFF_UP)) {
        req.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ::ioctl(sock, SIOCSIFFLAGS, &req);
    }
    int saved = errno;
    ::close(sock);
    errno = saved;
    return rc;
}

}  // namespace rusty::net
