#!/usr/bin/env python3
"""End-to-end benign workloads (issue 5, "Quiet by default"): everyday programs,
run for real against servers this test starts on loopback, must give ZERO
alerts with the sensor's built-in rules and no baseline.

  benign_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as its own test in
suite 'e2e'. They need root and a build with the sensor; otherwise they exit
77 (skip), or 1 when CI=true. A missing program (wget, git, sshd, ...) skips
the same way. See README.md in this directory.

How a case runs (run_benign):
  - prepare(ws), before the sensor starts: files, keys, repositories;
  - `barbwire record` with the built-in rules (no --config);
  - the workload: servers (each the leader of a session of its own) and
    shells (h.Shell, a session each), all started after the sensor is ready,
    so every fork and exec under them is in the trace;
  - a positive control in the same sensor run: the issue-3 attack (python
    reads /etc/shadow, connects to 127.0.0.1) in a session of its own must
    alert, so the silence is not blindness;
  - then the sensor is stopped (it must report 0 kernel drops), and from the
    trace: the pids of everything the workload started (descendants of the
    session leaders, by fork and exec events), proof that the sensor saw the
    work (the programs' execs, which are never filtered; its sensitive opens,
    which are always shipped; and the in-kernel filter's counts of the
    connects and boring opens it looked at and kept: see saw_connect and
    saw_open), and the alerts that
    involve any of those pids (as sender, reader or in the ancestry): there
    must be none. Each such alert is printed (category, file, sender, reader,
    relation, score_breakdown) before the test fails.

The workloads are classes with prepare(ws) / run(c) / seen(c, events, pids),
so other suites (baseline learning) can run the same everyday work.
"""
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import socket
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
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SETTLE = 2.5             # seconds after the last action for a wrong alert to show up


def need(name, package):
    """The real program `name` from the system directories, else skip (fail under CI=true)."""
    p = shutil.which(name, path=SBIN_PATH)
    if p is None:
        h.skip_or_fail(f"{name} is not installed (this test runs the real {name}; apt-get install {package})")
    return os.path.realpath(p)


# --------------------------------------------------------------------------- servers

