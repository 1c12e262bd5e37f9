// features: what this runtime supports (runtime-spec features.md).
#include "runtime/oci_runtime.hpp"

namespace rusty::runtime {
using nlohmann::json;

json Runtime::features() {
    json caps = json::array();
    for (int cap = 0; cap <= 40; ++cap) caps.push_back(oci::capability_name(cap));
    return {
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", oci::kSpecVersion},
        {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
        {"mountOptions",
         {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "mand", "noatime", "nodev",
          "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime", "nosuid", "private", "rbind", "relatime",
          "remount", "ro", "rprivate", "rro", "rshared", "rslave", "runbindable", "rw", "shared", "slave",
          "strictatime", "suid", "sync", "unbindable"}},
        {"linux",
         {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "uts", "time"}},
          {"capabilities", caps},
          {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
          {"seccomp",
           {{"enabled", true},
            {"actions",
             {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
              "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
            {"operators",
             {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
              "SCMP_CMP_NE"}}}},
          {"apparmor", {{"enabled", false}}},
          {"selinux", {{"enabled", false}}}}},
        {"annotations", {{"org.opencontainers.runtime-spec.features.runtime", "rusty-runtime"}}},
    };
}

}  // namespace rusty::runtime
