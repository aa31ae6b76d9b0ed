#!/usr/bin/env python3
"""Validate remote/syscalls.py and generate code and docs from it.

Outputs (see remote/README.md):
  <out-dir>/SyscallTable.inc       constexpr table, index by number and by name
  <out-dir>/SyscallMarshaller.inc  enum class Marshaller (the COMPLEX marshallers)
  <out-dir>/SyscallFilter.inc      numbers for the seccomp filter builder
  <out-dir>/SyscallLibcCheck.inc   {SYS_name, "name"} pairs for the unit test
  <docs>                           docs/syscalls.md, the human table

Every output is rewritten only when its content changes, so a regeneration
that changes nothing does not rebuild anything. Exit status 1 and one line per
problem when the table is invalid.

Usage: gen_syscalls.py --table syscalls.py --out-dir DIR --docs FILE
                       [--header /usr/include/x86_64-linux-gnu/asm/unistd_64.h]
       gen_syscalls.py --table syscalls.py --check   (validate only)
"""

from __future__ import annotations

import argparse
import errno as errno_mod
import importlib.util
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

DEFAULT_HEADER = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
DISPOSITIONS = ("local", "forward", "special", "refuse")
SUPPORTS = ("full", "partial", "none")
LEN_SOURCES = ("fixed", "arg", "deref", "header", "fdset", "nul")
WB_HOWS = ("all", "ret", "deref")
COND_OPS = ("eq", "ne", "masked_eq")
MAX_ARGS = 6


def load_table(path: Path):
    spec = importlib.util.spec_from_file_location("mos_syscalls_table", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need the module registered
    spec.loader.exec_module(mod)
    return mod


# ---- validation -----------------------------------------------------------
class Problems:
    def __init__(self):
        self.items: list[str] = []

    def add(self, where: str, what: str):
        self.items.append(f"{where}: {what}")


def is_errno(name: str) -> bool:
    return hasattr(errno_mod, name) and name.startswith("E")


def validate(t, header: Path | None) -> Problems:
    p = Problems()
    rows = t.SYSCALLS
    scalar, pointer = set(t.SCALAR_KINDS), set(t.POINTER_KINDS)

    names = Counter(r.name for r in rows)
    for n, c in names.items():
        if c > 1:
            p.add(n, f"name appears {c} times")
    nrs = Counter(r.nr for r in rows)
    for n, c in nrs.items():
        if c > 1:
            p.add(str(n), f"number appears {c} times")

    max_nr = max(r.nr for r in rows)
    holes = set()
    for lo, hi in t.UNASSIGNED:
        if lo > hi:
            p.add("UNASSIGNED", f"empty range {lo}..{hi}")
        for n in range(lo, hi + 1):
            if n in holes:
                p.add("UNASSIGNED", f"{n} listed twice")
            holes.add(n)
    for n in range(0, max_nr + 1):
        if n in nrs and n in holes:
            p.add(str(n), "both an entry and unassigned")
        elif n not in nrs and n not in holes:
            p.add(str(n), "no entry and not declared unassigned")
    if holes and max(holes) > max_nr:
        p.add("UNASSIGNED", "extends past the largest syscall number")
    if any(r.nr < 0 for r in rows):
        p.add("SYSCALLS", "negative number")
    if [r.nr for r in rows] != sorted(r.nr for r in rows):
        p.add("SYSCALLS", "rows are not in number order")

    used_complex = set()
    for r in rows:
        where = f"{r.nr} {r.name}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", r.name):
            p.add(where, "bad name")
        if r.disposition not in DISPOSITIONS:
            p.add(where, f"bad disposition {r.disposition!r}")
        if r.support not in SUPPORTS:
            p.add(where, f"bad support {r.support!r}")
        if not r.note or "\n" in r.note or "|" in r.note:
            p.add(where, "note must be one non-empty line without '|'")
        if r.disposition == "refuse":
            if not is_errno(r.errno):
                p.add(where, f"refuse needs a valid errno, got {r.errno!r}")
            if r.support != "none":
                p.add(where, "a refused call has support none")
            if r.blocks or r.may_pin or r.local_if:
                p.add(where, "a refused call neither blocks, pins nor runs natively")
        else:
            if r.errno:
                p.add(where, "only refused calls carry an errno")
            if r.support == "none":
                p.add(where, "support none is only for refused calls")
        if r.disposition == "forward" and r.args is None:
            p.add(where, "forwarded calls must describe every argument")
        if r.local_if is not None:
            if r.disposition != "special":
                p.add(where, "local_if only makes sense for special calls")
            c = r.local_if
            if c.op not in COND_OPS:
                p.add(where, f"bad local_if op {c.op!r}")
            if not 0 <= c.arg < MAX_ARGS or (r.args is not None and c.arg >= len(r.args)):
                p.add(where, f"local_if names argument {c.arg}, which does not exist")
            elif r.args is not None and r.args[c.arg].kind not in scalar:
                p.add(where, "local_if tests a pointer argument (seccomp cannot see through it)")
        if r.args is None:
            continue
        if len(r.args) > MAX_ARGS:
            p.add(where, "more than 6 arguments")
        argnames = Counter(a.name for a in r.args)
        for n, c in argnames.items():
            if c > 1:
                p.add(where, f"argument name {n!r} used {c} times")
        for i, a in enumerate(r.args):
            aw = f"{where} arg{i} {a.name}"
            validate_arg(p, t, aw, r, a, scalar, pointer)
            if a.complex:
                used_complex.add(a.complex)

    for k in t.COMPLEX:
        if k not in used_complex:
            p.add("COMPLEX", f"marshaller {k!r} is never used")

    if header is not None:
        check_header(p, rows, header)
    return p


