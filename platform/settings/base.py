"""Every setting, declared once, derived from its inputs: environment variables with safe local
defaults. The environment modules (local.py, test.py, production.py) only choose inputs
(settings/inputs.py); nothing is declared or derived anywhere else."""

from datetime import timedelta
from pathlib import Path

import django.contrib.admin
from csp.constants import NONE, SELF
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured
from saas_platform.settings.inputs import env

BASE_DIR = Path(__file__).resolve().parents[2]

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-a-secret")

PLATFORM_DOMAIN = env("PLATFORM_DOMAIN", default="localhost")
PLATFORM_SCHEME = env("PLATFORM_SCHEME", default="http")
PLATFORM_PORT = env("PLATFORM_PORT", default="8000")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[PLATFORM_DOMAIN, f".{PLATFORM_DOMAIN}"])

SHARED_APPS = [
    "django_tenants",
    "companies",
    "subscriptions",
    "webhooks",
    "notifications",
    "onboarding",
    "dashboard",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc assets, served locally (no CDN)
    "axes",  # login lockout; its tables live in the public schema, like the users they protect
    "csp",
]
TENANT_APPS = ["posts"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "companies.Company"
TENANT_DOMAIN_MODEL = "companies.Domain"
# Raise if code calls connection.set_schema() while a tenant is set: schema switches are explicit.
TENANT_LIMIT_SET_CALLS = True
# New companies are cloned from this migrated template schema (see companies/provisioning.py);
# off, each schema is created by running the migrations (the benchmarks compare the two).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CLONE_SCHEMAS = env.bool("TENANT_CLONE_SCHEMAS", default=True)
PUBLIC_SCHEMA_URLCONF = "saas_platform.urls_platform"
ROOT_URLCONF = "saas_platform.urls_company"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False

MIDDLEWARE = [
    "saas_platform.log_context.RequestContextMiddleware",
    # Before the tenant middleware: its own answers (an unknown host's 404, a company still being
    # prepared) carry the policy too.
    "csp.middleware.CSPMiddleware",
    "companies.middleware.CompanyTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # HTML views' service errors (saas_platform/errors.py) become their error page.
    "saas_platform.error_pages.ServiceErrorPageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: it turns a refused login (any password form) into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [
            BASE_DIR / "platform" / "templates",  # the API docs pages
            # Django's own admin index and app list before django-tenants' versions, whose inline
            # styles (tenant colouring, meaningless on the platform host) the CSP would refuse.
            Path(django.contrib.admin.__file__).parent / "templates",
        ],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "saas_platform.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/billing")}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)


def _next_database(url: str) -> str:
    """The same Redis server, the next database (a URL without one names database 0)."""
    scheme, _, rest = url.partition("://")
    rest, mark, query = rest.partition("?")
    host, _, db = rest.partition("/")
    return f"{scheme}://{host}/{int(db or 0) + 1}{mark}{query}"


# The cache gets its own Redis database: clearing it must never flush the broker's queues.
REDIS_CACHE_URL = env("REDIS_CACHE_URL", default=_next_database(REDIS_URL))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
        # Cache keys carry the schema, so one company's entries never answer for another's.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "TIMEOUT": 300,
    }
}

AUTH_USER_MODEL = "companies.User"
# Django's hashers; the tests choose a fast one.
PASSWORD_HASHERS = env.list("PASSWORD_HASHERS", default=global_settings.PASSWORD_HASHERS)
# axes first: it refuses a locked-out attempt before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A password-reset link works once (it signs the password hash) and for one day.
PASSWORD_RESET_TIMEOUT = 24 * 3600
# A form refused for its CSRF token gets a page in the site's layout (Django's own has inline styles).
CSRF_FAILURE_VIEW = "saas_platform.responses.csrf_failure"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "platform" / "static"]
# WhiteNoise serves /static/ from gunicorn too; the finders let it work without collectstatic.
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Error reports never show passwords or keys, with DEBUG on too (platform/error_reports.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "saas_platform.error_reports.RedactingExceptionReporterFilter"

# --- HTTPS: everything a deployment behind a TLS proxy needs, on when PLATFORM_SCHEME is https
# (production fixes it so). Off locally and in tests, which run over plain HTTP.
_HTTPS = PLATFORM_SCHEME == "https"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _HTTPS else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS
SECURE_HSTS_PRELOAD = _HTTPS
SESSION_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_SECURE = _HTTPS

# --- E-mail (Django's own setting names) --------------------------------------------------------
# Locally every message is printed; production defaults to SMTP, the tests keep them in memory.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)  # implicit TLS, usually port 465
# A request that sends mail (password reset) must not hang on a dead SMTP server.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))  # the file-based backend only
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="billing@localhost")

