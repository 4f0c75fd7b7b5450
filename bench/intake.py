"""Benchmark 1, webhook intake: POST /stripe/webhooks/ against a bare Django view fed the very same
signed bodies, on the same server, alternated."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from bench import data
from bench.context import Bench, Sizes, alternated
from bench.load import LOAD_HEADER, Comparison, LoadResult, load_row, mean_rps
from bench.result import Check, Ratio, Result
from bench.stack import PLATFORM_DOMAIN

NUMBER, TITLE = 1, "Webhook intake"
TARGET = (
    "intake ≥ 50 % of the bare view's requests/s, p99 < 4× the bare view's, zero non-2xx, "
    "every acknowledged event stored"
)
_runs = itertools.count(1)  # event ids stay unique over every attempt of a run


@dataclass(frozen=True)
class IntakeMeasurement:
    load: Comparison  # the bare view, the intake
    stored: int
    acknowledged: int
    payload_bytes: int

    @property
    def p99_ratio(self) -> float:
        bare = max(result.p99_ms for result in self.load.baseline)
        return max(result.p99_ms for result in self.load.subject) / bare if bare else float("inf")

    @property
    def wrapped(self) -> int:
        return sum(result.wrapped for result in self.load.subject)


def _post(bench: Bench, path: str, events: Path, duration: float | None = None) -> LoadResult:
    return bench.wrk(path, host=PLATFORM_DOMAIN, method="POST", events_prefix=events, duration=duration)


def _events_per_run(bench: Bench, subscription: dict, work: Path, run: int) -> int:
    """How many unique events one measured run needs: twice what the warm-up's rate would send."""
    if not bench.sizes.warmup:
        return 2000
    warm = work / "warm"
    data.write_signed_events(warm, threads=1, per_thread=400, subscription=subscription, id_prefix=f"warm{run}")
    _post(bench, "/_bench/bare/", warm, bench.sizes.warmup)
    rate = _post(bench, "/stripe/webhooks/", warm, bench.sizes.warmup).rps
    return int(rate * bench.sizes.duration * 2) + 1000


def measure(bench: Bench) -> IntakeMeasurement:
    from webhooks.models import WebhookEvent

    subscription = data.sample_subscription()
    work, run = bench.config.log_dir, next(_runs)
    prefix = f"evt_intake{run}_"
    # The worker stops taking webhook tasks meanwhile: on two cores it would compete with the server
    # for the CPU, and only for the intake half of the comparison.
    bench.pause_webhooks_queue()
    try:
        per_run = _events_per_run(bench, subscription, work, run)
        files = [work / f"events{index}" for index in range(bench.sizes.rounds)]
        for index, events in enumerate(files):  # each round's bodies, the same for both endpoints
            data.write_signed_events(
                events, threads=1, per_thread=per_run, subscription=subscription, id_prefix=f"intake{run}_{index}"
            )
        bare_files, intake_files = iter(files), iter(files)
        load = Comparison(
            *alternated(
                bench.sizes.rounds,
                lambda: _post(bench, "/_bench/bare/", next(bare_files)),
                lambda: _post(bench, "/stripe/webhooks/", next(intake_files)),
            )
        )
    finally:
        bench.drop_queue()
        bench.resume_webhooks_queue()
        for path in work.glob("*.0"):
            path.unlink()
    stored = WebhookEvent.objects.filter(stripe_id__startswith=prefix).count()
    WebhookEvent.objects.filter(stripe_id__regex=rf"^evt_(warm|intake){run}_").delete()
    acknowledged = sum(min(result.requests - result.non2xx, per_run) for result in load.subject)
    return IntakeMeasurement(load, stored, acknowledged, len(json.dumps(subscription)))


def judge(m: IntakeMeasurement) -> list[Check]:
    return [
        Check(m.load.throughput >= 0.5, f"throughput ratio {m.load.throughput:.0%} < 50 %"),
        Check(m.p99_ratio < 4, f"p99 ratio {m.p99_ratio:.1f}× ≥ 4×"),
        Check(m.load.failures == 0, f"{m.load.failures} non-2xx or failed requests", correctness=True),
        Check(
            m.stored >= m.acknowledged,
            f"only {m.stored} of {m.acknowledged} acknowledged events stored",
            correctness=True,
        ),
    ]


def describe(m: IntakeMeasurement, sizes: Sizes) -> Result:
    rows = [LOAD_HEADER]
    for index, (bare, intake) in enumerate(m.load.rounds(), 1):
        rows.append(load_row(f"bare Django view (POST, same bodies), round {index}", bare))
        rows.append(load_row(f"POST /stripe/webhooks/, round {index}", intake))
    notes = [
        f"{sizes.rounds} rounds of {sizes.connections} connections (wrk, 1 thread) for {sizes.duration:.0f} s per "
        "endpoint, alternated (bare, intake, intake, bare, ...); each request a signed "
        f"`customer.subscription.updated` event with a unique id ({m.payload_bytes:,} bytes of subscription "
        "object), the bare view getting the very same bodies. The ratio is the intake's mean requests/s over "
        "the bare view's; p99 the worst round's. Server CPU: gunicorn's processes and the database's "
        "backends (bench/cpu.py).",
        "Intake = verify the signature, INSERT … ON CONFLICT DO NOTHING, publish the task after commit, 200. "
        "The worker's consumption of the webhooks queue is paused during the runs (the tasks are discarded).",
    ]
    if m.wrapped:
        notes.append(f"wrk ran out of unique events and re-sent {m.wrapped} rounds (duplicates get 200 too).")
    return Result(
        NUMBER,
        TITLE,
        TARGET,
        headline=(
            f"intake {mean_rps(m.load.subject):,.0f} req/s = {m.load.throughput:.0%} of the bare view; "
            f"p99 {m.p99_ratio:.1f}× the bare view's; {m.stored:,} of {m.acknowledged:,} acknowledged events stored; "
            f"server CPU per request {m.load.cpu:.1f}× the bare view's"
        ),
        checks=judge(m),
        ratios=[
            Ratio("intake.cpu", m.load.cpu, higher_is_better=False, label="server CPU per request, intake ÷ bare view")
        ],
        tables=[rows],
        notes=notes,
    )


def run(bench: Bench) -> Result:
    bench.phase("1. webhook intake")
    return describe(measure(bench), bench.sizes)
