#!/usr/bin/env python3
"""Command-line tests of the barbwire tool: what a user types, what they see.

  cli_test.py BARBWIRE SOURCE_ROOT CASE

Each CASE is one function below; meson registers each as its own test.
"""
import json
import os
import subprocess
import sys
import tempfile

BW = ""
ROOT = ""


def run(*args, stdin=None, input_bytes=None):
    p = subprocess.run([BW, *args], input=input_bytes, stdin=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def one_line_error(rc, err, want_rc, *needles):
    lines = [l for l in err.splitlines() if l.strip()]
    check(rc == want_rc, f"exit {rc}, expected {want_rc}; stderr: {err!r}")
    check(len(lines) == 1, f"expected exactly one error line, got {len(lines)}: {err!r}")
    check(lines[0].startswith("barbwire: "), f"error line should start with 'barbwire: ': {lines[0]!r}")
    for n in needles:
        check(n in lines[0], f"error line should mention {n!r}: {lines[0]!r}")


def path(*p):
    return os.path.join(ROOT, *p)


EXAMPLE = "examples/traces/shadow-exfil.jsonl"


def seed_config():
    return path("test", "config", "seed-barbwire-config.yml")


def case_help():
    rc, out, _ = run("--help")
    check(rc == 0 and "replay" in out and "run" in out, f"--help: rc={rc} out={out!r}")
    rc, out, _ = run("replay", "--help")
    check(rc == 0 and "--config" in out and "--format" in out, f"replay --help: rc={rc} out={out!r}")


def case_version():
    rc, out, _ = run("--version")
    check(rc == 0 and out.startswith("barbwire ") and out.strip().split()[1][0].isdigit(), f"--version: {out!r}")


def case_acceptance_2s_high():
    # python reads /etc/shadow at t=0, connects to 203.0.113.5:443 at t=2s: one HIGH alert, seed config
    rc, out, err = run("replay", path(EXAMPLE), "--config", seed_config())
    check(rc == 0, f"rc={rc} err={err}")
    check(out.count("barbwire alert") == 1, f"expected one boxed alert:\n{out}")
    check("HIGH" in out and "/etc/shadow" in out and "203.0.113.5" in out, f"alert text:\n{out}")
    rc, out, err = run("replay", path(EXAMPLE), "--config", seed_config(), "--format", "json")
    alerts = [json.loads(l) for l in out.splitlines() if l.strip()]
    check(len(alerts) == 1 and alerts[0]["severity"] == "HIGH", f"json: {out}")


def case_acceptance_6s_nothing():
    with open(path(EXAMPLE)) as f:
        text = f.read().replace('"ts": "2s", "kind": "connect"', '"ts": "6s", "kind": "connect"')
    check('"6s"' in text, "example trace changed shape; update this test")
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as t:
        t.write(text)
    try:
        rc, out, err = run("replay", t.name, "--config", seed_config())
        check(rc == 0 and out.strip() == "", f"expected no output, rc={rc} out={out!r} err={err!r}")
    finally:
        os.unlink(t.name)


def case_shared_seed_config_unchanged():
    # The seed's own file, where the workplace provides it beside the checkout.
    shared = os.path.normpath(path("..", "shared", "compat", "barbwire-config.yml"))
    cfgs = [seed_config()] + ([shared] if os.path.exists(shared) else [])
    with open(seed_config(), "rb") as a:
        copy = a.read()
    if os.path.exists(shared):
        with open(shared, "rb") as b:
            check(b.read() == copy, "test/config/seed-barbwire-config.yml differs from ../shared/compat")
    for c in cfgs:
        rc, out, err = run("replay", path(EXAMPLE), "--config", c, "--format", "json")
        check(rc == 0 and len(out.splitlines()) == 1, f"{c}: rc={rc} err={err}")


def write_tmp(text, suffix):
    f = tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False)
    f.write(text)
    f.close()
    return f.name


