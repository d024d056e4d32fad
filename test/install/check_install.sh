#!/usr/bin/env bash
# Installs the build into a scratch DESTDIR and builds examples/embed.cpp the
# way an outside project would: only through `pkg-config barbwire`.
set -euo pipefail
builddir="$1"; srcdir="$2"
cxx="${CXX:-c++}"
dest="$(mktemp -d)"
trap 'rm -rf "$dest"' EXIT

meson install -C "$builddir" --no-rebuild --quiet --destdir "$dest" >/dev/null
pc="$(find "$dest" -name barbwire.pc | head -n1)"
[ -n "$pc" ] || { echo "FAIL: no barbwire.pc installed"; exit 1; }
[ -f "$(find "$dest" -path '*/include/barbwire/barbwire.hpp' | head -n1)" ] || { echo "FAIL: headers not installed"; exit 1; }
[ -f "$(find "$dest" -path '*/include/barbwire/abi/events.h' | head -n1)" ] || { echo "FAIL: ABI header not installed"; exit 1; }
[ -x "$(find "$dest" -path '*/bin/barbwire' | head -n1)" ] || { echo "FAIL: barbwire tool not installed"; exit 1; }

export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$dest"
flags="$(pkg-config --cflags barbwire)"
echo "pkg-config --cflags barbwire: $flags"
# shellcheck disable=SC2086
"$cxx" $flags "$srcdir/examples/embed.cpp" -o "$dest/embed" $(pkg-config --libs barbwire)
"$dest/embed" >/dev/null
echo "ok: installed headers + pkg-config build and run examples/embed.cpp"
