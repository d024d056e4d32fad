#!/usr/bin/env python3
"""End-to-end fault tests (issue 15, "Fault tests" and the hostile-user run):
the real sensor against the real kernel, real attacks on loopback, faults
made for real (a SIGKILL, a full file system, a fork storm, a reload storm,
a symlink swap by an unprivileged user).

  fault_test.py BARBWIRE SOURCE_ROOT CASE

  sigkill_mid_record         `record` SIGKILLed under load, after an attack: the
                             trace replays up to its last whole line, the attack
                             alerts on replay; a torn last line is one malformed
                             line (exit 1), never a lost earlier line
  output_full_tmpfs          --output on a full 64 KiB tmpfs: every attack still
                             alerts on stdout, the lost ones are counted (NOTICE,
                             final stats), the sensor keeps running; once space is
                             free the file gets alerts again, whole lines only
  fork_storm                 100,000 short-lived processes (2,000 of them exec) and
                             1,000,000 distinct file paths opened, with the kernel
                             filter off: peak RSS (VmHWM) < 64 MiB, and two attacks
                             during the storm alert with their lineage
  reload_storm               SIGHUP in a loop, good and broken rules files in turn,
                             under load, attacks during the storm: each alerted
                             exactly once, each failed reload one line, the last
                             good rules stay, the sensor never exits
  symlink_swap_opens_nothing an unprivileged user runs its own executable, which
                             is gone by the time the sensor looks, and swaps its path
                             for a symlink to a device node (and to a hard link of
                             the very file): inotify shows the sensor opened
                             neither; the alert says the hash is unknown

They need root and a build with the sensor; otherwise they exit 77 (skip), or 1
when CI=true.
"""
import ctypes
import errno
import json
import os
import random
import shutil
import signal
import stat
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402
import family_test as fam  # noqa: E402  (FORK_CHILD_CONNECTS, indent, check_proc, check_common)

BW = ""
ROOT = ""
SHADOW = "/etc/shadow"
CRED = "password hashes"       # the built-in rules' category of /etc/shadow
SSH = "ssh private keys"
NOBODY = 65534
RSS_BOUND_KIB = 64 * 1024


# --------------------------------------------------------------------------- helpers

def attack(lst, path=SHADOW):
    """A process in a session of its own reads `path` and connects to `lst`
    (python under bash under timeout, harness.Actor); returns the finished actor."""
    actor = h.Actor(h.read_snippet(path) + h.tcp_connect_snippet("127.0.0.1", lst.port), new_session=True)
    rep = actor.run()
    check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the attack's connection")
    return actor


def check_attack_alert(a, actor, port, *, path=SHADOW, category=CRED):
    """The alert of `attack`: sender, file, loopback destination and lineage (bash, timeout)."""
    ctx = f"alert: {json.dumps(a, sort_keys=True)}"
    p, f, d = a.get("process") or {}, a.get("file") or {}, a.get("destination") or {}
    check(p.get("pid") == actor.pid, f"process.pid {p.get('pid')} != {actor.pid}; {ctx}")
    check(p.get("exe") == h.PY_REAL, f"process.exe {p.get('exe')!r} != {h.PY_REAL!r}; {ctx}")
    check(f.get("path") == path and f.get("category") == category,
          f"file {f.get('path')!r} ({f.get('category')!r}) != {path!r} ({category!r}); {ctx}")
    st = os.stat(path)
    check(f.get("dev") == st.st_dev and f.get("ino") == st.st_ino, f"file dev/ino differ from stat; {ctx}")
    want = {"op": "connect", "protocol": "tcp", "addr": "127.0.0.1", "port": port}
    check({k: d.get(k) for k in want} == want, f"destination {d} != {want}; {ctx}")
    par, gp = a.get("parent") or {}, a.get("grandparent") or {}
    check(par.get("pid") == actor.bash_pid and par.get("comm") == "bash", f"parent is not bash {actor.bash_pid}; {ctx}")
    check(gp.get("pid") == actor.timeout_pid and gp.get("comm") == "timeout",
          f"grandparent is not timeout {actor.timeout_pid}; {ctx}")


def one_alert_of(sensor, actor, port, **kw):
    """Wait for `actor`'s alert on the sensor's stdout; exactly one, checked."""
    got = sensor.wait_alert(actor.pid)
    check(len(got) == 1, f"expected one alert for pid {actor.pid}, got {len(got)}: {got}\nstderr:\n{sensor.stderr()}")
    check_attack_alert(got[0], actor, port, **kw)
    return got[0]


def stats_of(sensor):
    """The `barbwire: stats: {...}` JSON the sensor prints at exit with --verbose."""
    line = next((l for l in sensor.stderr_lines() if l.startswith("barbwire: stats: ")), None)
    check(line is not None, f"no 'barbwire: stats:' line (is --verbose on?); stderr:\n{sensor.stderr()}")
    return json.loads(line[len("barbwire: stats: "):])


def status_kib(pid, field):
    for line in h.read_file(f"/proc/{pid}/status").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise h.Failure(f"no {field} in /proc/{pid}/status")


