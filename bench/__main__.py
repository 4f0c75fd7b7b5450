"""`python -m bench`: build the stack, run every benchmark, write docs/benchmarks.md, tear down.

    python -m bench                                   # the full run (make bench), about 10 minutes
    python -m bench --smoke --baseline docs/benchmarks.md --output X
                                                      # CI sizes, every code path, the regression guard

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_billing, or bench_smoke;
the database is dropped and created, so its name must start with "bench"), BENCH_REDIS_URL (default
redis://127.0.0.1:6379/6; the cache uses the next database; every key carries the run's prefix).
Exit status 1 if a benchmark could not run (ERROR), 2 if the guard found a regression; a missed
target is reported, not an error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench.stack import ROOT, StackConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="CI sizes: every code path, ratios that mean something")
    parser.add_argument(
        "--output", type=Path, help="the report (default docs/benchmarks.md; smoke: var/bench-smoke/benchmarks.md)"
    )
    parser.add_argument(
        "--baseline", type=Path, help="hold the ratios to this report's figures (bench/guard.py); exit 2 if worse"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each benchmark N times and report how much its ratios vary"
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"))
    parser.add_argument("--log-dir", type=Path, help="process logs (default var/bench or var/bench-smoke)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
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

    from bench import runner

    baseline = args.baseline.resolve() if args.baseline else None
    options = runner.Options(smoke=args.smoke, output=output, baseline=baseline, repeat=args.repeat)
    return runner.run(config, options, log)


if __name__ == "__main__":
    sys.exit(main())
