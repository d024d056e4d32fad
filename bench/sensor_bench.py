#!/usr/bin/env python3
"""Sensor overhead benchmark (issue 6): syscall workloads run alternately with
and without the live sensor, in one run, side by side.

  sudo python3 bench/sensor_bench.py [--build build] [--rounds 5] [--only W,W]
        [--scale F] [--sensor-args "..."] [--variant NAME="ARGS"]... [--floor]
        [--latency-attacks N] [--no-warmup] [--bpf-stats] [--json FILE]

Workloads (bench/workload, built with -O2/-O3 by bench/meson.build):
  open-heavy     1,000,000 open+close of one file in a temp dir
  connect-heavy  200,000 TCP connects to a loopback port with nothing listening (refused)
  fork-exec      2,000 fork + exec of /bin/true, each waited for
  many-files     20,000 files (made first, not timed), then 15 rounds opening each once
  latency        the end-to-end alert latency (test/e2e/latency_test.py's measure()):
                 N attacks (default 200), each in its own session, with the sensor of
                 each variant; p50/p95/p99/max against the 250 ms p99 target

For each workload, each round runs the workload once with no sensor and once
under each sensor variant (default: one variant, "sensor" = built-in rules plus
--sensor-args), in an order that alternates from round to round. A sensor is
`BUILD/sensor/barbwire run --format json --verbose ARGS`, started fresh for
every run; the workload starts after its `barbwire: ready` line and the sensor
is stopped with SIGINT after the workload exits (it drains the ring first).

--floor adds one more variant, "noop-floor", run in the same rounds:
`BUILD/bench/noop_attach` (bench/noop.bpf.c), a program returning 0 on every
hook the sensor attaches, started and stopped like a sensor. Attaching a
syscall tracepoint at all sends every syscall of every task through the
kernel's slow tracing path; the floor measures that cost, which no work in
the sensor can remove. With a floor, the summary splits each sensor variant's
ratio into the floor's ratio times the variant's median over the floor's
median ("above the floor"). The floor has no events or drops, is left out of
--bpf-stats and of the latency measurement, and its RSS is not the sensor's.

Reported per workload and variant:
  - the workload's own elapsed time (the measured part only, from its JSON line):
    median without, median with, ratio of the medians, and median of the
    per-round ratios (with / without of the same round);
  - the workload's CPU time ratio (BPF programs run in the workload's context);
  - the sensor's CPU time (user+system) from its ready line to its exit
    (/proc/PID/stat at ready, wait4 rusage at exit), median over rounds;
  - the sensor's peak RSS (VmHWM just before SIGINT and wait4 ru_maxrss; the
    larger; max over rounds);
  - events and kernel drops from the sensor's exit stats (stderr).
The acceptance bounds of issue 6 are shown next to each figure ("met" or
"NOT met"); they are reported, never asserted. The exit status is non-zero only
when something failed to run (a workload error, a sensor that would not start
or exit cleanly, a failed latency check).

Root is needed (the sensor loads BPF). Nothing is pinned to a core. Runs are
measured in wall time on whatever machine state there is: quote ratios
measured side by side in one run, and record the load average printed.
"""
import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

READY_PREFIX = "barbwire: ready"
READY_TIMEOUT = 60.0
EXIT_TIMEOUT = 60.0

# name -> (workload arguments at scale 1, acceptance bound on the slowdown ratio)
WORKLOADS = {
    "open-heavy": (["open-heavy", 1_000_000], 1.20),
    "connect-heavy": (["connect-heavy", 200_000], 1.10),
    "fork-exec": (["fork-exec", 2_000], 1.10),
    "many-files": (["many-files", 20_000, 15], 1.25),
}
RSS_BOUND_MIB = 64.0
LATENCY_P99_BOUND_MS = 250.0
DEFAULT_LATENCY_ATTACKS = 200


class RunError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def scaled_args(name, scale):
    args, _ = WORKLOADS[name]
    out = [args[0]]
    for i, v in enumerate(args[1:]):
        if name == "many-files" and i == 1:
            out.append(str(v))  # rounds stay 15: the point is repeated opens of many files
        else:
            out.append(str(max(1, int(round(v * scale)))))
    return out


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


