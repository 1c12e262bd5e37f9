// The validated model of a fleet: what fleet.json means once parsed.
// Everything here is plain data; core/config.hpp builds it from JSON and the
// lifecycle code consumes it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rusty {

enum class NetworkMode {
    None,  // own network namespace with only loopback, up (the default)
    Host,  // the host's network namespace
};

struct ContainerSpec {
    std::string name;

    // Exactly one of image and rootfs is set. `image` names a built-in image
    // ("busybox"), turned into a directory by the image store; `rootfs` is an
    // absolute path to a directory given by the user.
    std::string image;
    std::filesystem::path rootfs;

    // The command run as the container's init: entrypoint followed by command.
    // Never empty. argv[0] is looked up in the container's PATH when it has
    // no '/'.
    std::vector<std::string> argv;

    // "KEY=VALUE" strings, in the order given, without duplicates of a key.
    std::vector<std::string> env;

    std::string working_dir = "/";  // absolute, inside the container

    // As written by the user: "", "uid", "uid:gid", "name" or "name:group".
    // Names are resolved against the container's own /etc/passwd and
    // /etc/group inside the container, as runc does. Empty means root.
    std::string user;

    std::string hostname;  // defaults to the container's name
    NetworkMode network = NetworkMode::None;
    bool read_only = false;  // root filesystem mounted read-only
};

struct FleetSpec {
    // The fleet's name (fleet.json's `name`, else the file's stem). Names the
    // state directory.
    std::string name;
    // In the order of fleet.json.
    std::vector<ContainerSpec> containers;
};

}  // namespace rusty