def validate_arg(p, t, aw, r, a, scalar, pointer):
    if a.kind in scalar:
        if a.length or a.wb or a.complex or a.on_error:
            p.add(aw, "a scalar has no length, writeback or marshaller")
        return
    if a.kind not in pointer:
        p.add(aw, f"unknown kind {a.kind!r}")
        return
    if a.kind == "complex":
        if a.complex not in t.COMPLEX:
            p.add(aw, f"unknown marshaller {a.complex!r}")
        if a.length or a.wb:
            p.add(aw, "a complex argument is described by its marshaller only")
        return
    if a.complex:
        p.add(aw, "only complex arguments name a marshaller")
    ln = a.length
    if ln is None:
        p.add(aw, "pointer without a length")
        return
    if ln.source not in LEN_SOURCES:
        p.add(aw, f"bad length source {ln.source!r}")
        return
    if ln.over != "clamp" and not is_errno(ln.over):
        p.add(aw, f"over must be 'clamp' or an errno, got {ln.over!r}")
    if ln.max <= 0:
        p.add(aw, "every length needs a positive bound (max)")
    if (a.kind == "str") != (ln.source == "nul"):
        p.add(aw, "strings, and only strings, are NUL-terminated")
    args = r.args
    if ln.source == "fixed":
        if ln.base <= 0 or ln.max != ln.base:
            p.add(aw, "a fixed length needs base > 0 and max == base")
    elif ln.source in ("arg", "fdset"):
        if not 0 <= ln.arg < len(args):
            p.add(aw, f"length names argument {ln.arg}, which does not exist")
        elif args[ln.arg].kind not in scalar:
            p.add(aw, f"length argument {args[ln.arg].name} is not a scalar")
        elif args[ln.arg] is a:
            p.add(aw, "length names the argument itself")
        if ln.elem <= 0:
            p.add(aw, "element size must be positive")
    elif ln.source == "deref":
        if not 0 <= ln.arg < len(args):
            p.add(aw, f"length names argument {ln.arg}, which does not exist")
        else:
            la = args[ln.arg]
            if la.kind not in ("in", "inout") or la.length is None or la.length.source != "fixed" \
                    or la.length.base != 4:
                p.add(aw, f"value-result length {la.name} must be a 4-byte in/inout pointer")
        if ln.elem <= 0:
            p.add(aw, "element size must be positive")
    elif ln.source == "header":
        if ln.arg < 0 or ln.arg + 4 > max(ln.max, 4):
            p.add(aw, "header field offset outside the bound")
    if a.kind in ("out", "inout", "iov_out"):
        if a.wb is None:
            p.add(aw, "output buffer without a writeback rule")
        elif a.wb.how not in WB_HOWS:
            p.add(aw, f"bad writeback {a.wb.how!r}")
        elif a.wb.how == "deref":
            if not 0 <= a.wb.arg < len(args):
                p.add(aw, f"writeback names argument {a.wb.arg}, which does not exist")
            else:
                la = args[a.wb.arg]
                if la.kind != "inout" or la.length is None or la.length.base != 4:
                    p.add(aw, f"writeback length {la.name} must be a 4-byte inout pointer")
        if a.kind == "iov_out" and a.wb is not None and a.wb.how != "ret":
            p.add(aw, "iovecs are filled up to the return value")
    elif a.wb is not None or a.on_error:
        p.add(aw, "input-only arguments are never written back")


