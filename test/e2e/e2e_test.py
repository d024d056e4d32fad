#!/usr/bin/env python3
"""End-to-end tests of the live sensor: real kernel, real processes, loopback only.

  e2e_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as its own test in
suite 'e2e'. They need root and a build with the sensor; otherwise they exit
77 (skip), or 1 when CI=true. See README.md in this directory.
"""
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import check  # noqa: E402

BW = ""
ROOT = ""

SHADOW = "/etc/shadow"
CRED = "credential access"
SSH = "ssh key exfiltration"

DUMMY_KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBiYXJid2lyZS1lMmUtdGVzdC1rZXktbm90LWEtcmVhbC1vbmUAAAAA
-----END OPENSSH PRIVATE KEY-----
"""


def seed_config_text():
    return h.read_file(os.path.join(ROOT, "test", "config", "seed-barbwire-config.yml"))


# Which rules the cases run with: "seed" (a copy of the seed's config file),
# or "builtin" (no --config) for the case_builtin_* variants registered below.
RULES = "seed"


def config_copy(ws, text=None, name="barbwire-config.yml"):
    """The rules file for the sensor: the seed's (or `text`), or None for the built-in rules."""
    if text is None and RULES == "builtin":
        return None
    return h.write_file(ws.path(name), seed_config_text() if text is None else text)


def rules_text(text=None):
    """What an attack's prepare() returns: the seed's rules (or `text`), or None for the
    built-in rules."""
    if text is None and RULES == "builtin":
        return None
    return seed_config_text() if text is None else text


def dns_policy():
    """The rules' `dns` block (issue 12): the built-in rules' own, or the defaults a
    rules file without one gets (the seed's: port 53, category dns, 0 points)."""
    default = {"ports": [53], "category": "dns", "modifier": 0, "max_query_bytes": 512, "oversize_modifier": 0}
    if RULES == "builtin":
        return {**default, **h.builtin_rules_json(ROOT).get("dns", {})}
    return default


def with_dns(want, nbytes):
    """`want` (expect()'s) for a send of `nbytes` to DNS's port: the dns part follows the
    file's category in the breakdown (docs/scoring.md), and the score and severity move."""
    dns = dns_policy()
    if nbytes > dns["max_query_bytes"]:
        part = {"reason": f"{dns['category']}: {nbytes} bytes, larger than a name lookup",
                "points": dns["oversize_modifier"]}
    else:
        part = {"reason": f"{dns['category']}: a name-lookup-sized send", "points": dns["modifier"]}
    bd = [want["breakdown"][0], part, *want["breakdown"][1:]]
    score = sum(x["points"] for x in bd)
    if RULES == "builtin":
        th = h.builtin_rules_json(ROOT)["severity_thresholds"]
    else:
        th = {"high": 5, "medium": 3}                                         # the seed's
    sev = "HIGH" if score >= th["high"] else "MEDIUM" if score >= th["medium"] else "LOW"
    return {**want, "breakdown": bd, "score": score, "severity": sev}


def expect(path, dns_bytes=None):
    """What the actor's alert must say of `path` (an actor is python under bash under
    timeout): check_alert's category, score, severity and score_breakdown, under RULES.
    dns_bytes: the alert is a send of that many bytes to DNS's port (with_dns)."""
    if dns_bytes is not None:
        return with_dns(expect(path), dns_bytes)
    if RULES == "seed":
        cat = CRED if path == SHADOW else SSH
        return {"category": cat, "score": 5, "severity": "HIGH", "breakdown": h.seed_score_breakdown(cat)}
    rules = h.builtin_rules_json(ROOT)
    best = None
    for c in rules["suspicious_files"]:
        if not c.get("context") and any(p in path for p in c["patterns"]):
            if best is None or c["base_score"] > best["base_score"]:
                best = c
    check(best is not None, f"no built-in category matches {path}; update this test")
    parts = [{"reason": best["category"], "points": best["base_score"]}]
    for kind, rel, comm in (("suspicious", "parent", "bash"), ("suspicious", "grandparent", "timeout"),
                            ("legit", "parent", "bash"), ("legit", "grandparent", "timeout")):
        for r in rules.get(kind + "_parents", []):
            if r.get("program", r.get("comm")) == comm:
                parts.append({"reason": f"{kind} {rel}: {comm}", "points": r["modifier"]})
                break
    score = sum(x["points"] for x in parts)
    th = rules["severity_thresholds"]
    sev = "HIGH" if score >= th["high"] else "MEDIUM" if score >= th["medium"] else "LOW"
    return {"category": best["category"], "score": score, "severity": sev, "breakdown": parts}


