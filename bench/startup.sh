#!/bin/sh
# Every start-up figure of the project in one command:
#   rusty-bench-restart   exit-to-restart reaction (without and with limits);
#   rusty-bench-idle      what 100 and 500 sleeping containers cost the supervisor;
#   rusty-bench-start     where a start's time goes, phase by phase, from the
#                         program's own clocks (without and with the start pool);
#   rusty-bench-compare   start latency of the floor, crun, runc, rusty-runtime,
#                         the rusty one-shot CLI and a running rusty-supervisor,
#                         side by side: back to back, after idle, bursts of
#                         10/50/200;
# folded into one report, bench/results/startup.md, .json (every sample, the
# machine, the exact command lines) and .svg (latency CDFs).
#
#   bench/startup.sh [--quick] [rusty-bench-compare options…]
#   BUILD_DIR=build-bench OUT_DIR=/tmp/figures bench/startup.sh --rounds 3
#
# --quick (for CI, seconds): each bench in its quick mode, and the report goes
# to a temporary directory unless OUT_DIR is set, so the committed figures
# stay as they are. Options after it go to rusty-bench-compare. Needs root and
# the built binaries (rusty-bench-compare, -restart, -stamp, -idle, -start,
# rusty-supervisor and rusty-runtime in BUILD_DIR). Exits non-zero when a
# rusty figure fails; a missing or failing crun or runc is reported, not fatal.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
QUICK=""
if [ "${1:-}" = --quick ]; then
    QUICK=--quick
    shift
fi

for bin in rusty-bench-compare rusty-bench-restart rusty-bench-stamp rusty-bench-idle rusty-bench-start rusty-supervisor \
    rusty-runtime; do
    [ -x "$BUILD_DIR/$bin" ] || { echo "startup.sh: $BUILD_DIR/$bin not built (set BUILD_DIR)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "startup.sh: must run as root" >&2; exit 1; }

TMP=$(mktemp -d /tmp/rusty-startup-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
KEEP=yes
if [ -n "$QUICK" ] && [ -z "${OUT_DIR:-}" ]; then
    OUT_DIR=$TMP/results
    KEEP=""
else
    OUT_DIR=${OUT_DIR:-bench/results}
fi
mkdir -p "$OUT_DIR"

# Runs one bench, echoing its command line first.
bench() {
    echo "+ $*" >&2
    "$@"
}

started=$(date +%s)
# Where a start's time goes, from the program's own clocks: back to back and
# after idle, without and with the start pool.
start_phases() {
    bench "$BUILD_DIR"/rusty-bench-start --network none --cgroup own --limits --read-only "$@" >/dev/null
}
if [ -n "$QUICK" ]; then
    bench "$BUILD_DIR"/rusty-bench-restart --quick --json "$TMP/restart.json" >/dev/null
    bench "$BUILD_DIR"/rusty-bench-idle --quick --json "$TMP/idle.json" >/dev/null
    start_phases --quick --idle-ms 100 --pool 2 --json "$TMP/start-pool.json"
    INCLUDES="--include $TMP/restart.json --include $TMP/idle.json --include $TMP/start-pool.json"
else
    start_phases -n 100 --json "$TMP/start-b2b.json"
    start_phases -n 40 --warmup 5 --idle-ms 100 --json "$TMP/start-idle.json"
    start_phases -n 40 --warmup 5 --idle-ms 100 --pool 2 --json "$TMP/start-pool.json"
    bench "$BUILD_DIR"/rusty-bench-restart -n 200 --json "$TMP/restart.json" >/dev/null
    bench "$BUILD_DIR"/rusty-bench-restart -n 200 --limits --json "$TMP/restart-limits.json" >/dev/null
    bench "$BUILD_DIR"/rusty-bench-idle -n 100 --idle 10 --json "$TMP/idle-100.json" >/dev/null
    bench "$BUILD_DIR"/rusty-bench-idle -n 500 --idle 10 --json "$TMP/idle-500.json" >/dev/null
    INCLUDES="--include $TMP/restart.json --include $TMP/restart-limits.json"
    INCLUDES="$INCLUDES --include $TMP/idle-100.json --include $TMP/idle-500.json"
    INCLUDES="$INCLUDES --include $TMP/start-b2b.json --include $TMP/start-idle.json --include $TMP/start-pool.json"
fi

# The report names the script it came from.
RUSTY_BENCH_SCRIPT="bench/startup.sh${QUICK:+ $QUICK}${*:+ $*}"
export RUSTY_BENCH_SCRIPT
# shellcheck disable=SC2086
bench "$BUILD_DIR"/rusty-bench-compare $QUICK "$@" $INCLUDES \
    --json "$OUT_DIR/startup.json" --markdown "$OUT_DIR/startup.md" --plot "$OUT_DIR/startup.svg"

if [ -n "$KEEP" ]; then
    echo "startup.sh: done in $(($(date +%s) - started)) s; report in $OUT_DIR/startup.{md,json,svg}" >&2
else
    echo "startup.sh: done in $(($(date +%s) - started)) s (quick: the report above is not kept; set OUT_DIR to keep it)" >&2
fi