class Mount:
    """A tmpfs of `size` mounted on a new directory `path`; umount() (lazy, so a
    failing test cannot leave it busy) in teardown."""

    def __init__(self, path, size, mode="0700"):
        self.path = path
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode={mode}", "barbwire-e2e", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            h.skip_or_fail(f"cannot mount a tmpfs on {path}: {r.stderr.strip()}")
        self.mounted = True

    def stop(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.path], capture_output=True)
            self.mounted = False


# Background events: distinct files created (an open each, shipped to the sensor
# when the kernel filter is off), closed and removed, and a fork now and then;
# nothing here reads a secret or touches the network.
LOAD_CODE = (
    "import os, sys, time\n"
    "d, until, pause = sys.argv[1], time.monotonic() + float(sys.argv[2]), float(sys.argv[3])\n"
    "flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC\n"
    "i = 0\n"
    "while time.monotonic() < until:\n"
    "    for _ in range(100):\n"
    "        p = d + '/l' + str(i)\n"
    "        os.close(os.open(p, flags, 0o600))\n"
    "        os.unlink(p)\n"
    "        i += 1\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        os._exit(0)\n"
    "    os.waitpid(pid, 0)\n"
    "    time.sleep(pause)\n"
    "print(i, flush=True)\n"
)


class Load:
    """LOAD_CODE for at most `seconds` in a session of its own; stop() ends it."""

    def __init__(self, directory, seconds=60.0, pause=0.002):
        os.makedirs(directory, exist_ok=True)
        self.proc = subprocess.Popen([h.PY, "-I", "-S", "-c", LOAD_CODE, directory, str(seconds), str(pause)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


# --------------------------------------------------------------------------- 1. SIGKILL mid-record

def trace_lines(data):
    """(events, physical lines) among the whole lines of trace bytes `data` (which
    end with '\\n'): events are the lines that are not blank or comments."""
    lines = data.split(b"\n")[:-1]
    events = sum(1 for l in lines if l.strip() and not l.lstrip().startswith(b"#"))
    return events, len(lines)


def replay(path, ws):
    """`barbwire replay PATH --format json --stats`: (exit status, alerts, stderr lines, stats)."""
    r = subprocess.run([BW, "replay", path, "--format", "json", "--stats"], capture_output=True, text=True,
                       timeout=120, cwd=ws.dir)
    alerts = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    err = r.stderr.splitlines()
    st = None
    for l in err:
        if l.startswith("{"):
            st = json.loads(l)
    check(st is not None, f"replay printed no --stats JSON (exit {r.returncode}):\n{r.stderr}")
    return r.returncode, alerts, err, st


def check_replay_of_prefix(ws, data, cut, actor, port, label):
    """The trace cut to its first `cut` bytes replays exactly as its whole lines do:
    the same alerts, every whole line replayed; a torn last line is reported as one
    malformed line with its number (exit 1); the attack's alert is among them."""
    torn_path, whole_path = ws.path(f"{label}.torn.jsonl"), ws.path(f"{label}.whole.jsonl")
    part = data[:cut]
    whole = part[:part.rfind(b"\n") + 1]
    tail = part[len(whole):]
    with open(torn_path, "wb") as f:
        f.write(part)
    with open(whole_path, "wb") as f:
        f.write(whole)
    n_events, n_lines = trace_lines(whole)
    rc_w, alerts_w, err_w, st_w = replay(whole_path, ws)
    check(rc_w == 0 and st_w["malformed_lines"] == 0,
          f"{label}: the whole lines replay with exit {rc_w}, {st_w['malformed_lines']} malformed:\n" + "\n".join(err_w[:5]))
    check(st_w["trace_events"] == n_events, f"{label}: {st_w['trace_events']} of {n_events} whole lines replayed")
    rc, alerts, err, st = replay(torn_path, ws)
    try:
        complete = tail.strip() != b"" and isinstance(json.loads(tail), dict)
    except ValueError:
        complete = False
    if tail.strip() == b"" or tail.lstrip().startswith(b"#"):
        want_rc, want_bad, want_events = 0, 0, n_events
    elif complete:  # cut just before a line's '\n': a whole last line without its line end
        want_rc, want_bad, want_events = 0, 0, n_events + 1
    else:
        want_rc, want_bad, want_events = 1, 1, n_events
    check(rc == want_rc and st["malformed_lines"] == want_bad,
          f"{label}: replay of the trace cut at byte {cut} ({len(tail)} bytes of a torn line): exit {rc}, "
          f"{st['malformed_lines']} malformed; expected exit {want_rc}, {want_bad} malformed:\n" + "\n".join(err[:5]))
    check(st["trace_events"] == want_events,
          f"{label}: {st['trace_events']} events replayed, expected {want_events} (every whole line)")
    if want_bad:
        check(any(f"line {n_lines + 1}:" in l for l in err),
              f"{label}: the torn line is not reported as line {n_lines + 1}:\n" + "\n".join(err[:5]))
    if not complete:
        check(alerts == alerts_w, f"{label}: the torn trace's alerts differ from its whole lines' "
                                  f"({len(alerts)} vs {len(alerts_w)})")
    mine = [a for a in alerts if (a.get("process") or {}).get("pid") == actor.pid]
    check(len(mine) == 1, f"{label}: replay gave {len(mine)} alerts for the attack (pid {actor.pid})")
    check_attack_alert(mine[0], actor, port)
    return rc, st


def case_sigkill_mid_record():
    """`barbwire record` with the kernel filter off (every open is a trace line)
    under a load of file opens and forks; an attack alerts live; once its connect
    is in the file (flushed every 100 ms) the sensor gets SIGKILL at once, the load
    still running. The killed trace replays: every whole line, the attack's alert.

    A SIGKILL lands in the middle of the writer's write(2) only by chance (the
    writes are large and rare: a flush every 100 ms), so a torn end is reported,
    not required; the torn-line path is then proved on the same trace by cutting
    copies of it inside a line: right after the attack's connect line, in the
    middle of its last line, and at random points after the attack. Each must
    replay every whole line before the cut, with the same alerts as those whole
    lines alone, the torn line reported as one malformed line (exit 1, as
    documented for malformed lines)."""
    h.require_root_and_sensor()
    ws, lst, sensor, load = h.Workspace(), h.TcpListener("127.0.0.1"), None, None
    try:
        trace = ws.path("trace.jsonl")
        sensor = h.Sensor(BW, None, command="record", record_file=trace,
                          extra=["--kernel-filter", "off"]).start().wait_ready()
        load = Load(ws.path("load"), seconds=30, pause=0.001)
        time.sleep(0.5)
        actor = attack(lst)
        one_alert_of(sensor, actor, lst.port)
        needle = b'"kind":"connect","pid":%d,' % actor.pid
        t0 = time.monotonic()
        while needle not in h.read_file(trace, "rb"):
            check(time.monotonic() - t0 < 5, "the attack's connect never reached the trace file")
            time.sleep(0.02)
        time.sleep(random.uniform(0.0, 0.3))   # under load: the next flushes are on their way
        sensor.proc.send_signal(signal.SIGKILL)
        sensor.proc.wait(10)
        load.stop()
        check(sensor.proc.returncode == -signal.SIGKILL, f"the sensor ended with {sensor.proc.returncode}, not SIGKILL")
        data = h.read_file(trace, "rb")
        torn_by_kill = not data.endswith(b"\n")
        events, _ = trace_lines(data[:data.rfind(b"\n") + 1])
        print(f"killed trace: {len(data)} bytes, {events} whole event lines; "
              f"{'ends inside a line (the kill tore it)' if torn_by_kill else 'ends with a whole line'}")
        check(events > 5_000, f"only {events} trace lines: the load did not load")
        # 1. the trace as the kill left it
        rc, st = check_replay_of_prefix(ws, data, len(data), actor, lst.port, "killed")
        print(f"  replay of the killed trace: exit {rc}, {st['trace_events']} events, {st['malformed_lines']} malformed")
        # 2. torn on purpose, after the attack's connect
        at = data.index(needle)
        line_end = data.index(b"\n", at)
        next_end = data.find(b"\n", line_end + 1)
        cuts = []
        if next_end > line_end + 2:
            cuts.append(("after_connect", (line_end + 1 + next_end) // 2))
        last_start = data.rfind(b"\n", 0, len(data) - 1) + 1
        if len(data) - last_start > 2:
            cuts.append(("last_line", (last_start + len(data)) // 2))
        rnd = random.Random(actor.pid)
        for i in range(3):
            cuts.append((f"random{i}", rnd.randrange(line_end + 1, len(data))))
        for label, cut in cuts:
            rc, st = check_replay_of_prefix(ws, data, cut, actor, lst.port, label)
            print(f"  cut {label} at byte {cut}: exit {rc}, {st['trace_events']} events, "
                  f"{st['malformed_lines']} malformed, the attack alerted")
    finally:
        h.teardown(sensor, load, lst, ws)


# --------------------------------------------------------------------------- 2. --output on a full tmpfs

def file_alerts(path):
    """The alert lines of --output FILE, each parsed (a torn line fails the test)."""
    out = []
    for n, line in enumerate(h.read_file(path, "rb").split(b"\n")[:-1], 1):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            raise h.Failure(f"{path} line {n} is not JSON ({e}): {line[:120]!r}...")
    return out


def pids_in(alerts):
    return {(a.get("process") or {}).get("pid") for a in alerts}


def fill(directory):
    """Writes a filler file in `directory` until the file system is full; its path."""
    path = os.path.join(directory, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        chunk = b"\0" * 4096
        while True:
            try:
                os.write(fd, chunk)
            except OSError as e:
                check(e.errno == errno.ENOSPC, f"filling {directory}: {e}")
                break
    finally:
        os.close(fd)
    return path


def case_output_full_tmpfs():
    """--output FILE on a 64 KiB tmpfs. The first alert reaches the file; then the
    test fills the file system and attacks five more times: every attack alerts on
    stdout, the file's losses are counted (a NOTICE while running, the final stats),
    the sensor keeps running. Once the filler is removed, the next alert reaches the
    file again, and the file holds whole JSON lines only."""
    h.require_root_and_sensor()
    ws, lst, sensor, mnt = h.Workspace(), h.TcpListener("127.0.0.1"), None, None
    try:
        mnt = Mount(ws.path("small"), "64k")
        out = os.path.join(mnt.path, "alerts.jsonl")
        sensor = h.Sensor(BW, None, extra=["--output", out, "--verbose"]).start().wait_ready()
        first = attack(lst)
        one_alert_of(sensor, first, lst.port)
        t0 = time.monotonic()
        while first.pid not in pids_in(file_alerts(out)):
            check(time.monotonic() - t0 < 5, f"the first alert never reached {out}")
            time.sleep(0.05)
        filler = fill(mnt.path)
        sv = os.statvfs(mnt.path)
        check(sv.f_bavail == 0, f"{mnt.path} is not full: {sv.f_bavail} blocks free")
        during = []
        for _ in range(5):
            a = attack(lst)
            one_alert_of(sensor, a, lst.port)
            during.append(a)
        notice = sensor.wait_stderr("barbwire: NOTICE: output file:", timeout=5)
        check(notice is not None and "No space left on device" in notice and "failed" in notice,
              f"no NOTICE of the lost alerts (checked every second); stderr:\n{sensor.stderr()}")
        check(sensor.running(), f"the sensor exited on a full --output:\n{sensor.stderr()}")
        in_file = pids_in(file_alerts(out))
        lost = [a.pid for a in during if a.pid not in in_file]
        # the file's last page may have room for an alert or two; not for five
        check(during[-1].pid in lost and len(lost) >= 3,
              f"alerts {[a.pid for a in during]} of which {lost} are missing from the file on a full file "
              f"system: the filler did not fill it")
        os.unlink(filler)
        after = attack(lst)
        one_alert_of(sensor, after, lst.port)
        t0 = time.monotonic()
        while after.pid not in pids_in(file_alerts(out)):
            check(time.monotonic() - t0 < 5, f"no alert reached {out} after space was freed:\n{sensor.stderr()}")
            time.sleep(0.05)
        sensor.stop_cleanly()
        tail = h.read_file(out, "rb")[-1:]
        check(tail in (b"", b"\n"), f"{out} ends inside a line")
        printed = sensor.alerts()
        st = {o["name"]: o for o in stats_of(sensor)["outputs"]}
        so, fo = st.get("stdout"), st.get("file:" + out)
        check(so is not None and fo is not None, f"outputs in the stats: {list(st)}")
        check(so["sent"] == len(printed) and so["failed"] == 0, f"stdout: {so}, {len(printed)} alerts printed")
        check(fo["sent"] == len(file_alerts(out)), f"file: {fo}, {len(file_alerts(out))} lines in it")
        check(fo["sent"] + fo["failed"] + fo["dropped"] == so["sent"],
              f"the file's sent + failed + dropped {fo} != the alerts printed {so['sent']}")
        check(fo["failed"] >= len(lost), f"file failed {fo['failed']} < {len(lost)} alerts missing from it")
        final = [l for l in sensor.stderr_lines() if "NOTICE: output file:" in l]
        print(f"7 attacks, all on stdout; {len(lost)} lost to the full file system; stats: stdout {so}, file {fo}")
        print(f"  {final[0]}")
    finally:
        h.teardown(sensor, lst, mnt, ws)


# --------------------------------------------------------------------------- 3. fork storm

# One storm worker: N children, each opens FILES distinct new paths (O_CREAT|O_EXCL,
# so each open succeeds: failed opens are not events) on a tmpfs, removes them, and
# exits; every EXEC_EVERY-th child then execs /bin/true instead of exiting.
STORM_CODE = (
    "import os, sys\n"
    "d, n, every, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])\n"
    "tag = str(os.getpid())\n"
    "flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC\n"
    "for i in range(n):\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        try:\n"
    "            base = d + '/' + tag + '-' + str(i) + '-'\n"
    "            for j in range(files):\n"
    "                p = base + str(j)\n"
    "                os.close(os.open(p, flags, 0o600))\n"
    "                os.unlink(p)\n"
    "            if i % every == 0:\n"
    "                os.execv('/bin/true', ['true'])\n"
    "        finally:\n"
    "            os._exit(0)\n"
    "    os.waitpid(pid, 0)\n"
    "print(n, flush=True)\n"
)
STORM_WORKERS = 4
STORM_CHILDREN = 25_000       # per worker: 100,000 processes
STORM_FILES = 10              # per child: 1,000,000 distinct paths
STORM_EXEC_EVERY = 50         # 2,000 execs of /bin/true


def case_fork_storm():
    """A storm of 100,000 short-lived processes (fork, ten opens, exit; one in 50
    execs /bin/true) from four workers, which open 1,000,000 distinct paths in all
    (new files on a tmpfs, each created, opened and removed: the sensor sees
    successful opens only). The kernel filter is off, so every open, fork, exec and
    exit reaches the sensor's user space: the worst case for its tables. During the
    storm a plain attack (its bash and timeout lineage) and a family attack (the
    parent reads /etc/shadow, its child connects) must alert, the child's alert with
    the parent as reader and relation ancestor. Peak RSS (VmHWM) stays below 64 MiB.

    Kernel drops are reported (the stats line, a NOTICE) and do not excuse a missed
    alert: the attacks are a handful of events among the storm's 1.3 million, the
    sensor drains far faster than two cores can fork (bench: a million opens in
    0.35 s of sensor CPU), and under a real flood opens are shed before process
    lineage (docs/kernel.md); a storm an attacker can make must not hide an attack."""
    h.require_root_and_sensor()
    ws, lst, sensor, mnt, workers = h.Workspace(), h.TcpListener("127.0.0.1"), None, None, []
    try:
        mnt = Mount(ws.path("storm"), "16m", mode="0755")
        sensor = h.Sensor(BW, None, extra=["--kernel-filter", "off", "--verbose"]).start().wait_ready()
        pid = sensor.proc.pid
        hwm_start = status_kib(pid, "VmHWM")
        t0 = time.monotonic()
        for _ in range(STORM_WORKERS):
            workers.append(subprocess.Popen(
                [h.PY, "-I", "-S", "-c", STORM_CODE, mnt.path, str(STORM_CHILDREN), str(STORM_EXEC_EVERY),
                 str(STORM_FILES)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True))
        time.sleep(3.0)
        check(all(w.poll() is None for w in workers), "the storm ended before the attacks")
        plain = attack(lst)
        code = fam.FORK_CHILD_CONNECTS.format(read=h.read_snippet(SHADOW),
                                              connect=fam.indent(h.tcp_connect_snippet("127.0.0.1", lst.port), 8))
        family = h.Actor(code, new_session=True)
        rep = family.run()
        child = int(rep["child"])
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the child's connection")
        attacked_at = time.monotonic() - t0
        storm_running = all(w.poll() is None for w in workers)
        peak = hwm_start
        for w in workers:
            while True:
                try:
                    out, err = w.communicate(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    peak = max(peak, status_kib(pid, "VmHWM"))
                    check(time.monotonic() - t0 < 240, "the storm did not end within 240 s")
            check(w.returncode == 0 and out.strip() == str(STORM_CHILDREN).encode(),
                  f"a storm worker failed (exit {w.returncode}): {err.decode(errors='replace')[-500:]}")
        storm_s = time.monotonic() - t0
        time.sleep(1.0)   # the sensor drains the rest (it is polled every 100 ms)
        check(sensor.running(), f"the sensor stopped during the storm:\n{sensor.stderr()}")
        hwm = status_kib(pid, "VmHWM")
        rss = status_kib(pid, "VmRSS")
        sensor.stop_cleanly()
        st = stats_of(sensor)
        k = st["kernel"]
        drops = k["drops_by_kind"]
        print(f"storm: {STORM_WORKERS * STORM_CHILDREN} processes, {STORM_WORKERS * STORM_CHILDREN * STORM_FILES} "
              f"paths in {storm_s:.1f} s; attacks at {attacked_at:.1f} s (storm running: {storm_running})")
        print(f"sensor: VmHWM {hwm / 1024:.1f} MiB (at start {hwm_start / 1024:.1f}), VmRSS {rss / 1024:.1f} MiB; "
              f"events {st['events']} (fork {st['fork_events']}, exec {st['exec_events']}, exit {st['exit_events']}, "
              f"open {st['open_events']}); processes peak {st['processes_peak']} of {st['processes_capacity']}; "
              f"kernel drops {k['drops']} {json.dumps(drops)}, shed {json.dumps(k['shed'])}")
        if k["drops"]:
            notices = [l for l in sensor.stderr_lines() if "NOTICE: kernel dropped" in l]
            check(notices, f"{k['drops']} kernel drops and no NOTICE:\n{sensor.stderr()}")
        # the storm really reached the sensor (or is counted as lost)
        n = STORM_WORKERS * STORM_CHILDREN
        check(st["fork_events"] + drops["fork"] >= n, f"fork events {st['fork_events']} + drops < {n}")
        check(st["exec_events"] + drops["exec"] >= n // STORM_EXEC_EVERY, f"exec events {st['exec_events']}")
        check(st["open_events"] + drops["open"] + k["shed"]["open"] >= n * STORM_FILES,
              f"open events {st['open_events']} + drops + shed < {n * STORM_FILES}")
        check(max(hwm, peak) < RSS_BOUND_KIB, f"peak RSS {max(hwm, peak) / 1024:.1f} MiB >= 64 MiB")
        # the attacks, and their lineage
        a = one_alert_of(sensor, plain, lst.port)
        got = sensor.alerts_in_session(family.timeout_pid)
        check(len(got) == 1, f"the family attack gave {len(got)} alerts: {got}\nstderr:\n{sensor.stderr()}")
        a = got[0]
        fam.check_proc(a.get("process"), "process", a, pid=child, exe=h.PY_REAL)
        fam.check_proc(a.get("parent"), "parent", a, pid=family.pid, exe=h.PY_REAL)
        fam.check_proc(a.get("reader"), "reader", a, pid=family.pid, exe=h.PY_REAL)
        fam.check_common(a, path=SHADOW, category=CRED, port=lst.port, reader_pid=family.pid, relation="ancestor")
        anc = [x.get("pid") for x in a.get("ancestry") or []]
        check(anc[:4] == [child, family.pid, family.bash_pid, family.timeout_pid],
              f"ancestry {anc} != child, parent, bash, timeout")
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
            w.wait()
        h.teardown(sensor, lst, mnt, ws)


# --------------------------------------------------------------------------- 4. reload storm

# Broken rules files, each refused by the parser (an empty file is not among them:
# it is valid, every key taking its default).
BROKEN_CONFIGS = [
    "window_duration: 5\nsuspicious_files: [\n  - {{{ garbage\n\x01\n",         # YAML syntax
    '{"window_duration": 5, "suspicious_files": [',                           # JSON cut short
    "window_duration: 5\nsuspicous_files: []\n",                                # a misspelt key
    '{"window_duration": "soon", "suspicious_files": []}',                     # a wrong type
    '{"suspicious_files": [{"category": "x", "base_score": 5, "patterns": "not a list"}]}',
    "\xff\xfe binary \x00 junk\n",
]


def good_config(root, secret, gen):
    """The built-in rules plus a category of its own for `secret`, named after `gen`:
    an alert's file.category says which good rules were in force."""
    rules = h.builtin_rules_json(root)
    rules["suspicious_files"].append({"category": f"storm secret gen {gen}", "base_score": 5, "patterns": [secret]})
    return json.dumps(rules)


def put(path, text):
    """Replace `path` atomically (the sensor reads it on SIGHUP, whenever that comes)."""
    tmp = path + ".new"
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def case_reload_storm():
    """SIGHUP every 30 ms for about 8 s while the rules file alternates between good
    rules (each with a differently named category for the test's secret) and six
    kinds of broken files, with a load of opens and forks running and ten attacks
    (each reads the secret and connects, in a session of its own) started during
    the storm. Every attack alerts exactly once, with a category of some good
    generation; every failed reload is one `config reload failed, keeping the
    previous rules` line; the sensor never exits. After the storm: good rules, then
    a broken file, then an attack: it alerts with the last good generation's
    category (the broken file kept the last good rules)."""
    h.require_root_and_sensor()
    ws, lst, sensor, load = h.Workspace(), h.TcpListener("127.0.0.1"), None, None
    stop = threading.Event()
    storm = None
    try:
        secret = h.write_file(ws.path("storm-secret.txt"), "barbwire e2e dummy secret, not a real one\n", 0o600)
        cfg = ws.path("rules.json")
        put(cfg, good_config(ROOT, secret, 0))
        sensor = h.Sensor(BW, cfg).start().wait_ready()
        load = Load(ws.path("load"), seconds=60, pause=0.005)
        sent = {"hup": 0, "good": 1, "broken": 0}

        def hups():
            n = 0
            while not stop.is_set() and n < 1000:
                n += 1
                if n % 2:
                    put(cfg, good_config(ROOT, secret, n))
                    sent["good"] += 1
                else:
                    put(cfg, BROKEN_CONFIGS[(n // 2) % len(BROKEN_CONFIGS)])
                    sent["broken"] += 1
                sensor.proc.send_signal(signal.SIGHUP)
                sent["hup"] += 1
                time.sleep(0.03)

        storm = threading.Thread(target=hups, daemon=True)
        storm.start()
        actors = []
        for _ in range(10):
            actors.append(attack(lst, secret))
            time.sleep(0.3)
        stop.set()
        storm.join(10)
        check(sensor.running(), f"the sensor exited during the reload storm:\n{sensor.stderr()}")
        # after the storm: known good rules, then a broken file
        last = 10_000
        put(cfg, good_config(ROOT, secret, last))
        n_ok = sum(1 for l in sensor.stderr_lines() if l.startswith("barbwire: config reloaded from"))
        sensor.send(signal.SIGHUP)
        t0 = time.monotonic()
        while sum(1 for l in sensor.stderr_lines() if l.startswith("barbwire: config reloaded from")) == n_ok:
            check(time.monotonic() - t0 < 5, f"no reload of the last good rules:\n{sensor.stderr()}")
            time.sleep(0.05)
        put(cfg, BROKEN_CONFIGS[0])
        n_bad = sum(1 for l in sensor.stderr_lines() if "config reload failed" in l)
        sensor.send(signal.SIGHUP)
        t0 = time.monotonic()
        while sum(1 for l in sensor.stderr_lines() if "config reload failed" in l) == n_bad:
            check(time.monotonic() - t0 < 5, f"no failed reload of the broken file:\n{sensor.stderr()}")
            time.sleep(0.05)
        final = attack(lst, secret)
        got = sensor.wait_alert(final.pid)
        time.sleep(1.0)                      # a second alert would show by now
        load.stop()
        sensor.stop_cleanly()
        err = sensor.stderr_lines()
        ok = [l for l in err if l.startswith("barbwire: config reloaded from ")]
        bad = [l for l in err if l.startswith("barbwire: config reload failed, keeping the previous rules: ")]
        stray = [l for l in err if not l.startswith("barbwire: ")]
        check(not stray, f"stderr lines that are not the sensor's one-line messages: {stray[:5]}")
        check(len(ok) >= 5 and len(bad) >= 5,
              f"{len(ok)} reloads and {len(bad)} failed reloads reported for {sent['hup']} SIGHUPs")
        for l in bad:
            check(cfg in l, f"a failed reload that does not name the file: {l}")
        # every attack: exactly one alert, under some good generation's rules
        for a in actors + [final]:
            mine = sensor.alerts(a.pid)
            check(len(mine) == 1, f"attack pid {a.pid}: {len(mine)} alerts, expected exactly one: {mine}\n"
                                  f"stderr:\n{sensor.stderr()}")
            cat = (mine[0].get("file") or {}).get("category", "")
            check(cat.startswith("storm secret gen "), f"attack pid {a.pid}: category {cat!r}")
            check_attack_alert(mine[0], a, lst.port, path=secret, category=cat)
        cat = got[0]["file"]["category"]
        check(cat == f"storm secret gen {last}", f"after the last good rules and a broken file, the category is "
                                                  f"{cat!r}, not the last good rules' 'storm secret gen {last}'")
        print(f"{sent['hup']} SIGHUPs ({sent['good']} good files, {sent['broken']} broken); {len(ok)} reloads and "
              f"{len(bad)} failed reloads reported (SIGHUPs that arrive before the loop looks are one); "
              f"{len(actors) + 1} attacks, one alert each; the last good rules kept")
    finally:
        stop.set()
        if storm is not None:
            storm.join(5)
        h.teardown(sensor, load, lst, ws)


# --------------------------------------------------------------------------- 5. symlink swap

IN_ACCESS, IN_MODIFY, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_OPEN = 0x1, 0x2, 0x8, 0x10, 0x20
IN_READS = IN_ACCESS | IN_MODIFY | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN


class Inotify:
    """inotify(7) through libc (Python has no module for it): watch(path) for opens
    and reads of the inode at `path`; events() returns {path: mask or-ed} so far."""

    def __init__(self):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        check(self.fd >= 0, f"inotify_init1: {os.strerror(ctypes.get_errno())}")
        self.wds = {}

    def watch(self, path):
        wd = self.libc.inotify_add_watch(self.fd, os.fsencode(path), IN_READS)
        check(wd >= 0, f"inotify_add_watch {path}: {os.strerror(ctypes.get_errno())}")
        self.wds[wd] = path

    def events(self):
        out = {}
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            off = 0
            while off + 16 <= len(buf):
                wd, mask, _cookie, ln = struct.unpack_from("iIII", buf, off)
                off += 16 + ln
                if wd in self.wds:
                    out[self.wds[wd]] = out.get(self.wds[wd], 0) | (mask & IN_READS)

    def close(self):
        os.close(self.fd)


def as_nobody(argv, env=None, timeout=20):
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        h.skip_or_fail("setpriv (util-linux) is needed")
    return subprocess.run([setpriv, "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups", "--", *argv],
                          env=env or {"PATH": "/usr/bin:/bin", "LANG": "C"}, capture_output=True, text=True,
                          timeout=timeout, cwd="/", start_new_session=True)


def case_symlink_swap_opens_nothing():
    """(issue 15, the hostile-user run) User nobody, in a directory it owns, runs
    `prog`, its own copy of bash, which reads nobody's ssh key and connects to a
    listener on 127.0.0.1, and exits. Then nobody replaces `prog` with a symlink:
    once to a character device (1:3) in a root-only directory, once (a second copy)
    to a root-only hard link of the very file that ran. The sensor is stopped
    (SIGSTOP) for all of it, so when it handles the exec event the process is gone
    (no /proc/PID/exe) and only the path is left: exactly the case where the old
    hasher opened the path as root, following symlinks.

    inotify on both targets (opens, reads, closes) must stay silent while the
    sensor handles the events and stops; the test's own open of each target
    afterwards must show up (the watches work). Each attack alerts, naming the
    path that ran and no sha256 (unknown: refused), and the trace's exec line
    carries the event's device and inode and no hash.

    The hard-link target is what makes the test fail if the hasher followed
    symlinks: it is a regular file with the exec event's device and inode, so
    only the refusal to resolve a symlink keeps the sensor from opening and
    hashing it. The device target fails a hasher that opens before it checks
    the file type (the original bug)."""
    h.require_root_and_sensor()
    ws, lst, sensor, ino, stopped = h.Workspace(), h.TcpListener("127.0.0.1"), None, None, False
    try:
        home = ws.path("nobody")                       # the hostile user's own directory
        os.makedirs(os.path.join(home, ".ssh"))
        key = h.write_file(os.path.join(home, ".ssh", "id_rsa"), fam.DUMMY_KEY, 0o600)
        for p in (home, os.path.join(home, ".ssh"), key):
            os.chown(p, NOBODY, NOBODY)
        os.chmod(home, 0o755)
        vault = ws.path("root-only")                   # the targets: only root gets in
        os.mkdir(vault, 0o700)
        dev = os.path.join(vault, "null")
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        bash = os.path.realpath(shutil.which("bash") or "/bin/bash")
        progs = {}
        for name in ("prog-dev", "prog-link"):
            p = os.path.join(home, name)
            shutil.copyfile(bash, p)
            os.chown(p, NOBODY, NOBODY)
            os.chmod(p, 0o755)
            progs[name] = p
        link = os.path.join(vault, "prog-link")        # the same inode as prog-link, kept by root
        os.link(progs["prog-link"], link)
        ids = {n: (os.stat(p).st_dev, os.stat(p).st_ino) for n, p in progs.items()}
        targets = {"prog-dev": dev, "prog-link": link}

        trace = ws.path("trace.jsonl")
        sensor = h.Sensor(BW, None, command="record", record_file=trace, extra=["--verbose"]).start().wait_ready()
        script = 'read -r line < "$1" && exec 3<>"/dev/tcp/127.0.0.1/$2" && echo "$$"'
        os.kill(sensor.proc.pid, signal.SIGSTOP)
        stopped = True
        pids = {}
        for name, p in progs.items():
            r = as_nobody([p, "-c", script, name, key, str(lst.port)], env={"PATH": "/usr/bin:/bin", "HOME": home})
            check(r.returncode == 0, f"{name} as nobody failed ({r.returncode}): {r.stderr}")
            pids[name] = int(r.stdout.strip())
            check(not os.path.exists(f"/proc/{pids[name]}"), f"{name} (pid {pids[name]}) is still there")
            # nobody swaps its file for a symlink (it owns the directory; the target it cannot even reach)
            r = as_nobody(["ln", "-sfn", targets[name], p])
            check(r.returncode == 0, f"nobody could not swap {p}: {r.stderr}")
            check(os.path.islink(p) and os.readlink(p) == targets[name], f"{p} is not the symlink")
        check(os.stat(link).st_ino == ids["prog-link"][1] and stat.S_ISCHR(os.stat(dev).st_mode), "targets changed")
        ino = Inotify()
        for t in targets.values():
            ino.watch(t)
        os.kill(sensor.proc.pid, signal.SIGCONT)
        stopped = False
        alerts = {}
        for name, pid in pids.items():
            got = sensor.wait_alert(pid)
            check(len(got) == 1, f"{name} (pid {pid}): {len(got)} alerts, expected one\nstderr:\n{sensor.stderr()}")
            alerts[name] = got[0]
        time.sleep(1.0)
        sensor.stop_cleanly()
        seen = ino.events()
        check(not seen, "the sensor opened or read a symlink's target: "
                        + ", ".join(f"{p} (mask {m:#x})" for p, m in seen.items()))
        # the watches work: the test's own opens are seen
        for t in targets.values():
            fd = os.open(t, os.O_RDONLY | os.O_NONBLOCK)
            os.read(fd, 1)
            os.close(fd)
        seen = ino.events()
        for t in targets.values():
            check(seen.get(t, 0) & IN_OPEN, f"inotify saw no open of {t} by the test itself: {seen}")
        for name, a in alerts.items():
            ctx = f"alert: {json.dumps(a, sort_keys=True)}"
            p, f, d = a.get("process") or {}, a.get("file") or {}, a.get("destination") or {}
            check(p.get("exe") == progs[name], f"{name}: process.exe {p.get('exe')!r}; {ctx}")
            check(p.get("sha256") is None, f"{name}: process.sha256 {p.get('sha256')!r}: the swapped path was hashed; {ctx}")
            check(f.get("path") == key and f.get("category") == SSH, f"{name}: file {f}; {ctx}")
            check(d.get("addr") == "127.0.0.1" and d.get("port") == lst.port, f"{name}: destination {d}; {ctx}")
        execs = {e["pid"]: e for e in h.read_trace(trace) if e.get("kind") == "exec" and e.get("exe") in progs.values()}
        for name, pid in pids.items():
            e = execs.get(pid)
            check(e is not None, f"no exec line of {name} (pid {pid}) in the trace")
            check((e.get("exe_dev"), e.get("exe_ino")) == ids[name] or e.get("exe_ino") == ids[name][1],
                  f"{name}: exec line's dev/ino {e.get('exe_dev')}/{e.get('exe_ino')} != {ids[name]}")
            check(not e.get("sha256"), f"{name}: the exec line has a hash: {e}")
        failures = stats_of(sensor)["exe_sha256"]["failures"]
        check(failures >= 2, f"exe_sha256 failures {failures}: the sensor did not try to identify the execs")
        print(f"nobody's execs {pids}, swapped for symlinks to {dev} and {link}: both alerted with no sha256; "
              f"inotify: nothing opened either target; hash failures {failures}")
    finally:
        if stopped and sensor is not None and sensor.running():
            os.kill(sensor.proc.pid, signal.SIGCONT)
        if ino is not None:
            ino.close()
        h.teardown(sensor, lst, ws)


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "fault_test"))
