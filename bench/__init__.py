"""The benchmark harness (issue 8): `python -m bench` (or `make bench`) writes docs/benchmarks.md.

It builds a production-like stack of its own (stack.py: a fresh database, gunicorn with DEBUG off, a
Celery worker, Redis, the Stripe emulator), drives it from separate load-generating processes (wrk)
and reports every benchmark against its target. One module per benchmark (intake, processing,
gating, scale, onboarding, memory), each measuring into a dataclass and returning a Result
(result.py); runner.py runs them in order, report.py writes the report. `python -m bench --smoke
--baseline docs/benchmarks.md` runs the same code at CI sizes and fails when a ratio regresses
beyond its margin (guard.py); tests/bench runs that in the default suite.
"""
