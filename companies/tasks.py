"""Onboarding tasks: thin wrappers that load by id, call a service, and retry transient errors."""

from __future__ import annotations

import logging

from celery import chain, shared_task
from django.conf import settings
from saas_platform.leases import backoff_seconds
from saas_platform.log_context import bind_company

from companies import services
from companies.models import Company
from subscriptions.stripe_api import is_transient

logger = logging.getLogger(__name__)


def _run_step(task, step: str, company_id: int, service) -> None:
    company = Company.objects.filter(pk=company_id).only("slug", "status").first()
    if company is None:
        logger.warning("company %s no longer exists; skipping %s", company_id, step)
        return
    bind_company(company.slug)
    if company.status == Company.Status.ACTIVE:
        return  # a copy of the chain the sweep published while the first one finished: nothing left
    services.onboarding_renew_lease(company_id=company_id)
    try:
        service(company_id=company_id)
    except Exception as exc:
        if is_transient(exc) and task.request.retries < settings.ONBOARDING_MAX_RETRIES:
            countdown = backoff_seconds(
                retries=task.request.retries,
                base=settings.ONBOARDING_RETRY_BACKOFF_SECONDS,
                cap=settings.ONBOARDING_RETRY_BACKOFF_MAX_SECONDS,
            )
            logger.warning("%s failed (%s), retry %s in %.1fs", step, exc, task.request.retries + 1, countdown)
            services.onboarding_renew_lease(company_id=company_id, retry_in=countdown)
            raise task.retry(exc=exc, countdown=countdown) from exc
        services.company_mark_failed(company_id=company_id, step=step, reason=str(exc) or type(exc).__name__)
        raise
    services.onboarding_renew_lease(company_id=company_id)  # the next step is published now


@shared_task(bind=True, name="companies.provision", max_retries=None)
def provision(self, company_id: int) -> None:
    _run_step(self, "schema", company_id, services.company_provision_schema)


@shared_task(bind=True, name="companies.create_stripe_customer", max_retries=None)
def create_stripe_customer(self, company_id: int) -> None:
    _run_step(self, "customer", company_id, services.company_create_stripe_customer)


@shared_task(bind=True, name="companies.start_trial", max_retries=None)
def start_trial(self, company_id: int) -> None:
    _run_step(self, "trial", company_id, services.company_start_trial)


def onboarding_chain(company_id: int):
    return chain(
        provision.si(company_id),
        create_stripe_customer.si(company_id),
        start_trial.si(company_id),
    )


@shared_task(name="companies.resume_provisioning")
def resume_provisioning() -> int:
    """Beat: publish again the onboarding of companies whose onboarding lease ran out (a killed
    worker, a lost message, a broker that was down at sign-up)."""
    return services.onboarding_requeue_expired(lease_seconds=settings.ONBOARDING_LEASE_SECONDS)
