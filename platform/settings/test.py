"""Tests: the real services, fast password hashing, e-mail in memory, their own Redis database,
retries that give up quickly. Inputs only: every setting is declared in base.py."""

from pathlib import Path

from saas_platform.settings import inputs

inputs.defaults(
    CONN_MAX_AGE=0,
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    EMAIL_FILE_PATH=str(Path(__file__).resolve().parents[2] / "var" / "test-mail"),
    STRIPE_WEBHOOK_SECRET=["whsec_test_secret"],
    STRIPE_MAX_NETWORK_RETRIES=0,
    # Celery's shortest back-off (whole seconds) and few retries: a test waiting for "Stripe is down
    # for longer than our retries" is over in seconds.
    TASK_RETRY_BACKOFF_SECONDS=1,
    TASK_MAX_RETRIES=3,
    SIGNUP_THROTTLE_RATE="1000/min",
    INVITATION_THROTTLE_RATE="1000/hour",
    # Tests use their own Redis database so a local run's queues and cache are never touched.
    REDIS_URL="redis://127.0.0.1:6379/14",
    # Tests move the platform's present with Stripe's test clocks (saas_platform/clock.py).
    PLATFORM_CLOCK_ADJUSTABLE=True,
)

from saas_platform.settings.base import *  # noqa: E402,F403
