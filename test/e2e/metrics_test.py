#!/usr/bin/env python3
"""End-to-end tests of --metrics (issue 14, docs/metrics.md): real servers on loopback.

  metrics_test.py BARBWIRE SOURCE_ROOT CASE

  prometheus_scrape  a real Prometheus (/usr/bin/prometheus, private config and
                     storage) scrapes the sensor every second; its HTTP API shows
                     the target up and, after a real attack (/etc/shadow read,
                     then a loopback connect), the alert counted under the alert's
                     own severity and category; `promtool check metrics` is clean
  healthz            /healthz is 200 while the loop drains the ring buffer, 503
                     with the reason while the loop is stalled (for real: blocked
                     writing to a full standard-error pipe nobody reads, while the
                     HTTP threads go on), and 200 again once it drains
  bad_address        a malformed, foreign or busy --metrics address: one line, exit 2

Each needs root and a build with the sensor (skip, or failure under CI=true);
prometheus_scrape also needs the prometheus package (./dev installs it).
"""
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

BW = ""
ROOT = ""

SHADOW = "/etc/shadow"


def free_port():
    """A loopback TCP port nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5.0):
    """(status, body text) of a GET; an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", errors="replace")


def wait_until(what, fn, timeout):
    """Poll fn() until it returns a true value; returns it, or fails naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except OSError as e:  # connection refused while a server starts
            last = e
            time.sleep(0.2)
            continue
        if last:
            return last
        time.sleep(0.2)
    raise h.Failure(f"{what}: not within {timeout:.0f} s (last: {last!r})")


class Prometheus:
    """/usr/bin/prometheus with a private config and storage in a temp dir, on loopback."""

    def __init__(self, target):
        self.bin = shutil.which("prometheus") or "/usr/bin/prometheus"
        self.dir = tempfile.mkdtemp(prefix="barbwire-e2e-prometheus-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(self.dir, "prometheus.yml")
        h.write_file(cfg, "global:\n"
                          "  scrape_interval: 1s\n"
                          "  scrape_timeout: 1s\n"
                          "  evaluation_interval: 1s\n"
                          "scrape_configs:\n"
                          "  - job_name: barbwire\n"
                          "    static_configs:\n"
                          f"      - targets: ['{target}']\n")
        self.log = os.path.join(self.dir, "prometheus.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [self.bin, f"--config.file={cfg}", f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                start_new_session=True)

    def wait_ready(self, timeout=60.0):
        def ready():
            check(self.proc.poll() is None,
                  f"prometheus exited with {self.proc.returncode}: {h.read_file(self.log)[-2000:]}")
            return http_get(self.url + "/-/ready", timeout=2.0)[0] == 200
        wait_until("prometheus ready", ready, timeout)
        return self

    def query(self, expr):
        """The instant vector of `expr` from the HTTP API: [(labels dict, float value)]."""
        status, body = http_get(self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        check(status == 200, f"query {expr!r}: HTTP {status}: {body[:500]}")
        doc = json.loads(body)
        check(doc.get("status") == "success", f"query {expr!r}: {doc}")
        return [(r["metric"], float(r["value"][1])) for r in doc["data"]["result"]]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def promtool_clean(text):
    """`promtool check metrics` on a scrape: must exit 0 and report nothing."""
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    r = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode(errors="replace").strip()
    check(r.returncode == 0 and out == "",
          f"promtool check metrics exited {r.returncode}: {out}\n--- the scrape:\n{text[:3000]}")


def documented(text):
    """Every family the sensor serves has a row in docs/metrics.md."""
    with open(os.path.join(ROOT, "docs", "metrics.md"), encoding="utf-8") as f:
        doc = f.read()
    families = sorted({line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")})
    missing = [name for name in families if f"`{name}`" not in doc]
    check(not missing, f"served but not in docs/metrics.md: {', '.join(missing)}")
    print(f"{len(families)} metric families served, each documented in docs/metrics.md")


def case_prometheus_scrape():
    """A real Prometheus scrapes the sensor; up == 1, an attack's alert is counted; promtool clean."""
    h.require_root_and_sensor()
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        h.skip_or_fail("prometheus and promtool are not installed (Debian: prometheus; ./dev deps installs it)")
    mport = free_port()
    target = f"127.0.0.1:{mport}"
    sensor = h.Sensor(BW, None, extra=("--metrics", target))
    prom = lst = None
    try:
        sensor.start().wait_ready()
        # Served from the ready line on: promtool on a scrape of our own.
        status, text = http_get(f"http://{target}/metrics")
        check(status == 200, f"/metrics answered {status}: {text[:500]}")
        check('barbwire_build_info{version="' in text, f"no barbwire_build_info in the scrape:\n{text[:2000]}")
        promtool_clean(text)
        documented(text)

        prom = Prometheus(target).wait_ready()
        wait_until('Prometheus sees up{job="barbwire"} == 1',
                   lambda: [v for _, v in prom.query('up{job="barbwire"}') if v == 1.0], 60)
        # The sensor's own figures arrived through Prometheus too.
        got = prom.query('barbwire_build_info{job="barbwire"}')
        check(got and got[0][0].get("abi") and got[0][1] == 1.0, f"barbwire_build_info via Prometheus: {got}")

        # The attack: read /etc/shadow, connect to a loopback listener (e2e shadow_tcp).
        lst = h.TcpListener("127.0.0.1")
        actor = h.Actor(h.read_snippet(SHADOW) + h.tcp_connect_snippet("127.0.0.1", lst.port), new_session=True)
        rep = actor.run()
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the actor's connection")
        alerts = sensor.wait_alert(actor.pid)
        check(alerts, f"no alert for actor pid {actor.pid}; stderr:\n{sensor.stderr()}")
        a = alerts[0]
        sev, cat = a["severity"], (a.get("file") or {}).get("category")
        check(a["file"]["path"] == SHADOW and sev == "HIGH" and cat,
              f"the attack's alert is not a HIGH alert on {SHADOW} with a category: {json.dumps(a)}")
        expr = f'barbwire_alerts_total{{job="barbwire",severity="{sev}",category="{cat}"}}'
        got = wait_until(f"Prometheus counts the alert ({expr} >= 1)",
                         lambda: [v for _, v in prom.query(expr) if v >= 1.0], 30)
        print(f"Prometheus: up 1; {expr} = {got[0]:.0f}")
        # The counter is the sensor's count of what it printed (other alerts of this host included).
        status, text = http_get(f"http://{target}/metrics")
        check(status == 200, f"/metrics answered {status}")
        promtool_clean(text)
        sensor.stop_cleanly()
    finally:
        h.teardown(prom, lst, sensor)


