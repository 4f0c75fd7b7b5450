"""Onboarding: after sign-up (companies.services.company_signup), each company gets its schema, its
Stripe customer and its trial, one retried step after another (onboarding/tasks.py), then is active.

A company's onboarding carries a lease (saas_platform/leases.py): every step renews it, a scheduled
retry pushes it to when the retry is due, and beat's sweep publishes the chain again for a company
still provisioning whose lease ran out. Every step is idempotent (state checks, Stripe idempotency
keys derived from the company), so a copy racing a slow original changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from saas_platform import metrics
from saas_platform.leases import lease_sweep

from companies.locks import company_lock
from companies.models import Company, OnboardingStep
from companies.provisioning import schema_provision
from companies.services import ONBOARDING_STEPS, onboarding_start
from onboarding.selectors import companies_to_restart
from subscriptions.services import stripe_customer_create, subscription_start_trial

logger = logging.getLogger(__name__)


def onboarding_renew_lease(*, company_id: int, retry_in: float = 0) -> None:
    """A worker is on this company's onboarding (or will retry it in `retry_in` seconds): its lease
    starts again then."""
    Company.objects.filter(pk=company_id, status=Company.Status.PROVISIONING).update(
        onboarding_leased_at=timezone.now() + timedelta(seconds=retry_in), onboarding_requeues=0
    )


def onboarding_requeue_expired(*, lease_seconds: float, limit: int = 100) -> int:
    """Beat: publish the onboarding chain again for companies still provisioning whose onboarding
    lease ran out (a killed worker, a lost message, a broker that was down at sign-up)."""
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


def onboarding_restart(*, company_ids: list[int]) -> list[int]:
    """Operators (`retry_onboarding`, the admin's action, `create_demo_company`): start onboarding
    again, from its first step, for the named companies that are not active (failed, or stuck
    provisioning); active ones are left alone. Returns the ids restarted."""
    ids = list(companies_to_restart(company_ids=company_ids).values_list("pk", flat=True))
    Company.objects.filter(pk__in=ids).update(
        status=Company.Status.PROVISIONING,
        failure_reason="",
        onboarding_leased_at=timezone.now(),
        onboarding_requeues=0,
    )
    for company_id in ids:
        onboarding_start(company_id=company_id)
    return ids


def _record_step(company_id: int, step: str, started_at: datetime, method: str = "") -> None:
    OnboardingStep.objects.update_or_create(
        company_id=company_id,
        step=step,
        defaults={"method": method, "started_at": started_at, "finished_at": timezone.now()},
    )


def company_provision_schema(*, company_id: int) -> str:
    """Step 1: the company's schema, cloned from the template (or migrated). Returns how."""
    schema = Company.objects.values_list("schema_name", flat=True).get(pk=company_id)
    started = timezone.now()
    method = schema_provision(schema)
    _record_step(company_id, "schema", started, method)
    logger.info("schema %s ready (%s)", schema, method)
    return method


def company_create_stripe_customer(*, company_id: int) -> str:
    """Step 2: the company's Stripe customer (created once, whatever the retries)."""
    started = timezone.now()
    customer_id = stripe_customer_create(company_id=company_id)
    _record_step(company_id, "customer", started)
    return customer_id


def company_start_trial(*, company_id: int) -> None:
    """Step 3: the trial subscription, stored as Stripe has it; then the company is active."""
    started = timezone.now()
    subscription_start_trial(company_id=company_id)
    _record_step(company_id, "trial", started)
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        if company.status != Company.Status.ACTIVE:
            company.status = Company.Status.ACTIVE
            company.failure_reason = ""
            company.activated_at = timezone.now()
            company.save(update_fields=["status", "failure_reason", "activated_at"])
            metrics.ONBOARDING_DURATION.observe((company.activated_at - company.created_at).total_seconds())
    logger.info("company active")


def company_mark_failed(*, company_id: int, step: str, reason: str) -> None:
    """A step gave up (not transient, or out of retries): operators see the step and the reason."""
    Company.objects.filter(pk=company_id).exclude(status=Company.Status.ACTIVE).update(
        status=Company.Status.FAILED, failure_reason=f"{step}: {reason}"[:2000]
    )
    metrics.ONBOARDING_FAILURES.labels(step=step).inc()
    logger.error("onboarding failed at %s: %s", step, reason)
