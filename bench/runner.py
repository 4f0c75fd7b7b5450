"""One run of the harness: the stack up, the benchmarks in the order their data needs (each retried in
place while the guard sees a regression that may be noise), the stack down, the report written."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import data, gating, intake, memory, onboarding, processing, report, scale
from bench.context import FULL, SMOKE, Bench
from bench.guard import Guard, committed_figures
from bench.result import Result
from bench.stack import Stack, StackConfig, describe

Log = Callable[[str], None]
Step = Callable[[Bench], Result]


@dataclass(frozen=True)
class Options:
    smoke: bool
    output: Path
    baseline: Path | None  # the committed report whose figures the guard holds this run to
    repeat: int = 1  # run each benchmark this many times, to measure the ratios' variation


def attempt(bench: Bench, guard: Guard | None, number: int, title: str, step: Step, repeat: int = 1) -> Result:
    """Run one benchmark `repeat` times; under the guard, again (up to its attempts) while a ratio
    looks regressed. The result reported is the last attempt's; the guard keeps every one's ratios."""
    began, tries = time.monotonic(), 0
    while True:
        tries += 1
        try:
            result = step(bench)
        except Exception as exc:
            bench.log(f"!! benchmark {number} failed: {exc!r}")
            traceback.print_exc()
            result = Result.failed(number, title, exc)
        result.attempts = tries
        if guard is None:
            break
        guard.record(result)
        if tries < repeat:
            continue
        if not guard.try_again(result):
            break
        bench.log(f"   {title}: a ratio looks regressed; attempt {tries + 1} of {guard.attempts}")
    result.seconds = time.monotonic() - began
    return result


def migrate_half(bench: Bench, result: Result) -> None:
    """Benchmark 4's `migrate_schemas` timing, measured after onboarding made its schemas."""
    began = time.monotonic()
    try:
        scale.add_migrate_times(result, scale.time_migrate_schemas(bench))
    except Exception as exc:
        bench.log(f"!! migrate_schemas timing failed: {exc!r}")
        traceback.print_exc()
        result.error = type(exc).__name__
        result.notes.append("The `migrate_schemas` timing failed: `" + " ".join(str(exc).split())[:400] + "`")
    result.seconds += time.monotonic() - began


def run_benchmarks(bench: Bench, guard: Guard | None, repeat: int = 1) -> list[Result]:
    """Intake, gating and scale need the hit company alone; onboarding adds companies before the
    schemas are counted for `migrate_schemas`; processing adds a thousand more; memory comes last."""
    bench.make_hit_company()
    results = [
        attempt(bench, guard, module.NUMBER, module.TITLE, module.run, repeat)
        for module in (intake, gating, scale, onboarding)
    ]
    migrate_half(bench, results[2])
    results.append(attempt(bench, guard, processing.NUMBER, processing.TITLE, processing.run, repeat))
    results.append(memory.run(bench))
    return results


def run(config: StackConfig, options: Options, log: Log) -> int:
    """Exit status: 0; 1 if a benchmark could not run; 2 if the guard found a regression."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the log
    began, started = time.monotonic(), datetime.now(UTC)
    guard = None
    if options.baseline is not None:
        guard = Guard(committed_figures(options.baseline.read_text()), source=f"`{options.baseline.name}`")
    elif options.repeat > 1:
        guard = Guard({}, source="", attempts=options.repeat)  # only collects the ratios
    machine_info = report.machine()
    stack = Stack(config, log=log)
    results: list[Result] = []
    postgres = redis_version = "unknown"
    try:
        stack.up()
        bench = Bench(stack, SMOKE if options.smoke else FULL, log=log)
        results = run_benchmarks(bench, guard, options.repeat)
        postgres = data.pg_version()
        redis_version = bench.redis.info("server").get("redis_version", "unknown")
    finally:
        stack.down()
    seconds = time.monotonic() - began
    text = report.render(
        results,
        started=started,
        seconds=seconds,
        machine_info=machine_info,
        version_info=report.versions(postgres, redis_version),
        stack_lines=describe(config),
        smoke=options.smoke,
        checked=guard,
    )
    options.output.parent.mkdir(parents=True, exist_ok=True)
    temporary = options.output.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(options.output)
    log(f"wrote {options.output} ({seconds / 60:.1f} minutes)")
    checked = guard if options.baseline is not None else None
    if checked is not None:
        log("regression guard: " + ("ok" if checked.ok else "REGRESSED") + "\n" + report.guard_text(checked))
    if any(result.error for result in results):
        return 1
    return 2 if checked is not None and not checked.ok else 0
