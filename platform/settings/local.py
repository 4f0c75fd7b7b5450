"""Local development (`make run`): console e-mail, the Stripe emulator. Inputs only: every setting is
declared in base.py.

DEBUG stays off, as in production, so a visitor of `make run` sees the site's own 404 and 500 pages
(Django's DEBUG 404 page lists every URL pattern); `DEBUG=true make run` brings Django's debug pages
back. /metrics then needs its token, which is fixed here: `Authorization: Bearer metrics-local`."""

from saas_platform.settings import inputs

inputs.defaults(
    DEBUG=False,
    METRICS_TOKEN="metrics-local",
    STRIPE_WEBHOOK_SECRET=["whsec_local_emulator_secret"],
)

from saas_platform.settings.base import *  # noqa: E402,F403
