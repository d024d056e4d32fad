#!/usr/bin/env python3
"""Sensor overhead benchmark (issues 6 and 12): workloads run with no sensor,
under the live sensor and under the no-op floor, interleaved in one run, side
by side.

  sudo python3 bench/sensor_bench.py [--build build] [--rounds 6] [--only W,W]
        [--scale F] [--sensor-args "..."] [--variant NAME="ARGS"]... [--floor]
        [--build-config minimal|full|bpf] [--settle S] [--latency-attacks N]
        [--no-warmup] [--bpf-stats] [--json FILE]

Workloads (bench/workload, built at -O2 by bench/meson.build, and
bench/build_workload.py):
  open-heavy     1,000,000 open+close of one file in a temp dir
  connect-heavy  200,000 TCP connects to a loopback port with nothing listening (refused)
  fork-exec      2,000 fork + exec of /bin/true, each waited for
  many-files     20,000 files (made first, not timed), then 15 rounds opening each once
  send-heavy     200,000 writes of 64 bytes on an established loopback TCP connection
                 (TCP_NODELAY), then 100,000 sendto()s of 64 bytes on an unconnected UDP
                 socket to a loopback receiver; reader threads drain both
  build          a clean parallel build (meson setup + ninja -j nproc) of a copy of
                 this project's sources, made once before the rounds (--build-config:
                 minimal = -Dtests=false -Dbench=false -Dexamples=false, the default;
                 full; bpf = only the BPF object and skeleton, the default at
                 --scale below 0.05); --scale does not shrink it otherwise
  latency        the end-to-end alert latency (test/e2e/latency_test.py's measure()):
                 N attacks (default 200), each in its own session, with the sensor of
                 each variant; p50/p95/p99/max against the 250 ms p99 target

Variants. "none" runs the workload alone. A sensor variant (default: one,
"sensor" = built-in rules plus --sensor-args; --variant NAME="ARGS" for
several) is `BUILD/sensor/barbwire run --format json --verbose ARGS`, started
fresh for every run: the workload starts after its `barbwire: ready` line and
the sensor is stopped with SIGINT after the workload exits (it drains the
ring first). --floor adds "noop-floor": `BUILD/bench/noop_attach`, no-op BPF
programs generated from the sensor's own object (bench/gen_noop.py), one on
each hook the sensor attaches, started and stopped like a sensor. Attaching
those hooks at all costs something no sensor work can remove (every syscall
of every task takes the kernel's tracing path, each hook calls a BPF
program); the floor measures it. After every monitor's ready line the harness
reads the hooks it attached (its BPF links, from /proc/PID/fdinfo), and the
run fails if the floor's hooks are not exactly a sensor variant's.

Rounds. Each round runs every variant once, in an order from a Williams
design (a balanced Latin square: over a full cycle of rounds every variant
runs in every position equally often and follows every other variant equally
often; a cycle is as many rounds as variants, or twice that for an odd count:
6 rounds for none, one sensor and the floor), so neither a slow drift of the
machine nor the previous run's after-effects favour one variant. Choose
--rounds as a multiple of the cycle (6, 12, 18, ...); the harness says when it
is not. --settle seconds (default 0.5) pass between
runs. One warm-up round at a fifth of the size comes first (for build: one
build with no sensor).

Statistics. Within a round the variants ran minutes apart at most, so the
harness pairs them: for each round it takes the ratio of two variants'
figures (floor/none, sensor/none, sensor/floor) and reports the median of
those per-round ratios with a distribution-free confidence interval for the
median (order statistics of the ratios: the interval [r(k), r(n+1-k)] with
the smallest k whose binomial coverage is at least 95%; with fewer than 6
rounds no such k exists and [min, max] is given with its coverage, e.g. 94%
for 5 rounds). Three figures are paired:
  wall     the workload's elapsed time (the measured part, from its JSON line);
  cpu      the workload's CPU time, user+system of its process tree (BPF
           programs run in the workload's context, inside its syscalls);
  cpu+mon  that plus the monitor's own CPU time while the workload ran
           (/proc/PID/stat at its ready line and just before SIGINT: the
           sensor's user-space work; the floor's is about 0). Its exit (last
           drain, tearing down links and maps) is a fixed cost per run, left
           out here; the table's "sensor cpu s" includes it.
Issue 12's bound is sensor/floor <= 1.05 for every workload: "met" when the
interval's upper end is at most 1.05, "not shown" when the median is but the
interval reaches past it, "NOT met" when the median is above it; with fewer
than 5 rounds "(few rounds)" follows, and no claim is made.

Also reported per workload and variant, as before (issue 6): median elapsed
times, ratio of the medians and median of the per-round ratios against no
sensor with issue 6's bounds, the sensor's CPU time (/proc/PID/stat at ready,
wait4 rusage at exit), its peak RSS (VmHWM just before SIGINT and wait4
ru_maxrss, the larger; max over rounds), events and kernel drops from its exit
stats. Bounds are reported, never asserted. The exit status is non-zero only
when something failed to run (a workload error, a sensor that would not start
or exit cleanly, a floor whose hooks differ from the sensor's, a failed
latency check).

Root is needed (the sensor loads BPF). Nothing is pinned to a core. Runs are
measured on whatever machine state there is: quote ratios measured side by
side in one run, with their intervals, and the load average printed.
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD_WORKLOAD = os.path.join(HERE, "build_workload.py")

READY_PREFIX = "barbwire: ready"
READY_TIMEOUT = 60.0
EXIT_TIMEOUT = 60.0

# name -> (workload arguments at scale 1, issue 6's bound on the slowdown against no sensor, or None)
WORKLOADS = {
    "open-heavy": (["open-heavy", 1_000_000], 1.20),
    "connect-heavy": (["connect-heavy", 200_000], 1.10),
    "fork-exec": (["fork-exec", 2_000], 1.10),
    "many-files": (["many-files", 20_000, 15], 1.25),
    "send-heavy": (["send-heavy", 200_000, 100_000], None),
    "build": (["build"], None),
}
FLOOR_BOUND = 1.05  # issue 12: every workload at most 1.05x the no-op floor of the same run
RSS_BOUND_MIB = 64.0
LATENCY_P99_BOUND_MS = 250.0
DEFAULT_LATENCY_ATTACKS = 200
CONFIDENCE = 0.95
METRICS = ("wall", "cpu", "cpu+mon")


class RunError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def scaled_args(name, scale, args_for=None):
    if args_for and name in args_for:
        return [WORKLOADS[name][0][0], *args_for[name]]  # given exactly: --scale does not apply
    args, _ = WORKLOADS[name]
    out = [args[0]]
    for i, v in enumerate(args[1:]):
        if name == "many-files" and i == 1:
            out.append(str(v))  # rounds stay 15: the point is repeated opens of many files
        else:
            out.append(str(max(1, int(round(v * scale)))))
    return out


def workload_cmd(a, wargs):
    """The command that runs one workload and prints its JSON line."""
    if wargs[0] == "build":
        return [sys.executable, BUILD_WORKLOAD, "run", a.build_src, "--config", a.build_config]
    return [a.workload_exe, *wargs]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def clk_tck():
    return os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
    """utime+stime of a live process from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / clk_tck()


