"""Shared helpers for the end-to-end tests of the live sensor (test/e2e).

These tests run the real `barbwire run` / `barbwire record` against the real
kernel, as root, and make real processes read real files and talk to
listeners this harness opens on 127.0.0.1 or ::1. Nothing ever leaves the
loopback interface.

Process lineage is made deterministic so the expected score is known:

    test process --fork/exec--> timeout --fork/exec--> bash -c '"$0" "$@"; exit $?'
                                                          --fork/exec--> python (the actor)

The actor's parent is `bash` (seed config: suspicious parent, +2) and its
grandparent is `timeout` (no rule), both exec'd after the sensor is ready,
so the sensor learned them from exec events. The actor is the real
interpreter (sys.executable) run with `-I -S`, which opens nothing under
/etc/passwd, /tmp/, /proc/ ... at start-up (checked with strace), so the only
sensitive open it makes is the one the test asks for.
"""
import contextlib
import hashlib
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

SKIP = 77
READY_PREFIX = "barbwire: ready"
READY_TIMEOUT = 30.0
ALERT_TIMEOUT = 5.0

PY = sys.executable
PY_REAL = os.path.realpath(sys.executable)


class Failure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def skip_or_fail(reason):
    """Meson's skip code 77; under CI=true a skipped privileged test is a failure."""
    if os.environ.get("CI") == "true":
        print(f"FAIL (CI=true, a skipped e2e test counts as a failure): {reason}")
        sys.exit(1)
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def sensor_built_or_skip():
    have = os.environ.get("BW_HAVE_SENSOR")
    if have == "0":
        skip_or_fail("barbwire was built without the live eBPF sensor (meson: have_sensor is false; "
                     "install clang, bpftool, libbpf-dev, libelf-dev and reconfigure)")


def require_root_and_sensor():
    sensor_built_or_skip()
    if os.geteuid() != 0:
        skip_or_fail("the live sensor needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN); run the e2e suite as root")


def read_file(p, mode="r"):
    with open(p, mode) as f:
        return f.read()


def write_file(p, text, mode=0o644):
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, mode)
    return p


# --------------------------------------------------------------------------- sensor

