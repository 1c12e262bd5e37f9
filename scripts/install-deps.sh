#!/bin/sh
# Installs every Debian 12 package rusty-supervisor needs to build, test and
# run its examples. Idempotent: packages already present are left alone, and
# apt's package lists are refreshed only when something is missing.
# conmon, runc and crun are for the benchmarks' side-by-side figures (runc also
# for the runtime tests, which compare it field by field), podman for
# rusty-runtime's integration tests, gnuplot-nox for the plots.
set -eu

PACKAGES="
build-essential cmake pkg-config
libboost1.81-dev
liburing-dev
libspdlog-dev libfmt-dev
nlohmann-json3-dev
libseccomp-dev
libcli11-dev
catch2
busybox-static
iproute2
jq
conmon runc crun
podman
gnuplot-nox
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
