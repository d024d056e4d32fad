#!/usr/bin/env python3
"""Replay one scenario trace through the barbwire tool and compare the alerts.

  check_trace.py BARBWIRE TRACE.jsonl EXPECTED.jsonl [--config FILE] [--exit N]

EXPECTED holds one JSON object per expected alert, in order. Each is a
pattern: every key it names must be present in the alert with an equal value
(objects compare recursively, so a pattern names only the fields it cares
about). The number of alerts must match exactly; an empty EXPECTED file means
the trace must produce no alert at all. Lines starting with # are comments.
"""
import json
import subprocess
import sys


def matches(pattern, value, path="alert"):
    """Return None when value matches pattern, else a description of the first difference."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return f"{path}: expected an object, got {json.dumps(value)}"
        for k, p in pattern.items():
            if k not in value:
                return f"{path}.{k}: missing (alert has {sorted(value)})"
            d = matches(p, value[k], f"{path}.{k}")
            if d:
                return d
        return None
    if pattern != value:
        return f"{path}: expected {json.dumps(pattern)}, got {json.dumps(value)}"
    return None


def read_jsonl(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            try:
                out.append(json.loads(s))
            except ValueError as e:
                sys.exit(f"check_trace: {path}:{n}: not JSON: {e}")
    return out


def main() -> int:
    args = sys.argv[1:]
    config, want_exit = None, 0
    if "--config" in args:
        i = args.index("--config")
        config = args[i + 1]
        del args[i:i + 2]
    if "--exit" in args:
        i = args.index("--exit")
        want_exit = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    tool, trace, expected_path = args
    cmd = [tool, "replay", trace, "--format", "json"] + (["--config", config] if config else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != want_exit:
        print(f"FAIL: {' '.join(cmd)} exited {p.returncode}, expected {want_exit}\nstderr:\n{p.stderr}")
        return 1
    alerts = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    expected = read_jsonl(expected_path)
    if len(alerts) != len(expected):
        print(f"FAIL: {trace}: {len(alerts)} alerts, expected {len(expected)}")
        for a in alerts:
            print("  got:", json.dumps(a))
        print("stderr:", p.stderr)
        return 1
    for i, (want, got) in enumerate(zip(expected, alerts)):
        d = matches(want, got, f"alert[{i}]")
        if d:
            print(f"FAIL: {trace}: {d}\n  full alert: {json.dumps(got)}")
            return 1
    print(f"ok: {trace}: {len(alerts)} alert(s) as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