class Sensor:
    """A running `barbwire run|record` with --format json, its stdout parsed as alerts."""

    def __init__(self, bw, config=None, command="run", record_file=None, extra=()):
        """`config` None: no --config, the sensor's built-in rules."""
        self.bw = bw
        self.config = config
        args = [bw, command]
        if command == "record":
            args.append(record_file)
        if config is not None:
            args += ["--config", config]
        args += ["--format", "json", *extra]
        self.args = args
        self.proc = None
        self._lock = threading.Lock()
        self._out = []          # stdout lines (str, no newline)
        self._err = []          # stderr lines
        self._ready = threading.Event()
        self._threads = []
        self.rc = None

    # -- lifecycle
    def start(self):
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd="/", start_new_session=True)
        for stream, sink, is_err in ((self.proc.stdout, self._out, False), (self.proc.stderr, self._err, True)):
            t = threading.Thread(target=self._pump, args=(stream, sink, is_err), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _pump(self, stream, sink, is_err):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._lock:
                sink.append(line)
            if is_err and line.startswith(READY_PREFIX):
                self._ready.set()
        stream.close()

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready.wait(0.1):
                return self
            if self.proc.poll() is not None:
                self._join()
                err = self.stderr()
                if "not in this build" in err:
                    skip_or_fail("barbwire run says the live sensor is not in this build: " + err.strip())
                raise Failure(f"sensor exited with {self.proc.returncode} before '{READY_PREFIX}'; "
                              f"command: {' '.join(self.args)}\nstderr:\n{err}")
        raise Failure(f"no '{READY_PREFIX}' line on stderr within {timeout:.0f} s; "
                      f"command: {' '.join(self.args)}\nstderr so far:\n{self.stderr()}")

    def send(self, sig):
        check(self.proc.poll() is None,
              f"sensor is not running (exit {self.proc.returncode}) when sending {sig!r}; stderr:\n{self.stderr()}")
        self.proc.send_signal(sig)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        """SIGINT, wait for the clean exit; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._join()
                raise Failure(f"sensor did not exit within {timeout:.0f} s of SIGINT; stderr:\n{self.stderr()}")
        self._join()
        self.rc = self.proc.returncode
        return self.rc

    def stop_cleanly(self, sig=signal.SIGINT):
        """Stop with `sig`; the exit must be 0, after exactly one ready line."""
        if self.proc is not None and self.proc.poll() is None and sig != signal.SIGINT:
            self.proc.send_signal(sig)
        rc = self.stop()
        check(rc == 0, f"sensor exit code after {signal.Signals(sig).name} was {rc}, expected 0; "
                       f"stderr:\n{self.stderr()}")
        ready = [l for l in self.stderr_lines() if l.startswith(READY_PREFIX)]
        check(len(ready) == 1, f"expected exactly one '{READY_PREFIX}' line, got {len(ready)}:\n{self.stderr()}")
        return rc

    def kill(self):
        """Last resort for finally blocks: never leave a sensor behind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            self._join(timeout=2)

    def _join(self, timeout=10):
        for t in self._threads:
            t.join(timeout)

    # -- output
    def stderr(self):
        with self._lock:
            return "\n".join(self._err)

    def stderr_lines(self):
        with self._lock:
            return list(self._err)

    def stdout_lines(self):
        with self._lock:
            return list(self._out)

    def alerts(self, pid=None):
        """Every stdout line must be one alert JSON object (--format json)."""
        out = []
        for line in self.stdout_lines():
            if not line.strip():
                continue
            try:
                a = json.loads(line)
            except ValueError as e:
                raise Failure(f"stdout line is not JSON ({e}): {line!r}")
            check(isinstance(a, dict), f"stdout line is not a JSON object: {line!r}")
            out.append(a)
        if pid is not None:  # the alerts of that process (rate-limit summary lines are not alerts)
            out = [a for a in out if a.get("type") != "summary" and a.get("process", {}).get("pid") == pid]
        return out

    def wait_alert(self, pid, timeout=ALERT_TIMEOUT):
        """Poll stdout up to `timeout` for an alert of `pid`; returns the alerts seen so far."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.alerts(pid)
            if got or time.monotonic() >= deadline:
                return got
            time.sleep(0.05)

    def wait_for(self, pred, timeout=ALERT_TIMEOUT):
        """Poll stdout up to `timeout` for alerts satisfying `pred`; returns those seen so far."""
        deadline = time.monotonic() + timeout
        while True:
            got = [a for a in self.alerts() if pred(a)]
            if got or time.monotonic() >= deadline:
                return got
            time.sleep(0.05)

    def alerts_in_session(self, leader):
        """Alerts whose sender is `leader` or descends from it within its session
        (`ancestry` runs from the sender up to the session leader)."""
        return [a for a in self.alerts() if in_session(a, leader)]

    def wait_stderr(self, prefix, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.stderr_lines():
                if line.startswith(prefix):
                    return line
            time.sleep(0.05)
        return None


# --------------------------------------------------------------------------- listeners

class _LoopbackPeer:
    """A loopback socket served by a background thread that records the
    (addr, port) of every peer it hears from."""

    def __init__(self, host, port, kind, what):
        check(host in ("127.0.0.1", "::1"), f"{what} are loopback only, got {host}")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.sock = socket.socket(fam, kind)
        if kind == socket.SOCK_STREAM:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        if kind == socket.SOCK_STREAM:
            self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.peers = []          # (addr, port) of peers heard from
        self._stop = False
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self):
        while not self._stop:
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if not r:
                continue
            try:
                peer = self._take()
            except OSError:
                continue
            self.peers.append((peer[0], peer[1]))

    def _take(self):
        raise NotImplementedError

    def heard_from(self, port, timeout=3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p == port for _, p in self.peers):
                return True
            time.sleep(0.02)
        return False

    def close(self):
        self._stop = True
        self._t.join(2)
        self.sock.close()


class TcpListener(_LoopbackPeer):
    """A TCP listener on a loopback address with an ephemeral port; accepts and records peers."""

    def __init__(self, host="127.0.0.1"):
        super().__init__(host, 0, socket.SOCK_STREAM, "listeners")

    def _take(self):
        c, peer = self.sock.accept()
        c.close()
        return peer

    accepted_from = _LoopbackPeer.heard_from


class UdpReceiver(_LoopbackPeer):
    """A UDP socket bound on loopback (port 0 = ephemeral); records each datagram's
    source and payload."""

    def __init__(self, host="127.0.0.1", port=0):
        self.datagrams = []      # (peer port, payload bytes)
        super().__init__(host, port, socket.SOCK_DGRAM, "receivers")

    def _take(self):
        data, peer = self.sock.recvfrom(65536)
        self.datagrams.append((peer[1], data))
        return peer

    received_from = _LoopbackPeer.heard_from

    def payloads(self):
        return [d for _, d in list(self.datagrams)]

    def received(self, data, timeout=3.0):
        """True once the datagrams received, in order, contain `data` (bytes)."""
        return _wait_for_bytes(lambda: b"".join(self.payloads()), data, timeout)


def _wait_for_bytes(get, data, timeout):
    deadline = time.monotonic() + timeout
    while True:
        if data in get():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


class DataListener(_LoopbackPeer):
    """A TCP listener on loopback (port 0 = ephemeral, or the one given) that keeps
    every byte each accepted connection sends until it closes (a thread per
    connection), by the client's port."""

    def __init__(self, host="127.0.0.1", port=0):
        self.streams = {}        # client port -> bytearray
        self._conns = []
        super().__init__(host, port, socket.SOCK_STREAM, "listeners")

    def _take(self):
        c, peer = self.sock.accept()
        buf = self.streams.setdefault(peer[1], bytearray())
        t = threading.Thread(target=self._read, args=(c, buf), daemon=True)
        self._conns.append((c, t))
        t.start()
        return peer

    @staticmethod
    def _read(c, buf):
        c.settimeout(30.0)
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf.extend(chunk)
        except OSError:
            pass
        finally:
            c.close()

    accepted_from = _LoopbackPeer.heard_from

    def received(self, data, timeout=3.0):
        """True once one connection has sent bytes containing `data` (bytes)."""
        return _wait_for_bytes(lambda: b"\0".join(bytes(b) for b in list(self.streams.values())), data, timeout)

    def close(self):
        super().close()
        for c, t in self._conns:
            t.join(1)


class IcmpReceiver:
    """A raw ICMP socket of this process that keeps the payload of every echo request
    it sees from 127.0.0.1 (the test's own loopback traffic; receiving sends nothing)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.echoes = []         # payloads after the ICMP header
        self._stop = False
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self):
        while not self._stop:
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if not r:
                continue
            try:
                pkt, peer = self.sock.recvfrom(65536)
            except OSError:
                continue
            ihl = (pkt[0] & 0x0F) * 4
            if peer[0] == "127.0.0.1" and len(pkt) >= ihl + 8 and pkt[ihl] == 8:     # echo request
                self.echoes.append(pkt[ihl + 8:])

    def received(self, data, timeout=3.0):
        return _wait_for_bytes(lambda: b"\0".join(list(self.echoes)), data, timeout)

    def close(self):
        self._stop = True
        self._t.join(2)
        self.sock.close()


class HttpListener(_LoopbackPeer):
    """A minimal HTTP/1.1 server on loopback: reads one request per connection
    (headers, then a Content-Length body), answers 200 and closes, so `curl`
    exits 0. Records each request's body by the client's port."""

    def __init__(self, host="127.0.0.1"):
        self.requests = []       # (peer port, request line, body bytes)
        super().__init__(host, 0, socket.SOCK_STREAM, "listeners")

    def _take(self):
        c, peer = self.sock.accept()
        try:
            c.settimeout(5.0)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
            head, _, body = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            hdrs = {}
            for l in lines[1:]:
                k, _, v = l.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            if hdrs.get("expect", "").lower() == "100-continue":
                c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            want = int(hdrs.get("content-length", "0") or 0)
            while len(body) < want:
                chunk = c.recv(65536)
                if not chunk:
                    break
                body += chunk
            self.requests.append((peer[1], lines[0] if lines else "", body))
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                      b"Connection: close\r\n\r\nok\n")
        except OSError:
            pass
        finally:
            c.close()
        return peer

    def bodies(self):
        return [b for _, _, b in list(self.requests)]

    def received(self, data, timeout=3.0):
        """True once a request body containing `data` (bytes) has arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(data in b for b in self.bodies()):
                return True
            time.sleep(0.02)
        return False


# --------------------------------------------------------------------------- actor processes

_PRELUDE = (
    "import os, sys, socket, time\n"
    "print(os.getpid(), os.getppid(), flush=True)\n"
    "sys.stdin.readline()\n"          # wait for 'go' (the test checks the lineage first)
)

# Snippets for actor scripts. `report(k, v)` prints a line the test can read back.
READ = "with open({path!r}, 'rb') as f: f.read(1)\n"
TCP_CONNECT = (
    "s = socket.socket(socket.{fam}, socket.SOCK_STREAM)\n"
    "s.connect(({addr!r}, {port}))\n"
    "print('local_port', s.getsockname()[1], flush=True)\n"
    "s.close()\n"
)
UDP_SENDTO = (
    "s = socket.socket(socket.{fam}, socket.SOCK_DGRAM)\n"
    "s.sendto(b'barbwire-e2e', ({addr!r}, {port}))\n"
    "print('local_port', s.getsockname()[1], flush=True)\n"
    "s.close()\n"
)


def read_snippet(path):
    return READ.format(path=path)


def tcp_connect_snippet(addr, port):
    fam = "AF_INET6" if ":" in addr else "AF_INET"
    return TCP_CONNECT.format(fam=fam, addr=addr, port=port)


def udp_sendto_snippet(addr, port):
    fam = "AF_INET6" if ":" in addr else "AF_INET"
    return UDP_SENDTO.format(fam=fam, addr=addr, port=port)


class Actor:
    """python (sys.executable) run by `bash -c` under `timeout`, so its parent is
    bash and its grandparent timeout. It prints its pid, waits for go(), then
    runs `code`."""

    def __init__(self, code, home=None, cwd="/", python=None, new_session=False):
        timeout_bin = shutil.which("timeout") or "/usr/bin/timeout"
        bash = shutil.which("bash") or "/bin/bash"
        env = {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": home or "/nonexistent"}
        # `; exit $?` keeps bash from exec'ing python in place: python is bash's child.
        self.argv = [timeout_bin, "60", bash, "-c", '"$0" "$@"; exit $?', python or PY, "-I", "-S", "-c", _PRELUDE + code]
        self.code = code
        # new_session: timeout is the leader of a fresh session, so the actor's process
        # family (docs/design.md, "Process families") holds only what the test starts.
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=cwd, start_new_session=new_session)
        self.timeout_pid = self.proc.pid
        line = self._readline(10.0)
        try:
            pid, ppid = (int(x) for x in line.split())
        except ValueError:
            self.kill()
            raise Failure(f"actor did not report its pid: {line!r}; stderr: {self.proc.stderr.read()!r}")
        self.pid, self.bash_pid = pid, ppid
        self.lines = []
        # the lineage the expected score is based on
        comm = read_file(f"/proc/{ppid}/comm").strip()
        check(comm == "bash", f"actor's parent comm is {comm!r}, expected 'bash'")
        st = read_file(f"/proc/{ppid}/status")
        bash_ppid = int(next(l.split()[1] for l in st.splitlines() if l.startswith("PPid:")))
        check(bash_ppid == self.timeout_pid, f"bash's parent is {bash_ppid}, expected timeout {self.timeout_pid}")

    def _readline(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            self.kill()
            raise Failure(f"actor printed nothing within {timeout} s")
        return self.proc.stdout.readline().decode(errors="replace").strip()

    def go(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        return self

    def wait(self, timeout=30.0):
        """Wait for the actor; it must succeed. Returns its 'key value' report lines as a dict."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failure(f"actor {self.pid} did not finish within {timeout} s")
        check(self.proc.returncode == 0,
              f"actor {self.pid} failed (exit {self.proc.returncode}): {err.decode(errors='replace')}")
        rep = {}
        for l in out.decode(errors="replace").splitlines():
            k, _, v = l.partition(" ")
            rep[k] = v
        return rep

    def run(self, timeout=30.0):
        return self.go().wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------- alert checks

def seed_score_breakdown(category, base=3):
    """The seed config's score for an actor: the category's base + bash parent (+2),
    timeout grandparent (no rule)."""
    return [{"reason": category, "points": base}, {"reason": "suspicious parent: bash", "points": 2}]


def sha256_of(path):
    """SHA-256 (hex) of a file, computed here with hashlib."""
    d = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            d.update(chunk)
    return d.hexdigest()


def check_alert(a, actor, *, path, category, addr, port, family, op="connect", protocol="tcp",
                score=5, severity="HIGH", breakdown=None, exe=None, comm=None):
    ctx = f"alert: {json.dumps(a, sort_keys=True)}"
    p = a.get("process") or {}
    exe = PY_REAL if exe is None else exe
    comm = os.path.basename(PY)[:15] if comm is None else comm
    check(p.get("pid") == actor.pid, f"process.pid {p.get('pid')} != actor {actor.pid}; {ctx}")
    check(p.get("exe") == exe, f"process.exe {p.get('exe')!r} != {exe!r}; {ctx}")
    check(p.get("comm") == comm, f"process.comm {p.get('comm')!r} != {comm!r}; {ctx}")
    f = a.get("file") or {}
    check(f.get("path") == path, f"file.path {f.get('path')!r} != {path!r}; {ctx}")
    check(f.get("category") == category, f"file.category {f.get('category')!r} != {category!r}; {ctx}")
    st = os.stat(path)
    check(f.get("ino") == st.st_ino, f"file.ino {f.get('ino')} != stat st_ino {st.st_ino}; {ctx}")
    check(f.get("dev") == st.st_dev, f"file.dev {f.get('dev')} != stat st_dev {st.st_dev}; {ctx}")
    d = a.get("destination") or {}
    want = {"op": op, "protocol": protocol, "addr": addr, "port": port, "family": family}
    got = {k: d.get(k) for k in want}
    check(got == want, f"destination {got} != {want}; {ctx}")
    check(a.get("score") == score, f"score {a.get('score')} != {score}; {ctx}")
    check(a.get("severity") == severity, f"severity {a.get('severity')!r} != {severity!r}; {ctx}")
    if breakdown is not None:
        check(a.get("score_breakdown") == breakdown, f"score_breakdown {a.get('score_breakdown')} != {breakdown}; {ctx}")
    par = a.get("parent") or {}
    check(par.get("pid") == actor.bash_pid and par.get("comm") == "bash",
          f"parent {par} != bash pid {actor.bash_pid}; {ctx}")
    gp = a.get("grandparent") or {}
    check(gp.get("pid") == actor.timeout_pid and gp.get("comm") == "timeout",
          f"grandparent {gp} != timeout pid {actor.timeout_pid}; {ctx}")
    dn = a.get("delta_ns")
    check(isinstance(dn, int) and 0 <= dn <= 5_000_000_000, f"delta_ns {dn} not within 0..5 s; {ctx}")


def exactly_one(sensor, actor, timeout=ALERT_TIMEOUT):
    """After the sensor stopped: the one alert of `actor`."""
    got = sensor.alerts(actor.pid)
    check(len(got) == 1, f"expected exactly one alert for actor pid {actor.pid}, got {len(got)}: {got}\n"
                         f"sensor stderr:\n{sensor.stderr()}")
    return got[0]


def read_trace(path):
    """A recorded JSON-lines trace as a list of dicts (comment and blank lines skipped)."""
    check(os.path.exists(path), f"the sensor wrote no trace file {path}")
    events = []
    for n, line in enumerate(read_file(path).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            events.append(json.loads(line))
        except ValueError as e:
            raise Failure(f"trace line {n} is not JSON ({e}): {line[:200]!r}")
    return events


SEED_PATTERNS = ("/etc/passwd", "/etc/shadow", ".ssh/id_rsa", ".ssh/id_ed25519", ".ssh/id_ecdsa",
                 ".ssh/known_hosts", ".ssh/authorized_keys", "/etc/resolv.conf", "/etc/hosts",
                 "/etc/nsswitch.conf", "/proc/", "/tmp/", "/dev/shm/")


class Workspace:
    """A private temp dir, world-traversable so setpriv'd users can read copies in it."""

    def __init__(self):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="barbwire-e2e-"))
        os.chmod(self.dir, 0o755)
        self.trace = None        # set by scenario(record=True)
        self._deferred = []

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def defer(self, fn):
        """Run `fn` at cleanup (last deferred first), e.g. to remove a file made outside the dir."""
        self._deferred.append(fn)

    def cleanup(self):
        while self._deferred:
            fn = self._deferred.pop()
            try:
                fn()
            except Exception as e:  # cleanup must go on; say what was left behind
                print(f"note: cleanup step failed: {e}")
        shutil.rmtree(self.dir, ignore_errors=True)


def teardown(*things):
    """Stops each of `things`, in order, skipping None: a sensor, actor or shell is
    killed, a listener closed, a server stopped, a workspace cleaned up (the first of
    kill, close, stop, cleanup it has). Every one is tried even when one fails; the
    first failure is raised after the last.
        finally:
            h.teardown(sensor, lst, ws)
    """
    first = None
    for t in things:
        if t is None:
            continue
        for name in ("kill", "close", "stop", "cleanup"):
            fn = getattr(t, name, None)
            if callable(fn):
                try:
                    fn()
                except Exception as e:  # the rest must still be stopped
                    first = first or e
                break
        else:
            first = first or TypeError(f"teardown: {t!r} has no kill, close, stop or cleanup")
    if first is not None:
        raise first


@contextlib.contextmanager
def scenario(bw, prepare=None, record=False, listener="http"):
    """Workspace, loopback listener and a ready sensor; everything stopped and removed after.

    prepare(ws), run before the sensor starts, sets up files and returns the text of a
    rules file for --config, or None for the sensor's built-in rules.
    listener: "http" (HttpListener), "tcp" (TcpListener) or None.
    record: run `barbwire record ws.trace` instead of `barbwire run`.
        with h.scenario(BW) as (ws, sensor, lst): ...
    """
    ws, sensor, lst = Workspace(), None, None
    try:
        text = prepare(ws) if prepare is not None else None
        cfg = write_file(ws.path("barbwire-config.yml"), text) if text is not None else None
        if listener == "http":
            lst = HttpListener("127.0.0.1")
        elif listener == "tcp":
            lst = TcpListener("127.0.0.1")
        if record:
            ws.trace = ws.path("trace.jsonl")
        sensor = Sensor(bw, cfg, command="record" if record else "run", record_file=ws.trace)
        sensor.start().wait_ready()
        yield ws, sensor, lst
    finally:
        teardown(sensor, lst, ws)


class Shell:
    """`timeout 60 bash -c SCRIPT` as the leader of a new session, so its process
    family (docs/design.md, "Process families") is exactly what SCRIPT starts.
    `leader` (timeout's pid) is the session id; every alert of the family has it
    in its `ancestry`."""

    def __init__(self, script, env=None, args=()):
        timeout_bin = shutil.which("timeout") or "/usr/bin/timeout"
        bash = shutil.which("bash") or "/bin/bash"
        self.argv = [timeout_bin, "60", bash, "-c", script, "bash", *args]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd="/", start_new_session=True)
        self.leader = self.proc.pid

    def wait(self, timeout=30.0):
        """Wait; the script must exit 0. Returns (stdout, stderr) as text."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failure(f"shell {self.argv[4]!r} did not finish within {timeout} s")
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        check(self.proc.returncode == 0,
              f"shell {self.argv[4]!r} failed (exit {self.proc.returncode}); stdout {out!r}; stderr {err!r}")
        return out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def in_session(a, leader):
    """Whether alert `a`'s sender is `leader` or below it in `ancestry`."""
    if (a.get("process") or {}).get("pid") == leader:
        return True
    return any(isinstance(x, dict) and x.get("pid") == leader for x in a.get("ancestry") or [])