def shadow_then_tcp(sensor, listener, addr="127.0.0.1", family="ipv4"):
    """Scenario 1 as a reusable step: an actor reads /etc/shadow and connects at once.
    The actor's timeout is the leader of a session of its own, so under the built-in
    rules (which correlate families and rate-limit per session) no other actor of the
    test is ever part of its family or its incident."""
    actor = h.Actor(h.read_snippet(SHADOW) + h.tcp_connect_snippet(addr, listener.port), new_session=True)
    rep = actor.run()
    check(listener.accepted_from(int(rep["local_port"])),
          f"the listener never saw the actor's connection from port {rep['local_port']}")
    got = sensor.wait_alert(actor.pid)
    check(got, f"no alert for actor pid {actor.pid} within {h.ALERT_TIMEOUT} s; stderr:\n{sensor.stderr()}")
    return actor


def expect_shadow_alert(a, actor, port, addr="127.0.0.1", family="ipv4"):
    h.check_alert(a, actor, path=SHADOW, addr=addr, port=port, family=family, **expect(SHADOW))


def alerts_of(sensor, actor):
    """The alerts of `actor`: its pid, in its session (its timeout is the leader), so
    that under a shared sensor a later process that got the same pid is never taken
    for it."""
    return [a for a in sensor.alerts(actor.pid) if h.in_session(a, actor.timeout_pid)]


def one_alert(sensor, actor):
    """After the sensor stopped: the one alert of `actor`."""
    got = alerts_of(sensor, actor)
    check(len(got) == 1, f"expected exactly one alert for actor pid {actor.pid} (session {actor.timeout_pid}), "
                         f"got {len(got)}: {got}\nsensor stderr:\n{sensor.stderr()}")
    return got[0]


def replay_options(sensor):
    """The rules and baseline options `sensor` ran with, for a replay of its trace."""
    out, args = [], sensor.args
    for i, x in enumerate(args[:-1]):
        if x in ("--config", "--baseline", "--baseline-mode"):
            out += [x, args[i + 1]]
    return out


# --------------------------------------------------------------------------- attack cases
#
# Each attack is a factory attack_NAME() returning an h.Attack: prepare(ws) before the
# sensor starts (files, and the rules: rules_text()), and a body that attacks, yields
# while the sensor stops, then checks. case_NAME runs it under a sensor of its own
# (h.run_attack); baseline_test.py runs the BUILTIN_VARIANTS together under one
# `run --baseline` (h.run_attacks_together). Every actor is in a session of its own.

def attack_shadow_tcp():
    """1. python reads /etc/shadow, connects to 127.0.0.1: one HIGH alert (3 + bash 2)."""
    def body(ws, sensor, lst):
        actor = shadow_then_tcp(sensor, lst)
        yield
        expect_shadow_alert(one_alert(sensor, actor), actor, lst.port)
    return h.Attack("shadow_tcp", body, lambda ws: rules_text(), listener="tcp")


def attack_ssh_key_relative():
    """2. ~/.ssh/id_rsa in a temp HOME, opened as 'id_rsa' after chdir: absolute path in the alert."""
    paths = {}

    def prepare(ws):
        home = ws.path("home")
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        key = h.write_file(os.path.join(home, ".ssh", "id_rsa"), DUMMY_KEY, mode=0o600)
        want_path = os.path.join(os.path.realpath(home), ".ssh", "id_rsa")
        check(os.path.realpath(key) == want_path, "temp HOME realpath mismatch")
        paths.update(home=home, want=want_path)
        return rules_text()

    def body(ws, sensor, lst):
        code = ("os.chdir(os.path.join(os.environ['HOME'], '.ssh'))\n"
                + h.read_snippet("id_rsa") + h.tcp_connect_snippet("127.0.0.1", lst.port))
        actor = h.Actor(code, home=paths["home"], new_session=True)
        rep = actor.run()
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the actor's connection")
        sensor.wait_alert(actor.pid)
        yield
        a = one_alert(sensor, actor)
        h.check_alert(a, actor, path=paths["want"], addr="127.0.0.1", port=lst.port,
                      family="ipv4", **expect(paths["want"]))
    return h.Attack("ssh_key_relative", body, prepare, listener="tcp")


def attack_symlink_shadow():
    """3. /tmp/<unique>/x -> /etc/shadow opened through the link: the alert names /etc/shadow."""
    def prepare(ws):
        os.symlink(SHADOW, ws.path("x"))
        return rules_text()

    def body(ws, sensor, lst):
        actor = h.Actor(h.read_snippet(ws.path("x")) + h.tcp_connect_snippet("127.0.0.1", lst.port),
                        new_session=True)
        rep = actor.run()
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the actor's connection")
        sensor.wait_alert(actor.pid)
        yield
        # A sensor reporting the user-space name would say /tmp/.../x ("staging area", score 4).
        expect_shadow_alert(one_alert(sensor, actor), actor, lst.port)
    return h.Attack("symlink_shadow", body, prepare, listener="tcp")


