"""Onboarding tasks: one per step of the chain companies.services.ONBOARDING_STEPS names, each loading
the company by id and calling a service; transient errors are retried by the platform's policy, and
each retry's lease starts when it is due. The beat sweep that recovers lost onboarding."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerUnavailable
from saas_platform.log_context import bind_company
from saas_platform.retry import RetryingTask

from companies.models import Company
from companies.selectors import company_get
from onboarding import services

logger = logging.getLogger(__name__)


class OnboardingStepTask(RetryingTask):
    """One step of a company's onboarding (`step` names it): it renews the onboarding's lease when it
    starts and ends, pushes it to when a retry is due, and marks the company failed when it gives up."""

    step = ""

    def run_step(self, company_id: int, service) -> None:
        company = company_get(company_id=company_id)
        if company is None:
            logger.warning("company %s no longer exists; skipping %s", company_id, self.step)
            return
        bind_company(company.slug)
        if company.status == Company.Status.ACTIVE:
            return  # a copy of the chain the sweep published while the first one finished: nothing left
        services.onboarding_renew_lease(company_id=company_id)
        service(company_id=company_id)
        services.onboarding_renew_lease(company_id=company_id)  # the next step is published now

    def on_retry_scheduled(self, exc, countdown, args, kwargs):
        logger.warning("%s failed (%s), retry %s in %.1fs", self.step, exc, self.request.retries + 1, countdown)
        services.onboarding_renew_lease(company_id=args[0], retry_in=countdown)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if isinstance(exc, BrokerUnavailable):
            # The step's work is done or untouched; only publishing the next step (or this retry)
            # failed. The company stays provisioning and the lease sweep publishes it again.
            logger.warning("%s: broker unavailable (%s); the onboarding sweep resumes it", self.step, exc)
            return
        services.company_mark_failed(company_id=args[0], step=self.step, reason=str(exc) or type(exc).__name__)


@shared_task(bind=True, base=OnboardingStepTask, name="companies.provision", step="schema")
def provision(self, company_id: int) -> None:
    self.run_step(company_id, services.company_provision_schema)


@shared_task(bind=True, base=OnboardingStepTask, name="companies.create_stripe_customer", step="customer")
def create_stripe_customer(self, company_id: int) -> None:
    self.run_step(company_id, services.company_create_stripe_customer)


@shared_task(bind=True, base=OnboardingStepTask, name="companies.start_trial", step="trial")
def start_trial(self, company_id: int) -> None:
    self.run_step(company_id, services.company_start_trial)


@shared_task(base=RetryingTask, name="companies.resume_provisioning")
def resume_provisioning() -> int:
    """Beat: publish again the onboarding of companies whose onboarding lease ran out (a killed
    worker, a lost message, a broker that was down at sign-up)."""
    return services.onboarding_requeue_expired(lease_seconds=settings.ONBOARDING_LEASE_SECONDS)