class RawSensor:
    """`barbwire run --metrics ADDR` whose standard error is a one-page pipe the test
    reads only when it wants to: when the test stops reading, the sensor's next
    stderr lines fill the pipe and the event loop blocks in write(2)."""

    def __init__(self, bw, target):
        self.proc = subprocess.Popen([bw, "run", "--format", "json", "--metrics", target],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd="/", start_new_session=True)
        self.fd = self.proc.stderr.fileno()
        fcntl.fcntl(self.fd, fcntl.F_SETPIPE_SZ, 4096)
        self.err = b""
        self._pump = None
        self._stop = False

    def read_available(self, timeout=0.0):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            chunk = os.read(self.fd, 65536)
            self.err += chunk
            return len(chunk)
        return 0

    def wait_ready(self, timeout=h.READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while h.READY_PREFIX.encode() not in self.err:
            check(time.monotonic() < deadline and self.proc.poll() is None,
                  f"no ready line (exit {self.proc.poll()}); stderr:\n{self.err.decode(errors='replace')}")
            self.read_available(0.1)

    def pump(self):
        """Read stderr from now on, in a thread."""
        def run():
            while not self._stop and self.proc.poll() is None:
                self.read_available(0.1)
            while self.read_available(0.1):
                pass
        self._pump = threading.Thread(target=run, daemon=True)
        self._pump.start()

    def loop_wchan(self):
        """Where the event loop (the main thread) sleeps in the kernel."""
        return h.read_file(f"/proc/{self.proc.pid}/wchan").strip()

    def loop_blocked_on_pipe(self):
        """The loop sleeps in a pipe write (pipe_write; anon_pipe_write on Linux 6.14+)."""
        return self.loop_wchan() in ("pipe_write", "anon_pipe_write")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stop = True
        if self._pump is not None:
            self._pump.join(5)
        return self.proc.returncode


def case_healthz():
    """200 while draining; 503 with the reason while the loop is stalled; 200 again after."""
    h.require_root_and_sensor()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    s = RawSensor(BW, f"127.0.0.1:{port}")
    try:
        s.wait_ready()
        st, body = wait_until("/healthz 200 after the ready line",
                              lambda: (lambda r: r if r[0] == 200 else None)(http_get(base + "/healthz")), 10)
        check(body == "ok\n", f"/healthz body {body!r}, expected 'ok'")
        # Stall the loop for real: SIGHUPs make it print a line each (no --config:
        # "SIGHUP: no --config file to reload"); nobody reads the one-page pipe, so
        # soon a write blocks, and the loop with it. The HTTP threads are not blocked.
        for n in range(2000):
            if s.loop_blocked_on_pipe():
                break
            s.proc.send_signal(signal.SIGHUP)
            time.sleep(0.03)
        wchan = s.loop_wchan()
        check(s.loop_blocked_on_pipe(), f"the loop did not block writing to stderr (wchan {wchan!r}) after {n} SIGHUPs")
        print(f"loop blocked in {wchan} after {n} SIGHUPs")
        t0 = time.monotonic()
        st, body = wait_until("/healthz 503 while the loop is stalled",
                              lambda: (lambda r: r if r[0] == 503 else None)(http_get(base + "/healthz")), 30)
        print(f"/healthz {st} after {time.monotonic() - t0:.1f} s: {body.strip()}")
        check("has not drained the ring buffer" in body, f"/healthz 503 body does not say why: {body!r}")
        check(s.loop_blocked_on_pipe(), "the loop was not stalled when /healthz said so")
        st, text = http_get(base + "/metrics")
        check(st == 200 and "\nbarbwire_healthy 0\n" in text, f"/metrics during the stall: {st}, healthy gauge not 0")
        # Read the pipe: the loop goes on and is healthy again.
        s.pump()
        wait_until("/healthz 200 once the loop drains again", lambda: http_get(base + "/healthz")[0] == 200, 15)
        rc = s.stop()
        err = s.err.decode(errors="replace")
        check(rc == 0, f"sensor exit {rc}; stderr:\n{err[-3000:]}")
        check("barbwire: stopped after" in err, f"no final stats line; stderr:\n{err[-3000:]}")
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def refused(args, want):
    """`barbwire run ARGS` must print one line containing `want` and exit 2."""
    r = subprocess.run([BW, "run", *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=60, cwd="/")
    err = r.stderr.decode(errors="replace")
    lines = err.splitlines()
    check(r.returncode == 2, f"{args}: exit {r.returncode}, expected 2; stderr:\n{err}")
    check(len(lines) == 1 and lines[0].startswith("barbwire: ") and want in lines[0],
          f"{args}: expected one line containing {want!r}, got:\n{err}")
    check(r.stdout == b"", f"{args}: wrote to standard output: {r.stdout!r}")
    print(f"{' '.join(args)} -> {lines[0]}")


def case_bad_address():
    """A malformed, foreign or busy --metrics address: one line, exit 2, before anything starts."""
    h.require_root_and_sensor()
    refused(["--metrics", "127.0.0.1"], "--metrics 127.0.0.1: no ':PORT'")
    refused(["--metrics", "localhost:9477"], "not a numeric IPv4 address")
    refused(["--metrics", "127.0.0.1:0"], "the port must be a number from 1 to 65535")
    refused(["--metrics", "[::1:9477"], "no ']'")
    refused(["--metrics", "192.0.2.1:9477"], "not an address of this host")
    lst = h.TcpListener("127.0.0.1")
    try:
        refused(["--metrics", f"127.0.0.1:{lst.port}"], "in use")
    finally:
        lst.close()


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "metrics_test"))
