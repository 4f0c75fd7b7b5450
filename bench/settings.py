"""Settings of the benchmark stack: the local settings with DEBUG off, plus three bench-only switches.

Only the harness (bench/stack.py) runs with these. Everything measured is the platform's own code;
the differences from saas_platform.settings.local are each needed by one benchmark:
"""

from saas_platform.settings.base import env
from saas_platform.settings.local import *  # noqa: F403

DEBUG = False

# Benchmark-only endpoints (a bare view, a gated/ungated pair) next to the platform's own URLs, on
# the same server: bench/urls_*.py include the platform's URL modules unchanged.
PUBLIC_SCHEMA_URLCONF = "bench.urls_platform"
ROOT_URLCONF = "bench.urls_company"

# The onboarding benchmark signs up 100 companies from one client address in a few minutes; the
# per-address sign-up throttle (30/min) would turn most of them into 429s.
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {**REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "signup": "100000/min"},  # noqa: F405
}

# Onboarding with django-tenants' migration-based schema creation instead of cloning (read by
# companies/provisioning.py), to compare the two in one run.
TENANT_CLONE_SCHEMAS = env.bool("BENCH_CLONE_SCHEMAS", default=True)

# The no-op task the event-processing benchmark compares against.
CELERY_IMPORTS = ("bench.tasks",)

# A run's broker keys and cache keys carry its own prefix, so a benchmark sharing a Redis database
# with anything else (another run, the smoke test) never consumes or clears their messages.
_PREFIX = env("BENCH_KEY_PREFIX", default="bench")
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": f"{_PREFIX}:"}  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = _PREFIX  # noqa: F405
