"""Reconciliation: re-read every company's subscription from Stripe to fix drift from lost events."""

from celery import shared_task
from saas_platform.log_context import bind_company
from saas_platform.retry import RetryingTask

from companies.selectors import company_get
from subscriptions.services import companies_reconcile_later, subscription_sync_company


@shared_task(base=RetryingTask, name="subscriptions.reconcile_company")
def reconcile_company(company_id: int) -> None:
    company = company_get(company_id=company_id)
    bind_company(company.slug if company else "-")
    subscription_sync_company(company_id=company_id, entitlements=True)


@shared_task(base=RetryingTask, name="subscriptions.reconcile_all")
def reconcile_all() -> int:
    """Beat: a full resync of every company reconciliation covers (subscriptions/selectors.py)."""
    return companies_reconcile_later()
