#!/bin/sh
# What a cgroup costs a container start on this host: the floor without a
# cgroup, born in one (CLONE_INTO_CGROUP), moved into one (cgroup.procs
# write), plus the v1 joins that limits need on a hybrid host; and rusty
# without a cgroup, with its own cgroup, and with limits. Each back to back
# and after 100 ms of idle (the case where a cgroup.procs write waits for an
# RCU grace period). Configurations are interleaved, round after round, and
# every round's samples are pooled per configuration.
#
# Prints one Markdown table (start-to-exit, ms) and writes it, with the date,
# the kernel, the load average and the exact commands, to
# bench/results/cgroup-costs.md. Needs root and the two bench binaries.
#
#   BUILD_DIR=build-bench ROUNDS=3 N_B2B=100 N_IDLE=40 bench/cgroup-costs.sh
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ROUNDS=${ROUNDS:-3}
N_B2B=${N_B2B:-100}
N_IDLE=${N_IDLE:-40}
IDLE_MS=${IDLE_MS:-100}
WARMUP_IDLE=${WARMUP_IDLE:-5}
OUT=${OUT:-bench/results/cgroup-costs.md}

FLOOR="$BUILD_DIR/rusty-bench-floor"
START="$BUILD_DIR/rusty-bench-start"
for bin in "$FLOOR" "$START"; do
    [ -x "$bin" ] || { echo "cgroup-costs.sh: $bin not built (set BUILD_DIR)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "cgroup-costs.sh: must run as root" >&2; exit 1; }
command -v jq >/dev/null || { echo "cgroup-costs.sh: needs jq" >&2; exit 1; }

TMP=$(mktemp -d /tmp/rusty-cgroup-costs-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# label|binary|options; the same options run back to back and with --idle-ms.
CONFIGS="floor, no cgroup|$FLOOR|--cgroup none
floor, born in v2 cgroup (CLONE_INTO_CGROUP)|$FLOOR|--cgroup into
floor, moved into v2 cgroup (child writes cgroup.procs)|$FLOOR|--cgroup procs
floor, CLONE_INTO_CGROUP + v1 memory,pids joined by cgroup.procs|$FLOOR|--cgroup into --v1-procs memory,pids
floor, CLONE_INTO_CGROUP, exit seen through cgroup.events|$FLOOR|--cgroup into --wait-events
rusty, no cgroup|$START|--cgroup none
rusty, own cgroup|$START|--cgroup own
rusty, own cgroup + limits (64 MiB, 1000 pids)|$START|--cgroup own --limits"

PACINGS="b2b idle"
pacing_args() {
    case $1 in
        b2b) echo "-n $N_B2B" ;;
        idle) echo "-n $N_IDLE --warmup $WARMUP_IDLE --idle-ms $IDLE_MS" ;;
    esac
}
pacing_label() {
    case $1 in
        b2b) echo "back to back" ;;
        idle) echo "idle $IDLE_MS ms" ;;
    esac
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

STARTED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD_BEFORE=$(loadavg)
: >"$TMP/load1"
: >"$TMP/commands"

round=1
while [ "$round" -le "$ROUNDS" ]; do
    # Alternate which pacing goes first, so neither always follows the other.
    if [ $((round % 2)) = 1 ]; then order="$PACINGS"; else order="idle b2b"; fi
    i=0
    echo "$CONFIGS" | while IFS='|' read -r label bin opts; do
        i=$((i + 1))
        for pacing in $order; do
            cut -d' ' -f1 /proc/loadavg >>"$TMP/load1"
            json="$TMP/c$i-$pacing-r$round.json"
            # shellcheck disable=SC2046,SC2086
            "$bin" --network none $opts $(pacing_args "$pacing") --json "$json" </dev/null >/dev/null
            if [ "$round" = 1 ]; then
                echo "$(basename "$bin") --network none $opts $(pacing_args "$pacing")" >>"$TMP/commands"
            fi
        done
    done
    echo "round $round of $ROUNDS done (load $(loadavg))" >&2
    round=$((round + 1))
done
LOAD_AFTER=$(loadavg)
LOAD_RANGE=$(sort -g "$TMP/load1" | sed -n '1p;$p' | paste -sd' ' | awk '{print $1 " – " $2}')

# Nearest-rank percentile of sorted numbers on stdin, as bench/common.hpp.
percentiles() {
    sort -g | awk '{ v[NR] = $1 } END {
        n = split("50 95 99", p, " ");
        out = NR;
        for (k = 1; k <= n; ++k) {
            r = p[k] / 100 * NR; i = int(r); if (i < r) i++; if (i < 1) i = 1;
            out = out " " sprintf("%.2f", v[i]);
        }
        print out }'
}

{
    echo "# Cgroup costs of a container start"
    echo
    echo "Run $STARTED on $(uname -n), kernel $(uname -r), $(nproc) CPUs, cgroups: hybrid" \
        "(v1 controllers, v2 /sys/fs/cgroup/unified for placement)."
    echo "Load average (1/5/15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER;" \
        "1-min load seen before each run: $LOAD_RANGE."
    echo "$ROUNDS interleaved rounds, samples pooled per configuration; back to back n=$N_B2B" \
        "per round (10 warm-up starts), idle: n=$N_IDLE per round ($WARMUP_IDLE warm-up starts)," \
        "${IDLE_MS} ms sleep before each start, off the clock."
    echo
    echo "Start-to-exit in ms (nearest-rank percentiles); start-to-running p50 alongside;"
    echo "per-round p50s show the spread between rounds."
    echo
    echo "| config | pacing | n | p50 | p95 | p99 | p50 to running | p50 per round |"
    echo "|---|---|---|---|---|---|---|---|"
    i=0
    echo "$CONFIGS" | while IFS='|' read -r label bin opts; do
        i=$((i + 1))
        for pacing in $PACINGS; do
            files=$(ls "$TMP"/c"$i"-"$pacing"-r*.json)
            # shellcheck disable=SC2046,SC2086
            set -- $(jq -r '.samples[].start_to_exit_ms' $files | percentiles)
            # shellcheck disable=SC2086
            running=$(jq -r '.samples[].start_to_running_ms' $files | percentiles | cut -d' ' -f2)
            rounds=""
            for f in $files; do
                p=$(jq -r '.samples[].start_to_exit_ms' "$f" | percentiles | cut -d' ' -f2)
                rounds="${rounds:+$rounds / }$p"
            done
            echo "| $label | $(pacing_label "$pacing") | $1 | $2 | $3 | $4 | $running | $rounds |"
        done
    done
    echo
    echo "Commands (each round; from $BUILD_DIR, each with --json FILE):"
    echo
    echo '```sh'
    cat "$TMP/commands"
    echo '```'
} >"$TMP/table.md"

mkdir -p "$(dirname "$OUT")"
cp "$TMP/table.md" "$OUT"
cat "$OUT"

left=""
for dir in /sys/fs/cgroup/unified/rusty-bench-* /sys/fs/cgroup/memory/rusty-bench-* /sys/fs/cgroup/pids/rusty-bench-*; do
    if [ -e "$dir" ]; then left="$left $dir"; fi
done
if [ -n "$left" ]; then
    echo "cgroup-costs.sh: rusty-bench cgroups remain (left behind, or another bench is running):$left" >&2
    exit 1
fi