# --- Login lockout (django-axes, companies/lockout.py) ------------------------------------------
# Every password entry point (company /login/, /admin/login/, POST /api/auth/token/, any form that
# calls authenticate(request, ...)) counts failures in PostgreSQL, so a Redis outage weakens nothing.
# 5 failures for one (account, client address) pair lock that pair for 15 minutes, the right
# password included; a success resets the pair. Axes has one limit, so the two hourly ceilings
# across pairs are counted by companies.lockout.LockoutHandler from axes' failure log.
AXES_HANDLER = "companies.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR = 50  # across addresses: a distributed guess at one account
LOGIN_FAILURES_PER_ADDRESS_PER_HOUR = 100  # across accounts: one client spraying many accounts
# Attempts refused during a lockout are not failures: the cool-down ends on time, whatever is retried.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # one row per failure: what the hourly ceilings count
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not recorded
AXES_ENABLE_ADMIN = False  # companies/admin.py registers axes' admin with the unlock actions
AXES_USERNAME_CALLABLE = "companies.lockout.attempt_email"
# The client address exactly as DRF's throttles resolve it (NUM_PROXIES below).
AXES_CLIENT_IP_CALLABLE = "companies.lockout.attempt_address"
AXES_LOCKOUT_CALLABLE = "companies.views.lockout_response"
# Masked in axes' log lines and in the form data it stores.
AXES_SENSITIVE_PARAMETERS = ["username", "email", "ip_address", "csrfmiddlewaretoken"]

# --- Content-Security-Policy (django-csp 4) ----------------------------------------------------
# No page needs inline script or style (ReDoc's page adds the hashes of its own generated styles,
# platform/api/schema.py). No form-action: Manage billing's form is redirected to Stripe's portal.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

# --- Stripe -------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="sk_test_emulator")
# The emulator by default; a real key without STRIPE_API_BASE talks to api.stripe.com.
STRIPE_API_BASE = env(
    "STRIPE_API_BASE",
    default="http://127.0.0.1:12111" if STRIPE_SECRET_KEY == "sk_test_emulator" else "",
)
# Comma-separated so secrets can be rotated: every listed secret is accepted.
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRET", default=[])
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
STRIPE_WEBHOOK_MAX_BYTES = env.int("STRIPE_WEBHOOK_MAX_BYTES", default=1024 * 1024)
STRIPE_TRIAL_PRICE_LOOKUP_KEY = env("STRIPE_TRIAL_PRICE_LOOKUP_KEY", default="basic_monthly")
STRIPE_TRIAL_DAYS = env.int("STRIPE_TRIAL_DAYS", default=7)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
BILLING_PAST_DUE_GRACE_DAYS = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)
# Stripe Tax (subscriptions/tax.py): Checkout collects the billing address and tax IDs, and a
# subscription gets automatic tax once Stripe can place its customer. Needs Stripe Tax set up.
STRIPE_AUTOMATIC_TAX = env.bool("STRIPE_AUTOMATIC_TAX", default=False)
# --- Seats (subscriptions/seats.py) -----------------------------------------------------------
# A per-seat plan's quantity follows the members. Membership changes ask for a seat sync, debounced
# (saas_platform/debounce.py): the first change makes it due SEAT_SYNC_DEBOUNCE_SECONDS later, so a
# burst is one Stripe update, and beat's sweep (SEAT_SYNC_SWEEP_SECONDS, celery_config.py) publishes
# what is due. Quantity writes to one subscription stay SEAT_SYNC_MIN_INTERVAL_SECONDS apart: at most
# 3600 / 20 = 180 an hour, under Stripe's limit of 200 quantity updates per subscription per hour.
SEAT_SYNC_DEBOUNCE_SECONDS = env.float("SEAT_SYNC_DEBOUNCE_SECONDS", default=3)
SEAT_SYNC_MIN_INTERVAL_SECONDS = env.float("SEAT_SYNC_MIN_INTERVAL_SECONDS", default=20)
STRIPE_QUANTITY_UPDATES_PER_HOUR = 200
if SEAT_SYNC_MIN_INTERVAL_SECONDS * STRIPE_QUANTITY_UPDATES_PER_HOUR < 3600:
    raise ImproperlyConfigured("SEAT_SYNC_MIN_INTERVAL_SECONDS below 18 s could exceed Stripe's 200 updates/hour.")