STATS_RE = re.compile(r"stopped after ([0-9.]+) s: (\d+) events? \(([^)]*)\).*?(\d+) kernel drops?")


FLOOR = "noop-floor"


def sensor_argv(bw, args):
    return [bw, "run", "--format", "json", "--verbose", *args]


class SensorRun:
    """One sensor process: `barbwire run --format json --verbose ARGS`
    (sensor_argv), or the floor's noop_attach; the same ready and stats lines."""

    def __init__(self, argv):
        self.argv = list(argv)
        self.proc = None
        self.err = []
        self.out_lines = 0
        self.ready = threading.Event()
        self.threads = []
        self.cpu_at_ready = None
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
        try:
            self.hwm_kib = proc_hwm_kib(self.proc.pid)
        except OSError:
            pass
        self.proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + EXIT_TIMEOUT
        while True:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > deadline:
                self.kill()
                raise RunError(f"sensor did not exit within {EXIT_TIMEOUT:.0f} s of SIGINT")
            time.sleep(0.02)
        self.rc = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.rc  # reaped here, not by Popen
        self.rusage = ru
        for t in self.threads:
            t.join(10)
        if self.rc != 0:
            raise RunError(f"sensor exited {self.rc}; stderr:\n" + "\n".join(self.err[-20:]))
        return self.stats()

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
            "cpu_total_s": cpu_total,
            "peak_rss_mib": max(self.hwm_kib, ru.ru_maxrss) / 1024.0,
            "stats_line": text,
            "verbose_stats": verbose,
        }


