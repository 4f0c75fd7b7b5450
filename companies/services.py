"""Company sign-up and onboarding: the schema, the Stripe customer, the trial subscription."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from saas_platform import metrics
from saas_platform.dispatch import dispatch_after_commit
from saas_platform.leases import lease_sweep

from companies.models import Company, Domain, Membership, OnboardingStep, SignupRequest, User
from companies.provisioning import schema_provision
from subscriptions.services import subscription_sync_company
from subscriptions.stripe_api import stripe_client

if TYPE_CHECKING:
    from stripe.params import CustomerCreateParams

logger = logging.getLogger(__name__)

RESERVED_SLUGS = frozenset(
    {
        "www",
        "api",
        "admin",
        "public",
        "static",
        "media",
        "app",
        "mail",
        "smtp",
        "ftp",
        "billing",
        "stripe",
        "webhooks",
        "status",
        "help",
        "support",
        "docs",
        "dashboard",
        "login",
        "signup",
        "auth",
        "assets",
        "cdn",
        "metrics",
        "flower",
        "platform",
        "root",
        "test",
        "localhost",
        "tenant_template",
        "pg_catalog",
        "information_schema",
    }
)


# Each company's schema is `c_` + its slug (hyphens as underscores), and PostgreSQL cuts identifiers
# at 63 characters: a longer slug would name a schema that cannot exist.
SCHEMA_PREFIX = "c_"
POSTGRES_IDENTIFIER_MAX_LENGTH = 63
SLUG_MAX_LENGTH = POSTGRES_IDENTIFIER_MAX_LENGTH - len(SCHEMA_PREFIX)

# The onboarding chain (companies/tasks.py), one task per step, each retried on its own.
ONBOARDING_STEPS = ("companies.provision", "companies.create_stripe_customer", "companies.start_trial")

SLUG_TAKEN = "This name is taken."
EMAIL_TAKEN = "An account with this e-mail exists."


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


class SignupTaken(Exception):
    """A concurrent sign-up took the slug or the admin e-mail first (a field error, not a server error)."""

    def __init__(self, field: str, code: str, message: str):
        super().__init__(message)
        self.field, self.code, self.message = field, code, message


def company_domain(slug: str) -> str:
    return f"{slug}.{settings.PLATFORM_DOMAIN}"


def _absolute_url(host: str, path: str) -> str:
    port = str(settings.PLATFORM_PORT or "")
    # Behind HTTPS the platform is on the standard port; PLATFORM_PORT is then the app server's.
    port = "" if port in ("", "80", "443") or settings.PLATFORM_SCHEME == "https" else f":{port}"
    return f"{settings.PLATFORM_SCHEME}://{host}{port}{path}"


def company_url(slug: str, path: str = "/") -> str:
    """An absolute URL on a company's host, for links written outside a request (e-mails)."""
    return _absolute_url(company_domain(slug), path)


def platform_url(path: str = "/") -> str:
    """An absolute URL on the platform host, from settings (never from a request's Host header)."""
    return _absolute_url(settings.PLATFORM_DOMAIN, path)


def schema_name_for(slug: str) -> str:
    return SCHEMA_PREFIX + slug.replace("-", "_")


def _unique_key(model, field_name: str) -> str:
    """The name PostgreSQL gives the constraint of a `unique=True` column."""
    return f"{model._meta.db_table}_{model._meta.get_field(field_name).column}_key"


def _signup_taken(error: IntegrityError) -> SignupTaken | None:
    """Which field a unique violation during sign-up is about, if it is one the requester can fix."""
    constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    slug_constraints = {
        _unique_key(Company, "slug"),
        _unique_key(Company, "schema_name"),
        _unique_key(Domain, "domain"),
    }
    if constraint in slug_constraints:
        return SignupTaken("slug", "slug_taken", SLUG_TAKEN)
    if constraint == _unique_key(User, "email"):
        return SignupTaken("admin_email", "email_taken", EMAIL_TAKEN)
    return None


