#!/usr/bin/env bash
# Builds Barbwire's container image from a built tree, with no registry:
#
#   packaging/container/build-image.sh [BUILDDIR] [TAG]
#
# BUILDDIR (default: build) holds sensor/barbwire and packaging/rules.yml
# (`meson compile -C BUILDDIR`). TAG defaults to localhost/barbwire:VERSION.
# The image is FROM scratch: the binary, the shared libraries ldd resolves
# for it (at the same paths, so the loader finds them), the dynamic loader and
# the rules file. Uses buildah when installed, otherwise podman build. Prints
# the tag on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
builddir="${1:-build}"
bin="$builddir/sensor/barbwire"
rules="$builddir/packaging/rules.yml"
[ -x "$bin" ] || { echo "build-image.sh: no $bin; build first (meson compile -C $builddir)" >&2; exit 2; }
[ -f "$rules" ] || { echo "build-image.sh: no $rules; build first (meson compile -C $builddir)" >&2; exit 2; }
version="$("$bin" --version | awk '{print $2}')"
tag="${2:-localhost/barbwire:$version}"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/bin" "$root/usr/share/barbwire" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/etc"
chmod 1777 "$root/tmp"
install -m 0755 "$bin" "$root/usr/bin/barbwire"
# Debug information is most of a debugoptimized binary; the image needs none.
if command -v strip >/dev/null 2>&1; then strip --strip-debug "$root/usr/bin/barbwire"; fi
install -m 0644 "$rules" "$root/usr/share/barbwire/rules.yml"

# Every library ldd resolves, and the loader (the line with no "=>"), copied
# to the path ldd gives, symlinks followed (the image needs the files).
libs="$(ldd "$bin" | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]+ \(/{print $1}')"
[ -n "$libs" ] || { echo "build-image.sh: ldd found no libraries for $bin (a static binary needs none; is ldd working?)" >&2; exit 1; }
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# The loader is named by its canonical path too (/lib64 -> /lib/x86_64-linux-gnu on amd64).
interp="$(readelf -l "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
if [ -n "$interp" ] && [ ! -e "$root$interp" ]; then
  mkdir -p "$root$(dirname "$interp")"
  cp -L "$interp" "$root$interp"
fi
# A minimal passwd for the image itself (root only); the host's files are
# read through the mounts the deployment gives (docs/deployment.md).
echo 'root:x:0:0:root:/root:/usr/bin/barbwire' > "$root/etc/passwd"
cp "$here/Containerfile" "$ctx/Containerfile"

if command -v buildah >/dev/null 2>&1; then
  buildah bud --quiet --layers=false -f "$ctx/Containerfile" -t "$tag" "$ctx" >&2
else
  podman build --quiet -f "$ctx/Containerfile" -t "$tag" "$ctx" >&2
fi
echo "$tag"