def proc_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def fdinfo(pid, fd):
    out = {}
    with open(f"/proc/{pid}/fdinfo/{fd}") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip()
    return out


# fdinfo fields of a BPF link that are not part of where it is attached
LINK_IDENTITY_FIELDS = {"pos", "flags", "mnt_id", "ino", "link_id", "prog_tag", "prog_id", "cookie", "link_type",
                        "tp_name"}


def attached_hooks(pid):
    """The hooks a process has attached BPF programs to: one (link type, target,
    program type, other attach fields) per BPF link it holds, sorted. Read from
    /proc/PID/fdinfo: a raw_tracepoint link (tp_btf, raw_tp) shows tp_name, a
    perf link (tracepoint/) its tracepoint's name."""
    progs, links = {}, []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target == "anon_inode:bpf-prog":
                info = fdinfo(pid, fd)
                progs[info.get("prog_id")] = info.get("prog_type", "?")
            elif target == "anon_inode:bpf_link":
                links.append(fdinfo(pid, fd))
        except OSError:
            continue
    hooks = []
    for l in links:
        extra = ",".join(f"{k}={v}" for k, v in sorted(l.items()) if k not in LINK_IDENTITY_FIELDS)
        hooks.append((l.get("link_type", "?"), l.get("tp_name", ""), progs.get(l.get("prog_id"), "?"), extra))
    return sorted(hooks)


def describe_hooks(hooks):
    return ", ".join(f"{t}:{n}" for t, n, _, _ in hooks)


STATS_RE = re.compile(r"stopped after ([0-9.]+) s: (\d+) events? \(([^)]*)\).*?(\d+) kernel drops?")


FLOOR = "noop-floor"


def sensor_argv(bw, args):
    return [bw, "run", "--format", "json", "--verbose", *args]