def attack_udp_sendto_53():
    """4. read /etc/shadow, UDP sendto 127.0.0.1:53 with port 53 removed from the whitelist.
    Under the built-in rules (builtin_udp_sendto_53), which have no allowlist since issue 12,
    the built-in rules as they are (when they still allowlist 53: their JSON with only 53
    taken out of whitelist.ports). The 12-byte datagram is lookup-sized: the rules' dns
    part (the built-in -2, the seed's default 0) follows the category in the breakdown,
    and destination.category is dns."""
    def prepare(ws):
        if RULES == "builtin":
            rules = h.builtin_rules_json(ROOT)
            ports = (rules.get("whitelist") or {}).get("ports", [])
            if 53 not in ports:
                return None        # issue 12: no blanket allowlist, the built-in rules as they are
            rules["whitelist"]["ports"] = [p for p in ports if p != 53]
            return json.dumps(rules, indent=1) + "\n"          # JSON is YAML
        text = seed_config_text()
        new = text.replace("  ports:\n    - 53\n", "  ports: []\n")
        check(new != text, "seed config changed shape (whitelist ports: - 53); update this test")
        return new

    def body(ws, sensor, _):
        rcv = None
        try:
            try:  # receive it if we can own 127.0.0.1:53; sendto succeeds either way
                rcv = h.UdpReceiver("127.0.0.1", 53)
            except OSError as e:
                print(f"note: cannot bind 127.0.0.1:53 ({e}); sending to it unbound")
            actor = h.Actor(h.read_snippet(SHADOW) + h.udp_sendto_snippet("127.0.0.1", 53), new_session=True)
            rep = actor.run()
            if rcv is not None:
                check(rcv.received_from(int(rep["local_port"])), "the receiver on 127.0.0.1:53 got nothing")
            check(sensor.wait_alert(actor.pid), f"no alert for the UDP send; stderr:\n{sensor.stderr()}")
            yield
            a = one_alert(sensor, actor)
            want = expect(SHADOW, dns_bytes=len(b"barbwire-e2e"))
            h.check_alert(a, actor, path=SHADOW, addr="127.0.0.1", port=53, family="ipv4",
                          op="send", protocol="udp", **want)
            cat = (a.get("destination") or {}).get("category")
            check(cat == dns_policy()["category"], f"destination.category {cat!r} != {dns_policy()['category']!r}; "
                                                   f"alert: {json.dumps(a, sort_keys=True)}")
        finally:
            if rcv is not None:
                rcv.close()
    return h.Attack("udp_sendto_53", body, prepare)


def kernel_filter_on(sensor):
    """Whether `sensor` ran with the in-kernel filter (the default; --kernel-filter off disables it)."""
    args = list(sensor.args)
    if "--kernel-filter" in args:
        i = args.index("--kernel-filter")
        return i + 1 < len(args) and args[i + 1] == "on"
    return not any(a == "--kernel-filter=off" for a in args)


def cold_connects(sensor):
    """From the stats line a stopped sensor printed: how many connects/sends the
    kernel dropped as cold ("..., N of M connects/sends dropped as cold, ...")."""
    for line in sensor.stderr_lines():
        m = re.search(r"(\d+) of \d+ connects/sends dropped as cold", line)
        if m:
            return int(m.group(1))
    raise h.Failure(f"no kernel filter summary in the sensor's stderr:\n{sensor.stderr()}")