class Server:
    """A server process started after the sensor is ready, as the leader of a session
    of its own (so it and whatever it forks are part of the test's pids). Its stdout
    and stderr are collected; `ready_re` (a regex) must show up within `timeout`."""

    def __init__(self, argv, *, ready_re, what, cwd="/", env=None, timeout=20.0):
        self.what = what
        self.argv = argv
        self.lines = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._re = re.compile(ready_re)
        self.match = None
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True)
        self.pid = self.proc.pid
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise h.Failure(f"{what} did not become ready within {timeout:.0f} s "
                            f"(waiting for /{ready_re}/); command: {argv}\noutput:\n{self.output()}")

    def _pump(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._lock:
                self.lines.append(line)
            if not self._ready.is_set():
                m = self._re.search(line)
                if m:
                    self.match = m
                    self._ready.set()

    def output(self):
        with self._lock:
            return "\n".join(self.lines)

    def stop(self):
        """SIGTERM to the server's session (process group), then SIGKILL if needed."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._t.join(2)


def free_port():
    """An ephemeral loopback TCP port that was free a moment ago (for servers that
    cannot report the port they bound, such as sshd)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------- one benign run

class Ctx:
    """What a workload's run() uses: the workspace, servers and shells, all in
    sessions whose leaders are recorded in `roots`."""

    def __init__(self, ws, home):
        self.ws = ws
        self.home = home
        self.roots = []           # session leaders started by the workload
        self.servers = []
        self.facts = {}           # what run() wants seen() to know (ports, paths)

    def env(self, **extra):
        e = {"PATH": SBIN_PATH, "LANG": "C", "HOME": self.home, "WS": self.ws.dir, "USER": "root",
             "LOGNAME": "root"}
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def http_server(self, directory, cgi=False, what="python3 -m http.server"):
        """`python3 -m http.server` (the interpreter running this test) on 127.0.0.1, port
        0, serving `directory`; returns the Server with .port set."""
        argv = [h.PY, "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory]
        if cgi:
            argv.append("--cgi")
        argv.append("0")
        srv = Server(argv, ready_re=r"Serving HTTP on 127\.0\.0\.1 port (\d+)", what=what,
                     cwd=directory, env=self.env())
        srv.port = int(srv.match.group(1))
        self.servers.append(srv)
        self.roots.append(srv.pid)
        return srv

    def server(self, argv, ready_re, what, **kw):
        srv = Server(argv, ready_re=ready_re, what=what, **kw)
        self.servers.append(srv)
        self.roots.append(srv.pid)
        return srv

    def shell(self, script, env=None, timeout=180.0):
        """h.Shell(SCRIPT): timeout 60 bash -c SCRIPT, a new session; it must exit 0."""
        sh = h.Shell(script, env=env or self.env())
        self.roots.append(sh.leader)
        out, err = sh.wait(timeout)
        print(f"shell {sh.leader}: stdout {out.strip()[-600:]!r}")
        if err.strip():
            print(f"shell {sh.leader}: stderr {err.strip()[-1500:]!r}")
        return out, err

    def stop_servers(self):
        for s in reversed(self.servers):
            s.stop()


def summary(a):
    """The essentials of an alert on one line: what the team needs to tune the rules."""
    p, r, f, d = (a.get(k) or {} for k in ("process", "reader", "file", "destination"))
    return (f"category={f.get('category')!r} file={f.get('path')!r} same_inode_as={f.get('same_inode_as')!r} "
            f"pattern={f.get('pattern')!r} | sender={p.get('comm')}[{p.get('pid')}] exe={p.get('exe')!r} "
            f"argv={(p.get('argv') or [])[:6]} | reader={r.get('comm')}[{r.get('pid')}] exe={r.get('exe')!r} | "
            f"relation={a.get('relation')!r} | dest={d.get('addr')}:{d.get('port')} | score={a.get('score')} "
            f"{a.get('severity')} breakdown={a.get('score_breakdown')} | parent={(a.get('parent') or {}).get('comm')} "
            f"gparent={(a.get('grandparent') or {}).get('comm')} | "
            f"ancestry={[(x.get('comm'), x.get('pid')) for x in a.get('ancestry') or []]}")


def attack_control(sensor, lst):
    """The issue-3 attack in a session of its own: python reads /etc/shadow, then
    connects to the test's listener. Returns (actor, its alerts)."""
    actor = h.Actor(h.read_snippet(SHADOW) + h.tcp_connect_snippet("127.0.0.1", lst.port), new_session=True)
    rep = actor.run()
    check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the control's connection")
    return actor, sensor.wait_alert(actor.pid)


def shadow_category():
    """The built-in rules' category for /etc/shadow (read from default_rules.hpp)."""
    rules = h.builtin_rules_json(ROOT)
    cat = [x for x in rules["suspicious_files"] if SHADOW in x["patterns"]]
    check(len(cat) == 1, f"the built-in rules have no one category naming {SHADOW}: {rules['suspicious_files']}")
    return rules, cat[0]


def check_control(sensor, actor):
    got = sensor.alerts(actor.pid)
    check(len(got) == 1, f"positive control (python reads {SHADOW}, connects): expected one alert for pid "
                         f"{actor.pid}, got {len(got)}: {got}\nsensor stderr:\n{sensor.stderr()}")
    a = got[0]
    f = a.get("file") or {}
    want = shadow_category()[1]["category"]
    check(f.get("path") == SHADOW and f.get("category") == want,
          f"positive control: expected {SHADOW} in category {want!r}: {summary(a)}")
    print(f"positive control: {summary(a)}")


def kernel_drops(sensor):
    line = next((l for l in sensor.stderr_lines() if l.startswith("barbwire: stopped after")), None)
    check(line is not None, f"no 'barbwire: stopped after' stats line; stderr:\n{sensor.stderr()}")
    m = re.search(r"(\d+) kernel drops?", line)
    check(m is not None, f"no kernel drop count in {line!r}")
    return int(m.group(1)), line


def kernel_filter_counts(line):
    """From the exit line: (opens dropped as boring, opens seen, connects/sends dropped
    as cold, connects/sends seen), host-wide, by the in-kernel filter."""
    m = re.search(r"kernel filter: (\d+) of (\d+) opens dropped as boring, (\d+) of (\d+) connects/sends "
                  r"dropped as cold", line)
    check(m is not None, f"no kernel filter counts in {line!r} (is the filter off?)")
    return tuple(int(x) for x in m.groups())


def run_benign(wl):
    """Run workload `wl` under `barbwire record` with the built-in rules, a positive
    control after it; no alert may involve any process the workload started."""
    h.require_root_and_sensor()
    wl.require()
    state = {}

    def prepare(ws):
        home = ws.path("home")
        os.makedirs(home, mode=0o755)
        state["home"] = os.path.realpath(home)
        os.makedirs(ws.path("out"))
        wl.prepare(ws, state["home"])
        return None                                   # the built-in rules

    with h.scenario(BW, prepare, record=True, listener="tcp") as (ws, sensor, lst):
        c = Ctx(ws, state["home"])
        try:
            wl.run(c)
            actor, _ = attack_control(sensor, lst)
        finally:
            c.stop_servers()
        time.sleep(SETTLE)
        sensor.stop_cleanly()
        drops, stats = kernel_drops(sensor)
        print(stats)
        check(drops == 0, f"the sensor dropped {drops} events: the silence below would prove nothing ({stats})")
        boring, opens_seen, cold, nets_seen = kernel_filter_counts(stats)
        KERNEL.update(opens_boring=boring, opens_seen=opens_seen, nets_cold=cold, nets_seen=nets_seen)
        ev = h.read_trace(ws.trace)
        fam = Family(ev, c.roots)
        pids = fam.pids()
        mine = [e for e in ev if fam.had(e.get("pid"), e.get("ts", 0))]
        print(f"{len(ev)} trace events, {len(mine)} of them by the {len(pids)} processes the workload "
              f"started (roots {c.roots})")
        wl.seen(c, mine, pids)
        ours = fam.alerts(sensor.alerts())
        for a in ours[:3]:
            print(f"BENIGN ALERT JSON: {json.dumps(a, sort_keys=True)}")
        kinds = grouped(ours)
        for k in kinds:
            print(f"BENIGN ALERT: {k}")
        check_control(sensor, actor)
        check(ours == [], f"{len(ours)} alert(s) for benign {wl.name}, {len(kinds)} kind(s):\n" + "\n".join(kinds))


def grouped(alerts):
    """One line per kind of alert (category, pattern, sender and reader exe, relation,
    breakdown), with a count and the first instance's details."""
    kinds = {}
    for a in alerts:
        p, r, f = (a.get(k) or {} for k in ("process", "reader", "file"))
        key = (f.get("category"), f.get("pattern"), p.get("exe"), r.get("exe"), a.get("relation"),
               json.dumps(a.get("score_breakdown"), sort_keys=True))
        if key in kinds:
            kinds[key][0] += 1
        else:
            kinds[key] = [1, a]
    return [f"{n}x {summary(a)}" for n, a in kinds.values()]


# --------------------------------------------------------------------------- trace checks

class Family:
    """The processes started under some session leaders (`roots`), from a recorded
    trace: each pid with the span of kernel time it was one of them, from its fork
    (or exec by such a parent) to its exit, whatever session it moved to (sshd's
    sessions, setsid). Spans, not bare pids: on a busy host pids are reused within a
    test (pid_max can be 32768), and a later owner of a pid is not the workload.
    The roots must have been started after the sensor was ready."""

    def __init__(self, events, roots):
        self.spans = {r: [[0, None]] for r in roots}      # pid -> [[start_ns, end_ns or None], ...]

        def alive(pid):
            sp = self.spans.get(pid)
            return bool(sp) and sp[-1][1] is None

        def begin(pid, ts):
            if not alive(pid):
                self.spans.setdefault(pid, []).append([ts, None])

        for e in events:
            k, pid, ts = e.get("kind"), e.get("pid"), e.get("ts", 0)
            if k == "fork" and alive(pid) and e.get("child_pid") != pid:      # not a new thread
                begin(e.get("child_pid"), ts)
            elif k == "exec" and alive(e.get("ppid")):
                begin(pid, ts)
            elif k == "exit" and e.get("tid", pid) == pid and alive(pid):
                self.spans[pid][-1][1] = ts

    def pids(self):
        return set(self.spans)

    def had(self, pid, ts):
        """Whether `pid` was one of the family's processes at kernel time `ts`."""
        return any(s <= ts and (e is None or ts <= e) for s, e in self.spans.get(pid, ()))

    def alerts(self, alerts):
        """The alerts whose sender (at the alert's time), reader (at the open's time) or
        any process of `ancestry` (at the alert's time) was one of the family's."""
        def hit(a):
            t, ft = a.get("ts_ns", 0), (a.get("file") or {}).get("ts_ns", 0)
            if self.had((a.get("process") or {}).get("pid"), t) or self.had((a.get("reader") or {}).get("pid"), ft):
                return True
            return any(isinstance(x, dict) and self.had(x.get("pid"), t) for x in a.get("ancestry") or [])
        return [a for a in alerts if hit(a)]


def comms(ev, pids):
    """pid -> comm of the last exec of each pid in `pids`."""
    out = {}
    for e in ev:
        if e.get("kind") == "exec" and e.get("pid") in pids:
            out[e["pid"]] = e.get("comm")
    return out


def connects(ev, pids, port, comm=None):
    """Connect events from `pids` to 127.0.0.1/::1:`port` (by processes exec'd as `comm`)."""
    names = comms(ev, pids)
    return [e for e in ev if e.get("kind") == "connect" and e.get("pid") in pids and e.get("port") == port
            and e.get("addr") in ("127.0.0.1", "::1") and (comm is None or names.get(e["pid"]) == comm)]


def opens(ev, pids, path=None, pred=None, comm=None):
    names = comms(ev, pids)
    return [e for e in ev if e.get("kind") == "open" and e.get("pid") in pids
            and (path is None or e.get("path") == path) and (pred is None or pred(e.get("path") or ""))
            and (comm is None or names.get(e["pid"]) == comm)]


# Proof that the sensor saw the work (silence is not blindness), under the
# production configuration: the in-kernel filter is on (docs/kernel.md,
# "In-kernel filtering"). The kernel ships every exec, fork and exit, so the
# workload's programs are in the trace by their execs. It keeps to itself the
# opens of files no rule can match and the connects of process families with
# no possibly sensitive open, and counts both (host-wide) in the exit line:
# those counts show the kernel looked at the work. Sensitive opens are always
# shipped, so they must be in the trace themselves.
KERNEL = {}  # the exit line's kernel filter counts of the current run (run_benign)


def ran(ev, pids, comm, at_least=1):
    """The workload exec'd `comm` at least `at_least` times (exec events are never filtered)."""
    n = sum(1 for e in ev if e.get("kind") == "exec" and e.get("pid") in pids and e.get("comm") == comm)
    check(n >= at_least, f"trace: expected at least {at_least} exec(s) of {comm}, got {n}; comms of the "
                         f"workload: {sorted(set(comms(ev, pids).values()))}")
    return n


def saw_connect(ev, pids, port, comm, at_least=1):
    """`comm` ran, and the kernel looked at at least `at_least` connects (host-wide
    counter): each was shipped (then it is in the trace) or dropped as cold."""
    runs = ran(ev, pids, comm)
    got = connects(ev, pids, port, comm)
    check(KERNEL["nets_seen"] >= at_least,
          f"the kernel counted {KERNEL['nets_seen']} connects/sends in the whole run, expected at least "
          f"{at_least} by {comm}")
    print(f"trace: {runs} exec(s) of {comm}, {len(got)} of its connects to port {port} shipped (a cold "
          f"family's stay in the kernel: {KERNEL['nets_cold']} of {KERNEL['nets_seen']} host-wide)")
    return got


def saw_open(ev, pids, what, sensitive=False, **kw):
    """An open of `what` (a path, by `comm`). A sensitive file's opens are always
    shipped: it must be in the trace. Any other file's first open is shipped for
    its verdict (by whichever process made it) and later ones may stay in the
    kernel as boring: then the program must have run and the kernel must have
    dropped boring opens."""
    got = opens(ev, pids, **kw)
    if sensitive:
        check(got, f"trace: no open of {what} by the workload ({kw}): sensitive opens are never filtered")
    elif not got:
        if "comm" in kw:
            ran(ev, pids, kw["comm"])
        check(KERNEL["opens_boring"] > 0, f"no open of {what} in the trace and no boring open dropped: {KERNEL}")
        print(f"trace: the opens of {what} stayed in the kernel as boring ({KERNEL['opens_boring']} of "
              f"{KERNEL['opens_seen']} opens host-wide)")
        return got
    print(f"trace: {len(got)} open(s) of {what}: e.g. {got[0].get('path')} by pid {got[0].get('pid')}")
    return got


# --------------------------------------------------------------------------- workloads

class Workload:
    name = "?"

    def require(self):
        pass

    def prepare(self, ws, home):
        pass

    def run(self, c):
        raise NotImplementedError

    def seen(self, c, ev, pids):
        pass


INDEX_HTML = "<!DOCTYPE html>\n<html><body><p>barbwire e2e benign page</p></body></html>\n"
DATA_TXT = "barbwire e2e benign data\n" * 64


def make_www(ws):
    www = ws.path("www")
    os.makedirs(www, exist_ok=True)
    h.write_file(os.path.join(www, "index.html"), INDEX_HTML)
    h.write_file(os.path.join(www, "data.txt"), DATA_TXT)
    return www


class CurlWget(Workload):
    """curl and wget fetch from a local python3 -m http.server, by 127.0.0.1 and by
    localhost (a name lookup through /etc/hosts and nsswitch.conf)."""
    name = "curl_wget"

    def require(self):
        need("curl", "curl")
        need("wget", "wget")

    def prepare(self, ws, home):
        make_www(ws)

    def run(self, c):
        srv = c.http_server(c.ws.path("www"))
        c.facts["port"] = srv.port
        c.shell('set -e; cd "$WS/out"\n'
                'for i in 1 2 3; do\n'
                '  curl -sS -f -o curl-$i.html "http://127.0.0.1:$PORT/index.html"\n'
                '  curl -sS -f -o curl-lh-$i.txt "http://localhost:$PORT/data.txt"\n'
                '  wget -q -O wget-$i.html "http://127.0.0.1:$PORT/index.html"\n'
                '  wget -q -O wget-lh-$i.txt "http://localhost:$PORT/data.txt"\n'
                'done\n', env=c.env(PORT=srv.port))
        for i in (1, 2, 3):
            for tool in ("curl", "wget"):
                check(h.read_file(c.ws.path("out", f"{tool}-{i}.html")) == INDEX_HTML, f"{tool} fetch {i} differs")
                check(h.read_file(c.ws.path("out", f"{tool}-lh-{i}.txt")) == DATA_TXT, f"{tool} localhost {i}")

    def seen(self, c, ev, pids):
        saw_connect(ev, pids, c.facts["port"], "curl", 6)
        saw_connect(ev, pids, c.facts["port"], "wget", 6)


GIT_CGI = """#!/bin/sh
# git's smart HTTP server behind python3 -m http.server --cgi (which runs CGI as nobody)
export GIT_PROJECT_ROOT='{root}'
export GIT_HTTP_EXPORT_ALL=1
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'
exec git http-backend
"""


class GitCloneHttp(Workload):
    """git clone, ls-remote and pull of a local bare repository over smart HTTP:
    `git http-backend` as a CGI of python3 -m http.server --cgi."""
    name = "git_clone_http"

    def require(self):
        need("git", "git")

    def prepare(self, ws, home):
        src, repos = ws.path("src"), ws.path("repos")
        os.makedirs(src)
        os.makedirs(repos)
        h.write_file(os.path.join(src, "README"), "barbwire e2e benign repository\n")
        h.write_file(os.path.join(src, "main.c"), "int main(void) { return 0; }\n")
        env = {"PATH": SBIN_PATH, "HOME": home, "LANG": "C", "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
               "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.invalid"}
        for args in (["init", "-q", "-b", "main", src], ["-C", src, "add", "."],
                     ["-C", src, "commit", "-q", "-m", "first"],
                     ["clone", "-q", "--bare", src, os.path.join(repos, "repo.git")]):
            subprocess.run(["git", *args], env=env, check=True, capture_output=True)
        www = ws.path("www")
        os.makedirs(os.path.join(www, "cgi-bin"))
        h.write_file(os.path.join(www, "cgi-bin", "git"), GIT_CGI.format(root=os.path.realpath(repos)), mode=0o755)
        # the CGI runs as nobody: it must be able to read the repository
        for d, dirs, files in os.walk(ws.dir):
            os.chmod(d, 0o755)
            for f in files:
                p = os.path.join(d, f)
                os.chmod(p, os.stat(p).st_mode | 0o444)

    def run(self, c):
        srv = c.http_server(c.ws.path("www"), cgi=True, what="python3 -m http.server --cgi (git http-backend)")
        c.facts["port"] = srv.port
        url = f"http://127.0.0.1:{srv.port}/cgi-bin/git/repo.git"
        out, _ = c.shell('set -e; cd "$WS/out"\n'
                         'git ls-remote "$URL"\n'
                         'git clone -q "$URL" clone1\n'
                         'git -C clone1 log --oneline\n'
                         'git -C clone1 pull -q\n'
                         'git clone -q "$URL" clone2\n',
                         env=c.env(URL=url, GIT_TERMINAL_PROMPT=0))
        check("refs/heads/main" in out, f"git ls-remote did not list main: {out!r}")
        for d in ("clone1", "clone2"):
            check(os.path.exists(c.ws.path("out", d, "main.c")), f"{d} has no main.c")

    def seen(self, c, ev, pids):
        saw_connect(ev, pids, c.facts["port"], "git-remote-http", 3)


SSHD_CONFIG = """# barbwire e2e: a private sshd on loopback, keys and files in the workspace
Port {port}
ListenAddress 127.0.0.1
HostKey {hostkey}
PidFile none
AuthorizedKeysFile {authorized_keys}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
UseDNS no
Subsystem sftp internal-sftp
LogLevel VERBOSE
"""


class SshScp(Workload):
    """ssh -o BatchMode=yes and scp (up and down) with an ed25519 user key, to a private
    /usr/sbin/sshd on a loopback port this test picked, with a host key, an
    authorized_keys and a known_hosts in the workspace. ssh takes ~ from the password
    database, not $HOME, so the key in the temp HOME is given with -i. One remote
    command runs curl (a descendant of the sshd that read /etc/shadow for the
    account checks) against a local http.server."""
    name = "ssh_scp"

    def require(self):
        self.sshd = need("sshd", "openssh-server")
        need("curl", "curl")
        need("ssh", "openssh-client")
        need("scp", "openssh-client")
        need("ssh-keygen", "openssh-client")

    def prepare(self, ws, home):
        make_www(ws)
        sshdir = os.path.join(home, ".ssh")
        os.makedirs(sshdir, mode=0o700)
        key = os.path.join(sshdir, "id_ed25519")
        hostkey = ws.path("ssh_host_ed25519_key")
        for path, comment in ((key, "barbwire-e2e-user"), (hostkey, "barbwire-e2e-host")):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                           check=True, capture_output=True)
        # sshd reads the user's keys from here, a realistic ~/.ssh/authorized_keys
        self.authorized = os.path.join(sshdir, "authorized_keys")
        shutil.copy(key + ".pub", self.authorized)
        os.chmod(self.authorized, 0o600)
        self.key, self.hostkey = key, hostkey
        h.write_file(ws.path("out", "up.txt"), DATA_TXT)
        # ssh creates ~/.ssh of the password database's home (root's) when it is missing
        root_ssh = os.path.join(os.path.expanduser("~root"), ".ssh")
        if not os.path.exists(root_ssh):
            ws.defer(lambda: os.path.isdir(root_ssh) and not os.listdir(root_ssh) and os.rmdir(root_ssh))

    def run(self, c):
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)     # sshd's privilege-separation dir
        web = c.http_server(c.ws.path("www"))                   # what the remote command fetches
        c.facts["web_port"] = web.port
        srv = None
        for _ in range(3):
            port = free_port()
            cfg = h.write_file(c.ws.path("sshd_config"), SSHD_CONFIG.format(
                port=port, hostkey=self.hostkey, authorized_keys=self.authorized), mode=0o600)
            try:
                srv = c.server([self.sshd, "-D", "-e", "-f", cfg], r"Server listening on 127\.0\.0\.1 port (\d+)",
                               "sshd", env=c.env())
                break
            except h.Failure as e:
                if "Address already in use" not in str(e):
                    raise
        check(srv is not None, "sshd could not bind a free port three times")
        c.facts["port"] = port
        opts = (f'-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no '
                f'-o UserKnownHostsFile={c.ws.path("known_hosts")} -o IdentitiesOnly=yes -i "$HOME/.ssh/id_ed25519"')
        out, _ = c.shell('set -e; cd "$WS/out"\n'
                         f'ssh {opts} -p "$PORT" root@127.0.0.1 "echo remote-ok; id -un"\n'
                         f'ssh {opts} -p "$PORT" root@127.0.0.1 '
                         '"curl -sS -f http://127.0.0.1:$WEB/index.html"\n'
                         f'ssh {opts} -p "$PORT" root@127.0.0.1 true\n'
                         f'scp -q {opts} -P "$PORT" up.txt root@127.0.0.1:"$WS/out/remote.txt"\n'
                         f'scp -q {opts} -P "$PORT" root@127.0.0.1:"$WS/out/remote.txt" down.txt\n'
                         'cmp up.txt down.txt\n', env=c.env(PORT=port, WEB=web.port))
        check("remote-ok\nroot" in out, f"ssh did not run the remote command: {out!r}\nsshd:\n{srv.output()}")
        check("benign page" in out, f"the remote curl fetched nothing: {out!r}\nsshd:\n{srv.output()}")

    def seen(self, c, ev, pids):
        port = c.facts["port"]
        saw_connect(ev, pids, port, "ssh", 5)
        saw_open(ev, pids, "the user key", sensitive=True, path=self.key, comm="ssh")
        saw_connect(ev, pids, c.facts["web_port"], "curl", 1)       # run by sshd for the remote command
        names = comms(ev, pids)
        shadow = [e for e in opens(ev, pids, path=SHADOW)]
        print(f"trace: {len(shadow)} open(s) of {SHADOW} under sshd, by "
              f"{sorted({names.get(e['pid'], '?') for e in shadow})}")


