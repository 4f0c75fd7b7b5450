"""Production: secrets have no defaults, DEBUG must be off, HTTPS everywhere. Inputs and checks
only: every setting is declared in base.py."""

from django.core.exceptions import ImproperlyConfigured
from saas_platform.settings import inputs

inputs.required("DJANGO_SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
# Links in e-mails and the HTTPS settings (cookies, HSTS, redirects) follow from this.
inputs.fixed(PLATFORM_SCHEME="https")
# The platform clock is the wall clock: nobody can move it (saas_platform/clock.py).
inputs.fixed(PLATFORM_CLOCK_ADJUSTABLE=False)
inputs.defaults(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", LOG_FORMAT="json")

from saas_platform.settings.base import *  # noqa: E402,F403
from saas_platform.settings.base import DEBUG, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRETS  # noqa: E402

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")
if not STRIPE_SECRET_KEY.startswith(("sk_live_", "sk_test_", "rk_live_", "rk_test_")) or (
    STRIPE_SECRET_KEY == "sk_test_emulator"
):
    raise ImproperlyConfigured("STRIPE_SECRET_KEY must be a real Stripe secret key in production.")
if not STRIPE_WEBHOOK_SECRETS:
    raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET is required in production.")