class SensorRun:
    """One monitor process: `barbwire run --format json --verbose ARGS`
    (sensor_argv), or the floor's noop_attach; the same ready and stats lines.
    At ready it records the process's CPU time and the hooks it attached."""

    def __init__(self, argv):
        self.argv = list(argv)
        self.proc = None
        self.err = []
        self.out_lines = 0
        self.ready = threading.Event()
        self.threads = []
        self.cpu_at_ready = None
        self.cpu_at_stop = None
        self.hooks = []
        self.hwm_kib = 0
        self.rusage = None
        self.rc = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd="/", start_new_session=True)
        t1 = threading.Thread(target=self._pump_err, daemon=True)
        t2 = threading.Thread(target=self._pump_out, daemon=True)
        t1.start(), t2.start()
        self.threads = [t1, t2]
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RunError(f"sensor did not get ready ({' '.join(self.argv)}); stderr:\n" + "\n".join(self.err))
        self.cpu_at_ready = proc_cpu_s(self.proc.pid)
        self.hooks = attached_hooks(self.proc.pid)
        return self

    def _pump_err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.err.append(line)
            if line.startswith(READY_PREFIX):
                self.ready.set()

    def _pump_out(self):
        for _ in iter(self.proc.stdout.readline, b""):
            self.out_lines += 1

    def stop(self):
        """SIGINT; waits for the exit with wait4 (rusage). Returns the stats dict."""
        # Reaped here with wait4 (for its rusage), never by Popen: no poll(),
        # and os.kill rather than Popen.send_signal, which polls first.
        pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
        if pid != 0:
            self._reaped(status, ru)
            for t in self.threads:
                t.join(10)
            raise RunError(f"the monitor exited on its own during the workload (exit {self.rc}): "
                           f"{' '.join(self.argv)}; stderr:\n" + "\n".join(self.err[-20:]))
        try:
            self.hwm_kib = proc_hwm_kib(self.proc.pid)
            self.cpu_at_stop = proc_cpu_s(self.proc.pid)
        except OSError:
            pass
        os.kill(self.proc.pid, signal.SIGINT)
        deadline = time.monotonic() + EXIT_TIMEOUT
        while True:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > deadline:
                self.kill()
                raise RunError(f"sensor did not exit within {EXIT_TIMEOUT:.0f} s of SIGINT")
            time.sleep(0.02)
        self._reaped(status, ru)
        for t in self.threads:
            t.join(10)
        if self.rc != 0:
            raise RunError(f"sensor exited {self.rc}; stderr:\n" + "\n".join(self.err[-20:]))
        return self.stats()

    def _reaped(self, status, ru):
        self.rc = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.rc  # reaped here, not by Popen
        self.rusage = ru

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stats(self):
        text = next((l for l in self.err if "stopped after" in l), None)
        m = STATS_RE.search(text or "")
        if not m:
            raise RunError("no stats line ('stopped after ... kernel drops') on the sensor's stderr:\n" +
                           "\n".join(self.err[-20:]))
        by_kind = {}
        for part in m.group(3).split(","):
            k, _, v = part.strip().partition(" ")
            if v.isdigit():
                by_kind[k] = int(v)
        verbose = None
        for l in self.err:
            if l.startswith("barbwire: stats: "):
                try:
                    verbose = json.loads(l[len("barbwire: stats: "):])
                except ValueError:
                    pass
        drops = int(m.group(4))
        if verbose is not None and "kernel_drops" in verbose:
            drops = max(drops, int(verbose["kernel_drops"]))
        ru = self.rusage
        cpu_total = ru.ru_utime + ru.ru_stime
        return {
            "events": int(m.group(2)),
            "events_by_kind": by_kind,
            "kernel_drops": drops,
            "sensor_seconds": float(m.group(1)),
            "alerts_lines": self.out_lines,
            "cpu_s": cpu_total - (self.cpu_at_ready or 0.0),
            "cpu_during_s": (self.cpu_at_stop - self.cpu_at_ready
                             if self.cpu_at_stop is not None and self.cpu_at_ready is not None else None),
            "cpu_total_s": cpu_total,
            "peak_rss_mib": max(self.hwm_kib, ru.ru_maxrss) / 1024.0,
            "hooks": len(self.hooks),
            "stats_line": text,
            "verbose_stats": verbose,
        }