def case_config_wrong_type():
    with open(seed_config()) as f:
        text = f.read().replace("window_duration: 5", 'window_duration: "five"')
    c = write_tmp(text, ".yml")
    try:
        rc, _, err = run("replay", path(EXAMPLE), "--config", c)
        one_line_error(rc, err, 2, "window_duration", c)
    finally:
        os.unlink(c)


def case_config_broken_yaml():
    c = write_tmp("window_duration: 5\nsuspicious_files: [\n  - category: x\n", ".yml")
    try:
        rc, _, err = run("replay", path(EXAMPLE), "--config", c)
        one_line_error(rc, err, 2, c, "line")
    finally:
        os.unlink(c)


def case_config_broken_json():
    c = write_tmp('{"window_duration": 5,', ".json")
    try:
        rc, _, err = run("replay", path(EXAMPLE), "--config", c)
        one_line_error(rc, err, 2, c)
    finally:
        os.unlink(c)


def case_config_unknown_key():
    c = write_tmp("windw_duration: 5\n", ".yml")
    try:
        rc, _, err = run("replay", path(EXAMPLE), "--config", c)
        one_line_error(rc, err, 2, "windw_duration", "window_duration")
    finally:
        os.unlink(c)


def bad_seed_config(extra, *needles):
    """The seed's file plus `extra` (issue 12's keys): one error line naming the
    file, the key's path and its line, exit status 2, nothing replayed."""
    with open(seed_config()) as f:
        text = f.read()
    first_extra_line = text.count("\n") + 1
    c = write_tmp(text + extra, ".yml")
    try:
        rc, out, err = run("replay", path(EXAMPLE), "--config", c)
        one_line_error(rc, err, 2, c, *needles)
        check(out == "", f"nothing may be replayed with a bad config: {out!r}")
        line = int(err.rsplit("(line ", 1)[1].split(")")[0])
        check(line >= first_extra_line, f"the line should be in the appended text (>= {first_extra_line}): {err!r}")
    finally:
        os.unlink(c)


def case_config_bad_allowlist():
    bad_seed_config("allowlist:\n  - exe: curl\n    ports: [443]\n",
                    "allowlist[0].exe", "not an absolute path", '"curl"')
    bad_seed_config("allowlist:\n  - exe: /usr/bin/curl\n    ips: []\n", "allowlist[0].ips", "must not be empty")
    bad_seed_config("allowlist:\n  - {}\n", "allowlist[0]", "allows nothing")


def case_config_bad_dns():
    bad_seed_config("dns:\n  ports: [53]\n  max_query_bytes: 0\n",
                    "dns.max_query_bytes", "from 1 to 65535", "got an integer (0)")


def case_config_bad_held():
    # the seed's window is 5 s: a held secret cannot turn stale before it
    bad_seed_config("held:\n  stale_after: 2\n", "held.stale_after", "shorter than window_duration", "at least 5")
    bad_seed_config("held: false\n", "held", "{enabled: false}")


def case_config_bad_taint():
    bad_seed_config("taint:\n  enabled: yes\n", "taint.enabled", "expected true", '"yes"')


def case_config_bad_limits():
    bad_seed_config("limits:\n  max_holders: 0\n", "limits.max_holders", "from 1 to 4194304")
    bad_seed_config("limits:\n  max_derived_file: 10\n", "limits.max_derived_file", "did you mean max_derived_files")


def case_config_missing():
    rc, _, err = run("replay", path(EXAMPLE), "--config", "/nonexistent/rules.yml")
    one_line_error(rc, err, 2, "/nonexistent/rules.yml", "--config")


def case_trace_missing():
    rc, _, err = run("replay", "/nonexistent/trace.jsonl")
    one_line_error(rc, err, 2, "/nonexistent/trace.jsonl")


