#!/bin/bash
# Where one BPF program's time goes over one workload run, by source line:
# cpu-clock samples of the whole machine (perf record -a) that fall in the
# program's JIT image, mapped to the line each address came from
# (bench/jit_lines). A load that misses the cache shows up on the
# instruction after it (the sample's skid), so read a hot line together
# with the one before it; with IMAGE set, the image is kept for objdump.
#
#   sudo bench/prog_profile.sh PROGRAM MONITOR... -- WORKLOAD-ARGS...
#
#   PROGRAM    the BPF program's name (bpftool prog show), e.g. handle_sys_exit
#   MONITOR    the command that attaches it, run in the background until the
#              workload is done, then stopped with SIGINT
#   WORKLOAD   arguments of build/bench/workload, e.g. many-files 20000 15
#
# Environment: TOP (lines printed, default 40), FREQ (samples a second per
# CPU, default 20000), IMAGE (a file to keep the JIT image in).
# Prints the program's share of the samples, then per source line: samples,
# share of the program's, line number and text. Needs root, perf and
# bpftool. Used in docs/performance.md (issue 12, many-files).
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,21p "$0" >&2; exit 2; }
prog=$1
shift
monitor=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do monitor+=("$1"); shift; done
[ $# -gt 0 ] || { echo "prog_profile: no -- before the workload's arguments" >&2; exit 2; }
shift
command -v perf >/dev/null || { echo "prog_profile: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${BARBWIRE_BUILDDIR:-$here/build}"
tmp=$(mktemp -d /tmp/bw-prog-profile-XXXXXX)
"${monitor[@]}" >/dev/null 2>"$tmp/monitor.log" &
mon=$!
trap 'kill -INT "$mon" 2>/dev/null || true; wait "$mon" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 300); do grep -q "ready" "$tmp/monitor.log" && break; kill -0 "$mon" 2>/dev/null || break; sleep 0.1; done
grep -q "ready" "$tmp/monitor.log" || { echo "prog_profile: the monitor did not get ready: $(tail -1 "$tmp/monitor.log")" >&2; exit 1; }
id=$(bpftool prog show -j | python3 -c '
import json, sys
ps = [p for p in json.load(sys.stdin) if p.get("name") == sys.argv[1]]
if not ps: sys.exit("prog_profile: no BPF program named " + sys.argv[1])
print(max(ps, key=lambda p: p["id"])["id"])' "$prog")
"$build/bench/jit_lines" "$id" "${IMAGE:-$tmp/image}" >"$tmp/lines.tsv"
perf record -q -o "$tmp/perf.data" -e cpu-clock -F "${FREQ:-20000}" -a -- "$build/bench/workload" "$@" >/dev/null
perf script -i "$tmp/perf.data" -F ip,sym 2>/dev/null >"$tmp/samples.txt"
python3 - "$tmp/lines.tsv" "$tmp/samples.txt" "$prog" "${TOP:-40}" <<'PY'
import bisect, collections, sys
lines_tsv, samples_txt, prog, top = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
table = []
for l in open(lines_tsv):
    addr, _insn, line, text = l.rstrip("\n").split("\t", 3)
    table.append((int(addr, 16), int(line), text.strip()))
table.sort()
starts = [t[0] for t in table]
total = mine = 0
by_line = collections.Counter()
text = {}
for l in open(samples_txt):
    parts = l.split()
    if not parts:
        continue
    total += 1
    if len(parts) < 2 or not (parts[1].startswith("bpf_prog_") and parts[1].endswith("_" + prog)):
        continue
    mine += 1
    i = bisect.bisect_right(starts, int(parts[0], 16)) - 1
    if i >= 0:
        by_line[table[i][1]] += 1
        text[table[i][1]] = table[i][2]
print("%s: %d of %d samples (%.2f%%)" % (prog, mine, total, 100.0 * mine / max(1, total)))
for line, n in by_line.most_common(top):
    print("%6d %5.1f%% %5d  %s" % (n, 100.0 * n / max(1, mine), line, text[line][:100]))
PY
