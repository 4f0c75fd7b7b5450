"""Reads of billing state: a company's stored subscription, and which companies reconciliation covers."""

from __future__ import annotations

from django.db.models import QuerySet

from companies.models import Company
from subscriptions.models import CompanySubscription


def subscription_of(*, company: Company) -> CompanySubscription | None:
    """The company's subscription as last read from Stripe; None before the first read."""
    return CompanySubscription.objects.filter(company=company).first()


def company_by_stripe_customer(*, customer_id: str) -> Company | None:
    """The company that stored this Stripe customer as its own (never a guess from Stripe's metadata)."""
    return Company.objects.filter(stripe_customer_id=customer_id).first()


def companies_to_reconcile(
    *, company_ids: list[int] | None = None, slugs: list[str] | None = None
) -> QuerySet[Company]:
    """The one selection rule of reconciliation (beat, `resync_billing`, the admin's action): every
    company with a Stripe customer, whatever its status, or those of them an operator named."""
    companies = Company.objects.exclude(stripe_customer_id=None).order_by("pk")
    if company_ids is not None:
        companies = companies.filter(pk__in=company_ids)
    if slugs is not None:
        companies = companies.filter(slug__in=slugs)
    return companies
