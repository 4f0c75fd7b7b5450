"""Settings of the benchmark stack: the local settings' inputs with DEBUG off, plus the bench-only wiring.

Only the harness (bench/stack.py) runs with these. Everything measured is the platform's own code.
Inputs are chosen before the local settings import base.py (the first module to choose one wins);
what follows the import is wiring the platform has no setting for (bench-only URLs and task, key
prefixes), each needed by one benchmark.
"""

import os

from saas_platform.settings import inputs

inputs.fixed(
    DEBUG=False,
    # The onboarding benchmark signs up 100 companies from one client address in a few minutes; the
    # per-address sign-up throttle (30/min) would turn most of them into 429s.
    SIGNUP_THROTTLE_RATE="100000/min",
    # Onboarding with django-tenants' migration-based schema creation instead of cloning, to compare
    # the two in one run.
    TENANT_CLONE_SCHEMAS=os.environ.get("BENCH_CLONE_SCHEMAS", "true").lower() in ("1", "true", "yes", "on"),
)

from saas_platform.settings.local import *  # noqa: E402,F403

# Benchmark-only endpoints (a bare view, a gated/ungated pair) next to the platform's own URLs, on
# the same server: bench/urls_*.py include the platform's URL modules unchanged.
PUBLIC_SCHEMA_URLCONF = "bench.urls_platform"
ROOT_URLCONF = "bench.urls_company"

# The no-op task the event-processing benchmark compares against.
CELERY_IMPORTS = ("bench.tasks",)

# A run's broker keys and cache keys carry its own prefix, so a benchmark sharing a Redis database
# with anything else (another run, the smoke test) never consumes or clears their messages.
_PREFIX = os.environ.get("BENCH_KEY_PREFIX", "bench")
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": f"{_PREFIX}:"}  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = _PREFIX  # noqa: F405
