"""Benchmarks write their results into docs/benchmarks.md, each in its own marked section, so
re-running one benchmark replaces its table and leaves the others alone."""

from __future__ import annotations

import os
import platform
from pathlib import Path

DOC = Path("docs/benchmarks.md")


# Instruction sets that decide int8 and fp32 speed on x86 (int8 dot products: VNNI, AMX).
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_info() -> dict[str, str]:
    """The first processor's /proc/cpuinfo fields (empty where there is none)."""
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            info[key.strip()] = value.strip()
    except OSError:
        pass
    return info


def machine() -> str:
    """Cores, CPU name with family/model (the same name covers CPUs years apart) and the
    int8-relevant instruction sets, so numbers from different hosts are not mistaken for one."""
    info = cpu_info()
    cpu = info.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in info:
        cpu += f" (family {info['cpu family']} model {info.get('model', '?')})"
    flags = set(info.get("flags", "").split())
    isa = "/".join(f for f in ISA_FLAGS if f in flags) or "no AVX2"
    isa_text = f", {isa}" if flags else ""  # no flags line (not x86 Linux): say nothing
    return f"{os.cpu_count()} cores, {cpu}{isa_text}, Python {platform.python_version()}"


def write_section(name: str, body: str, doc: Path = DOC) -> None:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = f"{start}\n{body.strip()}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
