// rusty-test-notify MESSAGE: sends MESSAGE (with "\n" written as a real
// newline) to $NOTIFY_SOCKET, as sd_notify(3) does. Busybox has no way to
// send a unix datagram, so the readiness tests copy this program, linked
// statically, into a container's root filesystem.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (argc != 2 || path == nullptr || std::strlen(path) >= sizeof(sockaddr_un{}.sun_path)) {
        std::fprintf(stderr, "usage: NOTIFY_SOCKET=PATH rusty-test-notify 'READY=1\\nSTATUS=…'\n");
        return 2;
    }
    std::string message;
    for (const char* p = argv[1]; *p; ++p) {
        if (p[0] == '\\' && p[1] == 'n') {
            message += '\n';
            ++p;
        } else {
            message += *p;
        }
    }
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path);
    if (fd < 0 || ::sendto(fd, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        std::perror("rusty-test-notify");
        return 1;
    }
    return 0;
}
