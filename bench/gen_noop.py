#!/usr/bin/env python3
"""Generate the no-op floor (noop.bpf.c) from the sensor's compiled BPF object.

  gen_noop.py --object build/bpf/barbwire.bpf.o --vmlinux-h build/bpf/vmlinux.h -o noop.bpf.c
  gen_noop.py --list OBJECT...       print each object's programs: "SECTION NAME", one a line

The floor of the overhead benchmark (sensor_bench.py --floor) must attach
exactly the hooks the sensor attaches. The sensor attaches every program of
its object (sensor/loader.cpp walks the skeleton), so the hooks are the ELF
sections that hold programs, one program per function symbol in them (a
section may hold several programs; each is attached, so the floor gets as
many). Reading the compiled object, not grepping the source, sees exactly
what libbpf sees, whatever macros the source uses.

Each program of the sensor becomes one program that returns 0, in the same
section, in the same order:

  tp_btf/T, raw_tp/T, raw_tracepoint/T
      int BPF_PROG(noop_..., <T's arguments>) with the argument list of the
      kernel's btf_trace_T typedef in vmlinux.h (the BTF the verifier checks
      a tp_btf program against), so no argument count or type is written by
      hand;
  tracepoint/C/T, tp/C/T
      int noop_...(struct trace_event_raw_sys_exit *ctx) for syscalls/sys_exit_*,
      trace_event_raw_sys_enter for syscalls/sys_enter_*, void *ctx otherwise;
  anything else
      an error naming the section: add a template here before the sensor can
      use that kind of hook, or the floor would silently differ.

A leading '?' (libbpf: not loaded unless asked) is kept as it is.
Only the standard library is used (the ELF is read with struct).
"""
import argparse
import re
import struct
import sys

SHF_EXECINSTR = 0x4
SHT_SYMTAB = 2
STT_FUNC = 2


class ElfError(Exception):
    pass