class PipDownloadFails(Workload):
    """python3 -m pip download of a package a local, empty simple index does not have:
    pip must fail ('from versions: none'), having asked the index."""
    name = "pip_download"

    def require(self):
        py = need("python3", "python3")
        r = subprocess.run([py, "-m", "pip", "--version"], capture_output=True, env={"PATH": SBIN_PATH})
        if r.returncode != 0:
            h.skip_or_fail(f"{py} -m pip does not work (apt-get install python3-pip): {r.stderr.decode()[-300:]}")

    def prepare(self, ws, home):
        simple = ws.path("index", "simple")
        os.makedirs(simple)
        h.write_file(os.path.join(simple, "index.html"),
                     "<!DOCTYPE html>\n<html><head><title>Simple index</title></head><body></body></html>\n")

    def run(self, c):
        srv = c.http_server(c.ws.path("index"))
        c.facts["port"] = srv.port
        out, err = c.shell('cd "$WS/out"\n'
                           'python3 -m pip download --isolated --disable-pip-version-check --no-input '
                           '--no-cache-dir --index-url "http://127.0.0.1:$PORT/simple/" -d "$WS/out/dl" '
                           'barbwire-e2e-absent-package\n'
                           'rc=$?; echo "pip_rc $rc"; [ "$rc" -ne 0 ]\n', env=c.env(PORT=srv.port))
        check("from versions: none" in err, f"pip did not fail for want of versions: {err[-800:]!r}")
        check("/simple/barbwire-e2e-absent-package/" in srv.output(),
              f"the index never saw pip's request:\n{srv.output()}")

    def seen(self, c, ev, pids):
        names = comms(ev, pids)
        pythons = sorted({n for n in names.values() if n.startswith("python")})
        check(pythons, f"trace: pip's python never ran: {sorted(set(names.values()))}")
        saw_connect(ev, pids, c.facts["port"], pythons[0], 1)