def _fingerprint(**fields: str) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def company_signup(
    *, name: str, slug: str, admin_email: str, admin_password: str, idempotency_key: str | None = None
) -> tuple[Company, bool]:
    """Create the company, its domain and its first admin, and start onboarding after commit.

    Returns (company, created). A retried request with the same Idempotency-Key returns the
    company the first request created; the same key with another body raises IdempotencyConflict.
    A concurrent sign-up that took the slug or the e-mail first raises SignupTaken.
    """
    if len(slug) > SLUG_MAX_LENGTH:
        raise ValueError(f"slug longer than {SLUG_MAX_LENGTH} characters: its schema name cannot exist")
    fingerprint = _fingerprint(name=name, slug=slug, admin_email=admin_email.lower())
    if idempotency_key:
        earlier = company_signup_replay(idempotency_key=idempotency_key, name=name, slug=slug, admin_email=admin_email)
        if earlier is not None:
            return earlier, False
    try:
        with transaction.atomic():
            try:
                company = Company.objects.create(name=name, slug=slug, schema_name=schema_name_for(slug))
            except DjangoValidationError as error:
                # django-tenants refuses, before inserting, a schema name a committed company has.
                raise SignupTaken("slug", "slug_taken", SLUG_TAKEN) from error
            Domain.objects.create(domain=company_domain(slug), tenant=company, is_primary=True)
            user = User.objects.create_user(admin_email, admin_password)
            Membership.objects.create(company=company, user=user, role=Membership.Role.ADMIN)
            if idempotency_key:
                SignupRequest.objects.create(key=idempotency_key, request_fingerprint=fingerprint, company=company)
            onboarding_start(company_id=company.pk)
    except (IntegrityError, SignupTaken) as error:
        # A concurrent request won the race: same key means the same company, else a taken name.
        if idempotency_key:
            earlier = company_signup_replay(
                idempotency_key=idempotency_key, name=name, slug=slug, admin_email=admin_email
            )
            if earlier is not None:
                return earlier, False
        taken = error if isinstance(error, SignupTaken) else _signup_taken(error)
        if taken is None:
            raise
        raise taken from error
    logger.info("company signed up: %s", slug)
    return company, True


def company_signup_replay(*, idempotency_key: str, name: str, slug: str, admin_email: str) -> Company | None:
    """The company an earlier sign-up with this Idempotency-Key created, if any; the same key with
    another body raises IdempotencyConflict."""
    earlier = SignupRequest.objects.select_related("company").filter(key=idempotency_key).first()
    if earlier is None:
        return None
    if earlier.request_fingerprint != _fingerprint(name=name, slug=slug, admin_email=admin_email.lower()):
        raise IdempotencyConflict()
    return earlier.company


def onboarding_start(*, company_id: int) -> None:
    """Enqueue the onboarding chain after commit. A broker outage must not turn the stored sign-up
    into a 500: the company stays provisioning and, once its onboarding lease runs out, the sweep
    (companies.resume_provisioning) publishes the chain again."""
    dispatch_after_commit(ONBOARDING_STEPS, company_id, waits_for="the onboarding sweep")


def onboarding_renew_lease(*, company_id: int, retry_in: float = 0) -> None:
    """A worker is on this company's onboarding (or will retry it in `retry_in` seconds): its lease
    starts again then (saas_platform/leases.py)."""
    Company.objects.filter(pk=company_id, status=Company.Status.PROVISIONING).update(
        onboarding_leased_at=timezone.now() + timezone.timedelta(seconds=retry_in), onboarding_requeues=0
    )


def onboarding_requeue_expired(*, lease_seconds: float, limit: int = 100) -> int:
    """Publish the onboarding chain again for companies still provisioning whose onboarding lease
    ran out. Every step is idempotent (Stripe idempotency keys derived from the company, state
    checks), so a copy racing a slow original is harmless."""
    provisioning = Company.objects.filter(status=Company.Status.PROVISIONING).exclude(schema_name="public")
    ids = lease_sweep(
        provisioning,
        lease_seconds=lease_seconds,
        task=ONBOARDING_STEPS,
        limit=limit,
        leased_field="onboarding_leased_at",
        requeues_field="onboarding_requeues",
    )
    if ids:
        logger.warning("onboarding of %s company(ies) outlived its lease; published again", len(ids))
    return len(ids)


