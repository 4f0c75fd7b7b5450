"""The benchmark harness at CI sizes (`python -m bench --smoke`): every benchmark runs against a real
stack and reports a verdict, and no ratio regresses beyond its margin from the figures the committed
docs/benchmarks.md states (bench/guard.py: CPU cost ratios, each benchmark retried in place while it
looks regressed, best of 3), and no correctness condition breaks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "benchmarks.md"
BENCHMARKS = ["Webhook intake", "Event processing", "Gating cost", "Tenant scale", "Onboarding", "Memory"]


def _smoke_database_url() -> str:
    """A database of its own on the suite's server, named after the suite's (parallel suites never share)."""
    suite = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/billing")
    parts = urlsplit(suite)
    return urlunsplit(parts._replace(path=f"/bench_smoke_{parts.path.lstrip('/') or 'billing'}"))


@pytest.mark.timeout(900)  # about a minute; up to three attempts of each benchmark when one looks regressed
def test_bench_smoke_runs_every_benchmark_and_no_ratio_regresses_from_the_committed_report(tmp_path):
    output = tmp_path / "benchmarks.md"
    # The suite's Redis database is fine: every key of the run carries the run's own prefix.
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--baseline", str(COMMITTED), "--output", str(output)]
        + ["--log-dir", str(tmp_path / "logs"), "--database-url", _smoke_database_url()]
        + ["--redis-url", settings.REDIS_URL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
    )
    log = f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    assert result.returncode in (0, 2), f"python -m bench --smoke could not run a benchmark:\n{log}"

    text = output.read_text()
    for number, title in enumerate(BENCHMARKS, 1):
        match = re.search(rf"^## {number}\. {title}: \*\*(PASS|MISS|REPORT)\*\*$", text, re.MULTILINE)
        assert match, f"benchmark {number} ({title}) has no verdict section in the report"
        section = text[match.end() :].split("\n## ", 1)[0]
        assert "**Target:**" in section and "**Result:**" in section and "| " in section, section[:500]
    for heading in ("## Machine and versions", "| PostgreSQL (server) |", "| Redis (server) |", "| gunicorn |"):
        assert heading in text
    guard = text.split("## Regression guard", 1)[1]
    assert result.returncode == 0, f"the regression guard failed:\n{guard}"
    assert "**no regression**" in guard
