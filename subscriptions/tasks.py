"""Reconciliation: re-read every company's subscription from Stripe to fix drift from lost events."""

from celery import shared_task
from saas_platform.dispatch import dispatch_after_commit
from saas_platform.log_context import bind_company
from saas_platform.retry import RetryingTask

from companies.models import Company
from subscriptions.services import subscription_sync_company


@shared_task(base=RetryingTask, name="subscriptions.reconcile_company")
def reconcile_company(company_id: int) -> None:
    slug = Company.objects.filter(pk=company_id).values_list("slug", flat=True).first()
    bind_company(slug or "-")
    subscription_sync_company(company_id=company_id, entitlements=True)


@shared_task(base=RetryingTask, name="subscriptions.reconcile_all")
def reconcile_all() -> int:
    ids = list(
        Company.objects.filter(status=Company.Status.ACTIVE, stripe_customer_id__isnull=False).values_list(
            "pk", flat=True
        )
    )
    for company_id in ids:
        dispatch_after_commit("subscriptions.reconcile_company", company_id, waits_for="the next reconciliation")
    return len(ids)
