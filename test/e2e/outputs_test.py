#!/usr/bin/env python3
"""End-to-end tests of the alert outputs (issue 14, docs/outputs.md): syslog
to a real rsyslogd, the systemd journal through a real systemd-journald,
webhooks to loopback HTTP servers that are fast, slow and dead, and the
JSON-lines file's rotation and SIGUSR1 reopen. Real kernel, built-in rules,
loopback only; the attack is the shadow read and TCP connect of
e2e_test.py's shadow_tcp.

  outputs_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as `e2e outputs_CASE`
in suite 'e2e'. They need root and a build with the sensor; otherwise they
exit 77 (skip), or 1 when CI=true. See README.md in this directory.
"""
import http.server
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

BW = ""
ROOT = ""

SHADOW = "/etc/shadow"

# <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG (RFC 5424, no structured data)
RFC5424 = re.compile(r"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) (.*)$")
RFC3339_NS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def attack(sensor, lst):
    """python reads /etc/shadow and connects to `lst`, in a session of its own;
    returns the actor once its alert is on the sensor's stdout."""
    actor = h.Actor(h.read_snippet(SHADOW) + h.tcp_connect_snippet("127.0.0.1", lst.port), new_session=True)
    rep = actor.run()
    check(lst.accepted_from(int(rep["local_port"])),
          f"the listener never saw the actor's connection from port {rep['local_port']}")
    got = sensor.wait_alert(actor.pid)
    check(got, f"no alert for actor pid {actor.pid} within {h.ALERT_TIMEOUT} s; stderr:\n{sensor.stderr()}")
    return actor


def one_alert(sensor, actor):
    got = [a for a in sensor.alerts(actor.pid) if h.in_session(a, actor.timeout_pid)]
    check(len(got) == 1, f"expected one alert of actor {actor.pid} on stdout, got {len(got)}: {got}")
    return got[0]


def stats_line(sensor):
    line = next((l for l in sensor.stderr_lines() if l.startswith("barbwire: stopped after")), None)
    check(line is not None, f"no final stats line; stderr:\n{sensor.stderr()}")
    return line


def output_counts(line, name):
    """(sent, dropped, failed) of output `name` in the stats line's '; outputs: ...' part."""
    m = re.search(re.escape(name) + r" (\d+) sent, (\d+) dropped, (\d+) failed", line)
    check(m is not None, f"the stats line has no counts for output {name}: {line}")
    return tuple(int(x) for x in m.groups())


def free_port(kind=socket.SOCK_STREAM):
    """An ephemeral port the kernel chose on 127.0.0.1, free when returned."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# --------------------------------------------------------------------------- rsyslog

class Rsyslogd:
    """The real rsyslogd, in the foreground, with a private configuration:
    imtcp and imudp on 127.0.0.1 (ports chosen by the kernel), each input
    writing what it receives to a file of its own with rsyslog's RFC 5424
    template, and a work directory of its own."""

    def __init__(self, ws):
        self.bin = shutil.which("rsyslogd", path="/usr/sbin:/sbin:/usr/bin:/bin")
        if self.bin is None:
            h.skip_or_fail("rsyslogd is not installed (apt-get install rsyslog)")
        self.dir = ws.path("rsyslog")
        os.makedirs(os.path.join(self.dir, "work"))
        self.tcp_port = free_port(socket.SOCK_STREAM)
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.tcp_log = os.path.join(self.dir, "tcp.log")
        self.udp_log = os.path.join(self.dir, "udp.log")
        self.conf = h.write_file(os.path.join(self.dir, "rsyslog.conf"), f"""