def case_trace_garbage():
    g = tempfile.NamedTemporaryFile(suffix=".bin", delete=False)
    g.write(bytes(range(256)) * 64 + b"\n\x00\xff{{{\n" + b"x" * 200000 + b"\n")
    g.close()
    try:
        rc, out, err = run("replay", g.name)
        check(rc == 2, f"garbage trace: expected exit 2, got {rc}; stderr: {err!r}")
        check(out == "", f"garbage trace printed alerts: {out!r}")
        lines = err.splitlines()
        check(0 < len(lines) <= 12, f"garbage trace: error output should be short, got {len(lines)} lines")
        check("no valid trace line" in lines[-1], f"last line should say the file holds no valid line: {lines[-1]!r}")
    finally:
        os.unlink(g.name)


def case_trace_malformed_line_keeps_rest():
    with open(path(EXAMPLE)) as f:
        lines = f.read().splitlines(keepends=True)
    # a broken line in the middle, between the open and the connect
    idx = next(i for i, l in enumerate(lines) if '"connect"' in l)
    lines.insert(idx, '{"ts": "1s", "kind": "opne", "pid": 4242}\n')
    t = write_tmp("".join(lines), ".jsonl")
    try:
        rc, out, err = run("replay", t, "--config", seed_config(), "--format", "json")
        check(rc == 1, f"expected exit 1 for a partly malformed trace, got {rc}: {err}")
        check(len(out.splitlines()) == 1, f"the valid lines must still alert: {out!r}")
        check(f"line {idx + 1}" in err, f"error should give line {idx + 1}: {err!r}")
    finally:
        os.unlink(t)


def case_stdin():
    with open(path(EXAMPLE), "rb") as f:
        data = f.read()
    rc, out, err = run("replay", "-", "--config", seed_config(), "--format", "json", input_bytes=data)
    check(rc == 0 and len(out.splitlines()) == 1, f"stdin: rc={rc} out={out!r} err={err!r}")


def case_fifo():
    with open(path(EXAMPLE), "rb") as f:
        data = f.read()
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "trace.fifo")
        os.mkfifo(fifo)
        p = subprocess.Popen([BW, "replay", fifo, "--config", seed_config(), "--format", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with open(fifo, "wb") as w:
            w.write(data)
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0 and len(out.splitlines()) == 1, f"fifo: rc={p.returncode} {out!r} {err!r}")


def case_output_file_appends():
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "alerts.jsonl")
        for _ in range(2):
            rc, out, err = run("replay", path(EXAMPLE), "--config", seed_config(), "--output", log)
            check(rc == 0 and "barbwire alert" in out, f"rc={rc} err={err}")
        with open(log) as f:
            rows = [json.loads(l) for l in f]
        check(len(rows) == 2 and all(r["file"]["path"] == "/etc/shadow" for r in rows), f"log: {rows}")
        rc, _, err = run("replay", path(EXAMPLE), "--output", os.path.join(d, "no", "such", "dir.jsonl"))
        one_line_error(rc, err, 2, "--output")


def case_bad_format():
    rc, _, err = run("replay", path(EXAMPLE), "--format", "xml")
    one_line_error(rc, err, 2, "xml", "text or json")


def case_bad_option():
    rc, _, err = run("replay", path(EXAMPLE), "--frobnicate")
    one_line_error(rc, err, 2, "frobnicate")


