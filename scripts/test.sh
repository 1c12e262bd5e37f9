#!/bin/sh
# Installs the dependencies, builds, and runs every test (Catch2 under ctest)
# plus the benchmarks in quick mode, so they never rot. Needs root: the tests
# create real namespaces, mounts and cgroups.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
echo "--- benchmarks, quick mode (figures come from full runs, not from here)"
"$BUILD_DIR"/rusty-bench-floor --quick
"$BUILD_DIR"/rusty-bench-floor --quick --cgroup into
"$BUILD_DIR"/rusty-bench-floor --quick --cgroup procs --idle-ms 20
"$BUILD_DIR"/rusty-bench-start --quick
"$BUILD_DIR"/rusty-bench-start --quick --limits
"$BUILD_DIR"/rusty-bench-idle --quick
"$BUILD_DIR"/rusty-bench-restart --quick
"$BUILD_DIR"/rusty-bench-restart --quick --flood
"$BUILD_DIR"/rusty-bench-logs --quick
# rusty-bench-compare beside crun and runc, plus restart and idle, into one report
# (in a temporary directory); fails only if a rusty figure fails.
BUILD_DIR="$BUILD_DIR" bench/startup.sh --quick
echo "--- tests"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 600
