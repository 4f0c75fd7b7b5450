"""CPU seconds spent by the system under test: the stack's own process trees plus the PostgreSQL
backends serving its database, read from /proc. On a machine other work shares, the CPU a request
or a task costs moves far less than its wall-clock time (which waits for the cores), so the ratios
of CPU costs are what the regression guard compares (bench/guard.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from django.db import connection

from bench.stack import Stack, process_tree

T = TypeVar("T")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process so far (None if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def database_backends() -> list[int]:
    """The PostgreSQL server processes of this database's sessions, but the harness's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


class CpuMeter:
    """Measures the CPU the named services (with everything they forked) and the database spend."""

    def __init__(self, stack: Stack, services: Iterable[str], *, database: bool = True):
        self.stack = stack
        self.services = tuple(services)
        self.database = database

    def _pids(self) -> list[int]:
        pids = database_backends() if self.database else []
        for name in self.services:
            pids += process_tree(self.stack.services[name].pid)
        return pids

    def snapshot(self) -> dict[int, float]:
        return {pid: seconds for pid in self._pids() if (seconds := cpu_seconds(pid)) is not None}

    def since(self, before: dict[int, float]) -> float:
        """CPU seconds spent since the snapshot `before` (a process that ended meanwhile is not
        counted; a new one counts from zero)."""
        return sum(seconds - before.get(pid, 0.0) for pid, seconds in self.snapshot().items())

    def measure(self, work: Callable[[], T]) -> tuple[T, float]:
        """`work()`'s result and the CPU seconds spent meanwhile."""
        before = self.snapshot()
        return work(), self.since(before)
