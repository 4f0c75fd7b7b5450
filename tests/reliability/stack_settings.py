"""Settings of the private stack the fault tests run: the test settings (fast Celery back-offs,
cheap password hashing) but the Stripe library retrying as it does in production, because the
Stripe-faults scenario measures the platform as deployed, not the test suite's zero-retry client.
The crash-recovery scenario also sets production retry back-offs through the environment."""

from saas_platform.settings.test import *  # noqa: F403
from saas_platform.settings.test import ONBOARDING_RETRY_BACKOFF_SECONDS, WEBHOOK_RETRY_BACKOFF_SECONDS, env

STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
WEBHOOK_RETRY_BACKOFF_SECONDS = env.float("WEBHOOK_RETRY_BACKOFF_SECONDS", default=WEBHOOK_RETRY_BACKOFF_SECONDS)
ONBOARDING_RETRY_BACKOFF_SECONDS = env.float(
    "ONBOARDING_RETRY_BACKOFF_SECONDS", default=ONBOARDING_RETRY_BACKOFF_SECONDS
)