def check_header(p, rows, header: Path):
    if not header.exists():
        print(f"gen_syscalls: {header} not found, skipping the cross-check", file=sys.stderr)
        return
    by_name = {r.name: r.nr for r in rows}
    for m in re.finditer(r"#define\s+__NR_(\w+)\s+(\d+)", header.read_text()):
        name, nr = m.group(1), int(m.group(2))
        if name not in by_name:
            p.add(str(header), f"__NR_{name} ({nr}) is missing from the table")
        elif by_name[name] != nr:
            p.add(str(header), f"__NR_{name} is {nr}, the table says {by_name[name]}")


# ---- C++ emission -----------------------------------------------------------
def camel(s: str) -> str:
    return "k" + "".join(w.capitalize() for w in s.split("_"))


KIND_ENUM = {
    "int": "kInt", "uint": "kUInt", "long": "kLong", "ulong": "kULong", "fd": "kFd",
    "dirfd": "kDirFd", "pid": "kPid", "sig": "kSignal", "flags": "kFlags", "mode": "kMode",
    "uid": "kUid", "gid": "kGid", "addr": "kAddr", "in": "kIn", "out": "kOut",
    "inout": "kInOut", "str": "kString", "iov_in": "kIovIn", "iov_out": "kIovOut",
    "complex": "kComplex",
}
LEN_ENUM = {"fixed": "kFixed", "arg": "kArg", "deref": "kDeref", "header": "kHeader",
            "fdset": "kFdSet", "nul": "kNul"}
WB_ENUM = {"all": "kAll", "ret": "kRet", "deref": "kDeref"}
COND_ENUM = {"eq": "kEq", "ne": "kNe", "masked_eq": "kMaskedEq"}


