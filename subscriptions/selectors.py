"""Reads of billing state: a company's stored subscription and invoices, the seats it should be billed
for, which companies reconciliation covers, and which invoices owe a dunning e-mail."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest

from companies.models import Company, Membership
from companies.selectors import members_count
from subscriptions import dunning
from subscriptions.entitlements import LIVE_STATUSES
from subscriptions.models import CompanySubscription, Invoice, PromotionCode
from subscriptions.plans import FLAT, PER_SEAT, lookup_keys_priced, plan_for_lookup_key


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


def seats_to_bill(*, record: CompanySubscription) -> int | None:
    """The quantity the company's live subscription should have: its members on a per-seat plan (at
    least 1), 1 on a flat one. None without a live subscription to a catalog plan."""
    plan = plan_for_lookup_key(record.price_lookup_key)
    if plan is None or record.status not in LIVE_STATUSES:
        return None
    return plan.quantity_for(members=members_count(company=record.company))


def subscriptions_with_seat_drift() -> QuerySet[CompanySubscription]:
    """Live subscriptions to a catalog plan whose stored quantity (Stripe's, as last read) is not the
    one `seats_to_bill` asks for: the seat drift sweep asks a seat sync for each. One query."""
    members = (
        Membership.objects.filter(company=OuterRef("company_id"))
        .order_by()
        .values("company_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    wanted_per_seat = Greatest(Coalesce(Subquery(members, output_field=IntegerField()), 0), Value(1))
    return (
        CompanySubscription.objects.filter(status__in=LIVE_STATUSES)
        .annotate(seats_wanted=wanted_per_seat)
        .filter(
            Q(price_lookup_key__in=lookup_keys_priced(PER_SEAT)) & ~Q(quantity=F("seats_wanted"))
            | Q(price_lookup_key__in=lookup_keys_priced(FLAT)) & ~Q(quantity=1)
        )
        .order_by("pk")
    )


def invoices_of(*, company: Company) -> QuerySet[Invoice]:
    """The company's invoices as last read from Stripe, newest first; drafts (no number, no links, still
    changing) are left out."""
    return Invoice.objects.filter(company=company).exclude(status="draft").order_by("-created_at", "-id")


def invoices_in_dunning(*, now: datetime, limit: int) -> list[Invoice]:
    """Unpaid invoices whose next dunning e-mail is due at `now`, oldest first, at most `limit`."""
    candidates = (
        Invoice.objects.filter(status="open", amount_remaining__gt=0, attempt_count__gt=0)
        .filter(dunning_step__lt=dunning.FINAL)
        .select_related("company")
        .order_by("created_at", "pk")
    )
    due = []
    for record in candidates.iterator(chunk_size=500):
        step = dunning.step_due(record, paid_access_until=record.company.paid_access_until, now=now)
        if step > record.dunning_step:
            due.append(record)
            if len(due) >= limit:
                break
    return due


def promotion_code_find(*, code: str) -> PromotionCode | None:
    """The local copy of a typed code, matched case-insensitively as Stripe's customer-facing codes are:
    the active one if there is one (codes are unique among active codes), else the latest read."""
    active_first = Case(When(active=True, then=Value(0)), default=Value(1), output_field=IntegerField())
    return (
        PromotionCode.objects.filter(code__iexact=code.strip()).order_by(active_first, "-synced_at", "-pk").first()
        if code.strip()
        else None
    )