def attack_outside_window_and_no_read():
    """5. read then connect 7 s later (5 s window): no alert; connect without a read: no alert.
    Recorded, so the trace proves the sensor saw the late actor's read (the silence is the
    window's doing, not blindness), and a positive control in the same run must alert. With
    the in-kernel filter on (the default) the late connect must be absent from the trace:
    the kernel drops it as cold, the window having passed, and the stats line counts it;
    with --kernel-filter off the trace holds both connects.
    The built-in rules' window is 5 s too (builtin_outside_window_and_no_read runs them
    unchanged); each actor is in a session of its own, so their families never meet.
    Rules that hold a secret past the window (issue 12, `held`: the built-in rules; the
    seed's file has no `held` and so none) would rightly alert on a process that read
    and sent 7 s later itself (egress_test.py held_past_window): there the late actor's
    read is made by a child it forked before, which exits; the actor, which never read
    and inherited nothing, connects 7 s later, a relative past the window."""
    def prepare(ws):
        if RULES == "builtin":
            window = h.builtin_rules_json(ROOT)["window_duration"]
            check(window == 5, f"the built-in rules' window is {window} s, not 5 s; update this test")
        else:
            check("window_duration: 5\n" in seed_config_text(), "seed config window is not 5 s; update this test")
        return rules_text()

    def body(ws, sensor, lst):
        actors = []
        held = RULES == "builtin" and (h.builtin_rules_json(ROOT).get("held") or {}).get("enabled", False)
        read = h.read_snippet(SHADOW)
        if held:   # a child reads and exits: the actor holds nothing
            read = ("pid = os.fork()\n"
                    "if pid == 0:\n"
                    f"    {read.strip()}\n"
                    "    print('reader', os.getpid(), flush=True)\n"
                    "    os._exit(0)\n"
                    "assert os.waitpid(pid, 0)[1] == 0\n")
        try:
            late = h.Actor(read + "time.sleep(7)\n" + h.tcp_connect_snippet("127.0.0.1", lst.port), new_session=True)
            actors.append(late)
            late.go()
            t0 = time.monotonic()
            noread = h.Actor(h.tcp_connect_snippet("127.0.0.1", lst.port), new_session=True)
            actors.append(noread)
            rep_noread = noread.run()
            control = shadow_then_tcp(sensor, lst)       # positive control, meanwhile
            rep_late = late.wait(timeout=20)
            check(time.monotonic() - t0 >= 7, "late actor finished too early")
            for name, rep in (("no-read", rep_noread), ("late", rep_late)):
                check(lst.accepted_from(int(rep["local_port"])), f"the listener never saw the {name} actor's connection")
            time.sleep(2.5)                               # give a wrong alert time to show up
            yield
            check(alerts_of(sensor, late) == [],
                  f"connect 7 s after the read (window 5 s) alerted: {alerts_of(sensor, late)}")
            check(alerts_of(sensor, noread) == [],
                  f"connect without any sensitive read alerted: {alerts_of(sensor, noread)}")
            expect_shadow_alert(one_alert(sensor, control), control, lst.port)

            events = h.read_trace(ws.trace)
            ev = {a.pid: [e for e in events if e.get("pid") == a.pid] for a in (late, noread)}
            reader = int(rep_late["reader"]) if held else late.pid
            opens = [e for e in events if e.get("pid") == reader and e.get("kind") == "open" and e.get("path") == SHADOW]
            conns = [e for e in ev[late.pid] if e.get("kind") == "connect" and e.get("port") == lst.port]
            check(len(opens) == 1, f"the trace should hold the late reader's open of {SHADOW} (pid {reader}): "
                                   f"{[e for e in events if e.get('pid') == reader]}")
            if kernel_filter_on(sensor):
                # The kernel drops a connect whose family had no possibly sensitive open
                # within the window (docs/kernel.md, "In-kernel filtering"): the late
                # actor's only one was 7 s before. The sensor counts what it dropped.
                check(conns == [], f"with the kernel filter on, the late actor's connect 7 s after its read "
                                   f"(window 5 s) should have been dropped in the kernel as cold: {conns}")
                cold = cold_connects(sensor)
                check(cold >= 1, f"the sensor's stats line counts {cold} connects dropped as cold, expected >= 1:\n"
                                 f"{sensor.stderr()}")
            else:
                check(len(conns) == 1, f"the trace should hold the late actor's connect: {ev[late.pid]}")
                gap = conns[0]["ts"] - opens[0]["ts"]
                check(gap >= 7_000_000_000, f"late actor's connect came {gap} ns after the open, expected >= 7 s")
                check(any(e.get("kind") == "connect" and e.get("port") == lst.port for e in ev[noread.pid]),
                      f"the trace has no connect of the no-read actor: {ev[noread.pid]}")
            sensitive = [e for e in ev[noread.pid] if e.get("kind") == "open"
                         and any(p in e.get("path", "") for p in h.SEED_PATTERNS)]
            check(sensitive == [], f"the no-read actor opened sensitive files after all: {sensitive}")
        finally:
            for a in actors:
                a.kill()
    return h.Attack("outside_window_and_no_read", body, prepare, listener="tcp", record=True)


def attack_ipv6_loopback():
    """6. read /etc/shadow, connect to [::1]: address ::1, family ipv6."""
    try:
        h.TcpListener("::1").close()
    except OSError as e:
        h.skip_or_fail(f"no IPv6 loopback on this host: {e}")

    def body(ws, sensor, _):
        lst = h.TcpListener("::1")
        try:
            actor = shadow_then_tcp(sensor, lst, addr="::1", family="ipv6")
            yield
            expect_shadow_alert(one_alert(sensor, actor), actor, lst.port, addr="::1", family="ipv6")
        finally:
            lst.close()
    return h.Attack("ipv6_loopback", body, lambda ws: rules_text())


