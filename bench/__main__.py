"""`python -m bench`: build the stack, run every benchmark, write docs/benchmarks.md, tear down.

    python -m bench                       # the full run (make bench), about 10 minutes
    python -m bench --smoke --output X    # tiny sizes, same code paths (tests/bench, in CI)

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_billing; the
database is dropped and created, so its name must start with "bench"), BENCH_REDIS_URL (default
redis://127.0.0.1:6379/6; the cache uses the next database; every key carries the run's prefix).
Exit status 1 if a benchmark could not run (ERROR); a missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.stack import ROOT, Stack, StackConfig


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the harness, not the speed")
    parser.add_argument(
        "--output", type=Path, help="the report (default docs/benchmarks.md; smoke: var/bench-smoke/benchmarks.md)"
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"))
    parser.add_argument("--log-dir", type=Path, help="process logs (default var/bench or var/bench-smoke)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    started = datetime.now(UTC)
    name = "bench-smoke" if args.smoke else "bench"
    log_dir = (args.log_dir or ROOT / "var" / name).resolve()
    output = (args.output or (log_dir / "benchmarks.md" if args.smoke else ROOT / "docs" / "benchmarks.md")).resolve()
    database_url = args.database_url or (
        "postgres://postgres@127.0.0.1:5432/" + ("bench_smoke" if args.smoke else "bench_billing")
    )
    config = StackConfig(
        database_url=database_url, redis_url=args.redis_url, log_dir=log_dir, key_prefix=f"{name}-{os.getpid()}"
    )

    def log(message: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {message}", flush=True)

    # The harness's own Django (to make data and check results) talks to the same database and broker.
    os.environ.update(config.environ())
    # Not PROMETHEUS_MULTIPROC_DIR: the harness's counters are nobody's business.
    for key in ("CELERY_BROKER_URL", "REDIS_CACHE_URL", "PROMETHEUS_MULTIPROC_DIR"):
        os.environ.pop(key, None)
    import django

    django.setup()

    from bench import data, report
    from bench.scenarios import FULL, SMOKE, Benchmark, Run

    sizes = SMOKE if args.smoke else FULL
    machine_info = report.machine()
    stack = Stack(config, log=log)
    benchmarks: list[Benchmark] = []
    errors = 0
    postgres = redis_version = "unknown"
    try:
        stack.up()
        run = Run(stack, sizes, log=log)
        run.make_hit_company()

        def attempt(number: int, title: str, target: str, step) -> None:
            nonlocal errors
            began_step = time.monotonic()
            try:
                bench = step()
            except Exception as exc:
                errors += 1
                log(f"!! benchmark {number} failed: {exc!r}")
                traceback.print_exc()
                bench = Benchmark(
                    number,
                    title,
                    target,
                    verdict="ERROR",
                    headline=f"could not run: {type(exc).__name__}",
                    notes=["The harness failed: `" + " ".join(str(exc).split())[:400] + "`"],
                )
            if bench is not None:
                bench.seconds = time.monotonic() - began_step
                benchmarks.append(bench)

        attempt(1, "Webhook intake", "-", run.webhook_intake)
        attempt(3, "Gating cost", "-", run.gating_cost)
        attempt(4, "Tenant scale", "-", lambda: run.scale_with_one_company() and None)
        attempt(5, "Onboarding", "-", run.onboarding)
        attempt(4, "Tenant scale", "-", lambda: run.time_migrate_schemas() and None)
        attempt(2, "Event processing", "-", run.event_processing)
        if run.scale_at_one is not None:
            attempt(4, "Tenant scale", "-", run.scale_with_many_companies)
        attempt(6, "Memory", "-", run.memory)
        postgres = data.pg_version()
        redis_version = run.redis.info("server").get("redis_version", "unknown")
    finally:
        stack.down()

    version_info = report.versions(postgres, redis_version)
    stack_lines = [
        f"A fresh PostgreSQL database (`{config.database_name}`, dropped afterwards), migrated by `manage.py "
        "migrate_platform`; Redis database " + config.redis_url.rsplit("/", 1)[-1] + " as the broker (the cache in "
        "the next one), every key prefixed with the run's id.",
        f"web: `docker/start/web` (gunicorn, {config.web_concurrency} workers × {config.web_threads} threads), "
        "`DEBUG=false`, `CONN_MAX_AGE=60`, JSON logs, access log on, Prometheus multiprocess metrics on — the "
        "container settings, run as `bench.settings` (the local settings plus bench-only endpoints and switches, "
        "see bench/settings.py).",
        f"worker: `docker/start/worker` (Celery prefork, concurrency {config.worker_concurrency}, queues "
        "onboarding, webhooks, default; acks late, prefetch 1).",
        "Stripe: the emulator (`python -m stripe_emulator`), with the plan catalog synced by `manage.py sync_plans`; "
        "no webhook endpoint is registered, so nothing but the benchmarks' own requests reaches the server.",
        "Load: wrk (a separate process, 1 thread, bench/wrk.lua) for throughput; the harness itself (httpx, one "
        "request at a time) for the onboarding latencies. Everything runs on the one machine, so the load "
        "generator, PostgreSQL, Redis and the emulator share its cores with the server.",
    ]
    seconds = time.monotonic() - began
    text = report.render(
        benchmarks,
        started=started,
        seconds=seconds,
        machine_info=machine_info,
        version_info=version_info,
        stack_lines=stack_lines,
        smoke=args.smoke,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(output)
    log(f"wrote {output} ({seconds / 60:.1f} minutes)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