class NssLoop(Workload):
    """getent passwd/group/hosts, id and whoami in a loop, with a curl between them:
    libc's name service reads (/etc/passwd, /etc/group, /etc/nsswitch.conf, /etc/hosts)
    right next to connects."""
    name = "nss_loop"

    def require(self):
        need("curl", "curl")
        need("getent", "libc-bin")

    def prepare(self, ws, home):
        make_www(ws)

    def run(self, c):
        srv = c.http_server(c.ws.path("www"))
        c.facts["port"] = srv.port
        out, _ = c.shell('set -e\n'
                         'for i in 1 2 3 4 5; do\n'
                         '  getent passwd >/dev/null; getent passwd root >/dev/null; getent group >/dev/null\n'
                         '  id; id root >/dev/null; whoami\n'
                         '  getent hosts localhost >/dev/null\n'
                         '  curl -sS -f -o /dev/null "http://127.0.0.1:$PORT/index.html"\n'
                         '  curl -sS -f -o /dev/null "http://localhost:$PORT/data.txt"\n'
                         'done\n', env=c.env(PORT=srv.port))
        check(out.count("root\n") >= 5, f"whoami did not say root five times: {out!r}")

    def seen(self, c, ev, pids):
        saw_connect(ev, pids, c.facts["port"], "curl", 10)
        saw_open(ev, pids, "/etc/passwd", path="/etc/passwd", comm="getent")
        saw_open(ev, pids, "/etc/passwd", path="/etc/passwd", comm="id")
        saw_open(ev, pids, "/etc/passwd", path="/etc/passwd", comm="whoami")