def cstr_lit(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit_arg(a) -> str:
    parts = [f".name = {cstr_lit(a.name)}", f".ctype = {cstr_lit(a.ctype)}",
             f".kind = ArgKind::{KIND_ENUM[a.kind]}"]
    if a.length is not None:
        ln = a.length
        over = "0" if ln.over == "clamp" else ln.over
        parts.append(
            f".len = {{.from = LenFrom::{LEN_ENUM[ln.source]}, .arg = {max(ln.arg, 0)}, "
            f".base = {ln.base}, .elem = {ln.elem}, .max = {ln.max}ULL, .over_errno = {over}}}")
    if a.wb is not None:
        parts.append(f".wb = {{.from = WbFrom::{WB_ENUM[a.wb.how]}, .arg = {max(a.wb.arg, 0)}, "
                     f".base = {a.wb.base}, .elem = {a.wb.elem}, "
                     f".on_error = {'true' if a.on_error else 'false'}}}")
    if a.complex:
        parts.append(f".marshaller = Marshaller::{camel(a.complex)}")
    return "{" + ", ".join(parts) + "}"


def emit_entry(r) -> str:
    lines = [f"    {{.nr = {r.nr},", f"     .name = {cstr_lit(r.name)},",
             f"     .disposition = Disposition::{camel(r.disposition)},",
             f"     .support = Support::{camel(r.support)},",
             f"     .blocks = {'true' if r.blocks else 'false'},",
             f"     .may_pin = {'true' if r.may_pin else 'false'},",
             f"     .refuse_errno = {r.errno or 0},",
             f"     .args_known = {'false' if r.args is None else 'true'},",
             f"     .nargs = {0 if r.args is None else len(r.args)},"]
    if r.args:
        lines.append("     .args = {")
        for a in r.args:
            lines.append(f"         {emit_arg(a)},")
        lines.append("     },")
    if r.local_if is not None:
        c = r.local_if
        lines.append(f"     .local_if = {{.present = true, .arg = {c.arg}, "
                     f".op = CondOp::{COND_ENUM[c.op]}, .mask = {c.mask:#x}ULL, "
                     f".value = {c.value:#x}ULL}},")
    lines.append(f"     .note = {cstr_lit(r.note)}}},")
    return "\n".join(lines)


BANNER = "// Generated by remote/gen_syscalls.py from remote/syscalls.py. Do not edit.\n"


def gen_table(t) -> str:
    rows = t.SYSCALLS
    max_nr = max(r.nr for r in rows)
    out = [BANNER, "// Included by remote/detail/SyscallTable.cc inside namespace mos::remote.\n",
           f"inline constexpr long kMaxSyscallNr = {max_nr};\n",
           "inline constexpr SyscallEntry kSyscalls[] = {"]
    out += [emit_entry(r) for r in rows]
    out.append("};\n")
    index = {r.nr: i for i, r in enumerate(rows)}
    out.append("// kSyscalls index by number; -1 for numbers that were never assigned.")
    out.append(f"inline constexpr std::int16_t kIndexByNr[{max_nr + 1}] = {{")
    vals = [str(index.get(n, -1)) for n in range(max_nr + 1)]
    for i in range(0, len(vals), 16):
        out.append("    " + ", ".join(vals[i:i + 16]) + ",")
    out.append("};\n")
    out.append("// kSyscalls indices in name order, for binary search.")
    out.append(f"inline constexpr std::int16_t kIndexByName[{len(rows)}] = {{")
    by_name = [str(index[r.nr]) for r in sorted(rows, key=lambda r: r.name)]
    for i in range(0, len(by_name), 16):
        out.append("    " + ", ".join(by_name[i:i + 16]) + ",")
    out.append("};\n")
    out.append("inline constexpr NrRange kUnassigned[] = {")
    for lo, hi in t.UNASSIGNED:
        out.append(f"    {{{lo}, {hi}}},")
    out.append("};")
    return "\n".join(out) + "\n"


def gen_marshaller(t) -> str:
    out = [BANNER, "// Included by remote/SyscallTable.h inside namespace mos::remote.\n",
           "// How to marshal an argument whose layout depends on other arguments.",
           "enum class Marshaller : std::uint8_t {", "  kNone,"]
    for k, doc in t.COMPLEX.items():
        out.append(f"  // {doc}" if len(doc) < 90 else "  // " + wrap(doc, 88, "  // "))
        out.append(f"  {camel(k)},")
    out.append("};\n")
    out.append("inline constexpr std::string_view kMarshallerNames[] = {")
    out.append('    "none",')
    for k in t.COMPLEX:
        out.append(f"    {cstr_lit(k)},")
    out.append("};")
    return "\n".join(out) + "\n"


def wrap(text: str, width: int, prefix: str) -> str:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur)
    return ("\n" + prefix).join(lines)


def gen_filter(t) -> str:
    rows = t.SYSCALLS
    trapped = [r.nr for r in rows if r.disposition != "local"]
    local = [r.nr for r in rows if r.disposition == "local"]
    out = [BANNER,
           "// Included by remote/detail/SyscallTable.cc inside namespace mos::remote.",
           "// The filter's default action is USER_NOTIF: unassigned and unknown numbers",
           "// trap too and reach the single ENOSYS fallback. kLocalSyscalls are allowed;",
           "// kLocalFastPaths allow a trapped call natively when its argument test holds.\n",
           "inline constexpr int kTrappedSyscalls[] = {"]
    for i in range(0, len(trapped), 16):
        out.append("    " + ", ".join(map(str, trapped[i:i + 16])) + ",")
    out.append("};\n")
    out.append("inline constexpr int kLocalSyscalls[] = {")
    for i in range(0, len(local), 16):
        out.append("    " + ", ".join(map(str, local[i:i + 16])) + ",")
    out.append("};\n")
    out.append("inline constexpr LocalFastPath kLocalFastPaths[] = {")
    for r in rows:
        if r.local_if is not None:
            c = r.local_if
            out.append(f"    {{.nr = {r.nr}, .cond = {{.present = true, .arg = {c.arg}, "
                       f".op = CondOp::{COND_ENUM[c.op]}, .mask = {c.mask:#x}ULL, "
                       f".value = {c.value:#x}ULL}}}},  // {r.name}")
    out.append("};")
    return "\n".join(out) + "\n"


