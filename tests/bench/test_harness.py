"""The benchmark harness at tiny sizes, so `make bench` cannot rot between runs. No speed is asserted:
only that the whole harness runs against a real stack and reports every benchmark with a verdict."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

BENCHMARKS = ["Webhook intake", "Event processing", "Gating cost", "Tenant scale", "Onboarding", "Memory"]


def _smoke_database_url() -> str:
    """A database of its own on the suite's server, named after the suite's (parallel suites never share)."""
    suite = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/billing")
    parts = urlsplit(suite)
    return urlunsplit(parts._replace(path=f"/bench_smoke_{parts.path.lstrip('/') or 'billing'}"))


def test_bench_smoke_run_reports_every_benchmark_with_a_verdict(tmp_path):
    output = tmp_path / "benchmarks.md"
    # The suite's Redis database is fine: every key of the run carries the run's own prefix.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--smoke",
            "--output",
            str(output),
            "--log-dir",
            str(tmp_path / "logs"),
            "--database-url",
            _smoke_database_url(),
            "--redis-url",
            settings.REDIS_URL,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, f"python -m bench --smoke failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"

    text = output.read_text()
    for number, title in enumerate(BENCHMARKS, 1):
        match = re.search(rf"^## {number}\. {title}: \*\*(PASS|MISS|REPORT)\*\*$", text, re.MULTILINE)
        assert match, f"benchmark {number} ({title}) has no verdict section in the report"
        section = text[match.end() :].split("\n## ", 1)[0]
        assert "**Target:**" in section and "**Result:**" in section and "| " in section, section[:500]
    for heading in ("## Machine and versions", "| PostgreSQL (server) |", "| Redis (server) |", "| gunicorn |"):
        assert heading in text
    assert "ERROR" not in text
