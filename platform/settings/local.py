"""Local development: DEBUG on, console e-mail, the Stripe emulator. Inputs only: every setting is
declared in base.py."""

from saas_platform.settings import inputs

inputs.defaults(DEBUG=True, STRIPE_WEBHOOK_SECRET=["whsec_local_emulator_secret"])

from saas_platform.settings.base import *  # noqa: E402,F403