# Dunning (subscriptions/dunning.py): a failed payment is e-mailed at once, again this many days
# later if still unpaid, and a last time when the past-due grace ends (beat: DUNNING_SWEEP_SECONDS).
DUNNING_REMINDER_DAYS = env.int("DUNNING_REMINDER_DAYS", default=3)
# The platform clock (saas_platform/clock.py): movable in tests only, the wall clock elsewhere.
PLATFORM_CLOCK_ADJUSTABLE = env.bool("PLATFORM_CLOCK_ADJUSTABLE", default=False)

# --- Recovery: leases and sweeps (saas_platform/leases.py) ------------------------------------
# Work handed to the workers (a company's onboarding, a stored event, an owed e-mail) carries a
# lease, renewed whenever someone takes it on: publishing it, a worker starting or finishing a
# step, a retry being scheduled (the lease then starts when the retry is due). Beat's sweeps re-publish
# work whose lease ran out (a killed worker, a lost message), doubling that item's next lease each
# time so a long but healthy queue gets a few copies at most, never one per sweep.
ONBOARDING_LEASE_SECONDS = env.float("ONBOARDING_LEASE_SECONDS", default=30)
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=30)
NOTIFICATION_LEASE_SECONDS = env.float("NOTIFICATION_LEASE_SECONDS", default=60)
RECOVERY_LEASE_MAX_SECONDS = env.float("RECOVERY_LEASE_MAX_SECONDS", default=600)
# --- Retries (saas_platform/retry.py): one policy for every task, through Celery's autoretry.
# Transient errors are retried up to TASK_MAX_RETRIES times, waiting up to BACKOFF * 2**retry
# seconds (full jitter: a random part of it), never more than the cap. Whole seconds (Celery's
# unit). The cap stays well below the leases: a scheduled retry is never mistaken for lost work,
# and a killed worker's retries are published again within one lease.
TASK_MAX_RETRIES = env.int("TASK_MAX_RETRIES", default=8)
TASK_RETRY_BACKOFF_SECONDS = env.int("TASK_RETRY_BACKOFF_SECONDS", default=2)
TASK_RETRY_BACKOFF_MAX_SECONDS = env.int("TASK_RETRY_BACKOFF_MAX_SECONDS", default=20)

METRICS_TOKEN = env("METRICS_TOKEN", default="")

# --- Celery (settings with a CELERY_ prefix, read by platform/celery.py) --------------------
from saas_platform.celery_config import *  # noqa: E402,F403

# --- DRF and the OpenAPI document -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "companies.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "saas_platform.api.schema.PlatformAutoSchema",
    "EXCEPTION_HANDLER": "saas_platform.api.errors.exception_handler",
    # Logins are not rate-limited per address (that locked every account behind one NAT): the
    # lockout above counts failures instead.
    "DEFAULT_THROTTLE_RATES": {
        "signup": env("SIGNUP_THROTTLE_RATE", default="30/min"),
        # Invitation e-mails (invites and resends) per company admin.
        "invitations": env("INVITATION_THROTTLE_RATE", default="100/hour"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Throttles identify clients by address: trust this many proxies' X-Forwarded-For entries and no
    # more (0: the socket's address), so a client cannot dodge a limit by inventing the header.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SaaS billing platform API",
    "DESCRIPTION": (
        "Platform API (sign-up, plans, API tokens) on the platform host, and the company API on "
        "each company's own host `{company}.{domain}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    "DEFAULT_GENERATOR_CLASS": "saas_platform.api.schema.CombinedSchemaGenerator",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"InvitationStateEnum": ["pending", "expired"]},
}

LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "saas_platform.log_context.ContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(company)s %(task_id)s] %(message)s"},
        "json": {"()": "saas_platform.log_context.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "stripe": {"level": "WARNING"}},
}