def run_workload(exe, args):
    t0 = time.monotonic()
    p = subprocess.run([exe, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd="/tmp")
    outer = time.monotonic() - t0
    if p.returncode != 0:
        raise RunError(f"workload {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    try:
        r = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RunError(f"workload {' '.join(args)} printed no JSON line: {p.stdout!r} {p.stderr!r}")
    r["outer_wall_s"] = outer
    return r


BPF_STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"


def bpf_progs():
    """{id: prog dict} of every loaded BPF program (bpftool prog show -j)."""
    p = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RunError(f"bpftool prog show failed: {p.stderr.strip()}")
    return {x["id"]: x for x in json.loads(p.stdout or "[]")}


def bpf_stats_run(exe, wargs, argv):
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
            w = run_workload(exe, wargs)
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


def one_run(exe, wargs, argv):
    """The workload once, under a fresh sensor (the process argv) when argv is not None."""
    if argv is None:
        return {"workload": run_workload(exe, wargs)}
    s = SensorRun(argv).start()
    try:
        w = run_workload(exe, wargs)
        st = s.stop()
    finally:
        s.kill()
    return {"workload": w, "sensor": st}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def bench_workload(a, name, variants, exe):
    """variants: [(name, argv)], the sensor variants and the floor (if any)."""
    wargs = scaled_args(name, a.scale)
    names = ["none"] + [v for v, _ in variants]
    runs = {n: [] for n in names}
    if a.warmup:
        warm = scaled_args(name, a.scale / 5)
        log(f"{name}: warm-up ({' '.join(warm)}) without and with the sensor")
        one_run(exe, warm, None)
        for _, argv in variants:
            one_run(exe, warm, argv)
    for r in range(a.rounds):
        order = list(zip(names, [None] + [v for _, v in variants]))
        if r % 2 == 1:
            order.reverse()
        for n, argv in order:
            res = one_run(exe, wargs, argv)
            res["round"] = r
            runs[n].append(res)
            w = res["workload"]
            extra = ""
            if "sensor" in res:
                s = res["sensor"]
                extra = (f", sensor cpu {s['cpu_s']:.2f} s, rss {s['peak_rss_mib']:.1f} MiB, "
                         f"{s['events']} events, {s['kernel_drops']} drops")
            log(f"{name} round {r + 1}/{a.rounds} {n:>10}: {w['wall_s']:.3f} s wall, {w['cpu_s']:.3f} s cpu{extra}"
                f"  [load {loadavg()}]")
    base = runs["none"]
    out = {"args": wargs, "bound": WORKLOADS[name][1], "runs": runs, "variants": {}}
    if a.bpf_stats:
        out["bpf_stats"] = {}
        for v, argv in variants:
            if v == FLOOR:
                continue
            d = bpf_stats_run(exe, wargs, argv)
            out["bpf_stats"][v] = d
            top = sorted(d["bpf_programs"].items(), key=lambda kv: -kv[1]["run_time_s"])
            log(f"{name} bpf stats {v}: {d['bpf_total_s']:.3f} s in BPF programs over the workload (" +
                ", ".join(f"{k} {x['run_cnt']} runs {x['ns_per_run']:.0f} ns/run" for k, x in top[:4]) + ")")
    base_wall = med([x["workload"]["wall_s"] for x in base])
    base_cpu = med([x["workload"]["cpu_s"] for x in base])
    out["none"] = {"median_wall_s": base_wall, "median_cpu_s": base_cpu,
                   "ops_per_s": base[0]["workload"]["ops"] / base_wall if base_wall else None}
    for v, _ in variants:
        rs = runs[v]
        wall = med([x["workload"]["wall_s"] for x in rs])
        cpu = med([x["workload"]["cpu_s"] for x in rs])
        pairs = []
        for x in rs:
            b = next((y for y in base if y["round"] == x["round"]), None)
            if b and b["workload"]["wall_s"] > 0:
                pairs.append(x["workload"]["wall_s"] / b["workload"]["wall_s"])
        out["variants"][v] = {
            "median_wall_s": wall,
            "median_cpu_s": cpu,
            "ratio": wall / base_wall if base_wall else None,
            "ratio_pairs_median": med(pairs),
            "ratio_pairs": pairs,
            "cpu_ratio": cpu / base_cpu if base_cpu else None,
            "sensor_cpu_s": med([x["sensor"]["cpu_s"] for x in rs]),
            "sensor_cpu_pct_of_wall": med([100.0 * x["sensor"]["cpu_s"] / x["workload"]["wall_s"]
                                           for x in rs if x["workload"]["wall_s"] > 0]),
            "peak_rss_mib": max(x["sensor"]["peak_rss_mib"] for x in rs),
            "events": med([x["sensor"]["events"] for x in rs]),
            "events_min": min(x["sensor"]["events"] for x in rs),
            "kernel_drops_max": max(x["sensor"]["kernel_drops"] for x in rs),
            "kernel_drops_total": sum(x["sensor"]["kernel_drops"] for x in rs),
        }
    floor = out["variants"].get(FLOOR)
    if floor:
        floor_runs = {x["round"]: x for x in runs[FLOOR]}
        for v, x in out["variants"].items():
            if v == FLOOR:
                continue
            pairs = [y["workload"]["wall_s"] / floor_runs[y["round"]]["workload"]["wall_s"]
                     for y in runs[v] if y["round"] in floor_runs and floor_runs[y["round"]]["workload"]["wall_s"] > 0]
            x["above_floor"] = (x["median_wall_s"] / floor["median_wall_s"]
                                if x["median_wall_s"] is not None and floor["median_wall_s"] else None)
            x["above_floor_pairs_median"] = med(pairs)
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


def verdict(ok):
    return "met" if ok else "NOT met"


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def print_table(results, variants):
    """variants: [(name, argv)], the sensor variants and the floor (if any)."""
    vw = max([8] + [len(v) for v, _ in variants])
    print()
    print(f"{'workload':<14} {'sensor':<{vw}} {'median s':>9} {'ratio':>6} {'pairs':>6} {'bound':>6} {'':>7} "
          f"{'wl cpu x':>8} {'sensor cpu s':>12} {'cpu %':>6} {'peak RSS':>9} {'events':>10} {'drops':>6}")
    for name, r in results.get("workloads", {}).items():
        print(f"{name:<14} {'none':<{vw}} {fmt(r['none']['median_wall_s'], '9.3f')}")
        for v, _ in variants:
            x = r["variants"][v]
            ok = x["ratio"] is not None and x["ratio"] <= r["bound"]
            print(f"{'':<14} {v:<{vw}} {fmt(x['median_wall_s'], '9.3f')} {fmt(x['ratio'], '6.3f')} "
                  f"{fmt(x['ratio_pairs_median'], '6.3f')} {r['bound']:>6.2f} {verdict(ok):>7} "
                  f"{fmt(x['cpu_ratio'], '8.3f')} {fmt(x['sensor_cpu_s'], '12.2f')} "
                  f"{fmt(x['sensor_cpu_pct_of_wall'], '6.1f')} {x['peak_rss_mib']:>5.1f} MiB "
                  f"{int(x['events']):>10} {x['kernel_drops_max']:>6}")
    wl = results.get("workloads", {})
    if any(FLOOR in r["variants"] for r in wl.values()):
        print()
        print(f"above the floor ({FLOOR}: no-op BPF programs on the same hooks; ratio = floor ratio x above):")
        for name, r in wl.items():
            f = r["variants"].get(FLOOR)
            if not f:
                continue
            for v, x in r["variants"].items():
                if v == FLOOR:
                    continue
                print(f"  {name}: {v} {fmt(x['ratio'], '.3f')} = floor {fmt(f['ratio'], '.3f')} x "
                      f"{fmt(x.get('above_floor'), '.3f')} above the floor (pairs: "
                      f"{fmt(x.get('above_floor_pairs_median'), '.3f')})")
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
    lat = results.get("latency")
    if lat:
        print()
        for v, x in lat["variants"].items():
            ok = x["p99_ms"] is not None and x["p99_ms"] <= LATENCY_P99_BOUND_MS
            print(f"alert latency, sensor '{v}', {x['count']} attacks: p50 {x['p50_ms']:.1f} ms, "
                  f"p95 {x['p95_ms']:.1f} ms, p99 {x['p99_ms']:.1f} ms, max {x['max_ms']:.1f} ms "
                  f"(p99 bound {LATENCY_P99_BOUND_MS:.0f} ms: {verdict(ok)})")
    print()
    print("ratio: median with / median without; pairs: median of the per-round ratios; wl cpu x: the workload's "
          "CPU time ratio; sensor cpu s: the sensor's user+system time from ready to exit (median); cpu %: that "
          "as a share of the workload's wall time; peak RSS: max over rounds; events: median; drops: max over rounds"
          + ("; above the floor: the variant's median / the noop-floor's median (pairs: median of the per-round "
             "ratios)" if any(v == FLOOR for v, _ in variants) else ""))


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
    ap.add_argument("--rounds", type=int, default=5, help="rounds per workload (default 5)")
    ap.add_argument("--only", help="comma-separated workloads: " + ",".join(WORKLOADS) + ",latency")
    ap.add_argument("--scale", default="1",
                    help="multiply each workload's count by this (e.g. 0.01; 'tiny' = 0.001) for a quick run")
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
    if a.scale <= 0 or a.rounds < 1 or a.latency_attacks < 1:
        ap.error("--scale, --rounds and --latency-attacks must be positive")
    a.bw = os.path.abspath(os.path.join(a.build, "sensor", "barbwire"))
    exe = os.path.abspath(os.path.join(a.build, "bench", "workload"))
    noop = os.path.abspath(os.path.join(a.build, "bench", "noop_attach"))
    only = a.only.split(",") if a.only else list(WORKLOADS) + ["latency"]
    for w in only:
        if w not in WORKLOADS and w != "latency":
            ap.error(f"unknown workload {w!r}")
    for p in (a.bw, exe) + ((noop,) if a.floor else ()):
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
        "rounds": a.rounds, "scale": a.scale,
        "variants": {n: v for n, v in variants},
        "floor": [noop] if a.floor else None,
        "workloads": {},
    }
    log(f"sensor_bench: {len(only)} workloads, {a.rounds} rounds, scale {a.scale}, variants "
        f"{', '.join(n + (' (' + ' '.join(v) + ')' if v else '') for n, v in variants)}"
        f"{', ' + FLOOR if a.floor else ''}; load {loadavg()}")
    failed = False
    try:
        for w in only:
            if w == "latency":
                results["latency"] = bench_latency(a, variants)
            else:
                results["workloads"][w] = bench_workload(a, w, procs, exe)
    except RunError as e:
        log(f"sensor_bench: FAILED: {e}")
        failed = True
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
    sys.exit(main())