def gen_libc_check(t) -> str:
    out = [BANNER, "// {SYS_name, \"name\"} for every table name <sys/syscall.h> defines.",
           "// Included inside an array initializer by remote/tests/syscall_table_test.cc."]
    for r in t.SYSCALLS:
        out += [f"#ifdef SYS_{r.name}", f"    {{SYS_{r.name}, {cstr_lit(r.name)}}},", "#endif"]
    return "\n".join(out) + "\n"


# ---- docs/syscalls.md -------------------------------------------------------
def fmt_len(a) -> str:
    ln = a.length
    if ln.source == "fixed":
        s = f"{ln.base} B"
    elif ln.source == "nul":
        s = f"NUL-terminated ≤ {ln.max}"
    elif ln.source == "fdset":
        s = f"fd_set(arg{ln.arg})"
    else:
        what = {"arg": f"arg{ln.arg}", "deref": f"*arg{ln.arg}",
                "header": f"u32@{ln.arg}"}[ln.source]
        s = what if ln.elem == 1 else f"{ln.elem}×{what}"
        if ln.base:
            s = f"{ln.base}+{s}"
    if ln.source not in ("fixed", "nul"):
        s += f" ≤ {ln.max}"
    if ln.source != "fixed" and ln.over != "clamp":
        s += f" else {ln.over}"
    return s


def fmt_arg(a) -> str:
    if a.kind == "complex":
        return f"{a.name}: ⟨{a.complex}⟩"
    if a.length is None:
        return f"{a.name}: {a.kind}"
    s = f"{a.name}: {a.kind}[{fmt_len(a)}]"
    if a.wb is not None and a.wb.how != "all":
        wb = {"ret": "ret", "deref": f"*arg{a.wb.arg}"}[a.wb.how]
        if a.wb.how == "ret" and (a.wb.base or a.wb.elem != 1):
            wb = (f"{a.wb.base}+" if a.wb.base else "") + \
                 (f"{a.wb.elem}×ret" if a.wb.elem != 1 else "ret")
        s += f"→{wb}"
    if a.on_error:
        s += "!"
    return s


def fmt_cond(c) -> str:
    if c.op == "masked_eq":
        return f"arg{c.arg} & {c.mask:#x} == {c.value:#x}"
    return f"arg{c.arg} {'==' if c.op == 'eq' else '!='} {c.value}"