APT_PACKAGES = """Package: barbwire-e2e-dummy
Version: 1.0
Architecture: all
Maintainer: barbwire e2e <e2e@example.invalid>
Installed-Size: 1
Filename: pool/main/b/barbwire-e2e-dummy/barbwire-e2e-dummy_1.0_all.deb
Size: 1000
SHA256: {sha}
Section: misc
Priority: optional
Description: an index entry for the offline apt-get update test
 It has no .deb behind it; nothing installs it.

"""


class AptUpdate(Workload):
    """apt-get update against a hand-made repository served by python3 -m http.server
    ([trusted=yes], unsigned), with apt's state, lists and cache in the workspace and
    apt.conf.d left out (the host's hooks, e.g. docker-clean's rm of /var/cache/apt,
    must not run). Then apt-cache reads the new list back."""
    name = "apt_update"

    def require(self):
        need("apt-get", "apt")

    def prepare(self, ws, home):
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                              check=True).stdout.strip()
        repo = ws.path("mirror", "debian")
        bdir = os.path.join(repo, "dists", "e2e", "main", f"binary-{arch}")
        os.makedirs(bdir)
        pk = APT_PACKAGES.format(sha=hashlib.sha256(b"no such deb").hexdigest()).encode()
        files = {f"main/binary-{arch}/Packages": pk, f"main/binary-{arch}/Packages.gz": gzip.compress(pk)}
        for rel, data in files.items():
            with open(os.path.join(repo, "dists", "e2e", rel), "wb") as f:
                f.write(data)
        sums = "".join(f" {hashlib.sha256(d).hexdigest()} {len(d)} {rel}\n" for rel, d in files.items())
        date = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime())
        h.write_file(os.path.join(repo, "dists", "e2e", "Release"),
                     f"Origin: barbwire-e2e\nLabel: barbwire-e2e\nSuite: e2e\nCodename: e2e\nDate: {date}\n"
                     f"Architectures: {arch}\nComponents: main\nDescription: barbwire e2e offline mirror\n"
                     f"SHA256:\n{sums}")
        apt = ws.path("apt")
        for d in ("lists/partial", "cache/archives/partial", "parts", "preferences.d", "trusted.gpg.d"):
            os.makedirs(os.path.join(apt, d))
        self.arch = arch

    def run(self, c):
        srv = c.http_server(c.ws.path("mirror"))
        c.facts["port"] = srv.port
        apt = c.ws.path("apt")
        h.write_file(os.path.join(apt, "sources.list"),
                     f"deb [trusted=yes] http://127.0.0.1:{srv.port}/debian e2e main\n")
        # APT_CONFIG is read before apt.conf.d, so it can point Dir::Etc::parts elsewhere
        h.write_file(os.path.join(apt, "apt.conf"), f'Dir::Etc::parts "{apt}/parts";\n')
        o = (f"-o Dir::Etc::sourcelist={apt}/sources.list -o Dir::Etc::sourceparts=- "
             f"-o Dir::State::Lists={apt}/lists -o Dir::Cache={apt}/cache -o APT::Get::List-Cleanup=0 "
             f"-o Dir::Etc::preferencesparts={apt}/preferences.d -o Dir::Etc::trustedparts={apt}/trusted.gpg.d")
        out, _ = c.shell('set -e\n'
                         f'apt-get -q {o} update\n'
                         f'apt-cache {o} policy barbwire-e2e-dummy\n',
                         env=c.env(PORT=srv.port, APT_CONFIG=os.path.join(apt, "apt.conf"),
                                   DEBIAN_FRONTEND="noninteractive"))
        check(f"127.0.0.1:{srv.port}/debian e2e/main" in out and "Candidate: 1.0" in out,
              f"apt-cache policy does not show the local package: {out!r}")

    def seen(self, c, ev, pids):
        saw_connect(ev, pids, c.facts["port"], "http", 1)


HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello from the benign build"); return 0; }\n'
HELLO_MESON = "project('hello', 'c')\nexecutable('hello', 'hello.c')\n"


class BuildWhileServing(Workload):
    """meson setup + ninja of a tiny C project in the workspace while python3 -m
    http.server serves files and a curl loop in the same shell fetches from it."""
    name = "build_http"

    def require(self):
        need("meson", "meson")
        need("ninja", "ninja-build")
        need("cc", "build-essential")
        need("curl", "curl")

    def prepare(self, ws, home):
        www = make_www(ws)
        with open(os.path.join(www, "blob.bin"), "wb") as f:
            f.write(os.urandom(256 * 1024))
        proj = ws.path("proj")
        os.makedirs(proj)
        h.write_file(os.path.join(proj, "hello.c"), HELLO_C)
        h.write_file(os.path.join(proj, "meson.build"), HELLO_MESON)

    def run(self, c):
        srv = c.http_server(c.ws.path("www"))
        c.facts["port"] = srv.port
        out, _ = c.shell('set -e; cd "$WS/out"\n'
                         '( for i in $(seq 1 15); do\n'
                         '    curl -sS -f -o "fetch-$i.bin" "http://127.0.0.1:$PORT/blob.bin"; sleep 0.3\n'
                         '  done ) &\n'
                         'fetch=$!\n'
                         'meson setup build "$WS/proj"\n'
                         'ninja -C build\n'
                         './build/hello\n'
                         'wait "$fetch"\n', env=c.env(PORT=srv.port))
        check("hello from the benign build" in out, f"the build's program did not run: {out[-500:]!r}")
        blob = h.read_file(c.ws.path("www", "blob.bin"), "rb")
        check(h.read_file(c.ws.path("out", "fetch-15.bin"), "rb") == blob, "the last fetch differs")

    def seen(self, c, ev, pids):
        saw_connect(ev, pids, c.facts["port"], "curl", 15)
        names = comms(ev, pids)
        check({"meson", "ninja", "cc1"} <= set(names.values()),
              f"trace: the build's meson, ninja and cc1 are not all there: {sorted(set(names.values()))}")
        saw_open(ev, pids, "the source file", path=c.ws.path("proj", "hello.c"), comm="cc1")


def sends(ev, pids, port=None, comm=None):
    """Send events from `pids` (to `port`; by processes exec'd as `comm`)."""
    names = comms(ev, pids)
    return [e for e in ev if e.get("kind") == "send" and e.get("pid") in pids
            and (port is None or e.get("port") == port) and (comm is None or names.get(e["pid"]) == comm)]


def saw_sends(ev, pids, comm, at_least, port=None):
    """`comm` ran, and the kernel looked at at least `at_least` connects/sends in the
    run (host-wide counter): each was shipped (then it is in the trace) or dropped
    as cold, or folded with the one before it on its socket."""
    runs = ran(ev, pids, comm)
    got = sends(ev, pids, port, comm)
    check(KERNEL["nets_seen"] >= at_least,
          f"the kernel counted {KERNEL['nets_seen']} connects/sends in the whole run, expected at least "
          f"{at_least} by {comm}")
    print(f"trace: {runs} exec(s) of {comm}, {len(got)} of its sends{'' if port is None else f' to port {port}'} "
          f"shipped (a cold family's stay in the kernel: {KERNEL['nets_cold']} of {KERNEL['nets_seen']} "
          f"connects/sends host-wide)")
    return got


# --- issue 12: a shell that read a key, a client run past the window --------

BENIGN_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
              "YmFyYndpcmUtZTJlLWJlbmlnbi1zaGVsbC1rZXktbm90LWEtcmVhbC1vbmUtLS0tLS0tLQ==\n"
              "-----END OPENSSH PRIVATE KEY-----\n")


class ShellKeyLateClient(Workload):
    """A shell that read the user's key itself (`read -r l < ~/.ssh/id_rsa`, so the
    shell process holds it for as long as it lives) and through cat, then, 7 s later
    (past the built-in 5 s window), runs curl twice against a local server. The
    shell keeps the key; its relatives past the window do not: each curl is a
    fork the shell exec'd (a new image), so no alert. The shell sends nothing.
    The script ends with `echo`, so bash runs the last curl as a child too."""
    name = "shell_key_late_client"
    SCRIPT = ('set -e\n'
              'read -r first < "$HOME/.ssh/id_rsa"\n'
              'cat "$HOME/.ssh/id_rsa" >/dev/null\n'
              'echo "read: $first"\n'
              'sleep 7\n'
              'curl -sS -f -o /dev/null "http://127.0.0.1:$PORT/"\n'
              'curl -sS -f "http://127.0.0.1:$PORT/index.html"\n'
              'echo done\n')

    def require(self):
        need("curl", "curl")
        window = h.builtin_rules_json(ROOT)["window_duration"]
        check(window < 7, f"the built-in window is {window} s: a client 7 s after the read is inside it")

    def prepare(self, ws, home):
        make_www(ws)
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        self.key = h.write_file(os.path.join(home, ".ssh", "id_rsa"), BENIGN_KEY, mode=0o600)

    def run(self, c):
        srv = c.http_server(c.ws.path("www"))
        c.facts["port"] = srv.port
        out, _ = c.shell(self.SCRIPT, env=c.env(PORT=srv.port))
        check("read: -----BEGIN OPENSSH PRIVATE KEY-----" in out, f"the shell did not read the key: {out!r}")
        check("benign page" in out, f"the late curl fetched nothing: {out!r}")
        check(srv.output().count('"GET /') >= 2, f"the server did not see both requests:\n{srv.output()}")

    def seen(self, c, ev, pids):
        # the shell's own read: by the pid that exec'd bash (its last exec may be curl's, see below)
        bash_pids = {e["pid"] for e in ev if e.get("kind") == "exec" and e.get("pid") in pids and e.get("comm") == "bash"}
        reads = [e for e in opens(ev, pids, path=self.key) if e["pid"] in bash_pids]
        check(reads, f"trace: no open of the key by the shell (sensitive opens are never filtered)")
        print(f"trace: the shell (pid {reads[0]['pid']}) read the key")
        saw_open(ev, pids, "the key, by cat", sensitive=True, path=self.key, comm="cat")
        saw_connect(ev, pids, c.facts["port"], "curl", 2)
        for e in connects(ev, pids, c.facts["port"], "curl"):   # a shipped connect came after the window
            check(e["ts"] - reads[0]["ts"] > 5_000_000_000, f"curl's connect was within the window of the read: {e}")


