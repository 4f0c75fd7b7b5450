"""Settings of the private stack the fault tests run: the test settings (cheap password hashing,
fast back-offs) but the Stripe library retrying, and the tasks retrying as often, as in production,
because the Stripe-faults scenario measures the platform as deployed, not the test suite's
zero-retry client. The crash-recovery scenario also sets production back-offs through the
environment."""

from saas_platform.settings import inputs

inputs.defaults(STRIPE_MAX_NETWORK_RETRIES=2, TASK_MAX_RETRIES=8)

from saas_platform.settings.test import *  # noqa: E402,F403
