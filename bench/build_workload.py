#!/usr/bin/env python3
"""The macro workload of the sensor-overhead benchmark (issue 12): a clean
parallel build of this project.

  build_workload.py prepare DEST
      Copy the project's sources (the files of this checkout that git does
      not ignore, tracked or not, as they are in the working tree; without
      git, the tree minus build directories) into DEST. Not timed. Done once, so every round builds
      the same sources.
  build_workload.py run SRC [--config minimal|full|bpf] [--jobs N] [--keep DIR]
      In a fresh temporary build directory, `meson setup` SRC with the
      configuration's options, then `ninja -j N` (N = nproc by default).
      Prints one JSON line, like bench/workload:
        {"workload":"build","n":N,"ops":STEPS,"wall_s":..,"cpu_s":..,"user_s":..,"sys_s":..,
         "setup_wall_s":..,"setup_cpu_s":..,"compile_wall_s":..,"compile_cpu_s":..,"config":"minimal",...}
      wall_s and cpu_s cover setup + compile; the build directory is removed
      afterwards (not timed). cpu_s is the user+system time of the build's
      whole process tree: wait4() of meson and of ninja, which count every
      descendant they waited for (ninja waits for each compiler, the
      compiler driver for cc1plus, as, ld).

Configurations (all at the project's default buildtype, debugoptimized):
  minimal  -Dtests=false -Dbench=false -Dexamples=false: the barbwire tool
           with the live sensor (15 steps: its 11 C++ sources, vmlinux.h, the
           BPF object, the skeleton, the link); about 145 s of CPU time. The
           default: the full build (107 steps, about 13 min of CPU time) is too
           long to run several alternated rounds on a 2-core machine.
  full     the default options: tests, examples and bench too.
  bpf      minimal's setup, then only the target bpf/barbwire.skel.h
           (vmlinux.h from the kernel's BTF, the BPF object, the skeleton):
           a few seconds, for the harness's smoke test. Needs the sensor's
           build dependencies.

No compiler cache: CCACHE_DISABLE=1 and, when ccache or sccache is
installed, CC=cc and CXX=c++ so meson does not wrap the compilers in it.
The same sources and options each run, a fresh build directory each time,
so the work done is the same in every round.
Exit status 0 on success, 1 when the build failed (its log's tail on stderr).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MINIMAL = ["-Dtests=false", "-Dbench=false", "-Dexamples=false"]
# name -> (meson options, ninja targets; none = all)
CONFIGS = {
    "minimal": (MINIMAL, []),
    "full": ([], []),
    "bpf": (MINIMAL, ["bpf/barbwire.skel.h"]),
}
SKIP_DIRS = {".git", "__pycache__"}


def prepare(dest, root=ROOT):
    """Copies the sources git tracks (working-tree contents) to dest; returns the file count."""
    os.makedirs(dest, exist_ok=True)
    p = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], capture_output=True)
    if p.returncode == 0:
        files = [f for f in p.stdout.decode().split("\0") if f]
    else:  # not a git checkout: everything but build directories
        files = []
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not os.path.exists(os.path.join(d, x, "build.ninja"))
                       and not (d == root and x.startswith("build"))]
            files += [os.path.relpath(os.path.join(d, n), root) for n in names]
    n = 0
    for f in files:
        src = os.path.join(root, f)
        if not os.path.lexists(src):
            continue  # deleted in the working tree
        dst = os.path.join(dest, f)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
        n += 1
    return n


def build_env():
    env = dict(os.environ)
    env["CCACHE_DISABLE"] = "1"
    env.pop("CCACHE_PREFIX", None)
    if shutil.which("ccache") or shutil.which("sccache"):
        # meson wraps the detected compilers in ccache/sccache unless they come from CC/CXX
        env.setdefault("CC", "cc")
        env.setdefault("CXX", "c++")
    return env


def timed(argv, log, env):
    """Runs argv with stdout/stderr to the open file log; returns (rc, wall, user, sys)
    with the rusage of the whole waited-for process tree (wait4)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return p.returncode, wall, ru.ru_utime, ru.ru_stime


def tail(path, n=30):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-n:])


def run(src, config="minimal", jobs=None, keep=None, tmp=None):
    """One clean build; returns the JSON dict (raises RuntimeError on failure)."""
    jobs = jobs or os.cpu_count() or 1
    env = build_env()
    top = keep or tempfile.mkdtemp(prefix="barbwire-build-", dir=tmp)
    bdir = os.path.join(top, "b")
    if os.path.exists(bdir):
        shutil.rmtree(bdir)
    logpath = os.path.join(top, "build.log")
    try:
        with open(logpath, "w") as log:
            options, targets = CONFIGS[config]
            rc, sw, su, ss = timed(["meson", "setup", bdir, src, *options], log, env)
            if rc != 0:
                raise RuntimeError(f"meson setup exited {rc}:\n{tail(logpath)}")
            log.flush()
            rc, cw, cu, cs = timed(["ninja", "-C", bdir, "-j", str(jobs), *targets], log, env)
            if rc != 0:
                raise RuntimeError(f"ninja exited {rc}:\n{tail(logpath)}")
        steps = 0
        with open(logpath, errors="replace") as f:
            for m in re.finditer(r"^\[(\d+)/(\d+)\]", f.read(), re.M):
                steps = int(m.group(2))
        return {"workload": "build", "n": jobs, "ops": steps, "wall_s": sw + cw, "cpu_s": su + ss + cu + cs,
                "user_s": su + cu, "sys_s": ss + cs, "setup_wall_s": sw, "setup_cpu_s": su + ss,
                "compile_wall_s": cw, "compile_cpu_s": cu + cs, "config": config, "jobs": jobs,
                "options": options, "targets": targets}
    finally:
        if keep is None:
            shutil.rmtree(top, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="copy the project's sources to DEST (not timed)")
    p.add_argument("dest")
    r = sub.add_parser("run", help="one clean build of SRC; prints a JSON line")
    r.add_argument("src")
    r.add_argument("--config", choices=list(CONFIGS), default="minimal")
    r.add_argument("--jobs", type=int, help="ninja -j (default: nproc)")
    r.add_argument("--keep", help="build in this directory and keep it (default: a temp dir, removed)")
    a = ap.parse_args()
    if a.cmd == "prepare":
        n = prepare(a.dest)
        print(f"build_workload: {n} files copied to {a.dest}", file=sys.stderr)
        return 0
    if not os.path.isfile(os.path.join(a.src, "meson.build")):
        print(f"build_workload: {a.src} has no meson.build (run `prepare` first)", file=sys.stderr)
        return 2
    try:
        res = run(os.path.abspath(a.src), a.config, a.jobs, a.keep)
    except RuntimeError as e:
        print(f"build_workload: {e}", file=sys.stderr)
        return 1
    print(json.dumps(res, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