def read_programs(path):
    """[(section name, function name)] of every BPF program in an ELF object,
    in section order, then by offset in the section."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        raise ElfError(f"{path}: not an ELF file")
    if data[4] != 2:
        raise ElfError(f"{path}: not a 64-bit ELF object (BPF objects are ELF64)")
    end = {1: "<", 2: ">"}.get(data[5])
    if end is None:
        raise ElfError(f"{path}: unknown ELF byte order {data[5]}")
    # Elf64_Ehdr: e_shoff at 0x28, e_shentsize/e_shnum/e_shstrndx at 0x3a
    (shoff,) = struct.unpack_from(end + "Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
    if shoff == 0 or shnum == 0:
        raise ElfError(f"{path}: no section headers")
    # Elf64_Shdr: name type flags addr offset size link info addralign entsize
    shdrs = [struct.unpack_from(end + "IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]

    def cstr(blob_off, off):
        start = blob_off + off
        stop = data.index(b"\0", start)
        return data[start:stop].decode("utf-8", errors="replace")

    shstr_off = shdrs[shstrndx][4]
    names = [cstr(shstr_off, h[0]) for h in shdrs]
    prog_secs = {i for i, h in enumerate(shdrs)
                 if h[2] & SHF_EXECINSTR and h[5] > 0 and names[i] != ".text"}
    progs = []
    for h in shdrs:
        if h[1] != SHT_SYMTAB:
            continue
        str_off = shdrs[h[6]][4]
        entsize = h[9] or 24
        # Elf64_Sym: name(I) info(B) other(B) shndx(H) value(Q) size(Q)
        for k in range(h[5] // entsize):
            st_name, st_info, _, st_shndx, st_value, _ = struct.unpack_from(end + "IBBHQQ", data, h[4] + k * entsize)
            if st_info & 0xF == STT_FUNC and st_shndx in prog_secs:
                progs.append((st_shndx, st_value, names[st_shndx], cstr(str_off, st_name)))
    covered = {p[0] for p in progs}
    missing = sorted(names[i] for i in prog_secs - covered)
    if missing:
        raise ElfError(f"{path}: executable sections with no function symbol: {', '.join(missing)}")
    return [(sec, fn) for _, _, sec, fn in sorted(progs)]


TRACE_TYPEDEF = re.compile(r"typedef\s+void\s*\(\s*\*\s*btf_trace_(\w+)\s*\)\s*\((.*)\)\s*;")


def tracepoint_args(vmlinux_h):
    """{tracepoint: [argument type, ...]} from vmlinux.h's btf_trace_* typedefs
    (the first argument, the tracepoint's data pointer, left out)."""
    out = {}
    with open(vmlinux_h, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "btf_trace_" not in line:
                continue
            m = TRACE_TYPEDEF.search(line)
            if not m:
                continue
            args = split_args(m.group(2))
            out[m.group(1)] = args[1:]
    return out


def split_args(s):
    """Split a C parameter list at top-level commas."""
    out, depth, cur = [], 0, []
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def declare(ctype, name):
    """A parameter declaration of type ctype (as vmlinux.h prints it, unnamed)."""
    if "(" in ctype or "[" in ctype:
        return f"void *{name}"  # a function pointer or array: the value is a pointer either way
    if ctype.endswith("*"):
        return f"{ctype}{name}"
    return f"{ctype} {name}"


def c_ident(s):
    return re.sub(r"\W", "_", s)


def noop_name(fn, taken):
    base = fn[len("handle_"):] if fn.startswith("handle_") else fn
    name = "noop_" + c_ident(base)
    n, k = name, 2
    while n in taken:
        n, k = f"{name}_{k}", k + 1
    taken.add(n)
    return n


def program_source(section, fn, name, tp_args):
    sec = section[1:] if section.startswith("?") else section
    kind, _, target = sec.partition("/")
    head = f'/* {fn} */\nSEC("{section}")\n'
    if kind in ("tp_btf", "raw_tp", "raw_tracepoint"):
        if target not in tp_args:
            raise ElfError(f"section {section}: no btf_trace_{target} in vmlinux.h, so this kernel has no such "
                           "tracepoint (the sensor could not attach it either)")
        params = "".join(f", {declare(t, f'arg{i}')}" for i, t in enumerate(tp_args[target]))
        return head + f"int BPF_PROG({name}{params})\n{{\n\treturn 0;\n}}\n"
    if kind in ("tracepoint", "tp") and "/" in target:
        cat, _, event = target.partition("/")
        if cat == "syscalls" and event.startswith("sys_exit_"):
            ctx = "struct trace_event_raw_sys_exit *ctx"
        elif cat == "syscalls" and event.startswith("sys_enter_"):
            ctx = "struct trace_event_raw_sys_enter *ctx"
        else:
            ctx = "void *ctx"
        return head + f"int {name}({ctx})\n{{\n\treturn 0;\n}}\n"
    raise ElfError(f"section {section} ({fn}): no no-op template for '{kind}' programs in bench/gen_noop.py; "
                   "add one so the floor keeps attaching every hook the sensor attaches")


def generate(obj, vmlinux_h):
    progs = read_programs(obj)
    if not progs:
        raise ElfError(f"{obj}: no BPF programs")
    tp_args = tracepoint_args(vmlinux_h)
    taken = set()
    parts = [
        "// SPDX-License-Identifier: GPL-2.0\n"
        "/*\n"
        " * GENERATED by bench/gen_noop.py from the sensor's compiled object; do not edit.\n"
        " * The floor of the sensor-overhead benchmark (bench/sensor_bench.py --floor):\n"
        f" * one program that returns 0 for each of the sensor's {len(progs)} programs, in the same\n"
        " * section (so on the same hook). tp_btf argument lists come from vmlinux.h.\n"
        " */\n"
        '#include "vmlinux.h"\n'
        "#include <bpf/bpf_helpers.h>\n"
        "#include <bpf/bpf_tracing.h>\n"
        "\n"
        'char LICENSE[] SEC("license") = "GPL";\n'
    ]
    for sec, fn in progs:
        parts.append("\n" + program_source(sec, fn, noop_name(fn, taken), tp_args))
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--object", help="the sensor's compiled BPF object (barbwire.bpf.o)")
    ap.add_argument("--vmlinux-h", help="vmlinux.h the objects are compiled against")
    ap.add_argument("-o", "--output", help="the noop.bpf.c to write")
    ap.add_argument("--list", nargs="+", metavar="OBJECT", help="print each object's programs and exit")
    a = ap.parse_args()
    try:
        if a.list:
            for obj in a.list:
                for sec, fn in read_programs(obj):
                    print(f"{sec} {fn}")
            return 0
        if not (a.object and a.vmlinux_h and a.output):
            ap.error("--object, --vmlinux-h and -o are needed (or --list)")
        text = generate(a.object, a.vmlinux_h)
    except (ElfError, OSError, ValueError) as e:
        print(f"gen_noop: {e}", file=sys.stderr)
        return 1
    with open(a.output, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
