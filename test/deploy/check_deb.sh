#!/usr/bin/env bash
# Builds the Debian packages from this tree and checks what they hold:
#
#   check_deb.sh SOURCE_ROOT
#
# 1. copies the tree (tracked and untracked files git knows, minus ignored
#    ones and build directories) to a temporary directory, so the build's
#    ../*.deb and debian/ scratch files never touch the checkout;
# 2. dpkg-buildpackage -us -uc -b there (debhelper + meson, tests off: they
#    need root and load BPF);
# 3. dpkg-deb -I/-c: the version is meson's, the files are there, the
#    rules file is a conffile, the unit and the man page are where Debian
#    keeps them;
# 4. dpkg -x into a temporary root (the host's dpkg database is not
#    touched): the unpacked barbwire --version prints the version, the
#    unpacked rules load (replay of an empty trace with --config), the
#    unpacked unit passes systemd-analyze verify with ExecStart and MANPATH
#    pointed into that root; lintian when installed;
# 5. as root, a real install on this machine (dpkg -i, which on a host run by
#    systemd also enables and starts the unit): dpkg calls it installed, the
#    installed barbwire --version, rules, man page and unit are where they
#    belong; then dpkg --purge (also on any failure) removes every file.
#    A barbwire package already installed here is left alone (CI: a failure).
# Takes several minutes (a full compile of the sensor).
set -euo pipefail
src="$(cd "$1" && pwd)"
fail() { echo "FAIL: $*"; exit 1; }
for t in dpkg-buildpackage dh fakeroot; do
  command -v "$t" >/dev/null || {
    [ "${CI:-}" = true ] && fail "$t is not installed (CI=true: a skip is a failure)"
    echo "SKIP: $t is not installed (dpkg-dev, debhelper, fakeroot; ./dev installs them)"; exit 77; }
done
missing="$(cd "$src" && dpkg-checkbuilddeps 2>&1 || true)"
[ -z "$missing" ] || fail "build dependencies missing: $missing"

work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
(cd "$src" && git ls-files -z --cached --others --exclude-standard | grep -zv '^build' |
   xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar --null -T - -cf -) | tar -C "$work/src" -xf -
version="$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n1)"
[ -n "$version" ] || fail "no version in meson.build"
t0=$SECONDS
(cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b > "$work/build.log" 2>&1) ||
  { tail -n 60 "$work/build.log"; fail "dpkg-buildpackage failed (log above)"; }
echo "dpkg-buildpackage: $((SECONDS - t0)) s"
arch="$(dpkg --print-architecture)"
deb="$work/barbwire_${version}_${arch}.deb"
dev="$work/libbarbwire-dev_${version}_${arch}.deb"
[ -f "$deb" ] || { ls "$work"; fail "no $deb (is debian/changelog's version meson's $version?)"; }
[ -f "$dev" ] || fail "no $(basename "$dev")"

info="$(dpkg-deb -I "$deb")"
grep -q "^ Version: $version\$" <<<"$info" || fail "package version is not $version: $info"
grep -q '^ Depends:.*libbpf' <<<"$info" || fail "Depends does not name libbpf (shlibs): $info"
contents="$(dpkg-deb -c "$deb" | awk '{print $6}')"
for f in ./usr/bin/barbwire ./lib/systemd/system/barbwire.service ./etc/barbwire/rules.yml \
         ./usr/share/man/man8/barbwire.8.gz ./usr/share/doc/barbwire/copyright; do
  grep -qx -- "$f" <<<"$contents" || fail "$(basename "$deb") lacks $f"