def _record_step(company: Company, step: str, started_at, method: str = "") -> None:
    OnboardingStep.objects.update_or_create(
        company=company,
        step=step,
        defaults={"method": method, "started_at": started_at, "finished_at": timezone.now()},
    )


def company_provision_schema(*, company_id: int) -> str:
    company = Company.objects.get(pk=company_id)
    started = timezone.now()
    method = schema_provision(company.schema_name)
    _record_step(company, "schema", started, method)
    logger.info("schema %s ready (%s)", company.schema_name, method)
    return method


def company_create_stripe_customer(*, company_id: int) -> str:
    company = Company.objects.get(pk=company_id)
    if company.stripe_customer_id:
        return company.stripe_customer_id
    started = timezone.now()
    admin = company.memberships.filter(role=Membership.Role.ADMIN).select_related("user").first()
    params: CustomerCreateParams = {
        "name": company.name,
        "metadata": {"company_id": str(company.pk), "company_slug": company.slug},
    }
    if admin:
        params["email"] = admin.user.email
    customer = stripe_client().v1.customers.create(
        params=params,
        # Derived from the company, so a retried task never creates a second customer.
        options={"idempotency_key": f"company-{company.pk}-customer"},
    )
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=company_id)
        if not company.stripe_customer_id:
            company.stripe_customer_id = customer.id
            company.save(update_fields=["stripe_customer_id"])
    _record_step(company, "customer", started)
    logger.info("stripe customer %s created", customer.id)
    return company.stripe_customer_id


def trial_price_id() -> str:
    lookup_key = settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY
    prices = stripe_client().v1.prices.list(params={"lookup_keys": [lookup_key], "active": True, "limit": 1})
    if not prices.data:
        raise LookupError(f"no active Stripe price with lookup key {lookup_key!r}; run manage.py sync_plans")
    return prices.data[0].id


def company_start_trial(*, company_id: int) -> None:
    company = Company.objects.get(pk=company_id)
    started = timezone.now()
    client = stripe_client()
    existing = client.v1.subscriptions.list(
        params={"customer": company.stripe_customer_id, "status": "all", "limit": 1}
    )
    if not existing.data:
        client.v1.subscriptions.create(
            params={
                "customer": company.stripe_customer_id,
                "items": [{"price": trial_price_id()}],
                "trial_period_days": settings.STRIPE_TRIAL_DAYS,
                "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
                "metadata": {"company_id": str(company.pk), "company_slug": company.slug},
            },
            options={"idempotency_key": f"company-{company.pk}-trial"},
        )
    subscription_sync_company(company_id=company.pk)
    _record_step(company, "trial", started)
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=company_id)
        if company.status != Company.Status.ACTIVE:
            company.status = Company.Status.ACTIVE
            company.failure_reason = ""
            company.activated_at = timezone.now()
            company.save(update_fields=["status", "failure_reason", "activated_at"])
            metrics.ONBOARDING_DURATION.observe((company.activated_at - company.created_at).total_seconds())
    logger.info("company active")


def company_mark_failed(*, company_id: int, step: str, reason: str) -> None:
    Company.objects.filter(pk=company_id).exclude(status=Company.Status.ACTIVE).update(
        status=Company.Status.FAILED, failure_reason=f"{step}: {reason}"[:2000]
    )
    metrics.ONBOARDING_FAILURES.labels(step=step).inc()
    logger.error("onboarding failed at %s: %s", step, reason)


def company_retry_onboarding(*, company_id: int) -> None:
    """Operators: start a failed (or stuck) company's onboarding again; every step is idempotent."""
    Company.objects.filter(pk=company_id).exclude(status=Company.Status.ACTIVE).update(
        status=Company.Status.PROVISIONING,
        failure_reason="",
        onboarding_leased_at=timezone.now(),
        onboarding_requeues=0,
    )
    onboarding_start(company_id=company_id)


def membership_for(*, company: Company, user) -> Membership | None:
    if not getattr(user, "is_authenticated", False) or company is None or not company.pk:
        return None
    return Membership.objects.filter(company=company, user=user).first()
