#!/bin/bash
# The fuzz campaign (issue 15; docs/reliability.md): every libFuzzer harness
# of test/fuzz/, built with clang, ASan and UBSan, run for a number of
# executions each, from a copy of its checked-in corpus.
#
#   scripts/fuzz-campaign.sh [RUNS [TARGET...]]
#
#   RUNS     executions per target (default 10000000)
#   TARGET   decode, trace, correlator, ... (default: every harness)
#
# Environment:
#   FUZZ_JOBS=N       targets fuzzed at once (default 1; 2 uses both cores
#                     of a 2-core machine, one target on each)
#   FUZZ_MAX_TIME=S   also stop each target after S seconds (a time-boxed
#                     campaign: the table then says how many executions ran)
#
# A crash, a leak, a sanitizer report or a failed property stops that target;
# its input is saved as test/fuzz/corpus/TARGET/regression-crash-<sha1> (or
# regression-leak-, -timeout-, -oom-), which the
# corpus tests (suite 'fuzz') replay from then on: commit it with the fix.
# At the end, one Markdown row per target (executions, seconds, coverage,
# features, corpus size, result) is printed and written to
# build-fuzz/campaign.md, for docs/reliability.md.
#
# Long: minutes per target on 2 cores. A script, not a test. Loopback and
# files only; nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=($(python3 - <<'PY'
import re
s = open("test/fuzz/meson.build").read()
m = re.search(r"^fuzz_harnesses = \[(.*?)\]", s, re.M)
print(" ".join(re.findall(r"'([a-z_0-9]+)'", m.group(1))))
PY
))
fi
command -v clang++ >/dev/null || { echo "fuzz-campaign: clang++ is not installed (apt-get install clang)" >&2; exit 2; }
build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
    CXX=clang++ CC=clang meson setup "$build" -Dfuzzing=true -Dsensor=disabled -Dexamples=false -Dbench=false \
        -Dfuzzer_ldflags=-fsanitize=fuzzer,address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" $(for t in "${targets[@]}"; do printf 'test/fuzz/fuzz_%s ' "$t"; done) >/dev/null
work=$(mktemp -d /tmp/bw-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
report="$build/campaign.md"
{
    echo "| target | executions | seconds | cov | ft | corpus | result |"
    echo "|---|---:|---:|---:|---:|---:|---|"
} > "$report"
jobs=${FUZZ_JOBS:-1}
max_time=${FUZZ_MAX_TIME:-0}
# One target: its row goes to $build/campaign-TARGET.row.
fuzz_one() {
    local t=$1
    local bin="$build/test/fuzz/fuzz_$t"
    local seeds="test/fuzz/corpus/$t"
    mkdir -p "$work/$t"
    cp -r "$seeds/." "$work/$t/"
    local extra=()
    [ -f "test/fuzz/$t.dict" ] && extra+=("-dict=test/fuzz/$t.dict")
    [ "$max_time" != 0 ] && extra+=("-max_total_time=$max_time")
    local log="$build/campaign-$t.log"
    local start rc=0
    start=$(date +%s)
    "$bin" -runs="$runs" -artifact_prefix="$seeds/regression-" -print_final_stats=1 "${extra[@]}" \
        "$work/$t" >"$log" 2>&1 || rc=$?
    local secs=$(( $(date +%s) - start ))
    local execs last cov ft corp result
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    if [ $rc -eq 0 ]; then result="no crash"; else result="**FAILED** (exit $rc; see $log; input saved under $seeds/regression-*)"; fi
    echo "| $t | ${execs:-?} | $secs | ${cov:-?} | ${ft:-?} | ${corp:-?} | $result |" > "$build/campaign-$t.row"
    cat "$build/campaign-$t.row"
    return $rc
}
status=0
for t in "${targets[@]}"; do
    rm -f "$build/campaign-$t.row"
    fuzz_one "$t" &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || status=1; done
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || status=1; done
for t in "${targets[@]}"; do
    if [ -f "$build/campaign-$t.row" ]; then cat "$build/campaign-$t.row" >> "$report"; else status=1; fi
done
echo "fuzz-campaign: $runs runs per target at $(git rev-parse --short HEAD); table in $report"
exit $status
