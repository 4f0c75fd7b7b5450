"""Settings of the private stack the fault tests run: the test settings (fast Celery back-offs,
cheap password hashing) but the Stripe library retrying as it does in production, because the
Stripe-faults scenario measures the platform as deployed, not the test suite's zero-retry client."""

from saas_platform.settings.test import *  # noqa: F403
from saas_platform.settings.test import env

STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
