#!/bin/bash
# The fuzz campaign (issue 15; docs/reliability.md): every libFuzzer harness
# of test/fuzz/, built with clang, ASan and UBSan, run for a number of
# executions each, from a copy of its checked-in corpus.
#
#   scripts/fuzz-campaign.sh [RUNS [TARGET...]]
#
#   RUNS     executions per target (default 10000000)
#   TARGET   decode, trace, correlator, ... (default: every harness);
#            TARGET:N runs N processes of that harness at once on one
#            working corpus (each picks up what the others add, libFuzzer's
#            -reload), each making its share of the executions still
#            lacking; with FUZZ_RESUME=1 each adds its own ledger row, so
#            a slow harness can have both cores (correlator:2 with
#            FUZZ_JOBS=2: each process counts as one job)
#
# Environment:
#   FUZZ_JOBS=N       targets fuzzed at once (default 1; 2 uses both cores
#                     of a 2-core machine, one target on each)
#   FUZZ_MAX_TIME=S   also stop each target after S seconds (a time-boxed
#                     campaign: the table then says how many executions ran)
#   (To stop a target early and keep its count: kill -INT its fuzz_TARGET
#   process; libFuzzer prints its final stats and exits 72, "stopped".)
#   FUZZ_RESUME=1     a campaign in parts: each target keeps its working
#                     corpus in build-fuzz/campaign-corpus/TARGET between runs,
#                     and its executions are added up in
#                     test/fuzz/campaign-ledger.tsv (in the tree: commit it)
#                     under the code they ran: the build commands, the
#                     compiler, and the tree's files the target is compiled
#                     from (ninja's dependency log), its options, dictionary
#                     and corpus; see code_of below. A run then makes only the
#                     executions that RUNS still lacks at this code, and the
#                     table gives both this run's and the total. With
#                     uncommitted changes to that code nothing is added up
#                     (the binary is not a commit's).
#   FUZZ_LEDGER=1     print each target's key, its inputs and its count at
#                     this code, and exit (no fuzzing)
#
# Per-target libFuzzer flags come from test/fuzz/TARGET.options (one flag a
# line, '#' comments), e.g. -max_len for the stateful harnesses.
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
specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
    specs=($(python3 - <<'PY'
import re
s = open("test/fuzz/meson.build").read()
m = re.search(r"^fuzz_harnesses = \[(.*?)\]", s, re.M)
print(" ".join(re.findall(r"'([a-z_0-9]+)'", m.group(1))))
PY
))
fi
# TARGET:N -> the harness's name (targets) and N processes of it (units:
# NAME#K for K = 1..N, or NAME alone when N is 1).
targets=() units=()
declare -A shards=()
for spec in "${specs[@]}"; do
    name=${spec%%:*} n=1
    [ "$spec" != "$name" ] && n=${spec#*:}
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz-campaign: '$spec': the count after ':' must be a whole number of processes, 1 or more" >&2; exit 2; }
    [ -f "test/fuzz/fuzz_$name.cpp" ] || { echo "fuzz-campaign: '$name' is not a harness (test/fuzz/fuzz_$name.cpp does not exist)" >&2; exit 2; }
    [ -z "${shards[$name]:-}" ] || { echo "fuzz-campaign: '$name' is named twice; to run it in several processes, name it once as $name:N" >&2; exit 2; }
    targets+=("$name"); shards[$name]=$n
    if [ "$n" -eq 1 ]; then units+=("$name"); else for k in $(seq "$n"); do units+=("$name#$k"); done; fi
done
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
# malloc_context_size=0: ASan records no stack per allocation. It detects
# the same errors; its reports lose the allocation and free stacks, which
# replaying the saved input (the corpus test, or the binary with default
# options) prints. Recording them was a tenth of the correlator harness's
# time (1.09x the executions without, side by side; docs/reliability.md).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:malloc_context_size=0
report="$build/campaign.md"
{
    echo "| target | executions | seconds | cov | ft | corpus | result |"
    echo "|---|---:|---:|---:|---:|---:|---|"
} > "$report"
jobs=${FUZZ_JOBS:-1}
max_time=${FUZZ_MAX_TIME:-0}
resume=${FUZZ_RESUME:-0}
ledger="test/fuzz/campaign-ledger.tsv" # in the tree: commit it after a run, so the count survives the machine
# The code a target's binary and corpus come from, exactly: the commands
# ninja runs to build it (compiler flags, sanitizers, link), the compiler's
# version, and every file of this tree those commands read (from ninja's
# dependency log: the harness, the library headers it includes, the sensor
# sources it links), plus the target's options, dictionary and seed corpus.
# One hash over them (git objects for the files), or "dirty" when one of
# those files has uncommitted changes. A change elsewhere (the BPF program,
# another harness, a sensor file this harness does not compile) leaves the
# target's count standing; a change to anything it is built from starts it
# again at 0.
target_inputs() { # the tree's files that fuzz_$1 is compiled from, sorted
    local t=$1 obj
    ninja -C "$build" -t commands "test/fuzz/fuzz_$t" | sed -n 's/.* -o \([^ ]*\.o\) -c .*/\1/p' |
        while read -r obj; do ninja -C "$build" -t deps "$obj"; done |
        sed -n 's|^    \.\./||p' | sort -u
}
# A harness's checked-in corpus: its seeds and regression inputs.
seeds_of() { echo "test/fuzz/corpus/$1"; }
code_of() {
    local t=$1 paths
    paths="$(target_inputs "$t") $(seeds_of "$t")"
    [ -f "test/fuzz/$t.options" ] && paths+=" test/fuzz/$t.options"
    [ -f "test/fuzz/$t.dict" ] && paths+=" test/fuzz/$t.dict"
    # shellcheck disable=SC2086
    if [ -n "$(git status --porcelain -- $paths 2>/dev/null)" ]; then echo dirty; return; fi
    {
        clang++ --version | head -1
        ninja -C "$build" -t commands "test/fuzz/fuzz_$t"
        for p in $paths; do printf '%s ' "$p"; git rev-parse "HEAD:$p"; done
    } | sha1sum | cut -c1-12
}
# Executions already made at code $2 for target $1 (0 when none or dirty).
done_at_code() {
    [ "$2" = dirty ] || [ ! -f "$ledger" ] && { echo 0; return; }
    awk -F'\t' -v c="$2" -v t="$1" '$1 == c && $2 == t { n += $3 } END { print n + 0 }' "$ledger"
}
# A harness's working corpus: a copy of its seeds, shared by its processes
# (made once, before any of them starts).
corpus_of() {
    if [ "$resume" = 1 ]; then echo "$build/campaign-corpus/$1"; else echo "$work/$1"; fi
}
# One unit (a harness, or one process NAME#K of it): its row goes to
# $build/campaign-UNIT.row (# as -), its log to campaign-UNIT.log.
fuzz_one() {
    local unit=$1
    local t=${unit%%#*}
    local n=${shards[$t]}
    local tag=${unit//#/-}
    local bin="$build/test/fuzz/fuzz_$t"
    local seeds
    seeds=$(seeds_of "$t")
    local corpus
    corpus=$(corpus_of "$t")
    local before=0 want=$runs code
    code=$(code_of "$t")
    if [ "$resume" = 1 ]; then
        before=$(done_at_code "$t" "$code")
        want=$(( runs > before ? runs - before : 0 ))
    fi
    want=$(( (want + n - 1) / n )) # this process's share
    local extra=()
    [ -f "test/fuzz/$t.dict" ] && extra+=("-dict=test/fuzz/$t.dict")
    if [ -f "test/fuzz/$t.options" ]; then
        local flag
        while read -r flag; do extra+=("$flag"); done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "test/fuzz/$t.options")
    fi
    [ "$max_time" != 0 ] && extra+=("-max_total_time=$max_time")
    local log="$build/campaign-$tag.log"
    local start rc=0
    start=$(date +%s)
    if [ "$want" -eq 0 ]; then
        echo "| $unit | 0 (already $before at code $code) | 0 | | | | done |" > "$build/campaign-$tag.row"
        cat "$build/campaign-$tag.row"
        return 0
    fi
    "$bin" -runs="$want" -artifact_prefix="$seeds/regression-" -print_final_stats=1 "${extra[@]}" \
        "$corpus" >"$log" 2>&1 || rc=$?
    local secs=$(( $(date +%s) - start ))
    local execs last cov ft corp result
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    # 72: the status libFuzzer exits with on SIGINT (Debian 12's has no flag
    # to change it, and warned of the one this passed before): stopped by
    # hand (kill -INT the fuzz_TARGET process), no crash in what ran.
    if [ $rc -eq 0 ]; then result="no crash"
    elif [ $rc -eq 72 ]; then result="no crash (stopped)"
    else result="**FAILED** (exit $rc; see $log; input saved under $seeds/regression-*)"; fi
    local shown=${execs:-?}
    if [ "$resume" = 1 ] && { [ $rc -eq 0 ] || [ $rc -eq 72 ]; } && [ -n "$execs" ] && [ "$code" != dirty ]; then
        # Only a clean run counts: a crash's executions are not "no crash".
        printf '%s\t%s\t%s\t%s\t%s\n' "$code" "$t" "$execs" "$(git rev-parse --short HEAD)" "$(date -u +%FT%TZ)" >> "$ledger"
        shown="$execs (total $(( before + execs )) at code $code)"
    fi
    echo "| $unit | $shown | $secs | ${cov:-?} | ${ft:-?} | ${corp:-?} | $result |" > "$build/campaign-$tag.row"
    cat "$build/campaign-$tag.row"
    [ $rc -eq 72 ] && return 0
    return $rc
}
if [ "${FUZZ_LEDGER:-0}" = 1 ]; then
    for t in "${targets[@]}"; do
        code=$(code_of "$t")
        echo "$t: code $code, $(done_at_code "$t" "$code") executions recorded at it; built from:"
        target_inputs "$t" | sed 's/^/    /'
    done
    exit 0
fi
status=0
for t in "${targets[@]}"; do
    mkdir -p "$(corpus_of "$t")"
    cp -r "$(seeds_of "$t")/." "$(corpus_of "$t")/"
done
for u in "${units[@]}"; do
    rm -f "$build/campaign-${u//#/-}.row"
    fuzz_one "$u" &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || status=1; done
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || status=1; done
for u in "${units[@]}"; do
    if [ -f "$build/campaign-${u//#/-}.row" ]; then cat "$build/campaign-${u//#/-}.row" >> "$report"; else status=1; fi
done
echo "fuzz-campaign: $runs runs per target at $(git rev-parse --short HEAD); table in $report"
exit $status
