#!/usr/bin/env python3
"""Replay benchmark: events/s through `barbwire replay` and its peak RSS.

  bench/replay_bench.py [--build build] [--events 10000000] [--processes 1000000] [--fifo]

Pipes bench/gen_trace into `barbwire replay - --format json --stats` (or
through a FIFO with --fifo), and reports what the replay process itself said
(events/s, table state) next to its peak RSS measured from outside by wait4().
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--processes", type=int, default=1_000_000)
    ap.add_argument("--fifo", action="store_true", help="read the trace from a FIFO instead of stdin")
    ap.add_argument("--config", help="rules file (default: built-in rules)")
    ap.add_argument("--max-rss-mib", type=float,
                    help="fail (exit 1) when replay's peak RSS exceeds this; used by the memory-bound test")
    a = ap.parse_args()

    gen = os.path.join(a.build, "bench", "gen_trace")
    bw = os.path.join(a.build, "sensor", "barbwire")
    for p in (gen, bw):
        if not os.access(p, os.X_OK):
            print(f"replay_bench: {p} is missing; build first (./dev build)", file=sys.stderr)
            return 2

    gen_cmd = [gen, "--events", str(a.events), "--processes", str(a.processes)]
    extra = ["--config", a.config] if a.config else []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        if a.fifo:
            src = os.path.join(tmp, "trace.fifo")
            os.mkfifo(src)
            replay = subprocess.Popen([bw, "replay", src, "--format", "json", "--stats", *extra],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            with open(src, "wb") as fifo:
                g = subprocess.Popen(gen_cmd, stdout=fifo, stderr=subprocess.DEVNULL)
            g_rc = g.wait()
        else:
            g = subprocess.Popen(gen_cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            replay = subprocess.Popen([bw, "replay", "-", "--format", "json", "--stats", *extra],
                                      stdin=g.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            g.stdout.close()
            g_rc = g.wait()
        err = replay.stderr.read().decode()
        _, status, ru = os.wait4(replay.pid, 0)
    wall = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    if g_rc != 0 or rc != 0:
        print(f"replay_bench: generator exit {g_rc}, replay exit {rc}\n{err}", file=sys.stderr)
        return 1
    stats = json.loads(err.strip().splitlines()[-1])
    print(f"events            : {stats['trace_events']:,}")
    print(f"distinct processes: {a.processes:,}")
    print(f"alerts            : {stats['alerts_written']:,}")
    print(f"replay events/s   : {stats['events_per_second']:,.0f}  (parse + correlate, one core)")
    cpu = ru.ru_utime + ru.ru_stime
    print(f"replay events/CPU-s: {stats['trace_events'] / cpu:,.0f}  (user+sys CPU time of replay, wait4; robust to a busy machine)")
    print(f"replay peak RSS   : {ru.ru_maxrss / 1024:.1f} MiB  (wait4 ru_maxrss)")
    print(f"wall time         : {wall:.1f} s  (input: {'FIFO' if a.fifo else 'pipe'})")
    print("replay stats      : " + json.dumps(stats))
    if stats["trace_events"] != a.events:
        print(f"replay_bench: replay saw {stats['trace_events']} events, generated {a.events}", file=sys.stderr)
        return 1
    if a.max_rss_mib is not None and ru.ru_maxrss / 1024 > a.max_rss_mib:
        print(f"replay_bench: peak RSS {ru.ru_maxrss / 1024:.1f} MiB is over the bound of {a.max_rss_mib} MiB",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