class ShellKeyExecClient(ShellKeyLateClient):
    """The same, but the late curl is the script's last command, which `bash -c`
    runs by exec'ing it in place: curl IS the process that read the key (same pid).
    Issue 12 expects no alert here (a shell that read a key, a client past the
    window): an exec replaces the memory that held the key (held.hpp)."""
    name = "shell_key_exec_client"
    SCRIPT = ('read -r l < "$HOME/.ssh/id_rsa"\n'
              'cat "$HOME/.ssh/id_rsa" >/dev/null\n'
              'echo "read: $l"\n'
              'sleep 7\n'
              'curl -sS -f "http://127.0.0.1:$PORT/index.html"\n')

    def run(self, c):
        srv = c.http_server(c.ws.path("www"))
        c.facts["port"] = srv.port
        out, _ = c.shell(self.SCRIPT, env=c.env(PORT=srv.port))
        check("read: -----BEGIN OPENSSH PRIVATE KEY-----" in out, f"the shell did not read the key: {out!r}")
        check("benign page" in out, f"the late curl fetched nothing: {out!r}")

    def seen(self, c, ev, pids):
        bash_pids = {e["pid"] for e in ev if e.get("kind") == "exec" and e.get("pid") in pids and e.get("comm") == "bash"}
        reads = [e for e in opens(ev, pids, path=self.key) if e["pid"] in bash_pids]
        check(reads, f"trace: no open of the key by the shell (sensitive opens are never filtered)")
        curl = [e for e in ev if e.get("kind") == "exec" and e.get("comm") == "curl" and e.get("pid") in bash_pids]
        check(curl, "trace: bash did not exec curl in its own place (the point of this case)")
        saw_connect(ev, pids, c.facts["port"], "curl", 1)


# --- issue 12: ordinary name resolution --------------------------------------

# A DNS responder for the lookups below: answers every A query with 127.0.0.9
# and anything else with an empty NOERROR, on 127.0.0.1:53 (UDP). It prints one
# line per answer, so the test can count the lookups it served.
DNS_RESPONDER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("dns responder on 127.0.0.1:53", flush=True)
n = 0
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 12:
        continue
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    i, labels = 12, []
    while i < len(q) and q[i] != 0:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    end = i + 5
    if end > len(q):
        continue
    qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
    question = q[12:end]
    answers = b""
    if qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([127, 0, 0, 9])
    reply = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100), 1, 1 if answers else 0, 0, 0) + question + answers
    s.sendto(reply, peer)
    n += 1
    print(f"answered {n} {'.'.join(labels)} type {qtype} for port {peer[1]}", flush=True)
"""

# A `dig`-like query: one A question over UDP straight to the resolver, the answer checked.
DIG_LIKE = r"""
import os, random, socket, struct, sys
name = sys.argv[1]
qid = random.randrange(65536)
q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00" + struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(q, ("127.0.0.1", 53))
r = s.recv(4096)
assert struct.unpack("!H", r[:2])[0] == qid and struct.unpack("!H", r[6:8])[0] == 1, r
print(name, socket.inet_ntoa(r[-4:]))
"""


class DnsLookups(Workload):
    """Ordinary name resolution by processes that read no secret: `getent hosts`,
    python's getaddrinfo, and a dig-like UDP query, each 5 times, against a DNS
    responder this test runs on 127.0.0.1:53. The libc lookups run in a private
    mount namespace (unshare -m) whose /etc/resolv.conf is a bind mount of one
    naming 127.0.0.1, so not one query leaves loopback."""
    name = "dns_lookups"
    ROUNDS = 5

    def require(self):
        need("getent", "libc-bin")
        need("unshare", "util-linux")
        need("python3", "python3")
        try:
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            probe.bind(("127.0.0.1", 53))
            probe.close()
        except OSError as e:
            h.skip_or_fail(f"127.0.0.1:53/udp is taken ({e}): the test runs its own DNS responder there")

    def prepare(self, ws, home):
        h.write_file(ws.path("dns_responder.py"), DNS_RESPONDER)
        h.write_file(ws.path("dig_like.py"), DIG_LIKE)
        h.write_file(ws.path("resolv.conf"), "nameserver 127.0.0.1\noptions attempts:1 timeout:2\n")

    def run(self, c):
        srv = c.server([h.PY, "-u", "-I", c.ws.path("dns_responder.py")], r"dns responder on 127\.0\.0\.1:53",
                       "the DNS responder", env=c.env())
        c.facts["responder"] = srv
        out, _ = c.shell('set -e\n'
                         'unshare --mount --propagation private sh -c \'\n'
                         '  set -e\n'
                         '  mount --bind "$WS/resolv.conf" /etc/resolv.conf\n'
                         '  for i in $(seq 1 ' + str(self.ROUNDS) + '); do\n'
                         '    getent hosts "getent-$i.barbwire-e2e.test"\n'
                         '    python3 -c "import socket, sys; n = sys.argv[1]; '
                         'print(n, socket.getaddrinfo(n, 80, socket.AF_INET)[0][4][0])" "py-$i.barbwire-e2e.test"\n'
                         '    python3 "$WS/dig_like.py" "dig-$i.barbwire-e2e.test"\n'
                         '  done\n'
                         '\'\n', env=c.env())
        for kind in ("getent", "py", "dig"):
            for i in range(1, self.ROUNDS + 1):
                check(re.search(rf"(127\.0\.0\.9\s+{kind}-{i}\.barbwire-e2e\.test|{kind}-{i}\.barbwire-e2e\.test "
                                rf"127\.0\.0\.9)", out), f"lookup {kind}-{i} did not resolve through the "
                                                          f"responder: {out!r}")
        served = srv.output()
        for kind in ("getent", "py", "dig"):
            check(f" {kind}-1.barbwire-e2e.test type 1 " in served, f"the responder never answered {kind}:\n{served}")
        c.facts["answered"] = served.count("answered ")

    def seen(self, c, ev, pids):
        n = c.facts["answered"]
        print(f"the responder answered {n} queries")
        check(n >= 3 * self.ROUNDS, f"the responder answered {n} queries, expected at least {3 * self.ROUNDS}")
        ran(ev, pids, "getent", self.ROUNDS)
        # every query, and every answer the responder sent, is a send on a UDP socket
        saw_sends(ev, pids, "python3", 2 * n)


# --- issue 12: a long-lived process that reads no secret and sends a lot ----

LONG_SENDER = r"""
import os, socket, sys, time
tcp_port, udp_port, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
with open("/etc/os-release", "rb") as f:
    f.read()                                    # a file it reads, no secret
