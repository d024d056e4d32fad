#!/bin/bash
# The sensor's own CPU time over a workload, for two or more sensor binaries
# side by side: each binary is started in turn (`run --format json
# --verbose`, output discarded), waited for until ready, the workload is run
# REPEAT times, and the binary's user+system time from ready to just before
# SIGINT is printed in clock ticks (getconf CLK_TCK a second). The binaries
# alternate for ROUNDS rounds, so a drift of the machine favours none.
# Used for what an exec record costs the reader (docs/performance.md,
# "fork-exec: what an exec record costs the reader").
#
#   sudo bench/reader_cpu.sh ROUNDS REPEAT BARBWIRE... -- WORKLOAD-ARGS...
#   e.g. sudo bench/reader_cpu.sh 2 10 /tmp/barbwire.old build/sensor/barbwire -- fork-exec 2000
#
# WORKLOAD-ARGS are those of build/bench/workload (BUILD: $BUILD, default build).
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
rounds=$1 repeat=$2
shift 2
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do bins+=("$1"); shift; done
[ "${1:-}" = "--" ] || { echo "reader_cpu: no '--' before the workload's arguments" >&2; exit 2; }
shift
build=${BUILD:-build}
workload="$build/bench/workload"
[ -x "$workload" ] || { echo "reader_cpu: $workload is not built (ninja -C $build bench/workload)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "reader_cpu: needs root (the sensor loads BPF)" >&2; exit 2; }
err=$(mktemp)
trap 'rm -f "$err"' EXIT
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for r in $(seq "$rounds"); do
    for b in "${bins[@]}"; do
        "$b" run --format json --verbose >/dev/null 2>"$err" &
        pid=$!
        for _ in $(seq 300); do
            grep -q "^barbwire: ready:" "$err" && break
            kill -0 "$pid" 2>/dev/null || { echo "reader_cpu: $b exited: $(tail -n 1 "$err")" >&2; exit 1; }
            sleep 0.1
        done
        grep -q "^barbwire: ready:" "$err" || { echo "reader_cpu: $b not ready after 30 s" >&2; kill -INT "$pid"; exit 1; }
        c0=$(ticks "$pid")
        for _ in $(seq "$repeat"); do "$workload" "$@" >/dev/null; done
        sleep 1 # the last records are read
        c1=$(ticks "$pid")
        kill -INT "$pid"
        wait "$pid" || true
        echo "round $r $b: $((c1 - c0)) ticks over $repeat x workload $*"
    done
done