def case_outputs_bad_options():
    """Each bad output option of run and record: one line naming the option, exit 2,
    before anything is loaded (so it needs no root)."""
    cases = [
        (["--syslog", "tcp:127.0.0.1"], "--syslog"),
        (["--syslog", "sctp:h:514"], "--syslog"),
        (["--syslog", "unix:dev/log"], "--syslog"),
        (["--syslog", "udp:h:70000"], "--syslog"),
        (["--syslog", "udp:h:514", "--syslog-facility", "local9"], "--syslog-facility"),
        (["--syslog-facility", "daemon"], "--syslog-facility"),
        (["--webhook", "ftp://h/"], "--webhook"),
        (["--webhook", "http://h:0/"], "--webhook"),
        (["--webhook", "http://h/", "--webhook-format", "xml"], "--webhook-format"),
        (["--webhook", "http://h/", "--webhook-timeout", "5h"], "--webhook-timeout"),
        (["--webhook", "http://h/", "--webhook-timeout", "10ms"], "--webhook-timeout"),
        (["--webhook", "http://h/", "--webhook-retries", "11"], "--webhook-retries"),
        (["--output-queue", "0"], "--output-queue"),
        (["--output-queue", "lots"], "--output-queue"),
        (["--output", "/tmp/x.jsonl", "--output-max-size", "10X"], "--output-max-size"),
        (["--output", "/tmp/x.jsonl", "--output-max-size", "100"], "--output-max-size"),
        (["--output", "/tmp/x.jsonl", "--output-keep", "0"], "--output-keep"),
        (["--output-max-size", "10M"], "--output"),
        (["--runtime-socket", "run/podman/podman.sock"], "--runtime-socket"),
        (["--runtime-socket", "none", "--runtime-socket", "/run/docker.sock"], "--runtime-socket"),
        (["--runtime-socket", "/" + "s" * 200], "--runtime-socket"),
    ]
    for args, needle in cases:
        for cmd in (["run"], ["record", "/tmp/barbwire-cli-never-written.jsonl"]):
            rc, _, err = run(*cmd, *args)
            one_line_error(rc, err, 2, needle)
    # a password in a webhook URL is never printed
    rc, _, err = run("run", "--webhook", "ftp://user:s3cret@h/")
    one_line_error(rc, err, 2, "--webhook")
    check("s3cret" not in err, f"the webhook's password is in the error line: {err!r}")
    check(not os.path.exists("/tmp/barbwire-cli-never-written.jsonl"), "record wrote a trace despite a bad option")


def case_unknown_command():
    rc, _, err = run("explode")
    one_line_error(rc, err, 2, "explode")


def case_builtin_rules():
    # no --config: the embedded default rules alert on the same story
    rc, out, err = run("replay", path(EXAMPLE), "--format", "json")
    check(rc == 0 and len(out.splitlines()) == 1, f"default rules: rc={rc} out={out!r} err={err!r}")


def case_stats():
    rc, _, err = run("replay", path(EXAMPLE), "--stats")
    check(rc == 0, f"rc={rc}")
    s = json.loads(err.strip().splitlines()[-1])
    check(s["trace_events"] == 4 and s["alerts_written"] == 1 and s["peak_rss_kib"] > 0, f"stats: {s}")


# --- baselines (docs/baseline.md) ---------------------------------------------

SHA_TOOL = "a" * 64
SHA_BASH = "b" * 64
SHA_OTHER = "c" * 64


def baseline_trace(sha=SHA_TOOL, addr="127.0.0.1", port=8080, grandparent_bash=False):
    """tool (under bash, under timeout or bash) reads /etc/shadow at 0 s, connects at 1 s."""
    gp = "bash" if grandparent_bash else "timeout"
    lines = [
        {"ts": "0s", "kind": "exec", "pid": 90, "ppid": 1, "comm": gp, "exe": "/usr/bin/" + gp, "sha256": SHA_OTHER},
        {"ts": "0s", "kind": "exec", "pid": 100, "ppid": 90, "comm": "bash", "exe": "/usr/bin/bash", "sha256": SHA_BASH},
        {"ts": "0s", "kind": "exec", "pid": 200, "ppid": 100, "comm": "tool", "exe": "/opt/t/tool", "sha256": sha},
        {"ts": "0s", "kind": "open", "pid": 200, "path": "/etc/shadow", "dev": 2049, "ino": 1311},
        {"ts": "1s", "kind": "connect", "pid": 200, "addr": addr, "port": port, "proto": "tcp"},
    ]
    return write_tmp("".join(json.dumps(l) + "\n" for l in lines), ".jsonl")