def run_workload(cmd):
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd="/tmp")
    outer = time.monotonic() - t0
    if p.returncode != 0:
        raise RunError(f"workload {' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    try:
        r = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RunError(f"workload {' '.join(cmd)} printed no JSON line: {p.stdout!r} {p.stderr!r}")
    r["outer_wall_s"] = outer
    return r


BPF_STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"


def bpf_progs():
    """{id: prog dict} of every loaded BPF program (bpftool prog show -j)."""
    p = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RunError(f"bpftool prog show failed: {p.stderr.strip()}")
    return {x["id"]: x for x in json.loads(p.stdout or "[]")}


def bpf_stats_run(cmd, argv):
    """A diagnostic run (not part of the ratios): the workload under a fresh
    sensor with kernel.bpf_stats_enabled=1, and the run count and run time of
    each of the sensor's BPF programs over the workload. The sensor's programs
    are those that appeared while it started (bpftool here cannot show owners)."""
    with open(BPF_STATS_SYSCTL) as f:
        old = f.read().strip()
    with open(BPF_STATS_SYSCTL, "w") as f:
        f.write("1")
    try:
        before_ids = set(bpf_progs())
        s = SensorRun(argv).start()
        try:
            mine = {i: x for i, x in bpf_progs().items() if i not in before_ids and x.get("name", "").startswith("handle_")}
            if not mine:
                raise RunError("no new BPF programs named handle_* appeared while the sensor started")
            w = run_workload(cmd)
            after = bpf_progs()
            st = s.stop()
        finally:
            s.kill()
    finally:
        with open(BPF_STATS_SYSCTL, "w") as f:
            f.write(old)
    progs = {}
    for i, x in mine.items():
        y = after.get(i, {})
        cnt = y.get("run_cnt", 0) - x.get("run_cnt", 0)
        ns = y.get("run_time_ns", 0) - x.get("run_time_ns", 0)
        if cnt:
            progs[x["name"]] = {"run_cnt": cnt, "run_time_s": ns / 1e9, "ns_per_run": ns / cnt}
    return {"workload": w, "sensor": st, "bpf_programs": progs,
            "bpf_total_s": sum(p["run_time_s"] for p in progs.values())}


def one_run(cmd, argv):
    """The workload once, under a fresh monitor (the process argv) when argv is not None."""
    if argv is None:
        return {"workload": run_workload(cmd)}
    s = SensorRun(argv).start()
    try:
        w = run_workload(cmd)
        st = s.stop()
    finally:
        s.kill()
    return {"workload": w, "sensor": st, "hooks": s.hooks}


# ---------------------------------------------------------------- statistics


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def williams_orders(n):
    """Orders of n variants (lists of indices) from a Williams design: each
    variant in each position equally often, and each ordered pair of
    neighbours equally often, over the returned rows (n rows for even n, 2n
    for odd n). Round r runs the variants in row r mod len(rows)."""
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        if len(first) % 2 == 1:
            first.append(lo)
            lo += 1
        else:
            first.append(hi)
            hi -= 1
    rows = [[(x + i) % n for x in first] for i in range(n)]
    if n % 2 == 1 and n > 1:
        rows += [list(reversed(r)) for r in rows]
    return rows


def binom_cdf_half(k, n):
    """P(B <= k) for B ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n


def median_ci(xs, conf=CONFIDENCE):
    """The median of xs with a distribution-free confidence interval: the
    order statistics [x(k), x(n+1-k)] for the largest k whose coverage
    1 - 2 P(B <= k-1), B ~ Bin(n, 1/2), is at least conf; k = 1 ([min, max])
    when even that falls short (fewer than 6 values at 95%), with its lower
    coverage reported. Returns a dict, or None for no values."""
    xs = sorted(x for x in xs if x is not None)
    n = len(xs)
    if n == 0:
        return None
    k = 1
    while k + 1 <= (n + 1) // 2 and 1 - 2 * binom_cdf_half(k, n) >= conf:
        k += 1
    return {"median": statistics.median(xs), "lo": xs[k - 1], "hi": xs[n - k],
            "conf": max(0.0, 1 - 2 * binom_cdf_half(k - 1, n)), "n": n, "ratios": xs}


def metric(run, name):
    w = run["workload"]
    if name == "wall":
        return w["wall_s"]
    if name == "cpu":
        return w["cpu_s"]
    if name == "cpu+mon":
        # the monitor's CPU time while the workload ran (ready to SIGINT): its
        # exit (the last drain, tearing down links and maps) is left out, a
        # fixed cost per run that would weigh on short runs only
        return w["cpu_s"] + ((run["sensor"]["cpu_during_s"] or 0.0) if "sensor" in run else 0.0)
    raise ValueError(name)


def paired(runs, num, den):
    """{metric: median_ci of the per-round ratios num/den} over the rounds both ran in."""
    by_round = {x["round"]: x for x in runs[den]}
    out = {}
    for m in METRICS:
        ratios = []
        for x in runs[num]:
            y = by_round.get(x["round"])
            if y is not None and metric(y, m) > 0:
                ratios.append(metric(x, m) / metric(y, m))
        out[m] = median_ci(ratios)
    return out


MIN_VERDICT_CONF = 0.90  # 5 rounds give 93.75%; fewer rounds give no useful interval


def floor_verdict(ci, bound=FLOOR_BOUND):
    """'met' (the interval is at most bound), 'not shown' (the median is, the
    interval is not), 'NOT met' (the median is above); with an interval of
    coverage below MIN_VERDICT_CONF (fewer than 5 rounds), '(few rounds)'
    follows: no claim either way."""
    if ci is None:
        return "-"
    if ci["hi"] <= bound:
        v = "met"
    elif ci["median"] <= bound:
        v = "not shown"
    else:
        v = "NOT met"
    return v if ci["conf"] >= MIN_VERDICT_CONF else v + " (few rounds)"


# ---------------------------------------------------------------- one workload


def check_hooks(name, res, seen):
    """Every monitor must attach the same hooks in every run, and the floor
    exactly the hooks of each sensor variant (seen: variant -> hooks)."""
    v, hooks = res["variant"], res.get("hooks")
    if hooks is None:
        return
    if v not in seen:
        seen[v] = hooks
    elif seen[v] != hooks:
        raise RunError(f"{name}: {v} attached other hooks than in its earlier run: {describe_hooks(hooks)}")
    if FLOOR in seen:
        for s, h in seen.items():
            if s == FLOOR:
                continue
            # program types are compared too (a raw_tp is not a tp_btf), attach fields too
            if h != seen[FLOOR]:
                only_s = sorted(set(h) - set(seen[FLOOR]))
                only_f = sorted(set(seen[FLOOR]) - set(h))
                raise RunError(f"{name}: the floor's hooks differ from sensor '{s}''s ({len(seen[FLOOR])} vs "
                               f"{len(h)} links); only the sensor's: {describe_hooks(only_s) or '-'}; only the "
                               f"floor's: {describe_hooks(only_f) or '-'}. Rebuild (bench/noop.bpf.c is generated "
                               f"from bpf/barbwire.bpf.o) and check bench/gen_noop.py")


def bench_workload(a, name, variants, seen_hooks):
    """variants: [(name, argv)], the sensor variants and the floor (if any)."""
    wargs = scaled_args(name, a.scale, a.args_for)
    cmd = workload_cmd(a, wargs)
    names = ["none"] + [v for v, _ in variants]
    argvs = dict([("none", None)] + list(variants))
    runs = {n: [] for n in names}
    if a.warmup:
        if name == "build":
            log(f"{name}: warm-up (one build, config {a.build_config}, no sensor)")
            one_run(cmd, None)
        else:
            warm = scaled_args(name, a.scale / 5)
            log(f"{name}: warm-up ({' '.join(warm)}) without and with each monitor")
            for n in names:
                one_run(workload_cmd(a, warm), argvs[n])
    orders = williams_orders(len(names))
    rounds = a.rounds_for.get(name, a.rounds)
    if rounds % len(orders):
        log(f"{name}: {rounds} rounds is not a multiple of the order cycle ({len(orders)} orders for "
            f"{len(names)} variants): positions are not exactly balanced")
    for r in range(rounds):
        for i in orders[r % len(orders)]:
            n = names[i]
            if a.settle > 0:
                time.sleep(a.settle)
            res = one_run(cmd, argvs[n])
            res["round"] = r
            res["variant"] = n
            check_hooks(name, res, seen_hooks)
            runs[n].append(res)
            w = res["workload"]
            extra = ""
            if "sensor" in res:
                s = res["sensor"]
                extra = (f", mon cpu {s['cpu_s']:.2f} s, rss {s['peak_rss_mib']:.1f} MiB, "
                         f"{s['events']} events, {s['kernel_drops']} drops, {len(res['hooks'])} hooks")
            log(f"{name} round {r + 1}/{rounds} {n:>10}: {w['wall_s']:.3f} s wall, {w['cpu_s']:.3f} s cpu{extra}"
                f"  [load {loadavg()}]")
    base = runs["none"]
    out = {"args": wargs, "command": cmd, "bound": WORKLOADS[name][1], "floor_bound": FLOOR_BOUND,
           "order": [[names[i] for i in row] for row in orders], "runs": runs, "variants": {}, "paired": {}}
    if a.bpf_stats:
        out["bpf_stats"] = {}
        for v, argv in variants:
            if v == FLOOR:
                continue
            d = bpf_stats_run(cmd, argv)
            out["bpf_stats"][v] = d
            top = sorted(d["bpf_programs"].items(), key=lambda kv: -kv[1]["run_time_s"])
            log(f"{name} bpf stats {v}: {d['bpf_total_s']:.3f} s in BPF programs over the workload (" +
                ", ".join(f"{k} {x['run_cnt']} runs {x['ns_per_run']:.0f} ns/run" for k, x in top[:4]) + ")")
    base_wall = med([x["workload"]["wall_s"] for x in base])
    base_cpu = med([x["workload"]["cpu_s"] for x in base])
    base_by_round = {x["round"]: x for x in base}
    out["none"] = {"median_wall_s": base_wall, "median_cpu_s": base_cpu,
                   "ops_per_s": base[0]["workload"]["ops"] / base_wall if base_wall else None}
    for v, _ in variants:
        rs = runs[v]
        wall = med([x["workload"]["wall_s"] for x in rs])
        cpu = med([x["workload"]["cpu_s"] for x in rs])
        pairs = paired(runs, v, "none")
        out["paired"][f"{v}/none"] = pairs
        out["variants"][v] = {
            "median_wall_s": wall,
            "median_cpu_s": cpu,
            "ratio": wall / base_wall if base_wall else None,
            "ratio_pairs_median": pairs["wall"]["median"] if pairs["wall"] else None,
            "ratio_pairs": [metric(x, "wall") / metric(base_by_round[x["round"]], "wall") for x in rs
                            if x["round"] in base_by_round and metric(base_by_round[x["round"]], "wall") > 0],
            "cpu_ratio": cpu / base_cpu if base_cpu else None,
            "sensor_cpu_s": med([x["sensor"]["cpu_s"] for x in rs]),
            "sensor_cpu_pct_of_wall": med([100.0 * x["sensor"]["cpu_s"] / x["workload"]["wall_s"]
                                           for x in rs if x["workload"]["wall_s"] > 0]),
            "peak_rss_mib": max(x["sensor"]["peak_rss_mib"] for x in rs),
            "events": med([x["sensor"]["events"] for x in rs]),
            "events_min": min(x["sensor"]["events"] for x in rs),
            "kernel_drops_max": max(x["sensor"]["kernel_drops"] for x in rs),
            "kernel_drops_total": sum(x["sensor"]["kernel_drops"] for x in rs),
            "hooks": len(rs[0]["hooks"]) if rs else None,
        }
    floor = out["variants"].get(FLOOR)
    if floor:
        for v, x in out["variants"].items():
            if v == FLOOR:
                continue
            pairs = paired(runs, v, FLOOR)
            out["paired"][f"{v}/{FLOOR}"] = pairs
            x["above_floor"] = (x["median_wall_s"] / floor["median_wall_s"]
                                if x["median_wall_s"] is not None and floor["median_wall_s"] else None)
            x["above_floor_pairs_median"] = pairs["wall"]["median"] if pairs["wall"] else None
            x["above_floor_ci"] = pairs["wall"]
            x["floor_verdict"] = floor_verdict(pairs["wall"])
    return out


def bench_latency(a, variants):
    sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
    import latency_test  # noqa: E402  (test/e2e/latency_test.py)
    out = {"attacks": a.latency_attacks, "bound_p99_ms": LATENCY_P99_BOUND_MS, "variants": {}}
    for v, vargs in variants:
        log(f"latency: {a.latency_attacks} attacks under sensor '{v}' ({' '.join(vargs) or 'no extra args'})")
        try:
            res = latency_test.measure(a.bw, a.latency_attacks, extra=vargs, progress=log)
        except AssertionError as e:
            raise RunError(f"latency measurement under '{v}' failed: {e}")
        log("latency: " + latency_test.report_line(res))
        out["variants"][v] = res
    return out


# ---------------------------------------------------------------- report


def verdict(ok):
    return "met" if ok else "NOT met"


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def fmt_ci(ci):
    if ci is None:
        return "-"
    return f"{ci['median']:.3f} [{ci['lo']:.3f}, {ci['hi']:.3f}]"


def print_table(results, variants):
    """variants: [(name, argv)], the sensor variants and the floor (if any)."""
    vw = max([8] + [len(v) for v, _ in variants])
    wl = results.get("workloads", {})
    print()
    print(f"{'workload':<14} {'variant':<{vw}} {'median s':>9} {'ratio':>6} {'pairs':>6} {'bound':>6} {'':>7} "
          f"{'wl cpu x':>8} {'sensor cpu s':>12} {'cpu %':>6} {'peak RSS':>9} {'events':>10} {'drops':>6} {'hooks':>5}")
    for name, r in wl.items():
        print(f"{name:<14} {'none':<{vw}} {fmt(r['none']['median_wall_s'], '9.3f')}")
        for v, _ in variants:
            x = r["variants"][v]
            b = r["bound"]
            ok = "-" if b is None else verdict(x["ratio"] is not None and x["ratio"] <= b)
            print(f"{'':<14} {v:<{vw}} {fmt(x['median_wall_s'], '9.3f')} {fmt(x['ratio'], '6.3f')} "
                  f"{fmt(x['ratio_pairs_median'], '6.3f')} {fmt(b, '6.2f')} {ok:>7} "
                  f"{fmt(x['cpu_ratio'], '8.3f')} {fmt(x['sensor_cpu_s'], '12.2f')} "
                  f"{fmt(x['sensor_cpu_pct_of_wall'], '6.1f')} {x['peak_rss_mib']:>5.1f} MiB "
                  f"{int(x['events']):>10} {x['kernel_drops_max']:>6} {fmt(x['hooks'], '5d')}")
    if any(r["paired"] for r in wl.values()):
        print()
        print(f"paired per-round ratios: median [{CONFIDENCE:.0%} interval of the median] over n rounds "
              f"(conf: the interval's exact coverage); issue 12 bound: sensor/{FLOOR} <= {FLOOR_BOUND:.2f} (wall)")
        cw = 22
        rw = max([12] + [len(k) for r in wl.values() for k in r["paired"]])
        print(f"{'workload':<14} {'ratio':<{rw}} " + " ".join(f"{m:<{cw}}" for m in METRICS) +
              f" {'n':>3} {'conf':>5}  bound")
        for name, r in wl.items():
            first = True
            keys = [f"{FLOOR}/none"] + [k for v, _ in variants if v != FLOOR for k in (f"{v}/none", f"{v}/{FLOOR}")]
            for k in [k for k in keys if k in r["paired"]]:
                p = r["paired"][k]
                ci = p["wall"]
                bound = floor_verdict(ci) if k.endswith(f"/{FLOOR}") else ""
                print(f"{name if first else '':<14} {k:<{rw}} " + " ".join(f"{fmt_ci(p[m]):<{cw}}" for m in METRICS) +
                      f" {fmt(ci and ci['n'], '3d')} {fmt(ci and ci['conf'], '5.1%')}  {bound}")
                first = False
    if any("bpf_stats" in r for r in wl.values()):
        print()
        print("in-kernel cost (a separate run with kernel.bpf_stats_enabled=1; not part of the ratios):")
        for name, r in wl.items():
            for v, d in r.get("bpf_stats", {}).items():
                base_cpu = r["none"]["median_cpu_s"]
                extra = d["workload"]["cpu_s"] - base_cpu if base_cpu is not None else None
                progs = sorted(d["bpf_programs"].items(), key=lambda kv: -kv[1]["run_time_s"])
                print(f"  {name:<14} {v:<8} BPF {d['bpf_total_s']:.3f} s in total; the workload's CPU time "
                      f"{d['workload']['cpu_s']:.3f} s (median without the sensor {fmt(base_cpu, '.3f')} s, "
                      f"+{fmt(extra, '.3f')} s)")
                for k, x in progs[:5]:
                    print(f"      {k:<28} {x['run_cnt']:>9} runs {x['ns_per_run']:>8.0f} ns/run {x['run_time_s']:>8.3f} s")
    if wl:
        print()
        for v, _ in variants:
            if v == FLOOR:
                continue
            rss = max(r["variants"][v]["peak_rss_mib"] for r in wl.values())
            drops = sum(r["variants"][v]["kernel_drops_total"] for r in wl.values())
            print(f"sensor '{v}': peak RSS through all workloads {rss:.1f} MiB (bound < {RSS_BOUND_MIB:.0f} MiB: "
                  f"{verdict(rss < RSS_BOUND_MIB)}); kernel drops in all runs {drops} (bound 0: {verdict(drops == 0)})")
            vs = [(n, r["variants"][v].get("floor_verdict")) for n, r in wl.items()]
            if any(x is not None for _, x in vs):
                kinds = ("met", "not shown", "NOT met")
                counts = {k: [n for n, x in vs if x and x.split(" (")[0] == k] for k in kinds}
                few = any(x and "few rounds" in x for _, x in vs)
                print(f"sensor '{v}': sensor/floor <= {FLOOR_BOUND:.2f} (wall) in {len(wl)} workloads: "
                      + "; ".join(f"{k} {len(ns)}" + (f" ({', '.join(ns)})" if ns else "") for k, ns in counts.items())
                      + ("; FEWER THAN 5 ROUNDS: no claim" if few else ""))
        hooks = results.get("hooks") or {}
        if hooks:
            same = len({tuple(h) for h in hooks.values()}) == 1
            if same:
                print(f"hooks: {', '.join(hooks)} each attached the same "
                      f"{len(next(iter(hooks.values())))} BPF links: {describe_hooks(next(iter(hooks.values())))}")
            else:
                for v, hs in hooks.items():
                    print(f"hooks of '{v}': {len(hs)} ({describe_hooks(hs)})")
    lat = results.get("latency")
    if lat:
        print()
        for v, x in lat["variants"].items():
            ok = x["p99_ms"] is not None and x["p99_ms"] <= LATENCY_P99_BOUND_MS
            print(f"alert latency, sensor '{v}', {x['count']} attacks: p50 {x['p50_ms']:.1f} ms, "
                  f"p95 {x['p95_ms']:.1f} ms, p99 {x['p99_ms']:.1f} ms, max {x['max_ms']:.1f} ms "
                  f"(p99 bound {LATENCY_P99_BOUND_MS:.0f} ms: {verdict(ok)})")
    print()
    print("median s: the workload's median elapsed time; ratio: median with / median without; pairs: median of the "
          "per-round ratios; bound: issue 6's (against no sensor); wl cpu x: the workload's CPU time ratio; sensor "
          "cpu s: the monitor's user+system time from ready to exit (median); cpu %: that as a share of the "
          "workload's wall time; peak RSS: max over rounds; events: median; drops: max over rounds; hooks: BPF links "
          "the monitor attached. Paired: wall = the workload's elapsed time, cpu = its CPU time (process tree), "
          "cpu+mon = that plus the monitor's CPU time while the workload ran.")


def parse_variant(s):
    name, eq, args = s.partition("=")
    if not eq or not name or name == "none" or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise argparse.ArgumentTypeError(f"--variant wants NAME=\"ARGS\" (NAME not 'none'), got {s!r}")
    if name == FLOOR:
        raise argparse.ArgumentTypeError(f"--variant: the name {FLOOR!r} is the floor's (--floor)")
    return name, args.split()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default="build", help="meson build dir (default: build)")
    ap.add_argument("--rounds", type=int, default=6,
                    help="rounds per workload (default 6: with none, one sensor and the floor, one full cycle of "
                         "the Williams design, and the fewest rounds whose interval of the median covers 95%%)")
    ap.add_argument("--rounds-for", action="append", default=[], metavar="NAME=N",
                    help="rounds for one workload (repeatable), e.g. many-files=12: the noisiest workload gets "
                         "more rounds in the same run without lengthening the others")
    ap.add_argument("--args-for", action="append", default=[], metavar="NAME=A,B,...",
                    help="a workload's arguments (repeatable), replacing its default counts and --scale, e.g. "
                         "many-files=20000,60: 60 passes over the 20,000 files, so each run lasts about four times "
                         "as long and a run's share of the machine's short stalls is smaller")
    ap.add_argument("--only", help="comma-separated workloads: " + ",".join(WORKLOADS) + ",latency")
    ap.add_argument("--scale", default="1",
                    help="multiply each workload's count by this (e.g. 0.3; 'tiny' = 0.001) for shorter runs")
    ap.add_argument("--build-config", choices=["minimal", "full", "bpf"],
                    help="what the build workload builds (bench/build_workload.py; default: minimal, or bpf when "
                         "--scale is below 0.05)")
    ap.add_argument("--settle", type=float, default=0.5, help="seconds between two runs (default 0.5)")
    ap.add_argument("--sensor-args", default="", help="extra arguments for `barbwire run` (the 'sensor' variant)")
    ap.add_argument("--variant", action="append", type=parse_variant, default=[],
                    help='a sensor variant NAME="ARGS" (repeatable), e.g. --variant filter-on="--kernel-filter on" '
                         '--variant filter-off="--kernel-filter off"; replaces the default "sensor" variant; '
                         '--sensor-args is added to each')
    ap.add_argument("--floor", action="store_true",
                    help=f"add the variant {FLOOR!r}: BUILD/bench/noop_attach, no-op BPF programs on every hook "
                         "the sensor attaches, run in the same rounds (the cost of attaching the hooks at all)")
    ap.add_argument("--latency-attacks", type=int, default=DEFAULT_LATENCY_ATTACKS)
    ap.add_argument("--no-warmup", dest="warmup", action="store_false")
    ap.add_argument("--bpf-stats", action="store_true",
                    help="after each workload's rounds, one more run per variant with kernel.bpf_stats_enabled=1 "
                         "(restored after) reporting the run count and time of each BPF program (needs bpftool)")
    ap.add_argument("--json", help="write every measurement to this file")
    a = ap.parse_args()
    a.scale = 0.001 if a.scale == "tiny" else float(a.scale)
    if a.scale <= 0 or a.rounds < 1 or a.latency_attacks < 1 or a.settle < 0:
        ap.error("--scale, --rounds and --latency-attacks must be positive, --settle not negative")
    rounds_for = {}
    for item in a.rounds_for:
        w, _, n = item.partition("=")
        if w not in WORKLOADS or not n.isdigit() or int(n) < 1:
            ap.error(f"--rounds-for {item!r}: expected WORKLOAD=N with a workload of {', '.join(WORKLOADS)} "
                     "and N a positive count")
        rounds_for[w] = int(n)
    a.rounds_for = rounds_for
    args_for = {}
    for item in a.args_for:
        w, _, v = item.partition("=")
        vals = v.split(",") if v else []
        if w not in WORKLOADS or w == "build" or len(vals) != len(WORKLOADS[w][0]) - 1 or \
                not all(x.isdigit() and int(x) > 0 for x in vals):
            ap.error(f"--args-for {item!r}: expected WORKLOAD=N,... with a workload of "
                     f"{', '.join(k for k in WORKLOADS if k != 'build')} and as many positive counts as its "
                     "default arguments have")
        args_for[w] = vals
    a.args_for = args_for
    if a.build_config is None:
        a.build_config = "bpf" if a.scale < 0.05 else "minimal"
    a.bw = os.path.abspath(os.path.join(a.build, "sensor", "barbwire"))
    a.workload_exe = os.path.abspath(os.path.join(a.build, "bench", "workload"))
    noop = os.path.abspath(os.path.join(a.build, "bench", "noop_attach"))
    only = a.only.split(",") if a.only else list(WORKLOADS) + ["latency"]
    for w in only:
        if w not in WORKLOADS and w != "latency":
            ap.error(f"unknown workload {w!r}")
    for p in (a.bw, a.workload_exe) + ((noop,) if a.floor else ()):
        if not os.access(p, os.X_OK):
            log(f"sensor_bench: {p} is missing; build first (meson compile -C {a.build})")
            return 2
    skip = None
    if os.environ.get("BW_HAVE_SENSOR") == "0":
        skip = "barbwire was built without the live eBPF sensor"
    elif os.geteuid() != 0:
        skip = "needs root (the sensor loads BPF programs)"
    if skip:
        # meson's skip code; under CI=true a skip is a failure, as for the e2e tests
        log(f"sensor_bench: {'FAIL (CI=true)' if os.environ.get('CI') == 'true' else 'SKIP'}: {skip}")
        return 1 if os.environ.get("CI") == "true" else 77
    extra = a.sensor_args.split()
    variants = [(n, v + extra) for n, v in a.variant] if a.variant else [("sensor", extra)]
    # what each run starts: the sensor variants, then the floor
    procs = [(n, sensor_argv(a.bw, v)) for n, v in variants] + ([(FLOOR, [noop])] if a.floor else [])

    results = {
        "machine": {"nproc": os.cpu_count(), "kernel": platform.release(), "loadavg_start": loadavg()},
        "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
        "command": " ".join(sys.argv),
        "rounds": a.rounds, "rounds_for": a.rounds_for, "args_for": a.args_for, "scale": a.scale, "settle_s": a.settle, "confidence": CONFIDENCE,
        "build_config": a.build_config if "build" in only else None,
        "variants": {n: v for n, v in variants},
        "floor": [noop] if a.floor else None,
        "workloads": {},
    }
    log(f"sensor_bench: {len(only)} workloads, {a.rounds} rounds, scale {a.scale}, variants "
        f"{', '.join(n + (' (' + ' '.join(v) + ')' if v else '') for n, v in variants)}"
        f"{', ' + FLOOR if a.floor else ''}; load {loadavg()}")
    failed = False
    seen_hooks = {}
    src_top = None
    try:
        if "build" in only:
            import build_workload  # noqa: E402  (bench/build_workload.py)
            src_top = tempfile.mkdtemp(prefix="barbwire-bench-src-")
            a.build_src = os.path.join(src_top, "src")
            n = build_workload.prepare(a.build_src, ROOT)
            log(f"build: {n} source files copied to {a.build_src} (config {a.build_config})")
        for w in only:
            if w == "latency":
                results["latency"] = bench_latency(a, variants)
            else:
                results["workloads"][w] = bench_workload(a, w, procs, seen_hooks)
    except RunError as e:
        log(f"sensor_bench: FAILED: {e}")
        failed = True
    finally:
        if src_top:
            shutil.rmtree(src_top, ignore_errors=True)
    results["hooks"] = seen_hooks
    results["machine"]["loadavg_end"] = loadavg()
    print(f"\nsensor_bench: {os.cpu_count()} cores, kernel {platform.release()}, commit {results['commit']}, "
          f"load average at start {results['machine']['loadavg_start']}, at end {results['machine']['loadavg_end']}")
    print_table(results, procs)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
        log(f"sensor_bench: wrote {a.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.exit(main())
