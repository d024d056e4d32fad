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
