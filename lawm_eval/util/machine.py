"""The machine an episode ran on: its CPU model, architecture and core count.

Floating-point results can differ in the last digits from one CPU to another (BLAS kernels differ), and a
contact-rich simulation or a long training run can turn those digits into other outcomes
(docs/protocols/bfa.md). Records carry this so two runs' differences can be traced to their machines.
"""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpu_model_from_cpuinfo(text: str) -> str | None:
    """The first ``model name`` (x86) or ``Model``/``Hardware`` (ARM) line of /proc/cpuinfo's text."""
    for key in ("model name", "Model", "Hardware"):
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return None


@lru_cache(maxsize=1)
def machine_description() -> dict[str, str | int]:
    """``{"cpu": model name, "arch": e.g. x86_64, "cpus": logical cores}`` of this process's machine."""
    cpu = None
    if CPUINFO.is_file():
        try:
            cpu = cpu_model_from_cpuinfo(CPUINFO.read_text(errors="replace"))
        except OSError:
            cpu = None
    return {"cpu": cpu or platform.processor() or "unknown", "arch": platform.machine() or "unknown",
            "cpus": os.cpu_count() or 0}
