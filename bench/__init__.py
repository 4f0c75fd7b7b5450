"""The benchmark harness (issue 8): `python -m bench` (or `make bench`) writes docs/benchmarks.md.

It builds a production-like stack of its own (a fresh database, gunicorn with DEBUG off, a Celery
worker, Redis, the Stripe emulator), drives it from separate load-generating processes (wrk) and
reports every benchmark against its target. `python -m bench --smoke` runs the same code at tiny
sizes; tests/bench runs that in CI so the harness cannot rot.
"""
