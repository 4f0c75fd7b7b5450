"""The status policy: from a company's subscription state to what it may do.

The result is stored on the company row, so checking a gate on a request costs no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from subscriptions.plans import PLANS, plan_for_lookup_key

FULL_ACCESS_STATUSES = frozenset({"trialing", "active"})
GRACE_STATUSES = frozenset({"past_due"})
# A subscription in these states is live: the company is subscribed (Checkout would make a second one).
LIVE_STATUSES = FULL_ACCESS_STATUSES | GRACE_STATUSES


@dataclass(frozen=True)
class Entitlements:
    paid_access: bool
    paid_access_until: datetime | None
    features: list[str]
    limits: dict[str, int | None]
    reason: str


def entitlements_for(subscription) -> Entitlements:
    """What a company may do given its CompanySubscription (or None)."""
    plan = plan_for_lookup_key(subscription.price_lookup_key) if subscription else None
    limits = dict((plan or PLANS["basic"]).limits)
    if subscription is None or not subscription.status:
        return Entitlements(False, None, [], limits, "no_subscription")

    if subscription.entitlement_features is not None:
        features = sorted(subscription.entitlement_features)
    else:
        features = sorted(plan.features) if plan else []

    status = subscription.status
    if status in FULL_ACCESS_STATUSES:
        return Entitlements(True, None, features, limits, status)
    if status in GRACE_STATUSES:
        since = subscription.past_due_since
        until = (since or subscription.synced_at) + timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)
        return Entitlements(True, until, features, limits, status)
    return Entitlements(False, None, features, limits, status)
