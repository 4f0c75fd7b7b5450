"""Benchmark 6, memory: the peak resident memory of the web and worker process trees, per phase of
the run (sampled by bench/stack.py's MemorySampler all along)."""

from __future__ import annotations

from bench.context import Bench
from bench.result import Result

NUMBER, TITLE = 6, "Memory"
TARGET = "report the peak RSS of the web and worker processes during the runs above"
GROUPS = (("web", "web: gunicorn master + workers"), ("worker", "worker: Celery main + prefork children"))


def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def run(bench: Bench) -> Result:
    sampler = bench.stack.memory
    sampler.sample()
    peaks = [["process group", "peak RSS (all processes)", "during", "largest single process", "processes"]]
    parts = []
    for group, label in GROUPS:
        kib, phase = sampler.peak(group)
        largest, count = sampler.largest_process.get(group, 0), sampler.process_count.get(group, 0)
        peaks.append([label, mib(kib), phase, mib(largest), str(count)])
        parts.append(f"{group} {mib(kib)}")
    per_phase = [["phase", "web", "worker"]]
    for phase in dict.fromkeys(phase for (_, phase) in sampler.peaks):
        per_phase.append([phase] + [mib(sampler.peaks.get((group, phase), 0)) for group, _ in GROUPS])
    config = bench.config
    return Result(
        NUMBER,
        TITLE,
        TARGET,
        headline="peak RSS: " + ", ".join(parts),
        tables=[peaks, per_phase],
        notes=[
            f"Sampled every {sampler.interval} s from /proc (VmRSS summed over each process tree: gunicorn "
            f"{config.web_concurrency} workers × {config.web_threads} threads; Celery prefork, concurrency "
            f"{config.worker_concurrency}; the worker is restarted for the onboarding variants). Pages shared "
            "between processes (copy-on-write after the fork) count in each of them, so the sums overstate the "
            "real footprint."
        ],
    )
