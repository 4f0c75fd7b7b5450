"""Local development: DEBUG on, console e-mail, the Stripe emulator."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRET", default=["whsec_local_emulator_secret"])
