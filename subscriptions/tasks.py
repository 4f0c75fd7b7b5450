"""Reconciliation (re-read every company's subscription and invoices from Stripe to fix drift from lost
events), the seat sync of per-seat plans (subscriptions/seats.py), and dunning (e-mail unpaid invoices'
reminders when they are due)."""

from celery import shared_task
from saas_platform.log_context import bind_company
from saas_platform.retry import RetryingTask

from companies.selectors import company_get
from subscriptions.invoices import dunning_sweep as invoices_dunning_sweep
from subscriptions.invoices import invoice_dunning_advance
from subscriptions.seats import seats_drift_request, seats_sync_due, subscription_seats_sync
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


@shared_task(base=RetryingTask, name="subscriptions.sync_seats")
def sync_seats(company_id: int) -> str:
    company = company_get(company_id=company_id)
    bind_company(company.slug if company else "-")
    return subscription_seats_sync(company_id=company_id) if company else "no_subscription"


@shared_task(base=RetryingTask, name="subscriptions.sync_seats_due")
def sync_seats_due() -> int:
    """Beat, every few seconds: publish the seat syncs whose debounce window has passed."""
    return seats_sync_due()


@shared_task(base=RetryingTask, name="subscriptions.find_seat_drift")
def find_seat_drift() -> int:
    """Beat, every minute: ask a seat sync for each company billed for the wrong number of seats."""
    return seats_drift_request()


@shared_task(base=RetryingTask, name="subscriptions.dunning_sweep")
def dunning_sweep() -> int:
    """Beat: publish `dunning_advance` for every unpaid invoice whose next e-mail is due (platform clock)."""
    return invoices_dunning_sweep()


@shared_task(base=RetryingTask, name="subscriptions.dunning_advance")
def dunning_advance(invoice_pk: int) -> None:
    """Re-read one unpaid invoice from Stripe and owe the dunning e-mail now due, if it still is."""
    invoice_dunning_advance(invoice_pk=invoice_pk)