def attack_record_replay():
    """7. `barbwire record FILE` during scenario 1; `replay FILE` (with the rules and the
    baseline the sensor ran with) gives the same alert."""
    def body(ws, sensor, lst):
        actor = shadow_then_tcp(sensor, lst)
        yield
        live = one_alert(sensor, actor)
        expect_shadow_alert(live, actor, lst.port)

        events = h.read_trace(ws.trace)
        execs = {e.get("pid") for e in events if e.get("kind") == "exec"}
        # processes older than the sensor are seeded from /proc as exec lines
        check(os.getpid() in execs, f"trace has no exec line for the (pre-existing) test process {os.getpid()}")
        check(1 in execs, "trace has no exec line for pid 1")
        mine = [e for e in events if e.get("pid") == actor.pid]
        check(any(e.get("kind") == "exec" for e in mine), f"trace has no exec of the actor: {mine}")
        want = h.sha256_of(h.PY_REAL)
        check([e.get("sha256") for e in mine if e.get("kind") == "exec"][-1] == want,
              f"the actor's exec line should carry sha256 {want}: {mine}")
        check(any(e.get("kind") == "open" and e.get("path") == SHADOW for e in mine),
              f"trace has no open of {SHADOW} by the actor: {mine}")
        check(any(e.get("kind") == "connect" and e.get("port") == lst.port for e in mine),
              f"trace has no connect to port {lst.port} by the actor: {mine}")

        p = subprocess.run([BW, "replay", ws.trace, *replay_options(sensor), "--format", "json"],
                           capture_output=True, timeout=120)
        err = p.stderr.decode(errors="replace")
        check(p.returncode == 0, f"replay exit {p.returncode}: {err}")
        replayed = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
        mine = [a for a in replayed if a.get("type") != "summary" and a["process"]["pid"] == actor.pid
                and h.in_session(a, actor.timeout_pid)]
        check(len(mine) == 1, f"replay: expected one alert for pid {actor.pid}, got {mine}")
        r = mine[0]

        def key(a):
            return {"severity": a["severity"], "score": a["score"], "file.path": a["file"]["path"],
                    "destination": a["destination"], "process.pid": a["process"]["pid"],
                    "process.exe": a["process"]["exe"], "process.sha256": a["process"]["sha256"],
                    "parent.sha256": (a.get("parent") or {}).get("sha256"), "baseline": a.get("baseline")}
        check(live["process"]["sha256"] == want, f"live alert's process.sha256 is not python's {want}: {live}")
        check(key(r) == key(live), f"replayed alert differs from the live one:\nlive   {key(live)}\nreplay {key(r)}")
    return h.Attack("record_replay", body, lambda ws: rules_text(), listener="tcp", record=True)


def attack_exe_sha256():
    """Scenario 1's alert names the binaries by content: process.sha256 is the SHA-256 of
    realpath(sys.executable) as hashlib computes it, parent.sha256 that of bash, and the
    final stats line accounts for the hashing."""
    def body(ws, sensor, lst):
        actor = shadow_then_tcp(sensor, lst)
        yield
        a = one_alert(sensor, actor)
        expect_shadow_alert(a, actor, lst.port)
        ctx = f"alert: {json.dumps(a, sort_keys=True)}"
        want = h.sha256_of(h.PY_REAL)
        check(a["process"].get("sha256") == want,
              f"process.sha256 {a['process'].get('sha256')!r} != sha256({h.PY_REAL}) {want!r}; {ctx}")
        bash = os.path.realpath(shutil.which("bash") or "/bin/bash")
        check((a.get("parent") or {}).get("sha256") == h.sha256_of(bash),
              f"parent.sha256 != sha256({bash}) {h.sha256_of(bash)!r}; {ctx}")
        tmo = os.path.realpath(shutil.which("timeout") or "/usr/bin/timeout")
        check((a.get("grandparent") or {}).get("sha256") == h.sha256_of(tmo),
              f"grandparent.sha256 != sha256({tmo}) {h.sha256_of(tmo)!r}; {ctx}")
        final = [l for l in sensor.stderr_lines() if l.startswith("barbwire: stopped after ")]
        check(len(final) == 1 and "; exe sha256: " in final[0],
              f"the final stats line should account for the exe hashes:\n{sensor.stderr()}")
        hashed = int(final[0].split("; exe sha256: ", 1)[1].split(" hashed", 1)[0])
        check(hashed >= 3, f"python, bash and timeout at least were hashed, the stats say {hashed}: {final[0]}")
    return h.Attack("exe_sha256", body, lambda ws: rules_text(), listener="tcp")


