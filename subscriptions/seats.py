"""Seats: a per-seat plan's subscription quantity follows the company's members (at least 1; pending
invitations are not billed), and a flat plan's stays 1.

Who asks for a sync: someone joining or being removed (companies/members.py), and any stored Stripe
state whose quantity is not the one the plan bills (`subscription_apply_stripe_state`: a plan switched
between flat and per seat in the portal, a reconciliation that found drift). Each asks through the
`MEMBERS_CHANGED` debounce, so a burst of changes is one Stripe update, made by the task beat's sweep
publishes once the burst's window passed. The seat drift sweep asks again for whatever was lost on
the way (a Redis outage, a killed worker, an operator's edit).

The sync itself, under the company's lock: count the members, read Stripe's current quantity, and
write only when they differ, with `proration_behavior=create_prorations` and an idempotency key made
of the company, the sync's version and the target. Writes to one subscription stay
SEAT_SYNC_MIN_INTERVAL_SECONDS apart (a sync due earlier is deferred to then), which keeps them under
Stripe's 200 quantity updates per subscription per hour whatever the members do.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from saas_platform.dispatch import dispatch_after_commit

from companies.locks import company_lock
from companies.members import MEMBERS_CHANGED
from companies.models import Company
from companies.selectors import members_count
from subscriptions.entitlements import LIVE_STATUSES
from subscriptions.models import CompanySubscription
from subscriptions.selectors import subscriptions_with_seat_drift
from subscriptions.services import subscription_apply_stripe_state, subscription_sync_company
from subscriptions.stripe_api import stripe_client, stripe_retrieve
from subscriptions.stripe_objects import subscription_read

logger = logging.getLogger(__name__)

SYNC_SEATS_TASK = "subscriptions.sync_seats"  # subscriptions/tasks.py: sync_seats

SeatSync = Literal["no_subscription", "resynced", "deferred", "unchanged", "updated"]


def _defer(company_id: int, seconds: float) -> None:
    MEMBERS_CHANGED.defer(company_id, until=time.time() + seconds)


def _wait_before_writing(record: CompanySubscription) -> float:
    """Seconds until the next quantity write is allowed (0: now)."""
    if record.seats_synced_at is None:
        return 0.0
    since = (timezone.now() - record.seats_synced_at).total_seconds()
    return max(0.0, settings.SEAT_SYNC_MIN_INTERVAL_SECONDS - since)


def subscription_seats_sync(*, company_id: int) -> SeatSync:
    """Make the company's live subscription bill the seats its plan asks for, if Stripe does not yet."""
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        record = CompanySubscription.objects.filter(company=company).first()
        if record is None or not record.stripe_subscription_id or record.status not in LIVE_STATUSES:
            return "no_subscription"
        current = stripe_retrieve("subscription", record.stripe_subscription_id)
        subscription = subscription_read(current) if current else None
        if current is None or subscription is None or subscription.status not in LIVE_STATUSES:
            # Gone or ended since we stored it: store whichever subscription is the company's now (its
            # events would, but until then the drift sweep would keep asking); a drift left asks again.
            subscription_sync_company(company_id=company_id)
            return "resynced"
        base, plan = subscription.base_item, subscription.plan
        target = plan.quantity_for(members=members_count(company=company)) if plan else None
        if base is None or target is None or base.quantity == target:
            subscription_apply_stripe_state(company=company, stripe_subscription=current)
            return "unchanged"
        wait = _wait_before_writing(record)
        if wait > 0:
            _defer(company_id, wait)
            return "deferred"
        outcome = _write_quantity(company, record, subscription.id, base.id, target)
    if outcome == "updated":
        logger.info("seats of %s: %s -> %s", company.slug, base.quantity, target)
    return outcome


def _write_quantity(
    company: Company, record: CompanySubscription, subscription_id: str, item_id: str, target: int
) -> SeatSync:
    """Under the company's lock: set the plan item's quantity, prorated, and store Stripe's answer."""
    try:
        updated = stripe_client().v1.subscriptions.update(
            subscription_id,
            params={"items": [{"id": item_id, "quantity": target}], "proration_behavior": "create_prorations"},
            options={"idempotency_key": f"company-{company.pk}-seats-{record.seats_version}-{target}"},
        )
    except stripe.RateLimitError:
        # Not retried at once: Stripe's limits are per second and per hour, so try again later.
        logger.warning("seat sync of %s rate limited by Stripe; deferred", company.slug)
        _defer(company.pk, settings.SEAT_SYNC_MIN_INTERVAL_SECONDS)
        return "deferred"
    record.seats_synced_at = timezone.now()
    record.seats_version += 1
    record.save(update_fields=["seats_synced_at", "seats_version"])
    subscription_apply_stripe_state(company=company, stripe_subscription=updated.to_dict())
    return "updated"


def seats_sync_due() -> int:
    """Beat: publish the seat sync of every company whose debounce window has passed."""
    company_ids = MEMBERS_CHANGED.take_due()
    for company_id in company_ids:
        dispatch_after_commit(SYNC_SEATS_TASK, company_id, waits_for="the seat drift sweep")
    return len(company_ids)


def seats_drift_request(*, limit: int = 500) -> int:
    """Beat: ask a seat sync for every company billed for another number of seats than its plan asks
    for (stored state; no Stripe call), however the request for it was lost."""
    company_ids = list(subscriptions_with_seat_drift().values_list("company_id", flat=True)[:limit])
    for company_id in company_ids:
        MEMBERS_CHANGED.request(company_id)
    return len(company_ids)