def baseline_file(entries, version=1):
    return write_tmp(json.dumps({"version": version, "entries": entries}), ".json")


def tool_entry(port=8080, destination="loopback", sha=SHA_TOOL):
    return {"exe": "/opt/t/tool", "sha256": sha, "reader_exe": "/opt/t/tool", "reader_sha256": sha,
            "category": "credential access", "destination": destination, "protocol": "tcp", "port": port,
            "count": 1}


def replay_json(trace, *extra):
    rc, out, err = run("replay", trace, "--config", seed_config(), "--format", "json", *extra)
    check(rc == 0, f"replay {extra}: rc={rc} err={err!r}")
    return [json.loads(l) for l in out.splitlines() if l.strip()], err


def case_baseline_suppresses_seen():
    t, b = baseline_trace(), baseline_file([tool_entry()])
    try:
        alerts, _ = replay_json(t)
        check(len(alerts) == 1 and "baseline" not in alerts[0], f"without a baseline: one alert, no field: {alerts}")
        alerts, err = replay_json(t, "--baseline", b)
        check(alerts == [], f"a seen correlation must be suppressed: {alerts}")
        alerts, err = replay_json(t, "--baseline", b, "--stats")
        check("1 seen (1 suppressed), 0 new, 0 changed binary" in err, f"summary line: {err!r}")
        # the same binary to another destination class, or port: new, and alerted
        for addr, port in (("203.0.113.5", 8080), ("10.1.2.3", 8080), ("127.0.0.1", 8081)):
            t2 = baseline_trace(addr=addr, port=port)
            try:
                alerts, _ = replay_json(t2, "--baseline", b)
                check(len(alerts) == 1 and alerts[0]["baseline"] == "new" and alerts[0]["score"] == 5,
                      f"{addr}:{port} is new: {alerts}")
            finally:
                os.unlink(t2)
        # a baseline learned for the private class does not cover loopback
        b2 = baseline_file([tool_entry(destination="private")])
        try:
            alerts, _ = replay_json(t, "--baseline", b2)
            check(len(alerts) == 1 and alerts[0]["baseline"] == "new", f"private is not loopback: {alerts}")
        finally:
            os.unlink(b2)
    finally:
        os.unlink(t)
        os.unlink(b)


def case_baseline_changed_binary():
    t, b = baseline_trace(sha=SHA_OTHER), baseline_file([tool_entry()])
    try:
        alerts, _ = replay_json(t, "--baseline", b)
        check(len(alerts) == 1, f"a changed binary must alert: {alerts}")
        a = alerts[0]
        check(a["baseline"] == "changed binary", f"baseline field: {a}")
        want = f"baseline: /opt/t/tool changed (sha256 {SHA_OTHER[:16]}, learned {SHA_TOOL[:16]})"
        check(a["reasons"][-1] == want, f"reason {a['reasons'][-1]!r} != {want!r}")
        check(a["score"] == sum(p["points"] for p in a["score_breakdown"]) == 5, f"score: {a}")
        rc, out, _ = run("replay", t, "--config", seed_config(), "--baseline", b)
        check(rc == 0 and "baseline : changed binary" in out, f"text form: {out!r}")
    finally:
        os.unlink(t)
        os.unlink(b)


