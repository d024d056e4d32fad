#!/usr/bin/env python3
"""End-to-end tests of the deployment (issue 14, "Deployment"): the shipped
systemd unit's privileges and system-call filter, and the container image,
against the real sensor, a real kernel and loopback only.

  deploy_test.py BARBWIRE SOURCE_ROOT CASE

PID 1 here is not systemd, so the unit is not started by systemd: its
CapabilityBoundingSet (= AmbientCapabilities) and NoNewPrivileges are applied
with setpriv exactly as systemd applies them to a root service (bounding and
inheritable sets reduced before exec), and its SystemCallFilter is checked
against every system call the sensor makes (strace). The file-system
sandboxing (ProtectSystem=, ProtectHome=, PrivateTmp=...) is not exercised
here; test/deploy/check_systemd_unit.sh checks the unit with
systemd-analyze verify. See README.md in this directory.

The probe attack: in a private mount namespace, on a tmpfs no other
namespace sees, an executable of mode 0700 owned by uid 65534 runs as uid
65534, reads a key in its own home, connects to a listener on 127.0.0.1 and
sends it. The sensor must alert, with the executable's SHA-256: reading it
through /proc/PID/exe of another user's process takes CAP_SYS_PTRACE, and
opening a 0700 file of another user takes CAP_DAC_READ_SEARCH; the path is
in no namespace the sensor can look in, so nothing else gives the hash.
"""
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

BW = ""
ROOT = ""
SSH = "ssh private keys"
NOBODY = 65534


def unit_path():
    return os.path.join(ROOT, "packaging", "systemd", "barbwire.service")


def unit_values(key):
    """Every value of KEY= in the unit's [Service] section, in order."""
    vals, section = [], None
    for line in h.read_file(unit_path()).splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line.startswith(key + "="):
            vals.append(line.split("=", 1)[1])
    return vals


def unit_capabilities():
    """CapabilityBoundingSet of the shipped unit, e.g. ['bpf', 'perfmon', ...];
    AmbientCapabilities must be the same set (a root service gets the bounding
    set; the ambient set is there for a non-root User=)."""
    bound = unit_values("CapabilityBoundingSet")
    ambient = unit_values("AmbientCapabilities")
    check(len(bound) == 1 and bound[0], f"the unit must have one CapabilityBoundingSet=, has {bound}")
    caps = sorted(c.lower().removeprefix("cap_") for c in bound[0].split())
    check(len(ambient) == 1 and sorted(c.lower().removeprefix("cap_") for c in ambient[0].split()) == caps,
          f"AmbientCapabilities {ambient} is not the bounding set {caps}")
    check(unit_values("NoNewPrivileges") == ["yes"], "the unit must set NoNewPrivileges=yes")
    check(unit_values("User") in ([], ["root"]), f"the unit must run as root, not {unit_values('User')}")
    return caps


def setpriv_argv(caps):
    """The sensor's command under exactly `caps`, as systemd runs a root service with
    CapabilityBoundingSet=caps and NoNewPrivileges=yes."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        h.skip_or_fail("setpriv (util-linux) is needed")
    spec = ",".join(["-all"] + ["+" + c for c in caps])
    return [setpriv, f"--bounding-set={spec}", f"--inh-caps={spec}", "--no-new-privs", "--"]


def egress_actor():
    p = os.environ.get("BW_EGRESS_ACTOR") or os.path.join(os.path.dirname(os.path.dirname(BW)), "test", "e2e",
                                                          "egress_actor")
    if not p or not os.path.exists(p):
        h.skip_or_fail("egress_actor is not built (it needs liburing-dev, in ./dev's list)")
    return p


def probe_attack(ws, port):
    """The probe attack (module docstring). Returns (the session leader's pid,
    the SHA-256 of the executable) after the actor exited 0."""
    for tool in ("unshare", "mount", "setpriv"):
        if shutil.which(tool) is None:
            h.skip_or_fail(f"{tool} (util-linux) is needed")
    actor = egress_actor()
    digest = h.sha256_of(actor)
    d = ws.path(f"priv-{secrets.token_hex(3)}")
    os.makedirs(d)
    key = f"{d}/home/.ssh/id_rsa"
    script = f"""set -e
mount -t tmpfs -o mode=0755 barbwire-probe {d}
mkdir -p {d}/home/.ssh
cp {actor} {d}/actor
printf '%s\\n' '-----BEGIN OPENSSH PRIVATE KEY-----' 'probe' > {key}
chown -R {NOBODY}:{NOBODY} {d}/actor {d}/home
chmod 0700 {d}/actor {d}/home/.ssh
exec setpriv --reuid {NOBODY} --regid {NOBODY} --clear-groups {d}/actor read {key} sleep 1 read {key} \\
    connect 127.0.0.1 {port} send sleep 1