FAMILY_RELATIONS = ("self", "ancestor", "descendant", "sibling", "session")


def builtin_rules_json(root):
    """The built-in rules as a dict, read from the library's default_rules.hpp, so a
    test's config file can be "the built-in rules plus X" and follow their changes."""
    src = read_file(os.path.join(root, "libbarbwire", "include", "barbwire", "detail", "default_rules.hpp"))
    start = src.find('R"json(')
    end = src.find(')json"', start)
    check(start >= 0 and end > start, "default_rules.hpp has no R\"json( ... )json\" literal; update the e2e harness")
    return json.loads(src[start + len('R"json('):end])


# --------------------------------------------------------------------------- baselines

class Learner(Sensor):
    """A running `barbwire learn --baseline FILE --duration D [--config C]`
    (docs/baseline.md). It prints no alerts; stderr has the ready line and, once
    it stops (after D, or SIGINT/SIGTERM), the `barbwire: learned ...` summary."""

    def __init__(self, bw, baseline, duration="10m", config=None, extra=()):
        super().__init__(bw, config)
        args = [bw, "learn", "--baseline", baseline, "--duration", duration]
        if config is not None:
            args += ["--config", config]
        self.args = args + list(extra)
        self.baseline = baseline


def run_cases(module, doc, name):
    """The driver of every e2e test file: `NAME.py BARBWIRE SOURCE_ROOT CASE`.

    Sets the module's BW (absolute) and ROOT, runs its function case_CASE,
    prints "ok CASE (N s)" or "FAIL CASE: why" and returns the exit status;
    a missing binary skips (or fails under CI=true) through skip_or_fail."""
    if len(sys.argv) != 4:
        sys.exit(doc)
    bw, root, case = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
    module["BW"], module["ROOT"] = bw, root
    fn = module.get("case_" + case)
    if fn is None:
        sys.exit(f"{name}: no case {case!r}")
    if not os.path.exists(bw):
        skip_or_fail(f"{bw} is not built")
    t0 = time.monotonic()
    try:
        fn()
    except AssertionError as e:
        print(f"FAIL {case}: {e}")
        return 1
    print(f"ok {case} ({time.monotonic() - t0:.1f} s)")
    return 0