def gen_docs(t) -> str:
    rows = t.SYSCALLS
    disp = Counter(r.disposition for r in rows)
    sup = Counter(r.support for r in rows)
    cross = Counter((r.disposition, r.support) for r in rows)
    holes = sum(hi - lo + 1 for lo, hi in t.UNASSIGNED)
    out = ["<!-- Generated by remote/gen_syscalls.py from remote/syscalls.py at build time. "
           "Do not edit or commit. -->", "",
           "# System calls under mosrun (x86_64)", "",
           f"{len(rows)} system calls, numbers 0..{max(r.nr for r in rows)} "
           f"({holes} numbers never assigned: "
           + ", ".join(f"{lo}..{hi}" for lo, hi in t.UNASSIGNED) + ").", "",
           "| disposition | total | full | partial | none |", "|---|---:|---:|---:|---:|"]
    for d in DISPOSITIONS:
        out.append(f"| {d} | {disp[d]} | " + " | ".join(str(cross[(d, s)]) for s in SUPPORTS)
                   + " |")
    out.append(f"| **all** | **{len(rows)}** | " + " | ".join(f"**{sup[s]}**" for s in SUPPORTS)
               + " |")
    out += ["",
            f"Blocking calls: {sum(r.blocks for r in rows)}. "
            f"Calls that may pin a process at home: {sum(r.may_pin for r in rows)}. "
            f"Special calls with a native fast path in the seccomp filter: "
            f"{sum(r.local_if is not None for r in rows)}.", "",
            "## Reading the table", "",
            "- **local**: runs natively in the body; **forward**: executed by the deputy on the "
            "home node, arguments marshalled as listed; **special**: the supervisor handles it "
            "(with the deputy's help); **refuse**: answered with the errno shown.",
            "- Flags: **B** may block (must stay interruptible), **P** may pin the process at "
            "home, **F** has a native fast path (the condition is shown).",
            "- Argument kinds: scalars `int uint long ulong fd dirfd pid sig flags mode uid gid "
            "addr` pass by value (`addr`: a body address never dereferenced); `in`, `out`, "
            "`inout` are buffers, `str` a NUL-terminated string, `iov_in`/`iov_out` iovec "
            "arrays, ⟨name⟩ a marshaller listed below.",
            "- Lengths: `argN` the value of argument N, `*argN` the u32 it points to "
            "(value-result), `u32@K` a size field at byte K of the buffer itself, `fd_set(argN)` "
            "ceil(nfds/64)×8. `≤ max` bounds what is marshalled; `else EXXX` is the kernel's "
            "answer beyond it, otherwise the request is clamped (a legal short transfer). "
            "`→ret` writes back only what the return value says, `→*argN` what the "
            "value-result length says; `!` writes back on failure too.",
            "- NULL pointers pass through as NULL; unreadable buffers give EFAULT; fds are the "
            "deputy's (the program's own numbers); PIDs are home PIDs.", "",
            "## All system calls", "",
            "| nr | name | disposition | support | flags | arguments | note |",
            "|---:|---|---|---|---|---|---|"]
    for r in rows:
        fl = ("B" if r.blocks else "") + ("P" if r.may_pin else "")
        if r.local_if is not None:
            fl += f" F: `{fmt_cond(r.local_if)}`"
        d = r.disposition if r.disposition != "refuse" else f"refuse {r.errno}"
        if r.args is None:
            args = "—"
        elif not r.args:
            args = "(none)"
        else:
            args = "<br>".join(f"`{fmt_arg(a)}`" for a in r.args)
        out.append(f"| {r.nr} | {r.name} | {d} | {r.support} | {fl.strip()} | {args} | "
                   f"{r.note} |")
    out += ["", "## Marshallers", "",
            "Arguments whose layout depends on other arguments each have one marshaller in "
            "the runtime:", ""]
    for k, doc in t.COMPLEX.items():
        users = [r.name for r in rows if r.args and any(a.complex == k for a in r.args)]
        out.append(f"- **{k}** ({', '.join(users)}): {doc}.")
    return "\n".join(out) + "\n"


# ---- main -------------------------------------------------------------------
def write_if_changed(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == text:
        return
    # Several build trees may regenerate docs/syscalls.md at once: write a
    # temporary file and rename it, so nobody ever sees half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", type=Path, required=True)
    ap.add_argument("--out-dir", type=Path)
    ap.add_argument("--docs", type=Path)
    ap.add_argument("--header", type=Path, default=Path(DEFAULT_HEADER),
                    help="unistd_64.h to cross-check names and numbers against")
    ap.add_argument("--no-header", action="store_true", help="skip the header cross-check")
    ap.add_argument("--check", action="store_true", help="validate only")
    ns = ap.parse_args()

    t = load_table(ns.table)
    problems = validate(t, None if ns.no_header else ns.header)
    if problems.items:
        for item in problems.items:
            print(f"{ns.table}: {item}", file=sys.stderr)
        print(f"gen_syscalls: {len(problems.items)} problem(s), nothing generated",
              file=sys.stderr)
        return 1
    if ns.check:
        return 0
    if ns.out_dir is None or ns.docs is None:
        ap.error("--out-dir and --docs are required unless --check")
    write_if_changed(ns.out_dir / "SyscallTable.inc", gen_table(t))
    write_if_changed(ns.out_dir / "SyscallMarshaller.inc", gen_marshaller(t))
    write_if_changed(ns.out_dir / "SyscallFilter.inc", gen_filter(t))
    write_if_changed(ns.out_dir / "SyscallLibcCheck.inc", gen_libc_check(t))
    write_if_changed(ns.docs, gen_docs(t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