global(workDirectory="{self.dir}/work" maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{self.tcp_port}" ruleset="from_tcp")
input(type="imudp" address="127.0.0.1" port="{self.udp_port}" ruleset="from_udp")
ruleset(name="from_tcp") {{ action(type="omfile" file="{self.tcp_log}" template="RSYSLOG_SyslogProtocol23Format") }}
ruleset(name="from_udp") {{ action(type="omfile" file="{self.udp_log}" template="RSYSLOG_SyslogProtocol23Format") }}
""")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        check_conf = subprocess.run([self.bin, "-N1", "-f", self.conf], capture_output=True, text=True, timeout=30)
        check(check_conf.returncode == 0, f"rsyslogd rejects the test's configuration: {check_conf.stderr}")
        self.start()

    def start(self):
        self.proc = subprocess.Popen([self.bin, "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

        def tcp_up():
            try:
                socket.create_connection(("127.0.0.1", self.tcp_port), timeout=0.5).close()
                return True
            except OSError:
                return False
        if not wait_until(tcp_up, 10.0, 0.1):
            self.stop()
            raise h.Failure(f"rsyslogd did not listen on 127.0.0.1:{self.tcp_port} within 10 s: "
                            f"{self.proc.stdout.read().decode(errors='replace') if self.proc.stdout else ''}")
        time.sleep(0.3)  # imudp starts with imtcp; give it the same moment

    def lines(self, path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return [l.rstrip("\n") for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def parse_rfc5424(line):
    m = RFC5424.match(line)
    check(m is not None, f"not an RFC 5424 line: {line[:300]!r}")
    pri, ts, host, app, procid, msgid, sd, msg = m.groups()
    return {"pri": int(pri), "ts": ts, "host": host, "app": app, "procid": procid, "msgid": msgid, "sd": sd,
            "msg": msg}


def case_rsyslog_tcp_udp():
    """A real rsyslogd on loopback receives the alert over TCP (octet-counted)
    and over UDP as RFC 5424, the JSON intact and equal to stdout's; after
    rsyslogd restarts, the next alert arrives over a new TCP connection."""
    h.require_root_and_sensor()
    ws, sensor, lst, rs = h.Workspace(), None, None, None
    try:
        rs = Rsyslogd(ws)
        lst = h.TcpListener("127.0.0.1")
        sensor = h.Sensor(BW, extra=["--syslog", f"tcp:127.0.0.1:{rs.tcp_port}",
                                     "--syslog", f"udp:127.0.0.1:{rs.udp_port}",
                                     "--syslog-facility", "authpriv"]).start().wait_ready()
        actor = attack(sensor, lst)

        def arrived(path):
            return any(f'"pid":{actor.pid},' in l for l in rs.lines(path))
        check(wait_until(lambda: arrived(rs.tcp_log) and arrived(rs.udp_log), 10.0),
              f"rsyslogd did not write the alert of pid {actor.pid} from both inputs within 10 s; "
              f"tcp: {rs.lines(rs.tcp_log)!r}\nudp: {rs.lines(rs.udp_log)!r}\nsensor stderr:\n{sensor.stderr()}")
        # rsyslogd restarts: the sensor's TCP connection is closed under it, and
        # the next alert goes over a new one.
        rs.stop()
        rs.start()
        actor2 = attack(sensor, lst)
        check(wait_until(lambda: any(f'"pid":{actor2.pid},' in l for l in rs.lines(rs.tcp_log)), 15.0),
              f"after rsyslogd restarted, the alert of pid {actor2.pid} did not arrive over TCP within 15 s; "
              f"sensor stderr:\n{sensor.stderr()}")
        sensor.stop_cleanly()
        want = one_alert(sensor, actor)
        for path, transport in ((rs.tcp_log, "tcp"), (rs.udp_log, "udp")):
            mine = []
            for line in rs.lines(path):
                r = parse_rfc5424(line)
                try:
                    doc = json.loads(r["msg"])
                except ValueError as e:
                    raise h.Failure(f"{transport}: the message is not JSON ({e}): {r['msg'][:300]!r}")
                if doc.get("type") != "summary" and (doc.get("process") or {}).get("pid") == actor.pid:
                    mine.append((r, doc))
            check(len(mine) == 1, f"{transport}: expected one alert of pid {actor.pid}, got {len(mine)}")
            r, doc = mine[0]
            check(doc == want, f"{transport}: the JSON differs from stdout's:\n{doc}\n!=\n{want}")
            # authpriv (10) * 8 + crit (2): the alert is HIGH
            check(want["severity"] == "HIGH" and r["pri"] == 82, f"{transport}: PRI {r['pri']} != 82 for HIGH")
            check(r["app"] == "barbwire", f"{transport}: APP-NAME {r['app']!r}")
            check(r["procid"] == str(sensor.proc.pid), f"{transport}: PROCID {r['procid']!r} != {sensor.proc.pid}")
            check(r["msgid"] == "alert", f"{transport}: MSGID {r['msgid']!r}")
            check(r["host"] == socket.gethostname(), f"{transport}: HOSTNAME {r['host']!r}")
            print(f"{transport}: {r['ts']} <{r['pri']}> {len(r['msg'])} bytes of JSON intact")
        line = stats_line(sensor)
        for name in (f"syslog:tcp:127.0.0.1:{rs.tcp_port}", f"syslog:udp:127.0.0.1:{rs.udp_port}"):
            sent, dropped, failed = output_counts(line, name)
            check(sent >= 1 and dropped == 0, f"{name}: {sent} sent, {dropped} dropped, {failed} failed")
            if "tcp" in name:
                check(failed == 0, f"{name}: {failed} failed: the restart should cost no message over TCP")
    finally:
        h.teardown(sensor, lst, rs, ws)


# --------------------------------------------------------------------------- webhooks

class Webhook:
    """A real HTTP server on 127.0.0.1 (http.server), keeping each POST's path
    and body. `hold`: seconds it waits before answering (a slow receiver)."""

    def __init__(self, hold=0.0):
        self.posts = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                if hold:
                    time.sleep(hold)
                with outer.lock:
                    outer.posts.append((self.path, self.headers.get("Content-Type"), body))
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path):
        with self.lock:
            return [b for p, _, b in self.posts if p == path]

    def content_types(self):
        with self.lock:
            return {t for _, t, _ in self.posts}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def case_webhook_sinks():
    """Three loopback webhooks, fast, slow (answers after the timeout) and dead
    (port closed), with tiny queues: the fast one gets every alert in both
    formats, stdout and --output get every alert, the sensor alerts promptly
    throughout, and the slow and dead ones' losses are counted in the stats
    line and said in NOTICE lines."""
    h.require_root_and_sensor()
    ws, sensor, lst, fast, slow = h.Workspace(), None, None, None, None
    attacks = 8
    try:
        fast = Webhook()
        slow = Webhook(hold=3.0)
        dead_port = free_port()
        dead = f"http://127.0.0.1:{dead_port}/"
        out = ws.path("alerts.jsonl")
        lst = h.TcpListener("127.0.0.1")
        sensor = h.Sensor(BW, extra=[
            "--output", out,
            "--webhook", "barbwire=" + fast.url("/barbwire"),
            "--webhook", "falco=" + fast.url("/falco"),
            "--webhook", slow.url("/"),
            "--webhook", dead,
            "--webhook-timeout", "1s", "--webhook-retries", "3", "--output-queue", "2"]).start().wait_ready()
        actors = []
        for _ in range(attacks):
            t0 = time.monotonic()
            actors.append(attack(sensor, lst))  # its alert on stdout within ALERT_TIMEOUT
            print(f"attack {len(actors)}: read, connect and alert on stdout in {time.monotonic() - t0:.2f} s")
        pids = {a.pid for a in actors}
        check(wait_until(lambda: len(fast.bodies("/barbwire")) >= attacks and len(fast.bodies("/falco")) >= attacks,
                         10.0),
              f"the fast webhook got {len(fast.bodies('/barbwire'))} barbwire and {len(fast.bodies('/falco'))} "
              f"falco posts of {attacks}; stderr:\n{sensor.stderr()}")
        # the loss is said while the sensor runs (checked once a second), not only at exit
        check(sensor.wait_stderr(f"barbwire: NOTICE: output webhook:{dead} lost ", timeout=5.0) is not None,
              f"no NOTICE for the dead webhook while the sensor runs; stderr:\n{sensor.stderr()}")
        check(sensor.running(), "the sensor stopped")
        sensor.stop_cleanly()
        stdout = {a["process"]["pid"]: a for a in sensor.alerts() if a.get("type") != "summary"
                  and a["process"]["pid"] in pids}
        check(len(stdout) == attacks, f"stdout has alerts of {len(stdout)} actors of {attacks}")
        for a in actors:
            one_alert(sensor, a)

        # --output: every alert, the same JSON
        with open(out) as f:
            filed = [json.loads(l) for l in f if l.strip()]
        mine = [x for x in filed if x.get("type") != "summary" and x["process"]["pid"] in pids]
        check(sorted(json.dumps(x, sort_keys=True) for x in mine) ==
              sorted(json.dumps(x, sort_keys=True) for x in stdout.values()),
              f"--output holds {len(mine)} of the {attacks} alerts, or different ones")

        # the fast webhook, barbwire format: the alert JSON itself
        posted = [json.loads(b) for b in fast.bodies("/barbwire")]
        mine = [x for x in posted if x.get("type") != "summary" and x["process"]["pid"] in pids]
        check(sorted(json.dumps(x, sort_keys=True) for x in mine) ==
              sorted(json.dumps(x, sort_keys=True) for x in stdout.values()),
              f"the fast webhook (barbwire) got {len(mine)} of the {attacks} alerts, or different ones")
        check(fast.content_types() == {"application/json"}, f"Content-Type {fast.content_types()}")

        # the fast webhook, falco format: what falcosidekick's FalcoPayload takes and Check()s
        falco = [json.loads(b) for b in fast.bodies("/falco")]
        by_pid = {}
        for p in falco:
            for k in ("output", "priority", "rule", "time", "output_fields", "source", "tags", "hostname", "uuid"):
                check(k in p, f"falco payload without {k!r}: {p}")
            check(p["priority"] in ("Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational",
                                    "Debug"), f"not a Falco priority: {p['priority']!r}")
            check(p["rule"], "empty rule")
            check(RFC3339_NS.match(p["time"]), f"time is not RFC 3339 with ns: {p['time']!r}")
            check(isinstance(p["output_fields"], dict) and p["output_fields"], "empty output_fields")
            check(UUID4.match(p["uuid"]), f"uuid {p['uuid']!r}")
            check(p["hostname"] == socket.gethostname(), f"hostname {p['hostname']!r}")
            by_pid.setdefault(p["output_fields"].get("proc.pid"), []).append(p)
        for pid, a in stdout.items():
            got = by_pid.get(pid, [])
            check(len(got) == 1, f"the fast webhook (falco) got {len(got)} payloads for pid {pid}")
            f = got[0]
            check(f["priority"] == {"HIGH": "Critical", "MEDIUM": "Warning", "LOW": "Notice"}[a["severity"]],
                  f"priority {f['priority']} for {a['severity']}")
            of = f["output_fields"]
            check(of.get("fd.name") == SHADOW and of.get("fd.sport") == lst.port and of.get("fd.sip") == "127.0.0.1"
                  and of.get("proc.exepath") == a["process"]["exe"] and of.get("barbwire.score") == a["score"],
                  f"output_fields {of} do not match the alert {a}")
        check(len({p["uuid"] for p in falco}) == len(falco), "falco payloads share a uuid")

        # the slow and dead ones: losses counted, noticed; the fast ones lost nothing
        line = stats_line(sensor)
        total = output_counts(line, "webhook:" + fast.url("/barbwire"))[0]
        check(total >= attacks, f"the fast webhook's sent count {total} < {attacks}: {line}")
        check(output_counts(line, "webhook:" + fast.url("/barbwire"))[1:] == (0, 0), f"fast lost messages: {line}")
        check(output_counts(line, "webhook:" + fast.url("/falco"))[1:] == (0, 0), f"fast (falco) lost: {line}")
        check(output_counts(line, "file:" + out) == (total, 0, 0), f"the --output file's counts: {line}")
        s_sent, s_dropped, s_failed = output_counts(line, "webhook:" + slow.url("/"))
        d_sent, d_dropped, d_failed = output_counts(line, "webhook:" + dead)
        check(d_sent == 0 and d_dropped + d_failed == total,
              f"dead webhook: {d_sent} sent, {d_dropped} dropped, {d_failed} failed of {total}: {line}")
        check(d_dropped > 0 and d_failed > 0, f"dead webhook: expected both drops (queue of 2) and failures: {line}")
        check(s_sent + s_dropped + s_failed == total and s_dropped > 0 and s_failed > 0,
              f"slow webhook: {s_sent} sent, {s_dropped} dropped, {s_failed} failed of {total}: {line}")
        notices = [l for l in sensor.stderr_lines() if l.startswith("barbwire: NOTICE: output ")]
        for name in ("webhook:" + dead, "webhook:" + slow.url("/")):
            check(any(l.startswith(f"barbwire: NOTICE: output {name} lost ") for l in notices),
                  f"no NOTICE for {name}; stderr:\n{sensor.stderr()}")
        check(not any(fast.url() in l or out in l for l in notices), f"a NOTICE for an output that lost nothing: {notices}")
        print(line.split("; outputs: ")[1])
        for n in notices:
            print(n)
    finally:
        h.teardown(sensor, lst, fast, slow, ws)


# --------------------------------------------------------------------------- rotation

def case_rotation_reopen():
    """--output with a small --output-max-size, many alerts, and a logrotate-style
    rename + SIGUSR1 in the middle: every alert is in exactly one file, once,
    every file is mode 0600."""
    h.require_root_and_sensor()
    ws, sensor, lst = h.Workspace(), None, None
    attacks = 12
    try:
        out = ws.path("alerts.jsonl")
        moved = ws.path("alerts.jsonl.logrotated")
        lst = h.TcpListener("127.0.0.1")
        sensor = h.Sensor(BW, extra=["--output", out, "--output-max-size", "8K", "--output-keep", "100"])
        sensor.start().wait_ready()
        actors = []
        for i in range(attacks):
            if i == attacks // 2:
                os.rename(out, moved)  # logrotate without copytruncate: rename, then SIGUSR1
                sensor.send(signal.SIGUSR1)
                check(sensor.wait_stderr("barbwire: SIGUSR1: reopening " + out) is not None,
                      f"no 'SIGUSR1: reopening' line; stderr:\n{sensor.stderr()}")
                check(wait_until(lambda: os.path.exists(out), 5.0), f"{out} was not created again after SIGUSR1")
            actors.append(attack(sensor, lst))
        sensor.stop_cleanly()
        pids = {a.pid for a in actors}
        want = sorted(json.dumps(a, sort_keys=True) for a in sensor.alerts()
                      if a.get("type") != "summary" and a["process"]["pid"] in pids)
        check(len(want) == attacks, f"stdout has {len(want)} alerts of {attacks}")
        files = sorted(f for f in os.listdir(ws.dir) if f.startswith("alerts.jsonl"))
        rotated = [f for f in files if re.fullmatch(r"alerts\.jsonl\.\d+", f)]
        check(len(rotated) >= 2, f"expected the file to rotate at 8K more than once; files: {files}")
        got, every = [], 0
        for f in files:
            p = ws.path(f)
            mode = stat.S_IMODE(os.stat(p).st_mode)
            check(mode == 0o600, f"{f} has mode {oct(mode)}, expected 0o600")
            size = os.path.getsize(p)
            with open(p) as fh:
                text = fh.read()
            check(text == "" or text.endswith("\n"), f"{f} ends in the middle of a line")
            lines = [l for l in text.splitlines() if l.strip()]
            every += len(lines)
            if f != "alerts.jsonl.logrotated" and len(lines) > 1:
                check(size <= 8192, f"{f} is {size} bytes, more than --output-max-size 8K with {len(lines)} lines")
            for l in lines:
                x = json.loads(l)
                if x.get("type") != "summary" and x["process"]["pid"] in pids:
                    got.append(json.dumps(x, sort_keys=True))
        check(sorted(got) == want, f"the files hold {len(got)} of the {attacks} alerts (or some twice): {files}")
        line = stats_line(sensor)
        sent, dropped, failed = output_counts(line, "file:" + out)
        check(sent == every and dropped == 0 and failed == 0,
              f"file output: {sent} sent, {dropped} dropped, {failed} failed; {every} lines in the files: {line}")
        print(f"{every} lines in {len(files)} files: {', '.join(files)}")
    finally:
        h.teardown(sensor, lst, ws)


# --------------------------------------------------------------------------- the journal

JOURNAL_SETUP = r"""
set -e
mkdir -p /run/systemd/journal /run/log/journal
mount --bind "$BW_JRUN" /run/systemd/journal
mount --bind "$BW_JLOG" /run/log/journal
if [ -d /var/log/journal ]; then mount --bind "$BW_JVAR" /var/log/journal; fi
# its own stdio: the sensor's pipes must close when the sensor exits
/lib/systemd/systemd-journald </dev/null >"$BW_JLOGFILE" 2>&1 &
echo $! > "$BW_JPID"
i=0
while [ ! -S /run/systemd/journal/socket ]; do
  i=$((i+1)); [ $i -lt 100 ] || { echo "systemd-journald made no socket" >&2; exit 1; }
  sleep 0.1
done
exec "$@"
"""


def case_journal():
    """--journal to a real systemd-journald. PID 1 is not systemd here, so the
    test starts journald itself in a private mount namespace, with its socket
    directory and its storage bound to the workspace, and runs the sensor in
    the same namespace; journalctl --directory reads the entries afterwards."""
    h.require_root_and_sensor()
    journald = "/lib/systemd/systemd-journald"
    for tool in (journald, shutil.which("journalctl"), shutil.which("unshare"), shutil.which("mount")):
        if tool is None or not os.path.exists(tool):
            h.skip_or_fail(f"the journal case needs systemd-journald, journalctl, unshare and mount ({tool} missing)")
    ws, sensor, lst, jpid = h.Workspace(), None, None, None
    try:
        env = {k: ws.path(k.lower()) for k in ("BW_JRUN", "BW_JLOG", "BW_JVAR")}
        for d in env.values():
            os.makedirs(d)
        env["BW_JPID"] = ws.path("journald.pid")
        env["BW_JLOGFILE"] = ws.path("journald.out")
        os.environ.update(env)  # the sensor's environment: the setup script reads them
        lst = h.TcpListener("127.0.0.1")
        sensor = h.Sensor(BW, extra=["--journal"])
        sensor.args = [shutil.which("unshare"), "-m", "--propagation", "private", "sh", "-c", JOURNAL_SETUP, "sh",
                       *sensor.args]
        t0 = time.monotonic()
        sensor.start().wait_ready()
        print(f"journald and the sensor ready in {time.monotonic() - t0:.1f} s")
        jpid = int(h.read_file(env["BW_JPID"]).strip())
        actor = attack(sensor, lst)
        want = one_alert(sensor, actor)

        def entries():
            p = subprocess.run(["journalctl", "--directory", env["BW_JLOG"], "-o", "json", "--no-pager",
                                "SYSLOG_IDENTIFIER=barbwire"], capture_output=True, text=True, timeout=30)
            out = []
            for l in p.stdout.splitlines():
                try:
                    out.append(json.loads(l))
                except ValueError:
                    pass
            return [e for e in out if e.get("BARBWIRE_PID") == str(actor.pid)]
        t0 = time.monotonic()
        check(wait_until(lambda: len(entries()) >= 1, 10.0),
              f"no journal entry for pid {actor.pid} within 10 s; sensor stderr:\n{sensor.stderr()}")
        print(f"the entry was in the journal {time.monotonic() - t0:.1f} s after the alert on stdout")
        t0 = time.monotonic()
        sensor.stop_cleanly()
        print(f"the sensor stopped in {time.monotonic() - t0:.1f} s")
        got = entries()
        check(len(got) == 1, f"expected one journal entry for pid {actor.pid}, got {len(got)}")
        e = got[0]
        doc = json.loads(e["BARBWIRE_JSON"])
        check(doc == want, f"BARBWIRE_JSON differs from stdout's alert:\n{doc}\n!=\n{want}")
        expect = {
            "PRIORITY": {"HIGH": "2", "MEDIUM": "4", "LOW": "5"}[want["severity"]],
            "BARBWIRE_TYPE": "alert",
            "BARBWIRE_SEVERITY": want["severity"],
            "BARBWIRE_SCORE": str(want["score"]),
            "BARBWIRE_CATEGORY": want["file"]["category"],
            "BARBWIRE_FILE": SHADOW,
            "BARBWIRE_DEST": f"127.0.0.1:{lst.port}",
            "BARBWIRE_DEST_PROTOCOL": "tcp",
            "BARBWIRE_COMM": want["process"]["comm"],
            "BARBWIRE_EXE": want["process"]["exe"],
        }
        for k, v in expect.items():
            check(e.get(k) == v, f"journal field {k} is {e.get(k)!r}, expected {v!r}")
        check("/etc/shadow" in e.get("MESSAGE", "") and "HIGH" in e.get("MESSAGE", ""),
              f"MESSAGE {e.get('MESSAGE')!r}")
        check(not any(k.startswith("BARBWIRE_CONTAINER") for k in e), "a host process has container fields")
        sent, dropped, failed = output_counts(stats_line(sensor), "journal")
        check(sent >= 1 and dropped == 0 and failed == 0, f"journal: {sent} sent, {dropped} dropped, {failed} failed")
        print("journal entry: " + e["MESSAGE"])
    finally:
        if sensor is not None:
            sensor.kill()
        if jpid is not None:
            try:
                os.kill(jpid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if lst is not None:
            lst.close()
        ws.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "outputs_test"))
