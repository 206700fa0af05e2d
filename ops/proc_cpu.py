"""CPU seconds a process has used (user + system, all its threads), read from /proc.

The replay benchmark charges the pipeline's processes (worker, broker, Redis, the replaying
process itself) against the model's own CPU: on a 2-core host they share the cores, so every
core-second the pipeline spends is one the model does not get. The worker's main thread is
counted on its own too: it runs the event loop (every stage's Python, the broker and Redis
clients), while the model runs on executor threads.
"""

from __future__ import annotations

import os
from pathlib import Path


def _stat_seconds(stat_path: str) -> float | None:
    try:
        stat = Path(stat_path).read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of ``pid`` (all threads) in seconds; None where /proc has no such process."""
    return _stat_seconds(f"/proc/{pid}/stat")


def main_thread_cpu_seconds(pid: int) -> float | None:
    """utime + stime of ``pid``'s main thread only (its thread id is the pid)."""
    return _stat_seconds(f"/proc/{pid}/task/{pid}/stat")
