"""Tests: the real services, fast password hashing and in-memory e-mail."""

from .base import *  # noqa: F403
from .base import _next_database, env

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "test-mail"))  # noqa: F405
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRET", default=["whsec_test_secret"])
WEBHOOK_RETRY_BACKOFF_SECONDS = 0.05
ONBOARDING_RETRY_BACKOFF_SECONDS = 0.05
STRIPE_MAX_NETWORK_RETRIES = 0
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"signup": "1000/min", "invitations": "1000/hour"}  # noqa: F405

# Tests use their own Redis database so a local run's queues and cache are never touched.
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/14")
REDIS_CACHE_URL = env("REDIS_CACHE_URL", default=_next_database(REDIS_URL))  # noqa: F405
CACHES["default"]["LOCATION"] = REDIS_CACHE_URL  # noqa: F405
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
