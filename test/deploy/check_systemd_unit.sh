#!/usr/bin/env bash
# `systemd-analyze verify` of packaging/systemd/barbwire.service:
#
#   check_systemd_unit.sh BUILDDIR SOURCE_ROOT
#
# verify loads the unit as systemd would (no systemd as PID 1 needed): every
# directive must be known and well-formed, ExecStart's binary must exist and
# be executable, and the Documentation= man page must open. So it runs on a
# copy whose ExecStart names this build's binary instead of /usr/bin/barbwire
# (the only change; checked below), with MANPATH on this build's barbwire.8.
# It does not start the service: that the capabilities and the system-call
# filter are enough is test/e2e/deploy_test.py's job. Any output fails.
set -euo pipefail
builddir="$(cd "$1" && pwd)"; srcdir="$2"
unit="$srcdir/packaging/systemd/barbwire.service"
bw="$builddir/sensor/barbwire"
man="$builddir/packaging/barbwire.8"
if ! command -v systemd-analyze >/dev/null; then
  [ "${CI:-}" = true ] && { echo "FAIL (CI=true): systemd-analyze (systemd) is not installed"; exit 1; }
  echo "SKIP: systemd-analyze (systemd) is not installed"; exit 77
fi
[ -x "$bw" ] || { echo "FAIL: $bw is not built"; exit 1; }
[ -f "$man" ] || { echo "FAIL: $man is not built"; exit 1; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man8"; cp "$man" "$tmp/man/man8/barbwire.8"
grep -q '^ExecStart=/usr/bin/barbwire ' "$unit" || { echo "FAIL: ExecStart does not run /usr/bin/barbwire"; exit 1; }
sed "s#^ExecStart=/usr/bin/barbwire #ExecStart=$bw #" "$unit" > "$tmp/barbwire.service"
changed="$(diff "$unit" "$tmp/barbwire.service" | grep -c '^[<>]' || true)"
[ "$changed" = 2 ] || { echo "FAIL: the copy differs from the unit in more than ExecStart"; exit 1; }
out="$(cd "$tmp" && MANPATH="$tmp/man" SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$tmp/barbwire.service" 2>&1)" || {
  echo "FAIL: systemd-analyze verify failed:"; echo "$out"; exit 1; }
[ -z "$out" ] || { echo "FAIL: systemd-analyze verify is not clean:"; echo "$out"; exit 1; }
echo "ok: systemd-analyze verify is clean (ExecStart pointed at $bw)"
# How exposed systemd rates the service (informational; 0 best, 10 worst).
systemd-analyze security --offline=true "$tmp/barbwire.service" 2>/dev/null | tail -n1 || true
