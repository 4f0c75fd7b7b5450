"""Reconciliation: re-read every company's subscription from Stripe to fix drift from lost events."""

from celery import shared_task
from saas_platform.log_context import bind_company

from companies.models import Company
from subscriptions.services import subscription_sync_company
from subscriptions.stripe_api import is_transient


@shared_task(bind=True, name="subscriptions.reconcile_company", max_retries=5)
def reconcile_company(self, company_id: int) -> None:
    slug = Company.objects.filter(pk=company_id).values_list("slug", flat=True).first()
    bind_company(slug or "-")
    try:
        subscription_sync_company(company_id=company_id, entitlements=True)
    except Exception as exc:
        if is_transient(exc):
            # Capped: long countdowns sit unacknowledged in Redis and risk a second delivery.
            raise self.retry(exc=exc, countdown=min(60, 15 * 2**self.request.retries)) from exc
        raise


@shared_task(name="subscriptions.reconcile_all")
def reconcile_all() -> int:
    ids = list(
        Company.objects.filter(status=Company.Status.ACTIVE, stripe_customer_id__isnull=False).values_list(
            "pk", flat=True
        )
    )
    for company_id in ids:
        reconcile_company.delay(company_id)
    return len(ids)