# --------------------------------------------------------------------------- attacks in two halves

class Attack:
    """An attack scenario split where its sensor stops, so that it can run under a
    sensor of its own (its e2e case, run_attack) or together with other attacks under
    one shared sensor (run_attacks_together: the whole attack suite under
    `run --baseline`, baseline_test.py).

    body(ws, sensor, lst) is a generator with exactly one `yield`. Before it: the
    attack, against a running, ready sensor; it must wait until the sensor has had
    time to alert (wait_alert, settle), since the sensor may be stopped right after.
    After it: the checks, once the sensor has stopped cleanly (its alerts and, when
    recorded, its trace ws.trace are complete). A body must filter alerts to the
    processes it started: the sensor may be shared.

    prepare(ws), run before the sensor starts, makes files and returns a rules file's
    text, or None for the built-in rules (as for scenario()). listener: "http", "tcp"
    or None (the body opens its own). record: the checks read ws.trace."""

    def __init__(self, name, body, prepare=None, listener=None, record=False):
        self.name = name
        self.body = body
        self.prepare = prepare
        self.listener = listener
        self.record = record


def _attack_step(steps, attack, last):
    """Run `attack`'s body up to its yield (last=False) or to its end (last=True)."""
    try:
        next(steps)
    except StopIteration:
        if not last:
            raise Failure(f"attack {attack.name}: the body ended without a yield")
        return
    if last:
        raise Failure(f"attack {attack.name}: the body yielded twice")