def case_baseline_downscore():
    t7, b = baseline_trace(grandparent_bash=True), baseline_file([tool_entry()])
    t5 = baseline_trace()
    try:
        # 3 (credential access) + 2 (bash) + 2 (bash grandparent) = 7, minus the learned 3 = 4: still an alert
        alerts, _ = replay_json(t7, "--baseline", b, "--baseline-mode", "downscore")
        check(len(alerts) == 1, f"downscore keeps a score above the threshold: {alerts}")
        a = alerts[0]
        check(a["baseline"] == "seen" and a["score"] == 4 and a["severity"] == "MEDIUM", f"downscored: {a}")
        check({"reason": "baseline: seen while learning", "points": -3} in a["score_breakdown"], f"breakdown: {a}")
        check(sum(p["points"] for p in a["score_breakdown"]) == 4, f"breakdown sums to the score: {a}")
        # 5 - 3 = 2 < 3: no alert
        alerts, _ = replay_json(t5, "--baseline", b, "--baseline-mode", "downscore")
        check(alerts == [], f"downscored below the threshold: {alerts}")
        # the default is suppress
        alerts, _ = replay_json(t7, "--baseline", b)
        check(alerts == [], f"suppress is the default: {alerts}")
    finally:
        for f in (t7, t5, b):
            os.unlink(f)


def case_baseline_bad_file():
    t = baseline_trace()
    files = []
    try:
        rc, _, err = run("replay", t, "--baseline", "/nonexistent/base.json")
        one_line_error(rc, err, 2, "/nonexistent/base.json", "barbwire learn")
        for text, needles in (
            ("{not json", ["JSON parse error"]),
            ("", ["JSON parse error"]),
            (json.dumps({"version": 2, "entries": []}), ["version", "is 2"]),
            (json.dumps({"version": 1, "entries": [dict(tool_entry(), port=65536)]}), ["entries[0].port"]),
            (json.dumps({"version": 1, "entries": [dict(tool_entry(), sha256="xyz")]}), ["entries[0].sha256"]),
            (json.dumps({"version": 1, "entries": [dict(tool_entry(), destination="lan")]}),
             ["entries[0].destination", "loopback, private or public"]),
            (json.dumps({"version": 1, "entrys": []}), ["entrys", "did you mean entries"]),
        ):
            f = write_tmp(text, ".json")
            files.append(f)
            rc, out, err = run("replay", t, "--baseline", f)
            one_line_error(rc, err, 2, f, *needles)
            check(out == "", f"nothing may be replayed without the baseline: {out!r}")
        rc, _, err = run("replay", t, "--baseline", "/")
        one_line_error(rc, err, 2, "not a regular file")
    finally:
        os.unlink(t)
        for f in files:
            os.unlink(f)


def case_baseline_bad_options():
    t = baseline_trace()
    b = baseline_file([tool_entry()])
    try:
        rc, _, err = run("replay", t, "--baseline", b, "--baseline-mode", "ignore")
        one_line_error(rc, err, 2, "ignore", "suppress or downscore")
        rc, _, err = run("replay", t, "--baseline-mode", "downscore")
        one_line_error(rc, err, 2, "--baseline-mode needs --baseline")
        rc, _, err = run("learn", "--duration", "10m")
        one_line_error(rc, err, 2, "--baseline")
        rc, _, err = run("learn", "--baseline", b)
        one_line_error(rc, err, 2, "--duration")
        for bad in ("10", "10x", "0m", "m", "721h", "1.5h", "5 s"):
            rc, _, err = run("learn", "--duration", bad, "--baseline", b)
            one_line_error(rc, err, 2, f"'{bad}'", "30s, 10m or 2h")
        rc, _, err = run("learn", "--duration", "1m", "--baseline", "-")
        one_line_error(rc, err, 2, "file name")
        rc, out, _ = run("learn", "--help")
        check(rc == 0 and "--duration" in out and "--baseline" in out, f"learn --help: {out!r}")
        rc, out, _ = run("--help")
        check("learn" in out, f"--help lists learn: {out!r}")
    finally:
        os.unlink(t)
        os.unlink(b)


def main():
    global BW, ROOT
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    BW, ROOT, case = sys.argv[1], sys.argv[2], sys.argv[3]
    fn = globals().get("case_" + case)
    if fn is None:
        sys.exit(f"cli_test: no case {case!r}")
    try:
        fn()
    except AssertionError as e:
        print(f"FAIL {case}: {e}")
        return 1
    print(f"ok {case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
