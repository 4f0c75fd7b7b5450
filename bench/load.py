"""Load generation: Debian's wrk, a separate process, driven by bench/wrk.lua."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk.lua")


@dataclass
class LoadResult:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    non2xx: int
    wrapped: int
    socket_errors: int
    connections: int
    cpu_seconds: float = 0.0  # the server's (bench/cpu.py), filled in by Bench.wrk

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def cpu_ms(self) -> float:
        """Server CPU milliseconds per request."""
        return self.cpu_seconds * 1000 / self.requests if self.requests else float("inf")

    @property
    def failures(self) -> int:
        return self.non2xx + self.socket_errors

    def summary(self) -> str:
        return (
            f"{self.rps:,.0f} req/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"{self.requests:,} requests, {self.non2xx} non-2xx, {self.socket_errors} socket errors, "
            f"server CPU {self.cpu_ms:.2f} ms/request"
        )


LOAD_HEADER = ["endpoint", "requests/s", "p50", "p99", "requests", "non-2xx + socket errors", "server CPU/request"]


def ms(value: float) -> str:
    return f"{value:.1f} ms"


def load_row(label: str, result: LoadResult) -> list[str]:
    """A row under LOAD_HEADER."""
    return [
        label,
        f"{result.rps:,.0f}",
        ms(result.p50_ms),
        ms(result.p99_ms),
        f"{result.requests:,}",
        str(result.failures),
        f"{result.cpu_ms:.2f} ms",
    ]


def mean_rps(results: list[LoadResult]) -> float:
    return sum(result.rps for result in results) / len(results) if results else 0.0


def cpu_ms(results: list[LoadResult]) -> float:
    """Server CPU milliseconds per request over several runs."""
    requests = sum(result.requests for result in results)
    return sum(result.cpu_seconds for result in results) * 1000 / requests if requests else float("inf")


@dataclass(frozen=True)
class Comparison:
    """The same load against a baseline and a subject, in alternated rounds."""

    baseline: list[LoadResult]
    subject: list[LoadResult]

    @property
    def throughput(self) -> float:
        """The subject's mean requests/s ÷ the baseline's."""
        return mean_rps(self.subject) / mean_rps(self.baseline) if mean_rps(self.baseline) else 0.0

    @property
    def cpu(self) -> float:
        """The subject's server CPU per request ÷ the baseline's."""
        return cpu_ms(self.subject) / cpu_ms(self.baseline)

    @property
    def failures(self) -> int:
        return sum(result.failures for result in self.baseline + self.subject)

    def rounds(self) -> list[tuple[LoadResult, LoadResult]]:
        return list(zip(self.baseline, self.subject, strict=True))


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk; `make system-packages` does it)")
    return path


def run_wrk(
    url: str,
    *,
    host: str,
    duration: float,
    connections: int,
    threads: int = 1,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    events_prefix: Path | None = None,
) -> LoadResult:
    argv = [
        wrk_path(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        "-H",
        f"Host: {host}",
    ]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv += [url, "--", method, str(events_prefix or "")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    line = next((line for line in result.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return LoadResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        non2xx=data["non2xx"],
        wrapped=data["wrapped"],
        socket_errors=data["err_connect"] + data["err_read"] + data["err_write"] + data["err_timeout"],
        connections=connections,
    )