def _listener(kind):
    if kind == "http":
        return HttpListener("127.0.0.1")
    if kind == "tcp":
        return TcpListener("127.0.0.1")
    check(kind is None, f"unknown listener kind {kind!r}")
    return None


def run_attack(bw, attack):
    """`attack` under a sensor of its own (scenario()): prepare, sensor ready, the
    attack, a clean stop, the checks."""
    with scenario(bw, attack.prepare, record=attack.record, listener=attack.listener) as (ws, sensor, lst):
        steps = attack.body(ws, sensor, lst)
        try:
            _attack_step(steps, attack, last=False)
            sensor.stop_cleanly()
            _attack_step(steps, attack, last=True)
        finally:
            steps.close()


def register_attack_cases(module, names):
    """For each NAME in `names`, module["case_NAME"] runs module["attack_NAME"]()
    under a sensor of its own (run_attack), with the factory's docstring; needs
    root and the sensor like every case. The module's BW is read when the case runs."""
    def make(factory):
        def run():
            require_root_and_sensor()
            run_attack(module["BW"], factory())
        run.__doc__ = factory.__doc__
        return run
    for name in names:
        module["case_" + name] = make(module["attack_" + name])


def run_attacks_together(bw, attacks, extra=()):
    """Every attack of `attacks` under shared sensors, one after the other: each
    attack's prepare(ws) runs first (a workspace each); the attacks are grouped by the
    rules text prepare returned (None, the built-in rules, first), and each group runs
    under one `barbwire record TRACE [--config RULES] --format json EXTRA...` that
    every attack of the group shares (ws.trace is that trace). The sensor stops
    cleanly after the group's last attack; then the checks run.

    A failing attack does not stop the others. Returns (results, groups): results is a
    list of (attack name, None or the failure message), in the order of `attacks`;
    groups a list of (rules text or None, stopped Sensor, names of its attacks)."""
    state = []                          # [attack, ws, steps, lst, error]
    groups, results = [], []
    try:
        by_rules = {}
        for a in attacks:
            ws = Workspace()
            st = [a, ws, None, None, None]
            state.append(st)
            try:
                text = a.prepare(ws) if a.prepare is not None else None
            except AssertionError as e:
                st[4] = f"prepare: {e}"
                continue
            by_rules.setdefault(text, []).append(st)
        order = sorted(by_rules, key=lambda t: (t is not None, t or ""))
        for n, text in enumerate(order):
            members = by_rules[text]
            gdir = tempfile.mkdtemp(prefix="barbwire-e2e-group-")
            members[0][1].defer(lambda d=gdir: shutil.rmtree(d, ignore_errors=True))
            cfg = write_file(os.path.join(gdir, "rules.json"), text) if text is not None else None
            trace = os.path.join(gdir, "trace.jsonl")
            sensor = Sensor(bw, cfg, command="record", record_file=trace, extra=extra)
            groups.append((text, sensor, [st[0].name for st in members]))
            print(f"group {n + 1} of {len(order)}: {'built-in rules' if text is None else 'rules ' + cfg}, "
                  f"{len(members)} attack(s): {', '.join(st[0].name for st in members)}")
            try:
                sensor.start().wait_ready()
                for st in members:
                    a, ws = st[0], st[1]
                    ws.trace = trace
                    t0 = time.monotonic()
                    try:
                        st[3] = _listener(a.listener)
                        st[2] = a.body(ws, sensor, st[3])
                        _attack_step(st[2], a, last=False)
                        print(f"  attacked: {a.name} ({time.monotonic() - t0:.1f} s)")
                    except AssertionError as e:
                        st[4] = f"attack: {e}"
                        print(f"  attack failed: {a.name}: {e}")
                sensor.stop_cleanly()
            finally:
                sensor.kill()
            for st in members:
                if st[4] is None:
                    try:
                        _attack_step(st[2], st[0], last=True)
                    except AssertionError as e:
                        st[4] = f"check: {e}"
        results = [(st[0].name, st[4]) for st in state]
    finally:
        for st in state:
            if st[2] is not None:
                st[2].close()
            if st[3] is not None:
                st[3].close()
            st[1].cleanup()
    return results, groups
