#!/usr/bin/env python3
"""End-to-end tests of containers (issue 14): a real container started by
podman (crun) from an image the test builds locally from a root filesystem
(no registry), a real kernel, loopback only.

  container_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as its own test in
suite 'e2e'. They need root, podman and a build with the sensor; otherwise
they exit 77 (skip), or 1 when CI=true. See README.md in this directory.

The image holds one static program (egress_actor, built here with -static)
and a dummy key. The container shares the host's network namespace
(--network host), so its connects reach the test's listener on 127.0.0.1.
"""
import json
import os
import re
import secrets
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

SSH = "ssh private keys"
DUMMY_KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBiYXJid2lyZS1jb250YWluZXItdGVzdC1rZXktbm90LXJlYWwAAAAAAAAA
-----END OPENSSH PRIVATE KEY-----
"""
# podman without systemd as PID 1: the cgroupfs manager and a file for its events.
PODMAN_OPTS = ["--cgroup-manager=cgroupfs", "--events-backend=file"]


def run_opts():
    """Options of `podman run` on this host. Open-file and process limits the
    test's own (a host without CAP_SYS_RESOURCE cannot raise them to podman's
    default). On a hybrid cgroup host (v1 controllers plus the unified hierarchy
    at /sys/fs/cgroup/unified) crun 1.8 refuses to run when the unified hierarchy
    has any controller; runc (Debian's) handles it, and still places the container
    in the unified hierarchy too."""
    opts = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
    if os.path.isdir("/sys/fs/cgroup/unified"):
        if shutil.which("runc") is None:
            h.skip_or_fail("this is a hybrid cgroup host, where podman needs runc (./dev installs it)")
        opts += ["--runtime", "runc"]
    return opts


def podman():
    p = shutil.which("podman")
    if p is None:
        h.skip_or_fail("podman is not installed (these tests start a real container; ./dev installs it)")
    return p


def run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    check(r.returncode == 0, f"{' '.join(argv)} failed (exit {r.returncode}): {r.stdout[-2000:]} {r.stderr[-2000:]}")
    return r.stdout


def static_actor(ws):
    """egress_actor, linked statically so that it runs in an image with no libc."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        h.skip_or_fail("no C compiler (cc) to build the container's program")
    out = ws.path("actor")
    run([cc, "-static", "-O1", "-o", out, os.path.join(ROOT, "test", "e2e", "egress_actor.c"), "-luring"])
    return out


class Image:
    """A local image `localhost/barbwire-e2e:<random>` imported from a root
    filesystem built here: /actor and /root/.ssh/id_rsa. Removed at cleanup."""

    def __init__(self, ws):
        self.podman = podman()
        rootfs = image_rootfs(ws)
        os.makedirs(os.path.join(rootfs, "etc"))
        h.write_file(os.path.join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/actor\n")
        tar = ws.path("rootfs.tar")
        run(["tar", "-C", rootfs, "-cf", tar, "."])
        self.ref = f"localhost/barbwire-e2e:{secrets.token_hex(4)}"
        run([self.podman, *PODMAN_OPTS, "import", tar, self.ref])
        ws.defer(lambda: subprocess.run([self.podman, *PODMAN_OPTS, "rmi", "-f", self.ref], capture_output=True))
        self.ws = ws

    def start(self, name, *args):
        """podman run -d: the container's full id, as the runtime reports it."""
        cid = run([self.podman, *PODMAN_OPTS, "run", *run_opts(), "-d", "--name", name, "--network", "host",
                   self.ref, "/actor", *args]).strip()
        self.ws.defer(lambda: subprocess.run([self.podman, *PODMAN_OPTS, "rm", "-f", name], capture_output=True))
        check(len(cid) == 64, f"podman run -d printed {cid!r}, not a container id")
        return cid

    def start_labelled(self, name, labels, *args):
        """start(), with `--label KEY=VALUE` for each of `labels`."""
        opts = [x for l in labels for x in ("--label", l)]
        cid = run([self.podman, *PODMAN_OPTS, "run", *run_opts(), *opts, "-d", "--name", name, "--network", "host",
                   self.ref, "/actor", *args]).strip()
        self.ws.defer(lambda: subprocess.run([self.podman, *PODMAN_OPTS, "rm", "-f", name], capture_output=True))
        check(len(cid) == 64, f"podman run -d printed {cid!r}, not a container id")
        return cid

    def wait(self, name, timeout=60):
        out = run([self.podman, *PODMAN_OPTS, "wait", name], timeout=timeout).strip()
        logs = run([self.podman, *PODMAN_OPTS, "logs", name])
        check(out == "0", f"the container {name} exited {out}: {logs}")
        return logs


def ctx(a):
    return f"alert: {json.dumps(a, sort_keys=True)}"


# --------------------------------------------------------------------------- cases

def case_attack_in_container():
    """A process in a real podman container reads the image's /root/.ssh/id_rsa and
    sends it to a listener on 127.0.0.1 (host network). One alert: its `container`
    is that container (podman's id, name and image, verified), `k8s` null, the file's
    path is the container's (`/root/.ssh/id_rsa`, view "container"), and its host path
    is the same file seen from the host (read while the container still runs)."""
    h.require_root_and_sensor()
    with h.scenario(BW, None, listener=None) as (ws, sensor, _):
        img = Image(ws)
        lst = h.DataListener("127.0.0.1")
        ws.defer(lst.close)
        name = f"bw-e2e-{secrets.token_hex(4)}"
        cid = img.start(name, "read", "/root/.ssh/id_rsa", "connect", "127.0.0.1", str(lst.port), "send",
                        "sleep", "20")
        check(lst.received(b"BEGIN OPENSSH PRIVATE KEY", timeout=30),
              f"the listener did not receive the key from the container: {lst.streams}")
        got = sensor.wait_for(lambda a: (a.get("container") or {}).get("id") == cid)
        check(len(got) == 1, f"expected one alert for container {cid}, got {len(got)}: {got}\n"
                             f"all: {sensor.alerts()}\nsensor stderr:\n{sensor.stderr()}")
        a = got[0]
        c, f, d = a["container"], a.get("file") or {}, a.get("destination") or {}
        check(c.get("runtime") == "podman", f"container.runtime {c.get('runtime')!r}; {ctx(a)}")
        check(c.get("verified") is True, f"podman's own state did not verify the container; {ctx(a)}")
        check(c.get("name") == name, f"container.name {c.get('name')!r} != {name}; {ctx(a)}")
        check(c.get("image") == img.ref, f"container.image {c.get('image')!r} != {img.ref}; {ctx(a)}")
        check(a.get("k8s") is None, f"a podman container is no pod's: {a.get('k8s')}")
        check((a.get("process") or {}).get("exe") == "/actor", f"process.exe is not the container's /actor; {ctx(a)}")
        check(f.get("path") == "/root/.ssh/id_rsa" and f.get("category") == SSH,
              f"file {f} is not the container's /root/.ssh/id_rsa ({SSH}); {ctx(a)}")
        check(f.get("view") == "container", f"file.view {f.get('view')!r}; {ctx(a)}")
        check(d.get("addr") == "127.0.0.1" and d.get("port") == lst.port, f"destination {d}; {ctx(a)}")
        hp = f.get("host_path")
        check(isinstance(hp, str) and hp.endswith("/root/.ssh/id_rsa") and hp != "/root/.ssh/id_rsa",
              f"file.host_path {hp!r} is not a host path of the container's file; {ctx(a)}")
        check(h.read_file(hp) == DUMMY_KEY, f"the host path {hp} does not hold the container's key")
        img.wait(name)
        print(f"container alert: {c}; host path {hp}")


def case_host_has_no_container():
    """The same program on the host (not in a container), reading a dummy key in a
    fresh HOME and sending it to 127.0.0.1: one alert, `container` and `k8s` null,
    the path the host's (view "host", no separate host path)."""
    h.require_root_and_sensor()
    with h.scenario(BW, None, listener=None) as (ws, sensor, _):
        actor = static_actor(ws)
        home = ws.path("home")
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        key = os.path.realpath(os.path.join(home, ".ssh", "id_rsa"))
        h.write_file(key, DUMMY_KEY, mode=0o600)
        lst = h.DataListener("127.0.0.1")
        ws.defer(lst.close)
        sh = h.Shell(f"{actor} read {key} connect 127.0.0.1 {lst.port} send")
        sh.wait()
        check(lst.received(b"BEGIN OPENSSH PRIVATE KEY"), f"the listener did not receive the key: {lst.streams}")
        got = sensor.wait_for(lambda a: h.in_session(a, sh.leader))
        check(len(got) == 1, f"expected one alert for the host actor, got {got}\n{sensor.stderr()}")
        a = got[0]
        check(a.get("container") is None, f"a host process has a container: {a.get('container')}")
        check(a.get("k8s") is None, f"a host process has a pod: {a.get('k8s')}")
        f = a.get("file") or {}
        check(f.get("path") == key and f.get("view") == "host" and f.get("host_path") is None,
              f"file {f} is not the host's {key} (view host, no host_path); {ctx(a)}")


class RuncContainer:
    """A container run by runc directly (no engine, no conmon), detached, running
    /actor's `sleep` so that it stays up; the host's network namespace. Its
    cgroup is `/<id>` (a 64-hex id, in every hierarchy the host mounts), and
    runc's own state (/run/runc/<id>) verifies it. Deleted at cleanup."""

    def __init__(self, ws, rootfs):
        if shutil.which("runc") is None:
            h.skip_or_fail("runc is not installed (./dev installs it)")
        self.id = secrets.token_hex(32)
        d = ws.path(f"bundle-{self.id[:12]}")
        os.makedirs(d)
        run(["runc", "spec", "--bundle", d])
        with open(os.path.join(d, "config.json")) as f:
            spec = json.load(f)
        spec["root"] = {"path": rootfs, "readonly": True}
        spec["process"]["terminal"] = False
        spec["process"]["args"] = ["/actor", "sleep", "60"]
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
        spec["linux"]["cgroupsPath"] = "/" + self.id
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(spec, f)
        ws.defer(lambda: subprocess.run(["runc", "delete", "-f", self.id], capture_output=True))
        err = ws.path(f"runc-{self.id[:12]}.err")
        with open(err, "w") as ef:  # a file, not a pipe: the detached container keeps its stdio open
            r = subprocess.run(["runc", "run", "-d", "--bundle", d, self.id], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=ef, timeout=60)
        check(r.returncode == 0, f"runc run -d failed: {h.read_file(err)}")

    def join_command(self):
        """Shell words that move the shell's current (sub)process into the
        container's cgroups, in every hierarchy: what a runtime's `exec` does
        before it execs, here without a session of its own."""
        return (f"for f in /sys/fs/cgroup/{self.id}/cgroup.procs /sys/fs/cgroup/*/{self.id}/cgroup.procs; "
                f"do [ -e \"$f\" ] && echo $BASHPID > \"$f\"; done")


def image_rootfs(ws):
    rootfs = ws.path("rootfs")
    os.makedirs(os.path.join(rootfs, "root", ".ssh"), mode=0o700)
    os.makedirs(os.path.join(rootfs, "tmp"))
    shutil.copy(static_actor(ws), os.path.join(rootfs, "actor"))
    h.write_file(os.path.join(rootfs, "root", ".ssh", "id_rsa"), DUMMY_KEY, mode=0o600)
    return rootfs


def case_family_boundary():
    """A container and a host process are never one family, even in one session.
    Runtimes start a container's processes in sessions of their own (runc's init
    and `runc exec` both call setsid), so the session boundary alone would keep
    them apart; here a process joins a running container's cgroups and execs, as a
    runtime's exec does, but stays in the host shell's session.
    Session A: a host `cat` reads a dummy key; then a subshell joins the container
    and sends to listener P1: no alert for P1; then a host process of session A sends
    to P2: one alert (the host family's evidence is there). Session B: a subshell
    joins the container and reads a key; then a host process of session B sends to
    P3: no alert for P3. The trace proves the reads, and that the joined processes
    were in the container and in the host shells' sessions."""
    h.require_root_and_sensor()
    with h.scenario(BW, None, record=True, listener=None) as (ws, sensor, _):
        rootfs = image_rootfs(ws)
        actor = os.path.join(rootfs, "actor")
        home = ws.path("home")
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        key = os.path.realpath(os.path.join(home, ".ssh", "id_rsa"))
        h.write_file(key, DUMMY_KEY, mode=0o600)
        box = RuncContainer(ws, rootfs)
        p1, p2, p3 = (h.DataListener("127.0.0.1") for _ in range(3))
        for lst in (p1, p2, p3):
            ws.defer(lst.close)
        a = h.Shell(f"cat {key} > /dev/null; ( {box.join_command()}; exec {actor} connect 127.0.0.1 {p1.port} send "
                    f"sleep 1 ); {actor} connect 127.0.0.1 {p2.port} send")
        a.wait()
        b = h.Shell(f"( {box.join_command()}; exec {actor} read {key} sleep 1 ); "
                    f"{actor} connect 127.0.0.1 {p3.port} send")
        b.wait()
        check(p1.received(b"barbwire egress_actor") and p2.received(b"barbwire egress_actor"),
              f"listeners got nothing: {p1.streams} {p2.streams}")
        check(p3.received(b"barbwire egress_actor"), f"listener {p3.port} got nothing: {p3.streams}")
        sensor.wait_for(lambda x: (x.get("destination") or {}).get("port") == p2.port)
        time.sleep(1.5)
        sensor.stop_cleanly()
        ev = h.read_trace(ws.trace)
        by_port = {lst.port: [x for x in sensor.alerts() if (x.get("destination") or {}).get("port") == lst.port]
                   for lst in (p1, p2, p3)}
        # proof: the joined processes ran in the container and in the host shells' sessions
        joined = [e for e in ev if e.get("kind") == "exec" and (e.get("container") or {}).get("id") == box.id
                  and e.get("exe", "").endswith("/actor") and e.get("sid") in (a.leader, b.leader)]
        check({e["sid"] for e in joined} == {a.leader, b.leader},
              f"expected one exec of /actor in the container in each session ({a.leader}, {b.leader}): {joined}")
        check(all(e["container"].get("verified") is True for e in joined), f"runc's state did not verify: {joined}")
        check(any(e.get("kind") == "open" and e.get("path") == key for e in ev), f"the trace has no open of {key}")
        check(by_port[p1.port] == [], f"the container's send got the host's read as evidence: {by_port[p1.port]}")
        check(len(by_port[p2.port]) == 1 and by_port[p2.port][0].get("container") is None,
              f"the host family's send to {p2.port} should alert once, with no container: {by_port[p2.port]}")
        check(by_port[p2.port][0]["file"]["path"] == key, f"the host alert's file: {by_port[p2.port][0]['file']}")
        check(by_port[p3.port] == [], f"the host's send got the container's read as evidence: {by_port[p3.port]}")


# --------------------------------------------------------------------------- runtime API

class PodmanService:
    """`podman system service --time=0` (the docker-compatible REST API) on a
    unix socket in the test's directory, as root: what /run/podman/podman.sock
    serves. kill() leaves its socket file behind with no one listening."""

    def __init__(self, ws):
        self.sock = ws.path("podman.sock")
        self.log = ws.path("podman-service.log")
        with open(self.log, "w") as lf:
            self.proc = subprocess.Popen([podman(), *PODMAN_OPTS, "system", "service", "--time=0",
                                          f"unix://{self.sock}"], stdin=subprocess.DEVNULL, stdout=lf,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        ws.defer(self.kill)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(self.sock) and unix_http_get(self.sock, "/_ping")[0] == 200:
                return
            check(self.proc.poll() is None, f"podman system service exited {self.proc.returncode}: "
                                            f"{h.read_file(self.log)}")
            time.sleep(0.1)
        raise h.Failure(f"podman system service did not answer on {self.sock}: {h.read_file(self.log)}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def unix_http_get(path, target, timeout=2.0):
    """(status, body) of GET target over the unix socket `path`; (0, error) when it fails."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(f"GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
        return status, body.decode("utf-8", "replace")
    except OSError as e:
        return 0, str(e)
    finally:
        s.close()


def hung_socket(ws):
    """A unix socket that takes connections (the kernel's backlog) and never answers."""
    path = ws.path("hung.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(64)
    ws.defer(s.close)
    return path


def labelled_sensor(ws, sockets):
    sensor = h.Sensor(BW, None, extra=[x for p in sockets for x in ("--runtime-socket", p)])
    ws.defer(sensor.kill)
    return sensor.start().wait_ready()


def stopped_line(sensor):
    return next((l for l in sensor.stderr_lines() if l.startswith("barbwire: stopped after")), "")


def case_runtime_labels():
    """A real `podman system service` on a socket in the test's directory, given with
    --runtime-socket. A container started with --label team=payments --label app=x
    waits 2 s (the sensor asks the API when it sees the container's first exec, off
    the event loop), then reads its key and sends it to 127.0.0.1: the alert's
    container.labels holds both labels, besides the state files' name and image. The
    exit line counts the answer."""
    h.require_root_and_sensor()
    ws = h.Workspace()
    try:
        img = Image(ws)
        svc = PodmanService(ws)
        sensor = labelled_sensor(ws, [svc.sock])
        lst = h.DataListener("127.0.0.1")
        ws.defer(lst.close)
        name = f"bw-e2e-{secrets.token_hex(4)}"
        cid = img.start_labelled(name, ["team=payments", "app=x"], "sleep", "2", "read", "/root/.ssh/id_rsa",
                                 "connect", "127.0.0.1", str(lst.port), "send", "sleep", "5")
        check(lst.received(b"BEGIN OPENSSH PRIVATE KEY", timeout=30),
              f"the listener did not receive the key from the container: {lst.streams}")
        got = sensor.wait_for(lambda a: (a.get("container") or {}).get("id") == cid)
        check(len(got) == 1, f"expected one alert for container {cid}, got {got}\nsensor stderr:\n{sensor.stderr()}")
        c = got[0]["container"]
        labels = c.get("labels")
        check(isinstance(labels, dict) and labels.get("team") == "payments" and labels.get("app") == "x",
              f"container.labels {labels!r} lacks team=payments, app=x; {ctx(got[0])}\n{sensor.stderr()}")
        check(c.get("name") == name and c.get("image") == img.ref and c.get("verified") is True,
              f"the container's name, image or verification changed; {ctx(got[0])}")
        img.wait(name)
        sensor.stop_cleanly()
        line = stopped_line(sensor)
        m = re.search(r"runtime API: (\d+) asked, (\d+) answered", line)
        check(m is not None and int(m.group(2)) >= 1, f"the exit line counts no runtime API answer: {line}")
        print(f"labels {labels}; {line.split('; containers: ')[1].split('; outputs')[0]}")
    finally:
        ws.cleanup()


def case_runtime_socket_dead():
    """The runtime's sockets give no answer: podman's service was killed (its socket
    file is left, with no one listening) and a second socket takes connections but
    never answers (the 1 s limit). A container with labels reads its key and sends it
    at once: the alert comes within the usual deadline, with the container named from
    the state files and no labels; the event loop was not held up (a host attack right
    after alerts within the deadline too). The exit line counts the unanswered ask."""
    h.require_root_and_sensor()
    ws = h.Workspace()
    try:
        img = Image(ws)
        svc = PodmanService(ws)
        svc.kill()
        check(os.path.exists(svc.sock), "the killed service's socket file is gone")
        hung = hung_socket(ws)
        sensor = labelled_sensor(ws, [svc.sock, hung])
        lst = h.DataListener("127.0.0.1")
        ws.defer(lst.close)
        name = f"bw-e2e-{secrets.token_hex(4)}"
        t0 = time.monotonic()
        cid = img.start_labelled(name, ["team=payments"], "read", "/root/.ssh/id_rsa", "connect", "127.0.0.1",
                                 str(lst.port), "send", "sleep", "3")
        check(lst.received(b"BEGIN OPENSSH PRIVATE KEY", timeout=30),
              f"the listener did not receive the key from the container: {lst.streams}")
        got = sensor.wait_for(lambda a: (a.get("container") or {}).get("id") == cid)
        check(len(got) == 1, f"expected one alert for container {cid} within {h.ALERT_TIMEOUT} s of the send, "
                             f"got {got}\nsensor stderr:\n{sensor.stderr()}")
        c = got[0]["container"]
        check(c.get("labels") == {}, f"labels with no runtime answer: {c.get('labels')!r}")
        check(c.get("name") == name and c.get("verified") is True, f"the state files' name is missing; {ctx(got[0])}")
        # The loop goes on while the worker waits on the hung socket: a host attack alerts in time.
        actor = static_actor(ws)
        home = ws.path("home")
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        key = os.path.realpath(os.path.join(home, ".ssh", "id_rsa"))
        h.write_file(key, DUMMY_KEY, mode=0o600)
        lst2 = h.DataListener("127.0.0.1")
        ws.defer(lst2.close)
        sh = h.Shell(f"{actor} read {key} connect 127.0.0.1 {lst2.port} send")
        sh.wait()
        host = sensor.wait_for(lambda a: h.in_session(a, sh.leader))
        check(len(host) == 1 and host[0].get("container") is None,
              f"the host attack did not alert in time: {host}\n{sensor.stderr()}")
        img.wait(name)
        sensor.stop_cleanly()
        line = stopped_line(sensor)
        m = re.search(r"runtime API: (\d+) asked, (\d+) answered, (\d+) unanswered", line)
        check(m is not None and int(m.group(1)) >= 1 and int(m.group(2)) == 0 and int(m.group(3)) >= 1,
              f"the exit line does not count an unanswered ask: {line}")
        print(f"no labels, alert in time ({time.monotonic() - t0:.1f} s for the whole container run); "
              f"{line.split('; containers: ')[1].split('; outputs')[0]}")
    finally:
        ws.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "container_test"))