"""
    sh = h.Shell('exec unshare -m --propagation private bash -c "$1"', args=(script,))
    out, _ = sh.wait()
    check("ok send" in out, f"the probe actor did not send: {out!r}")
    return sh.leader, digest, key


def run_probe(caps, expect_hash):
    """The sensor under `caps` (None: as the test runs, all of root's), the probe
    attack, a clean stop; the probe's alert must be there, with the actor's
    SHA-256 when expect_hash, without it otherwise. Returns the sensor."""
    ws, sensor, lst = h.Workspace(), None, None
    try:
        lst = h.DataListener("127.0.0.1")
        sensor = h.Sensor(BW, None)
        if caps is not None:
            sensor.args = setpriv_argv(caps) + sensor.args
        sensor.start().wait_ready()
        leader, digest, key = probe_attack(ws, lst.port)
        check(lst.received(b"OPENSSH PRIVATE KEY"), f"the listener did not receive the key: {lst.streams}")
        sensor.wait_for(lambda a: h.in_session(a, leader))
        time.sleep(0.5)
        sensor.stop_cleanly()
        got = [a for a in sensor.alerts() if h.in_session(a, leader) and a.get("type") != "summary"]
        check(got, f"no alert for the probe attack (session {leader}) under {caps}:\n{sensor.stderr()}")
        for a in got:
            f, p = a.get("file") or {}, a.get("process") or {}
            check(f.get("path") == key and f.get("category") == SSH, f"alert file {f}, expected {key}")
            check((a.get("destination") or {}).get("port") == lst.port, f"alert destination {a.get('destination')}")
            if expect_hash:
                check(p.get("sha256") == digest, f"process.sha256 {p.get('sha256')} != the actor's {digest} "
                                                 f"under {caps}; stderr:\n{sensor.stderr()}")
            else:
                check(p.get("sha256") is None, f"process.sha256 {p.get('sha256')} known without the capability "
                                               f"(under {caps}): the probe does not need it")
        print(f"caps {caps}: {len(got)} alert(s), sha256 {got[0]['process'].get('sha256')}")
        return sensor
    finally:
        h.teardown(sensor, lst, ws)


# --------------------------------------------------------------------------- the unit's capabilities

def case_unit_caps_enough():
    """Under exactly the unit's capabilities (and no_new_privs) the sensor starts,
    alerts on the probe attack with the executable's hash, and says nothing more
    on standard error than a run with all of root's capabilities does."""
    h.require_root_and_sensor()
    caps = unit_capabilities()
    limited = run_probe(caps, expect_hash=True)
    full = run_probe(None, expect_hash=True)

    def notices(s):
        # the lines that say something could not be done; drop the run's own paths and counts
        return sorted({re.sub(r"\d+", "N", l.split(";")[0]) for l in s.stderr_lines() if "NOTICE" in l})
    check(notices(limited) == notices(full),
          f"the unit's capabilities give other notices than root's:\nunit: {notices(limited)}\nroot: {notices(full)}")


def _needed(cap, how):
    h.require_root_and_sensor()
    caps = unit_capabilities()
    check(cap in caps, f"the unit does not grant CAP_{cap.upper()}; update this test with the unit")
    less = [c for c in caps if c != cap]
    if how == "refused":
        ws, sensor = h.Workspace(), h.Sensor(BW, None)
        try:
            sensor.args = setpriv_argv(less) + sensor.args
            sensor.start()
            rc = sensor.proc.wait(30)
            sensor._join()
            err = sensor.stderr_lines()
            check(rc == 2, f"without CAP_{cap.upper()} the sensor exited {rc}, expected 2:\n{sensor.stderr()}")
            check(len(err) == 1 and f"CAP_{cap.upper()}" in err[0],
                  f"expected one line naming CAP_{cap.upper()}:\n{sensor.stderr()}")
            print(f"without CAP_{cap.upper()}: {err[0]}")
        finally:
            h.teardown(sensor, ws)
    else:
        run_probe(less, expect_hash=False)


def case_unit_needs_bpf():
    """Without CAP_BPF (the rest of the unit's set kept) the sensor refuses to start: exit 2, one line naming it."""
    _needed("bpf", "refused")


def case_unit_needs_perfmon():
    """Without CAP_PERFMON the sensor refuses to start: exit 2, one line naming it."""
    _needed("perfmon", "refused")


def case_unit_needs_sys_ptrace():
    """Without CAP_SYS_PTRACE the probe's alert has no hash: another user's
    /proc/PID/exe cannot be opened."""
    _needed("sys_ptrace", "hash")


def case_unit_needs_dac_read_search():
    """Without CAP_DAC_READ_SEARCH the probe's alert has no hash: another user's
    0700 executable cannot be read."""
    _needed("dac_read_search", "hash")


def case_unit_syscall_filter():
    """Every system call the sensor makes while it starts, alerts, reloads its
    rules (SIGHUP, with --config and --output as in the unit) and stops is
    allowed by the unit's SystemCallFilter= lines, as systemd-analyze expands
    their groups; a call outside them would kill the service (SIGSYS)."""
    h.require_root_and_sensor()
    strace, sda = shutil.which("strace"), shutil.which("systemd-analyze")
    if strace is None or sda is None:
        h.skip_or_fail("strace and systemd-analyze (systemd) are needed")
    groups, cur = {}, None
    for line in subprocess.run([sda, "syscall-filter"], capture_output=True, text=True, check=True).stdout.splitlines():
        if line.startswith("@"):
            cur = line.split()[0]
            groups[cur] = []
        elif cur and line.startswith("    ") and line.strip() and not line.strip().startswith("#"):
            groups[cur].append(line.strip())

    def expand(names):
        out = set()
        for n in names:
            out |= expand(groups[n]) if n.startswith("@") else {n}
        return out
    allowed = None
    for v in unit_values("SystemCallFilter"):
        if v.startswith("~"):
            allowed -= expand(v[1:].split())
        else:
            allowed = expand(v.split()) if allowed is None else allowed | expand(v.split())
    check(allowed, "the unit has no SystemCallFilter allow-list")
    ws, sensor, lst = h.Workspace(), None, None
    try:
        rules = ws.path("rules.yml")
        subprocess.run([sys.executable, os.path.join(ROOT, "packaging", "rules", "make-rules-yml.py"),
                        os.path.join(ROOT, "libbarbwire", "include", "barbwire", "detail", "default_rules.hpp"),
                        "test", rules], check=True)
        log = ws.path("strace.txt")
        lst = h.DataListener("127.0.0.1")
        sensor = h.Sensor(BW, rules, extra=("--output", ws.path("alerts.jsonl")))
        sensor.args = [strace, "-f", "-qq", "-o", log] + setpriv_argv(unit_capabilities()) + sensor.args
        sensor.start().wait_ready(timeout=90)
        leader, _, _ = probe_attack(ws, lst.port)
        check(sensor.wait_for(lambda a: h.in_session(a, leader), timeout=15), f"no alert under strace:\n{sensor.stderr()}")
        # strace's child is setpriv, which execs the sensor: signal that pid
        bw_pid = int(subprocess.run(["pgrep", "-P", str(sensor.proc.pid)], capture_output=True, text=True).stdout.split()[0])
        os.kill(bw_pid, 1)
        check(sensor.wait_stderr("barbwire: config reloaded", timeout=15), f"no reload:\n{sensor.stderr()}")
        os.kill(bw_pid, 2)
        check(sensor.proc.wait(60) == 0, f"the sensor under strace exited {sensor.proc.returncode}:\n{sensor.stderr()}")
        sensor._join()
        used, execs = set(), 0
        for line in h.read_file(log).splitlines():
            m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
            if m:
                used.add(m.group(1))
            if re.match(r"^\d+\s+execve\(\"" + re.escape(BW), line):
                execs += 1
        check(execs >= 1, "strace did not see the sensor's execve")
        check("bpf" in used, f"strace saw no bpf(2) call: {sorted(used)}")
        missing = sorted(used - allowed)
        check(not missing, f"system calls the unit's SystemCallFilter refuses: {missing}")
        print(f"{len(used)} distinct system calls, all allowed: {' '.join(sorted(used))}")
    finally:
        h.teardown(sensor, lst, ws)


# --------------------------------------------------------------------------- the container image

PODMAN_OPTS = ["--cgroup-manager=cgroupfs", "--events-backend=file"]


def case_container_image():
    """packaging/container/build-image.sh builds the FROM-scratch image from this
    build (no registry); podman runs it as the docs say (host PID namespace,
    the unit's capabilities and no others, the host's BTF, cgroups, /etc, /root
    and /home read-only); it says ready, and a host process's read of a key and
    send to 127.0.0.1 gives the alert on the container's standard output, with the
    executable's hash. The image holds only the sensor, its libraries and the rules."""
    h.require_root_and_sensor()
    podman = shutil.which("podman")
    if podman is None:
        h.skip_or_fail("podman is needed to run the image (./dev installs it, and buildah to build it)")
    builddir = os.path.dirname(os.path.dirname(BW))
    tag = f"localhost/barbwire-e2e-image:{secrets.token_hex(4)}"
    r = subprocess.run([os.path.join(ROOT, "packaging", "container", "build-image.sh"), builddir, tag],
                       capture_output=True, text=True, timeout=600)
    check(r.returncode == 0 and r.stdout.strip().splitlines()[-1:] == [tag],
          f"build-image.sh failed (exit {r.returncode}): {r.stdout[-2000:]} {r.stderr[-2000:]}")
    name = f"bw-e2e-image-{secrets.token_hex(4)}"
    ws, sensor, lst = h.Workspace(), None, None
    ws.defer(lambda: subprocess.run([podman, *PODMAN_OPTS, "rmi", "-f", tag], capture_output=True))
    try:
        # what is in the image: the binary, libraries, the rules; no shell
        mnt = subprocess.run([podman, *PODMAN_OPTS, "image", "mount", tag], capture_output=True, text=True)
        if mnt.returncode == 0:
            root = mnt.stdout.strip()
            files = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
            subprocess.run([podman, *PODMAN_OPTS, "image", "unmount", tag], capture_output=True)
            check("usr/bin/barbwire" in files and "usr/share/barbwire/rules.yml" in files,
                  f"the image lacks the sensor or the rules: {files}")
            check(not any(f.endswith(("bin/sh", "bin/bash")) for f in files), f"the image has a shell: {files}")
            check(all(f.startswith(("usr/bin/barbwire", "usr/share/barbwire/", "etc/passwd")) or ".so" in f
                      for f in files), f"the image holds more than the sensor, its libraries and rules: {files}")
            print(f"image {tag}: {len(files)} files")
        caps = unit_capabilities()
        opts = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
        if os.path.isdir("/sys/fs/cgroup/unified"):
            opts += ["--runtime", "runc"]  # crun 1.8 refuses a hybrid cgroup host (container_test.py)
        argv = [podman, *PODMAN_OPTS, "run", "--rm", "--name", name, *opts,
                "--pid=host", "--network=host", "--cgroupns=host", "--user", "0:0",
                "--cap-drop=all", *[f"--cap-add={c}" for c in caps],
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "--security-opt", "no-new-privileges", "--read-only",
                "-v", "/sys/kernel/btf:/sys/kernel/btf:ro", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
                "-v", "/etc:/etc:ro", "-v", "/root:/root:ro", "-v", "/home:/home:ro",
                "-v", "/run/containers:/run/containers:ro", "-v", "/var/lib/containers:/var/lib/containers:ro",
                tag]
        ws.defer(lambda: subprocess.run([podman, *PODMAN_OPTS, "rm", "-f", name], capture_output=True))
        lst = h.DataListener("127.0.0.1")
        sensor = h.Sensor(BW, None)
        sensor.args = argv  # the image's own command: run --config /usr/share/barbwire/rules.yml --format json
        sensor.start().wait_ready(timeout=120)
        leader, digest, key = probe_attack(ws, lst.port)
        check(lst.received(b"OPENSSH PRIVATE KEY"), f"the listener did not receive the key: {lst.streams}")
        got = sensor.wait_for(lambda a: h.in_session(a, leader), timeout=15)
        check(got, f"no alert from the containerised sensor for the host's attack:\n{sensor.stderr()}")
        a = got[0]
        check((a.get("file") or {}).get("path") == key, f"alert file {a.get('file')}, expected {key}")
        check((a.get("destination") or {}).get("port") == lst.port, f"alert destination {a.get('destination')}")
        check((a.get("process") or {}).get("sha256") == digest, f"process.sha256 {a['process'].get('sha256')} "
                                                                f"!= {digest}")
        check(a.get("container") is None, f"a host process was given a container: {a.get('container')}")
        subprocess.run([podman, *PODMAN_OPTS, "kill", "--signal", "TERM", name], capture_output=True, timeout=60)
        rc = sensor.proc.wait(60)
        sensor._join()
        check(rc == 0, f"the containerised sensor exited {rc} after SIGTERM:\n{sensor.stderr()}")
        check(any(l.startswith("barbwire: stopped") for l in sensor.stderr_lines()),
              f"no stats line after SIGTERM:\n{sensor.stderr()}")
        print("ready line:", next(l for l in sensor.stderr_lines() if l.startswith(h.READY_PREFIX)))
    finally:
        h.teardown(sensor, lst, ws)


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "deploy_test"))