t = socket.create_connection(("127.0.0.1", tcp_port))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.connect(("127.0.0.1", udp_port))
chunk = b"barbwire-benign-stream " * 40
tcp = udp = 0
t0 = time.monotonic()
while time.monotonic() - t0 < seconds:
    for _ in range(10):
        t.sendall(chunk)
        tcp += len(chunk)
        u.sendto(b"barbwire-benign-datagram", ("127.0.0.1", udp_port))
        u2.send(b"barbwire-benign-connected")
        udp += 2
    time.sleep(0.05)
t.close()
print(f"tcp_bytes {tcp} datagrams {udp} seconds {time.monotonic() - t0:.1f}", flush=True)
"""


class LongLivedSender(Workload):
    """One process that reads no secret and, for 8 s (longer than the window),
    sends a lot: a TCP stream to a listener, and datagrams, unconnected and on a
    connected UDP socket. The listeners (in the test) must have received it all."""
    name = "long_lived_sender"
    SECONDS = 8

    def prepare(self, ws, home):
        h.write_file(ws.path("long_sender.py"), LONG_SENDER)

    def run(self, c):
        tcp, udp = h.DataListener(), h.UdpReceiver()

        class Sinks:
            def stop(self):
                tcp.close()
                udp.close()
        c.servers.append(Sinks())
        out, _ = c.shell(f'python3 -I "$WS/long_sender.py" {tcp.port} {udp.port} {self.SECONDS}\n',
                         env=c.env())
        m = re.search(r"tcp_bytes (\d+) datagrams (\d+)", out)
        check(m is not None, f"the sender did not report: {out!r}")
        tcp_bytes, datagrams = int(m.group(1)), int(m.group(2))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (sum(len(b) for b in tcp.streams.values()) < tcp_bytes
                                               or len(udp.datagrams) < datagrams * 0.9):
            time.sleep(0.05)
        got_tcp = sum(len(b) for b in tcp.streams.values())
        check(got_tcp == tcp_bytes, f"the TCP listener received {got_tcp} of {tcp_bytes} bytes")
        # loopback UDP may drop under load; most of it must have arrived
        check(len(udp.datagrams) >= datagrams * 0.9, f"the UDP receiver got {len(udp.datagrams)} of {datagrams}")
        c.facts.update(tcp_port=tcp.port, udp_port=udp.port, sends=datagrams + tcp_bytes // 920)
        print(f"the sender sent {tcp_bytes} TCP bytes and {datagrams} datagrams in {self.SECONDS} s")

    def seen(self, c, ev, pids):
        saw_sends(ev, pids, "python3", c.facts["sends"])
        saw_connect(ev, pids, c.facts["tcp_port"], "python3", 1)


# --------------------------------------------------------------------------- cases

def case_curl_wget():
    """curl and wget to a local HTTP server: no alert."""
    run_benign(CurlWget())


def case_git_clone_http():
    """git clone / ls-remote / pull over smart HTTP (git http-backend): no alert."""
    run_benign(GitCloneHttp())


def case_ssh_scp():
    """ssh -o BatchMode=yes and scp to a private sshd with test keys: no alert."""
    run_benign(SshScp())


def case_pip_download():
    """python3 -m pip download failing against a local empty index: no alert."""
    run_benign(PipDownloadFails())


def case_nss_loop():
    """getent passwd + id + whoami in a loop with curl connects between: no alert."""
    run_benign(NssLoop())


def case_apt_update():
    """apt-get update against an offline local http mirror: no alert."""
    run_benign(AptUpdate())


def case_build_http():
    """meson + ninja of a small project while python3 -m http.server serves and curl fetches: no alert."""
    run_benign(BuildWhileServing())


def case_shell_key_late_client():
    """A shell that read a key runs curl 7 s later (past the window): no alert."""
    run_benign(ShellKeyLateClient())


def case_shell_key_exec_client():
    """bash -c '...read the key...; sleep 7; curl URL' (bash execs curl in place): no alert expected."""
    run_benign(ShellKeyExecClient())


def case_dns_lookups():
    """getent hosts, getaddrinfo and a dig-like query against a local resolver: no alert."""
    run_benign(DnsLookups())


def case_long_lived_sender():
    """A process that read no secret sends over TCP and UDP for 8 s: no alert."""
    run_benign(LongLivedSender())


def case_attack_shadow_builtin():
    """The issue-3 attack with the built-in rules: python reads /etc/shadow and connects
    to 127.0.0.1: exactly one alert, category credential access, the category's base
    score from the built-in rules first in the breakdown, the score their sum and at
    least the built-in alert threshold."""
    h.require_root_and_sensor()
    rules, cat = shadow_category()
    with h.scenario(BW, listener="tcp") as (ws, sensor, lst):
        actor, _ = attack_control(sensor, lst)
        time.sleep(1.0)
        sensor.stop_cleanly()
        a = h.exactly_one(sensor, actor)
        print(f"attack: {summary(a)}")
        bd = a.get("score_breakdown") or []
        check(bd and bd[0] == {"reason": cat["category"], "points": cat["base_score"]},
              f"breakdown should start with {cat['category']!r} {cat['base_score']}: {bd}")
        check(a.get("score") == sum(x["points"] for x in bd), f"score != sum of breakdown: {summary(a)}")
        check(a.get("score") >= rules["alert_threshold"], f"score under the threshold: {summary(a)}")
        h.check_alert(a, actor, path=SHADOW, category=cat["category"], addr="127.0.0.1", port=lst.port,
                      family="ipv4", score=a.get("score"), severity=a.get("severity"))
        th = rules["severity_thresholds"]
        want = "HIGH" if a["score"] >= th["high"] else "MEDIUM" if a["score"] >= th["medium"] else "LOW"
        check(a.get("severity") == want, f"severity {a.get('severity')} != {want}: {summary(a)}")
        check(a.get("relation") == "self", f"relation {a.get('relation')!r} != 'self': {summary(a)}")


# --------------------------------------------------------------------------- driver

if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "benign_test"))
