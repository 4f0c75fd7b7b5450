"""Reconciliation: re-read every company's subscription and invoices from Stripe to fix drift from lost
events. Dunning: e-mail unpaid invoices' reminders when they are due."""

from celery import shared_task
from saas_platform.log_context import bind_company
from saas_platform.retry import RetryingTask

from companies.selectors import company_get
from subscriptions.invoices import dunning_sweep as invoices_dunning_sweep
from subscriptions.invoices import invoice_dunning_advance
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


@shared_task(base=RetryingTask, name="subscriptions.dunning_sweep")
def dunning_sweep() -> int:
    """Beat: publish `dunning_advance` for every unpaid invoice whose next e-mail is due (platform clock)."""
    return invoices_dunning_sweep()


@shared_task(base=RetryingTask, name="subscriptions.dunning_advance")
def dunning_advance(invoice_pk: int) -> None:
    """Re-read one unpaid invoice from Stripe and owe the dunning e-mail now due, if it still is."""
    invoice_dunning_advance(invoice_pk=invoice_pk)
