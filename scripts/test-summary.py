#!/usr/bin/env python3
"""Print one closing line, 'N passed, N failed[, N skipped]', from meson's testlog.json.

A skipped test counts as failed when CI=true: in CI every privileged test must
really run. Exit status is 1 when anything failed.
"""
import json
import os
import sys

PASS = {"OK", "EXPECTEDFAIL"}
SKIP = {"SKIP"}


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.json"
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    passed = failed = skipped = 0
    try:
        with open(path, encoding="utf-8") as f:
            lines = [json.loads(l) for l in f if l.strip()]
    except (OSError, ValueError) as e:
        print(f"test-summary: cannot read {path}: {e}", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    for t in lines:
        r = t.get("result", "")
        if r in PASS:
            passed += 1
        elif r in SKIP:
            if ci:
                failed += 1
                print(f"test-summary: {t.get('name')} was skipped, which counts as a failure in CI",
                      file=sys.stderr)
            else:
                skipped += 1
        else:
            failed += 1
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    return 1 if failed or not lines else 0


if __name__ == "__main__":
    sys.exit(main())