def attack_renamed_copy_systemd():
    """Evasion by name: a copy of the python binary at /tmp/systemd reads /etc/shadow
    and connects. The alert shows that path as exe and python's SHA-256; the name buys
    nothing (same score as plain python)."""
    paths = {}

    def prepare(ws):
        # The literal /tmp/systemd when it is free (created exclusively,
        # removed afterwards); a unique directory's systemd otherwise.
        fake = "/tmp/systemd"
        try:
            fd = os.open(fake, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
            os.close(fd)
            ws.defer(lambda: os.unlink("/tmp/systemd"))
        except FileExistsError:
            os.makedirs(ws.path("evasion"))
            fake = ws.path("evasion", "systemd")
        shutil.copyfile(h.PY_REAL, fake)
        os.chmod(fake, 0o755)
        check(h.sha256_of(fake) == h.sha256_of(h.PY_REAL), "the copy of python differs from python")
        paths["fake"] = fake
        return rules_text()

    def body(ws, sensor, lst):
        fake = paths["fake"]
        actor = h.Actor(h.read_snippet(SHADOW) + h.tcp_connect_snippet("127.0.0.1", lst.port), python=fake,
                        new_session=True)
        rep = actor.run()
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the actor's connection")
        check(sensor.wait_alert(actor.pid), f"no alert for the renamed python copy; stderr:\n{sensor.stderr()}")
        yield
        a = one_alert(sensor, actor)
        h.check_alert(a, actor, path=SHADOW, addr="127.0.0.1", port=lst.port, family="ipv4",
                      exe=fake, comm="systemd", **expect(SHADOW))
        want = h.sha256_of(h.PY_REAL)
        check(a["process"].get("sha256") == want,
              f"process.sha256 {a['process'].get('sha256')!r} != python's {want!r}; alert: {json.dumps(a)}")
    return h.Attack("renamed_copy_systemd", body, prepare, listener="tcp")


def attack_prctl_sshd():
    """A process that renames itself 'sshd' (prctl PR_SET_NAME) before reading /etc/shadow and
    connecting is still alerted, with its real exe and SHA-256."""
    def body(ws, sensor, lst):
        rename = ("import ctypes\n"
                  "libc = ctypes.CDLL(None, use_errno=True)\n"
                  "assert libc.prctl(15, b'sshd', 0, 0, 0) == 0\n"      # PR_SET_NAME
                  "name = ctypes.create_string_buffer(16)\n"
                  "assert libc.prctl(16, name, 0, 0, 0) == 0\n"         # PR_GET_NAME
                  "print('comm', name.value.decode(), flush=True)\n")
        actor = h.Actor(rename + h.read_snippet(SHADOW) + h.tcp_connect_snippet("127.0.0.1", lst.port),
                        new_session=True)
        rep = actor.run()
        check(rep.get("comm") == "sshd", f"the actor did not rename itself: {rep}")
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the actor's connection")
        check(sensor.wait_alert(actor.pid), f"no alert for the process calling itself sshd; stderr:\n{sensor.stderr()}")
        yield
        a = one_alert(sensor, actor)
        comm = a.get("process", {}).get("comm")
        check(comm in (os.path.basename(h.PY)[:15], "sshd"), f"process.comm {comm!r}; alert: {json.dumps(a)}")
        h.check_alert(a, actor, path=SHADOW, addr="127.0.0.1", port=lst.port, family="ipv4",
                      comm=comm, **expect(SHADOW))
        want = h.sha256_of(h.PY_REAL)
        check(a["process"].get("sha256") == want,
              f"process.sha256 {a['process'].get('sha256')!r} != python's {want!r}; alert: {json.dumps(a)}")
    return h.Attack("prctl_sshd", body, lambda ws: rules_text(), listener="tcp")


ATTACKS = ("shadow_tcp", "ssh_key_relative", "symlink_shadow", "udp_sendto_53", "outside_window_and_no_read",
           "ipv6_loopback", "record_replay", "exe_sha256", "renamed_copy_systemd", "prctl_sshd")


h.register_attack_cases(globals(), ATTACKS)


def case_sighup_broken_config():
    """8. SIGHUP with a broken --config file: reload fails, old rules stay, still alerts."""
    h.require_root_and_sensor()
    ws, sensor, lst = h.Workspace(), None, None
    try:
        cfg = config_copy(ws)
        lst = h.TcpListener("127.0.0.1")
        sensor = h.Sensor(BW, cfg).start().wait_ready()
        h.write_file(cfg, "window_duration: 5\nsuspicious_files: [\n  - {{{ garbage\n\x01\n")
        sensor.send(signal.SIGHUP)
        line = sensor.wait_stderr("barbwire: config reload failed, keeping the previous rules: ")
        check(line is not None, f"no 'config reload failed' line after SIGHUP; stderr:\n{sensor.stderr()}")
        check(sensor.running(), f"sensor exited after a failed reload; stderr:\n{sensor.stderr()}")
        actor = shadow_then_tcp(sensor, lst)
        sensor.stop_cleanly()
        expect_shadow_alert(h.exactly_one(sensor, actor), actor, lst.port)
        check(not any(l.startswith("barbwire: config reloaded from") for l in sensor.stderr_lines()),
              f"a garbage config was reported as reloaded:\n{sensor.stderr()}")
    finally:
        cleanup(sensor, lst, ws)


def case_sighup_reload_ok():
    """SIGHUP with a valid new config takes effect: whitelisting the listener's port silences
    the alert; another port still alerts."""
    h.require_root_and_sensor()
    ws, sensor, lst, lst2 = h.Workspace(), None, None, None
    try:
        cfg = config_copy(ws)
        lst = h.TcpListener("127.0.0.1")
        lst2 = h.TcpListener("127.0.0.1")
        sensor = h.Sensor(BW, cfg).start().wait_ready()
        text = seed_config_text()
        new = text.replace("  ports:\n    - 53\n", f"  ports:\n    - 53\n    - {lst.port}\n")
        check(new != text, "seed config changed shape (whitelist ports: - 53); update this test")
        h.write_file(cfg, new)
        sensor.send(signal.SIGHUP)
        line = sensor.wait_stderr("barbwire: config reloaded from ")
        check(line is not None and cfg in line, f"no 'config reloaded from {cfg}' line; stderr:\n{sensor.stderr()}")
        quiet = h.Actor(h.read_snippet(SHADOW) + h.tcp_connect_snippet("127.0.0.1", lst.port))
        rep = quiet.run()
        check(lst.accepted_from(int(rep["local_port"])), "the listener never saw the actor's connection")
        loud = shadow_then_tcp(sensor, lst2)
        time.sleep(1.0)
        sensor.stop_cleanly()
        check(sensor.alerts(quiet.pid) == [], f"whitelisted port alerted after reload: {sensor.alerts(quiet.pid)}")
        expect_shadow_alert(h.exactly_one(sensor, loud), loud, lst2.port)
    finally:
        cleanup(sensor, lst, ws, lst2)


def case_sigterm_clean_exit():
    """SIGTERM, like SIGINT, ends the sensor cleanly: exit 0, final stats on stderr after
    the ready line, and alerts already made are on stdout."""
    h.require_root_and_sensor()
    ws, sensor, lst = h.Workspace(), None, None
    try:
        cfg = config_copy(ws)
        lst = h.TcpListener("127.0.0.1")
        sensor = h.Sensor(BW, cfg).start().wait_ready()
        actor = shadow_then_tcp(sensor, lst)
        sensor.stop_cleanly(signal.SIGTERM)
        lines = sensor.stderr_lines()
        i = next(n for n, l in enumerate(lines) if l.startswith(h.READY_PREFIX))
        after = [l for l in lines[i + 1:] if l.strip()]
        check(after and all(l.startswith("barbwire: ") for l in after),
              f"expected final stats ('barbwire: ...') on stderr after SIGTERM:\n{sensor.stderr()}")
        expect_shadow_alert(h.exactly_one(sensor, actor), actor, lst.port)
    finally:
        cleanup(sensor, lst, ws)


def case_not_root():
    """9. As an unprivileged user: one 'barbwire: ' line about root/CAP_BPF, exit 2."""
    h.sensor_built_or_skip()
    ws = h.Workspace()
    try:
        # a copy nobody can execute, whatever the checkout's directory permissions
        exe = ws.path("barbwire")
        shutil.copy2(BW, exe)
        os.chmod(exe, 0o755)
        cfg = config_copy(ws)
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv:
                prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
            elif shutil.which("runuser"):
                prefix = [shutil.which("runuser"), "-u", "nobody", "--"]
            else:
                h.skip_or_fail("neither setpriv nor runuser is installed to drop root")
        else:
            prefix = []  # already unprivileged
        try:
            p = subprocess.run(prefix + [exe, "run", "--config", cfg, "--format", "json"],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=20, cwd="/")
        except subprocess.TimeoutExpired as e:
            raise h.Failure(f"the unprivileged sensor was still running after 20 s instead of exiting 2; "
                            f"stderr: {(e.stderr or b'').decode(errors='replace')!r}")
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        if "not in this build" in err:
            h.skip_or_fail("barbwire run says the live sensor is not in this build: " + err.strip())
        lines = [l for l in err.splitlines() if l.strip()]
        check(p.returncode == 2, f"exit {p.returncode}, expected 2; stderr: {err!r}")
        check(len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}: {err!r}")
        check(lines[0].startswith("barbwire: "), f"error line should start with 'barbwire: ': {lines[0]!r}")
        check("root" in lines[0] or "CAP_BPF" in lines[0], f"error line should mention root or CAP_BPF: {lines[0]!r}")
        check(out == "", f"nothing on stdout expected: {out!r}")
    finally:
        ws.cleanup()


def run_in_private_mounts(setup_shell, extra_prefix=()):
    """Runs `barbwire run` in a private mount namespace (unshare -m) after
    `setup_shell` changed the mounts there; the host's mounts are untouched.
    Returns (exit code, stdout, stderr)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        h.skip_or_fail("unshare (util-linux) is not installed")
    ws = h.Workspace()
    try:
        cfg = config_copy(ws)
        script = setup_shell + ' && exec "$@"'
        cmd = [unshare, "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
               *extra_prefix, BW, "run", "--config", cfg, "--format", "json"]
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, cwd="/")
        except subprocess.TimeoutExpired as e:
            raise h.Failure(f"the sensor was still running after 20 s instead of exiting 2; "
                            f"stderr: {(e.stderr or b'').decode(errors='replace')!r}")
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    finally:
        ws.cleanup()


def check_one_line_failure(rc, out, err, *needles):
    lines = [l for l in err.splitlines() if l.strip()]
    check(rc == 2, f"exit {rc}, expected 2; stderr: {err!r}")
    check(len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}: {err!r}")
    check(lines[0].startswith("barbwire: "), f"error line should start with 'barbwire: ': {lines[0]!r}")
    for n in needles:
        check(n in lines[0], f"error line should mention {n!r}: {lines[0]!r}")
    check(out == "", f"nothing on stdout expected: {out!r}")


def case_no_btf():
    """A kernel without BTF: /sys/kernel/btf hidden under an empty tmpfs in a
    private mount namespace. One line naming BTF, exit 2."""
    h.require_root_and_sensor()
    rc, out, err = run_in_private_mounts("mount -t tmpfs -o ro,size=4k none /sys/kernel/btf")
    check_one_line_failure(rc, out, err, "BTF")


def case_tracefs_not_needed():
    """Issue 12: every program is tp_btf, which needs BTF and no tracefs. With every
    tracefs hidden in a private mount namespace and CAP_SYS_ADMIN dropped (CAP_BPF and
    CAP_PERFMON kept, enough to load BPF; not enough to mount tracefs), the sensor
    starts (one ready line), alerts on the issue-3 attack, and stops cleanly. (It
    used to need tracefs, and exited 2 naming it.)"""
    h.require_root_and_sensor()
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if unshare is None or setpriv is None:
        h.skip_or_fail("unshare and setpriv (util-linux) are needed")
    # Hide every tracefs: the canonical mount point and the debugfs one.
    hide = ("for d in /sys/kernel/tracing /sys/kernel/debug/tracing /sys/kernel/debug; do "
            "while mountpoint -q $d 2>/dev/null; do umount -l $d || exit 1; done; done; "
            "test ! -e /sys/kernel/tracing/events")
    ws, sensor, lst = h.Workspace(), None, None
    try:
        cfg = config_copy(ws)
        lst = h.TcpListener("127.0.0.1")
        sensor = h.Sensor(BW, cfg)
        sensor.args = [unshare, "--mount", "--propagation", "private", "--", "sh", "-c", hide + ' && exec "$@"', "sh",
                       setpriv, "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--", *sensor.args]
        sensor.start().wait_ready()
        actor = shadow_then_tcp(sensor, lst)
        sensor.stop_cleanly()
        expect_shadow_alert(h.exactly_one(sensor, actor), actor, lst.port)
        check(not any("tracefs" in l for l in sensor.stderr_lines()),
              f"the sensor spoke of tracefs, which it no longer needs:\n{sensor.stderr()}")
    finally:
        cleanup(sensor, lst, ws)


# --------------------------------------------------------------------------- driver

def cleanup(sensor, listener, ws, *more):
    h.teardown(sensor, listener, *more, ws)


# The issue-3 and -4 attacks again under the built-in rules (issue 5: every attack
# still alerts with the default rules): case_builtin_NAME runs case_NAME with RULES
# = "builtin". udp_sendto_53 runs with the built-in rules less their allowlisting of
# port 53 (see its docstring). Left out: the sighup cases test reloading, not detection.
BUILTIN_VARIANTS = ("shadow_tcp", "ssh_key_relative", "symlink_shadow", "udp_sendto_53",
                    "outside_window_and_no_read", "ipv6_loopback", "record_replay", "exe_sha256",
                    "renamed_copy_systemd", "prctl_sshd")


def _with_builtin_rules(case):
    def run():
        global RULES
        RULES = "builtin"
        case()
    run.__doc__ = f"{case.__doc__}\n(with the built-in rules)"
    return run


for _name in BUILTIN_VARIANTS:
    globals()["case_builtin_" + _name] = _with_builtin_rules(globals()["case_" + _name])


if __name__ == "__main__":
    sys.exit(h.run_cases(globals(), __doc__, "e2e_test"))