done
# dh_compress gzips documents larger than 4 KiB
grep -qxE -- './usr/share/doc/barbwire/deployment.md(.gz)?' <<<"$contents" || fail "$(basename "$deb") lacks the docs"
if grep -q '^./usr/include/' <<<"$contents"; then fail "the headers belong in libbarbwire-dev, not barbwire"; fi
dpkg-deb -c "$dev" | awk '{print $6}' | grep -q '^./usr/include/barbwire/barbwire.hpp$' || fail "libbarbwire-dev lacks the headers"
dpkg-deb -c "$dev" | awk '{print $6}' | grep -q '/pkgconfig/barbwire.pc$' || fail "libbarbwire-dev lacks barbwire.pc"
ctl="$work/ctl"; dpkg-deb -e "$deb" "$ctl"
grep -qx /etc/barbwire/rules.yml "$ctl/conffiles" || fail "/etc/barbwire/rules.yml is not a conffile"
grep -q 'deb-systemd-helper' "$ctl/postinst" || fail "postinst does not enable the unit (dh_installsystemd)"

root="$work/root"; dpkg -x "$deb" "$root"
got="$("$root/usr/bin/barbwire" --version)"
[ "$got" = "barbwire $version" ] || fail "unpacked barbwire --version printed '$got'"
: > "$work/empty.jsonl"
"$root/usr/bin/barbwire" replay "$work/empty.jsonl" --config "$root/etc/barbwire/rules.yml" ||
  fail "the packaged rules file does not load"
mode="$(stat -c %a "$root/usr/bin/barbwire")"; [ "$mode" = 755 ] || fail "barbwire is mode $mode"
zcat "$root/usr/share/man/man8/barbwire.8.gz" | grep -q "^\.TH BARBWIRE 8 .*barbwire $version" || fail "man page title"
if command -v systemd-analyze >/dev/null; then
  sed "s#^ExecStart=/usr/bin/barbwire #ExecStart=$root/usr/bin/barbwire #" "$root/lib/systemd/system/barbwire.service" > "$work/barbwire.service"
  out="$(cd "$work" && MANPATH="$root/usr/share/man" systemd-analyze verify "$work/barbwire.service" 2>&1)" ||
    fail "systemd-analyze verify of the packaged unit: $out"
  [ -z "$out" ] || fail "systemd-analyze verify of the packaged unit is not clean: $out"
fi
if command -v lintian >/dev/null; then
  lintian --fail-on error "$deb" "$dev" || fail "lintian reports errors"
else
  echo "note: lintian is not installed; not run"
fi

installed=""
if [ "$(id -u)" -ne 0 ]; then
  [ "${CI:-}" = true ] && fail "not root: the package cannot be installed (CI=true: a skip is a failure)"
  echo "note: not root; the package was not installed"
elif dpkg-query -W -f='${Status}' barbwire 2>/dev/null | grep -q 'ok installed'; then
  [ "${CI:-}" = true ] && fail "a barbwire package is already installed here; not replacing it"
  echo "note: a barbwire package is already installed here; not replacing it"
else
  trap 'dpkg --purge barbwire >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  dpkg -i "$deb" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i $(basename "$deb") failed"; }
  dpkg-query -W -f='${Status}' barbwire | grep -q 'install ok installed' || fail "dpkg does not call barbwire installed"
  got="$(/usr/bin/barbwire --version)"
  [ "$got" = "barbwire $version" ] || fail "installed barbwire --version printed '$got'"
  /usr/bin/barbwire replay "$work/empty.jsonl" --config /etc/barbwire/rules.yml || fail "the installed rules file does not load"
  [ -f /lib/systemd/system/barbwire.service ] || fail "the unit is not installed"
  [ -f /usr/share/man/man8/barbwire.8.gz ] || fail "the man page is not installed"
  dpkg --purge barbwire > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge barbwire failed"; }
  for f in /usr/bin/barbwire /etc/barbwire/rules.yml /lib/systemd/system/barbwire.service; do
    [ ! -e "$f" ] || fail "$f is still there after dpkg --purge"
  done
  trap 'rm -rf "$work"' EXIT
  installed="; installed with dpkg -i and purged"
fi
echo "ok: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) and $(basename "$dev"): binary, unit, conffile, man page, docs; --version, rules and unit check out$installed"
