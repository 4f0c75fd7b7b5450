"""Company sign-up (the company, its domain, its first admin) and how companies are named and
addressed: schema names, hosts, absolute URLs. What follows sign-up is onboarding/."""

from __future__ import annotations

import hashlib
import json
import logging

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from saas_platform.dispatch import dispatch_after_commit
from saas_platform.errors import FieldInvalid, ServiceError

from companies.models import Company, Domain, Membership, SignupRequest, User

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

# The onboarding chain, one task per step, each retried on its own (onboarding/tasks.py registers
# them; the names keep the `companies.` prefix their messages and dashboards have always had).
ONBOARDING_STEPS = ("companies.provision", "companies.create_stripe_customer", "companies.start_trial")

SLUG_TAKEN = "This name is taken."
EMAIL_TAKEN = "An account with this e-mail exists."


class IdempotencyConflict(ServiceError):
    """The Idempotency-Key was used before with a different request body."""

    code = "idempotency_conflict"
    detail = "This Idempotency-Key was used with a different request."


class SignupTaken(FieldInvalid):
    """A concurrent sign-up took the slug or the admin e-mail first (a field error, not a server error)."""


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
    *,
    name: str,
    slug: str,
    admin_email: str,
    admin_password: str,
    price_lookup_key: str = "",
    promotion_code: str = "",
    idempotency_key: str | None = None,
) -> tuple[Company, bool]:
    """Create the company, its domain and its first admin, and start onboarding after commit; the
    trial starts on `price_lookup_key` (a catalog price the caller validated; empty: the default),
    with `promotion_code` (a code the caller checked; empty: none) applied.

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
                company = Company.objects.create(
                    name=name,
                    slug=slug,
                    schema_name=schema_name_for(slug),
                    trial_price_lookup_key=price_lookup_key,
                    signup_promotion_code=promotion_code,
                )
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
