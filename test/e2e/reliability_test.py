#!/usr/bin/env python3
"""End-to-end tests of a sensor that never stops silently (issue 15, "No silent
stop"): the real `barbwire run`, whose standard output the test controls,
real attacks on loopback.

  reliability_test.py BARBWIRE SOURCE_ROOT CASE

  stdout_closed_output_keeps_alerting  standard output closed (EPIPE) with --output
                                       working: a NOTICE, and alerts go on to the file
  no_output_exits_nonzero              standard output closed and no other output:
                                       the sensor stops with status 1 (a supervisor's
                                       Restart=on-failure restarts it)
  privileges_dropped                   after attaching: three capabilities on every thread,
                                       no_new_privs, a seccomp filter; it still alerts and reloads
  sighup_during_blocked_write          a SIGHUP while an alert's write to a full pipe
                                       blocks: the write goes on, nothing is lost, the
                                       sensor keeps running (it used to take the
                                       interrupted write for a closed stdout and exit 0)
  fuse_argv_does_not_hang_seeding      a process whose argv page is a file on a FUSE
                                       filesystem that never answers (hang_fs, argv_trap):
                                       the sensor is ready in the normal time and alerts;
                                       a NOTICE and a seed timeout only if one of its
                                       threads really waited on the page (Linux 4.17+
                                       reads argv from anonymous memory only: none does)
  fuse_exec_not_touched                an executable run from a FUSE mount: no request from
                                       any thread of the sensor reaches the daemon; the exec
                                       is unhashed, and the sensor says why

They need root and a build with the sensor; otherwise they exit 77 (skip), or 1
when CI=true.
"""
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import termios
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

BW = ""
ROOT = ""
SHADOW = "/etc/shadow"
F_SETPIPE_SZ = 1031


