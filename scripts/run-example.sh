#!/bin/sh
# Installs the dependencies, builds, and runs examples/fleet.json.
# Needs root (namespaces, mounts). Ctrl-C stops the fleet.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
echo "--- running examples/fleet.json (the 'broken' container fails on purpose, so the status is 1)"
exec ./build/rusty-supervisor --config examples/fleet.json "$@"
