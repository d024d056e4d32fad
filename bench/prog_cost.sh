#!/bin/bash
# The mean time per run of one BPF program over one workload run, from the
# kernel's own counters (kernel.bpf_stats_enabled: run_cnt, run_time_ns).
#
#   sudo bench/prog_cost.sh LABEL PROGRAM MONITOR... -- WORKLOAD-ARGS...
#
#   LABEL      printed first on the result line
#   PROGRAM    the BPF program's name (bpftool prog show), e.g. handle_sys_exit
#              for the sensor, noop_sys_exit for the floor
#   MONITOR    the command that attaches it, run in the background until the
#              workload is done, then stopped with SIGINT: e.g.
#              build/sensor/barbwire run, or build/bench/noop_attach
#   WORKLOAD   arguments of build/bench/workload, e.g. many-files 20000 15
#
# Prints: LABEL ns/run=N runs=N wall=S cpu=S (wall and cpu: the workload's).
# Used in docs/performance.md to split a program's cost by building variants
# of it. Interleave variants and repeat: the machine's noise is large. Needs
# root and bpftool; bpf_stats adds two clock reads to every run of every
# program while it is on (it is on only around the workload).
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,20p "$0" >&2; exit 2; }
label=$1 prog=$2
shift 2
monitor=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do monitor+=("$1"); shift; done
[ $# -gt 0 ] || { echo "prog_cost: no -- before the workload's arguments" >&2; exit 2; }
shift
here="$(cd "$(dirname "$0")/.." && pwd)"
workload="${BARBWIRE_BUILDDIR:-$here/build}/bench/workload"
log=$(mktemp /tmp/bw-prog-cost-XXXXXX)
trap 'rm -f "$log"' EXIT
"${monitor[@]}" >/dev/null 2>"$log" &
mon=$!
stop() { kill -INT "$mon" 2>/dev/null || true; wait "$mon" 2>/dev/null || true; }
trap 'stop; rm -f "$log"' EXIT
for _ in $(seq 300); do grep -q "ready" "$log" && break; kill -0 "$mon" 2>/dev/null || break; sleep 0.1; done
grep -q "ready" "$log" || { echo "prog_cost: the monitor did not get ready: $(tail -1 "$log")" >&2; exit 1; }
figures() { # run_cnt run_time_ns of the newest program named $prog
    bpftool prog show -j | python3 -c '
import json, sys
ps = [p for p in json.load(sys.stdin) if p.get("name") == sys.argv[1]]
if not ps: sys.exit("prog_cost: no BPF program named " + sys.argv[1])
p = max(ps, key=lambda p: p["id"])
print(p.get("run_cnt", 0), p.get("run_time_ns", 0))' "$prog"
}
was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -q kernel.bpf_stats_enabled=1
read -r c0 t0 < <(figures)
out=$("$workload" "$@")
read -r c1 t1 < <(figures)
sysctl -q kernel.bpf_stats_enabled="$was"
python3 -c '
import json, sys
label, c0, t0, c1, t1, out = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6]
w = json.loads(out)
runs = c1 - c0
print("%s ns/run=%.1f runs=%d wall=%.3f cpu=%.3f" % (label, (t1 - t0) / max(1, runs), runs, w["wall_s"], w["cpu_s"]))' \
    "$label" "$c0" "$t0" "$c1" "$t1" "$out"