class PipedSensor:
    """`barbwire run --format json EXTRA` whose standard output is `stdout_fd` (the
    test's pipe end); stderr is collected."""

    def __init__(self, stdout_fd, extra=()):
        self.args = [BW, "run", "--format", "json", *extra]
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=stdout_fd,
                                     stderr=subprocess.PIPE, cwd="/", start_new_session=True)
        self._err = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()

    def _pump(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            with self._lock:
                self._err.append(line)
            if line.startswith(h.READY_PREFIX):
                self._ready.set()

    def stderr(self):
        with self._lock:
            return "\n".join(self._err)

    def wait_ready(self):
        deadline = time.monotonic() + 60
        while not self._ready.wait(0.1):
            check(self.proc.poll() is None, f"sensor exited with {self.proc.returncode} before ready:\n{self.stderr()}")
            check(time.monotonic() < deadline, f"sensor not ready within 60 s:\n{self.stderr()}")
        return self

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        rc = self.wait_exit(20)
        self._t.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._t.join(5)


def attack(lst):
    """A process in a session of its own reads /etc/shadow and connects to `lst`."""
    actor = h.Actor(h.read_snippet(SHADOW) + h.tcp_connect_snippet("127.0.0.1", lst.port), new_session=True)
    actor.run()
    return actor


def alerts_in(lines, pid):
    out = []
    for line in lines:
        if not line.strip():
            continue
        a = json.loads(line)
        if a.get("type") != "summary" and a.get("process", {}).get("pid") == pid:
            out.append(a)
    return out


def wait_until_quiet(fn, timeout):
    """fn() within `timeout` seconds (polled), without failing: True or False."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.05)
    return False


def file_lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def wait_until(what, fn, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() >= deadline:
            check(got, f"timed out waiting for {what}")
            return got
        time.sleep(0.05)


def case_stdout_closed_output_keeps_alerting():
    """Standard output closed (its reader gone): the first alert's write fails with
    EPIPE; the sensor says so once and goes on alerting to --output."""
    h.require_root_and_sensor()
    ws, lst, sensor = h.Workspace(), h.TcpListener("127.0.0.1"), None
    r, w = os.pipe()
    os.close(r)  # nobody will ever read: a write gets EPIPE (SIGPIPE is ignored by the sensor)
    try:
        out = ws.path("alerts.jsonl")
        sensor = PipedSensor(w, ["--output", out]).wait_ready()
        os.close(w)
        w = None
        a1 = attack(lst)
        wait_until("the first alert in --output", lambda: alerts_in(file_lines(out), a1.pid))
        wait_until("the NOTICE about standard output", lambda: "NOTICE: standard output failed" in sensor.stderr())
        check(sensor.proc.poll() is None, f"the sensor stopped (exit {sensor.proc.returncode}) when standard "
                                          f"output closed, though --output works:\n{sensor.stderr()}")
        a2 = attack(lst)
        wait_until("an alert after standard output closed", lambda: alerts_in(file_lines(out), a2.pid))
        rc = sensor.stop()
        check(rc == 0, f"exit {rc} after SIGINT, expected 0:\n{sensor.stderr()}")
        check(sensor.stderr().count("NOTICE: standard output failed") == 1, "the NOTICE should come once")
        print(f"alerts of {a1.pid} and {a2.pid} in --output after standard output closed")
    finally:
        if w is not None:
            os.close(w)
        h.teardown(sensor, lst, ws)


def case_no_output_exits_nonzero():
    """Standard output closed and no other output: nothing would see an alert, so
    the sensor stops with status 1 at the first one that cannot be written."""
    h.require_root_and_sensor()
    ws, lst, sensor = h.Workspace(), h.TcpListener("127.0.0.1"), None
    r, w = os.pipe()
    os.close(r)
    try:
        sensor = PipedSensor(w).wait_ready()
        os.close(w)
        w = None
        attack(lst)
        rc = sensor.wait_exit(20)
        check(rc == 1, f"exit {rc} (None: still running 20 s after the alert), expected 1; stderr:\n{sensor.stderr()}")
        check("no other output works" in sensor.stderr(), f"no line says why:\n{sensor.stderr()}")
        print("exit 1: standard output closed, no other output")
    finally:
        if w is not None:
            os.close(w)
        h.teardown(sensor, lst, ws)


def case_sighup_during_blocked_write():
    """Standard output is a one-page pipe the test stops reading: the sensor's
    write of an alert blocks. A SIGHUP then must not break the write (the handler
    is SA_RESTART): once the test reads again, every alert arrives, in full, and
    the sensor is still running and alerting."""
    h.require_root_and_sensor()
    ws, lst, sensor = h.Workspace(), h.TcpListener("127.0.0.1"), None
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    lines, buf = [], bytearray()
    reader = None
    try:
        sensor = PipedSensor(w).wait_ready()
        os.close(w)
        w = None

        def queued():
            n = bytearray(4)
            fcntl.ioctl(r, termios.FIONREAD, n)
            return int.from_bytes(n, sys.byteorder)

        def in_write():
            # The event loop's thread (the process's own id) blocked in write(2),
            # system call 1: a write that does not fit waits whole (PIPE_BUF).
            try:
                return h.read_file(f"/proc/{sensor.proc.pid}/syscall").split()[0] == "1"
            except (OSError, IndexError):
                return False

        actors = []
        for _ in range(12):  # until the pipe is full and an alert's write waits
            actors.append(attack(lst))
            if wait_until_quiet(in_write, 3.0):
                break
        check(in_write(), f"the sensor never blocked writing ({queued()} bytes queued after {len(actors)} attacks)")
        for _ in range(3):
            sensor.proc.send_signal(signal.SIGHUP)
            time.sleep(0.2)
        check(sensor.proc.poll() is None,
              f"the sensor exited ({sensor.proc.returncode}) on SIGHUP during a blocked write:\n{sensor.stderr()}")

        def pump():
            while True:
                chunk = os.read(r, 65536)
                if not chunk:
                    return
                buf.extend(chunk)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        last = attack(lst)
        actors.append(last)

        def all_there():
            text = bytes(buf).decode(errors="replace")
            got = text.splitlines()[:-1] if not text.endswith("\n") else text.splitlines()
            return all(alerts_in(got, a.pid) for a in actors)

        wait_until("every attack's alert on standard output", all_there)
        check(sensor.proc.poll() is None, f"the sensor stopped:\n{sensor.stderr()}")
        rc = sensor.stop()
        check(rc == 0, f"exit {rc} after SIGINT, expected 0:\n{sensor.stderr()}")
        check("standard output failed" not in sensor.stderr(), f"a SIGHUP read as a failed stdout:\n{sensor.stderr()}")
        print(f"{len(actors)} alerts, a SIGHUP storm during a blocked write, none lost")
    finally:
        if w is not None:
            os.close(w)
        h.teardown(sensor, lst, ws)
        os.close(r)
        if reader is not None:
            reader.join(2)


CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_BPF = 2, 19, 39


def status_fields(path):
    out = {}
    for line in h.read_file(path).splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def case_privileges_dropped():
    """(issue 15) After attaching, every thread of the sensor keeps only CAP_BPF,
    CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (effective, permitted and bounding, when
    started as root), runs with no_new_privs and a seccomp filter; and under them it
    still alerts, reloads its rules on SIGHUP and stops cleanly."""
    h.require_root_and_sensor()
    ws, lst, sensor = h.Workspace(), h.TcpListener("127.0.0.1"), None
    try:
        rules = ws.path("rules.yml")  # the built-in rules as a file, so that SIGHUP reloads something
        subprocess.run([sys.executable, os.path.join(ROOT, "packaging", "rules", "make-rules-yml.py"),
                        os.path.join(ROOT, "libbarbwire", "include", "barbwire", "detail", "default_rules.hpp"),
                        "test", rules], check=True)
        sensor = h.Sensor(BW, rules, extra=["--output", ws.path("alerts.jsonl")]).start().wait_ready()
        ready = next(l for l in sensor.stderr_lines() if l.startswith(h.READY_PREFIX))
        check("privileges: cap_bpf,cap_sys_ptrace,cap_dac_read_search; seccomp" in ready,
              f"the ready line does not say what was kept: {ready}")
        want = (1 << CAP_BPF) | (1 << CAP_SYS_PTRACE) | (1 << CAP_DAC_READ_SEARCH)
        pid = sensor.proc.pid
        tasks = os.listdir(f"/proc/{pid}/task")
        check(len(tasks) >= 2, f"expected the outputs' threads too, got {tasks}")
        for tid in tasks:
            st = status_fields(f"/proc/{pid}/task/{tid}/status")
            for k in ("CapEff", "CapPrm", "CapBnd"):
                check(int(st[k], 16) == want, f"thread {tid} ({st.get('Name')}): {k} {st[k]}, expected {want:016x}")
            check(int(st["CapInh"], 16) == 0 and int(st.get("CapAmb", "0"), 16) == 0, f"thread {tid}: {st}")
            check(st["NoNewPrivs"] == "1", f"thread {tid}: NoNewPrivs {st['NoNewPrivs']}")
            check(st["Seccomp"] == "2", f"thread {tid}: Seccomp {st['Seccomp']} (2: a filter)")
        a = attack(lst)
        check(sensor.wait_alert(a.pid), f"no alert under the dropped privileges:\n{sensor.stderr()}")
        sensor.send(signal.SIGHUP)
        check(sensor.wait_stderr("barbwire: config reloaded from", timeout=10) is not None,
              f"no reload under seccomp:\n{sensor.stderr()}")
        a2 = attack(lst)
        check(sensor.wait_alert(a2.pid), f"no alert after the reload:\n{sensor.stderr()}")
        sensor.stop_cleanly()
        print(f"{len(tasks)} threads: CapEff {want:016x}, NoNewPrivs 1, Seccomp 2; alerts before and after a reload")
    finally:
        h.teardown(sensor, lst, ws)


# --------------------------------------------------------------------------- FUSE (issue 15)

def helper(env, name, why):
    """A helper binary built by test/e2e/meson.build: $env, else next to the build's sensor."""
    path = os.environ.get(env) or os.path.join(os.path.dirname(os.path.dirname(BW)), "test", "e2e", name)
    if not os.access(path, os.X_OK):
        h.skip_or_fail(f"{name} is not built ({path}): {why}")
    return os.path.realpath(path)


class HangFs:
    """test/e2e/hang_fs mounted on a directory of `ws`: files hang (reads never
    answered), exe (a copy of /bin/true) and data; every request logged with
    the id of the thread that made it. kill() kills the daemon first (which
    aborts the connection: every waiting request fails, so nothing stays
    blocked on it) and unmounts."""

    def __init__(self, ws):
        if not os.path.exists("/dev/fuse"):
            h.skip_or_fail("/dev/fuse is missing (modprobe fuse)")
        binary = helper("BW_HANG_FS", "hang_fs",
                        "meson builds it when libfuse3 is found (apt-get install libfuse3-dev fuse3, then reconfigure)")
        self.mnt = ws.path("mnt")
        self.log = ws.path("fuse.log")
        os.mkdir(self.mnt)
        self.proc = subprocess.Popen([binary, self.mnt, self.log, "/bin/true"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.mounted = False
        line = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                break
        if line.strip() != b"mounted":
            err = self.proc.stderr.read1(4096) if self.proc.poll() is not None else b""
            self.kill()
            raise h.Failure(f"hang_fs did not mount {self.mnt}: {line!r} {err!r}")
        self.mounted = True

    def path(self, name):
        return os.path.join(self.mnt, name)

    def requests(self):
        """(op, ino, pid, rest) of every logged request."""
        out = []
        for line in file_lines(self.log):
            parts = line.split(" ", 3)
            if len(parts) < 3:
                continue
            out.append((parts[0], int(parts[1].split("=")[1]), int(parts[2].split("=")[1]),
                        parts[3] if len(parts) > 3 else ""))
        return out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.mounted:
            subprocess.run(["umount", "-l", self.mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.mounted = False


class Trap:
    """test/e2e/argv_trap: a process whose argv page is `file` (hang_fs's hang),
    mapped without being read."""

    def __init__(self, file):
        binary = helper("BW_ARGV_TRAP", "argv_trap", "meson builds it with the e2e tests")
        self.proc = subprocess.Popen([binary, file], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        r, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline().decode(errors="replace").split() if r else []
        if len(line) != 3 or line[0] != "ready":
            self.kill()
            raise h.Failure(f"argv_trap did not get ready: {line!r}")
        self.pid = int(line[1])
        check(self.pid == self.proc.pid, f"argv_trap pid {self.pid} != {self.proc.pid}")

    def kill(self):
        # Its exit waits for whatever reader holds its memory: kill the FUSE daemon first.
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass


def sensor_threads(pid):
    try:
        return {int(t) for t in os.listdir(f"/proc/{pid}/task")} | {pid}
    except OSError:
        return {pid}


def final_stats(sensor):
    return next((l for l in sensor.stderr_lines() if l.startswith("barbwire: stopped after")), "")


def case_fuse_argv_does_not_hang_seeding():
    """(issue 15) A process maps a file of a FUSE filesystem whose daemon never
    answers over the page that holds its argv (the CVE-2018-1120 trap), then the
    sensor starts. The sensor must get ready in the normal time and alert on a real
    attack while the trap is set. Which of two things happens depends on the kernel:

    - Linux 4.17 and later read /proc/PID/cmdline from anonymous memory only
      (FOLL_ANON), so the read returns at once without asking the daemon: no
      thread of the sensor may then appear in the daemon's log, and the final stats
      count no seed timeout.
    - An older kernel faults the page in through FUSE and the read blocks for ever:
      the sensor's worker gives up at its 250 ms deadline, a NOTICE names the pid
      and the final stats count one seed timeout. (On such a kernel a sensor that
      reads /proc on its event loop never prints its ready line.)

    The deadline itself, with a read that really blocks, is unit-tested
    (test_sensor_proc_seed: a FIFO as cmdline; test_sensor_deadline_worker)."""
    h.require_root_and_sensor()
    ws, lst, sensor, fuse, trap = h.Workspace(), h.TcpListener("127.0.0.1"), None, None, None
    try:
        fuse = HangFs(ws)
        trap = Trap(fuse.path("hang"))
        t0 = time.monotonic()
        sensor = h.Sensor(BW, None).start().wait_ready(timeout=30)
        took = time.monotonic() - t0
        tids = sensor_threads(sensor.proc.pid)
        a = attack(lst)
        check(sensor.wait_alert(a.pid), f"no alert for the attack while the trap is set:\n{sensor.stderr()}")
        reads = [r for r in fuse.requests() if r[0] == "read" and r[1] == 2]
        sprung = any(r[2] in tids for r in reads)
        notice = next((l for l in sensor.stderr_lines()
                       if "seeding:" in l and "did not finish within 250 ms" in l), None)
        # The daemon dies: a stuck read fails, an abandoned worker leaves, the sensor stops cleanly.
        fuse.kill()
        sensor.stop_cleanly()
        stats = final_stats(sensor)
        if sprung:
            check(notice is not None and (f"pid {trap.pid}" in notice or f", {trap.pid}" in notice),
                  f"a sensor thread waited on the trap's page, but no NOTICE names {trap.pid}: {notice}")
            check("seed timeouts: 1" in stats, f"the final stats do not count the timed-out read: {stats}")
            how = "the read blocked (this kernel reads file-backed argv): NOTICE, 1 seed timeout"
        else:
            check(notice is None, f"a NOTICE of a timeout although no read waited on the daemon: {notice}")
            check("seed timeouts: 0" in stats, f"the final stats count a seed timeout: {stats}")
            how = "the kernel read argv from anonymous memory only (no request reached the daemon)"
        print(f"ready in {took:.1f} s past the trap (pid {trap.pid}); {how}; the attack alerted")
    finally:
        # The daemon first: with it gone, nothing waits on the trap's page any more.
        h.teardown(fuse, sensor, trap, lst, ws)


def case_fuse_exec_not_touched():
    """(issue 15) An executable on a FUSE filesystem is run while the sensor is
    recording. The sensor must not look it up, stat, open or read it (any of
    which waits on the daemon, which may never answer): no request in the daemon's
    log comes from a thread of the sensor, the exec in the trace has no sha256,
    a NOTICE names the filesystem, and the final stats count it. A sensor that
    hashes every executable opens and reads it through the daemon."""
    h.require_root_and_sensor()
    ws, sensor, fuse = h.Workspace(), None, None
    try:
        fuse = HangFs(ws)
        trace = ws.path("trace.jsonl")
        sensor = h.Sensor(BW, None, command="record", record_file=trace).start().wait_ready()
        exe = fuse.path("exe")
        p = subprocess.Popen([exe], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        check(p.wait(10) == 0, f"{exe} (a copy of /bin/true) failed: {p.returncode}")
        notice = sensor.wait_stderr("barbwire: NOTICE: " + exe, timeout=5)
        if notice is None:
            time.sleep(1.0)  # whatever the sensor does with the exec, it has done it by now
        tids = sensor_threads(sensor.proc.pid)
        sensor.stop_cleanly()
        reqs = fuse.requests()
        mine = [r for r in reqs if r[2] in tids]
        check(not mine, f"threads of the sensor ({sorted(tids)}) made FUSE requests: {mine}")
        check(any(r[2] == p.pid for r in reqs), f"no request from the exec'd process {p.pid} (is the log working?): {reqs}")
        check(notice is not None and "fuse.hang_fs" in notice,
              f"no NOTICE that {exe} is on a FUSE filesystem and not hashed:\n{sensor.stderr()}")
        execs = [e for e in h.read_trace(trace) if e.get("kind") == "exec" and e.get("pid") == p.pid]
        check(execs, f"no exec of {p.pid} in the trace")
        check(execs[-1].get("exe") == exe, f"the exec names {execs[-1].get('exe')!r}, expected {exe!r}")
        check(not execs[-1].get("sha256"), f"the exec on FUSE was hashed: {execs[-1]}")
        stats = final_stats(sensor)
        check("1 on FUSE or network filesystems" in stats, f"the final stats do not count it: {stats}")
        print(f"exec of {exe} by {p.pid}: {len(reqs)} FUSE requests, none from the sensor; unhashed, said once")
    finally:
        h.teardown(fuse, sensor, ws)


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "reliability_test"))
