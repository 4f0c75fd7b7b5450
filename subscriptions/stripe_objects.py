"""Stripe's objects read in one place, in the shapes of the pinned API version (2026-10-28.endive).

A subscription has several items: the base plan's (a price of the catalog, found by its lookup key),
and any others a feature adds beside it (a metered item). Billing periods are on the items in this
version, not on the subscription. Code elsewhere asks `subscription.base_item.quantity`, never
`items.data[0]`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from subscriptions.plans import Plan, plan_for_lookup_key

logger = logging.getLogger(__name__)


def timestamp(value: int | None) -> datetime | None:
    """A Stripe time (seconds since the epoch, or null) as an aware datetime."""
    return datetime.fromtimestamp(value, tz=UTC) if value else None


@dataclass(frozen=True)
class SubscriptionItem:
    id: str
    price_id: str
    lookup_key: str  # "" for a price without one
    quantity: int | None  # None for a metered item (usage decides)
    unit_amount: int | None  # per unit: per seat on a per-seat plan
    currency: str
    interval: str  # "month", "year", ...
    usage_type: str  # "licensed" or "metered"
    current_period_start: datetime | None
    current_period_end: datetime | None

    @property
    def plan(self) -> Plan | None:
        return plan_for_lookup_key(self.lookup_key)


@dataclass(frozen=True)
class PendingUpdate:
    """A change Stripe holds until its invoice is paid (`payment_behavior=pending_if_incomplete`):
    the items the subscription will have, and when the change is discarded if nobody pays."""

    items: tuple[SubscriptionItem, ...]
    expires_at: datetime | None

    @property
    def base_item(self) -> SubscriptionItem | None:
        return next((item for item in self.items if item.plan is not None), None)


@dataclass(frozen=True)
class Subscription:
    id: str
    customer: str
    status: str
    created: int
    trial_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    items: tuple[SubscriptionItem, ...]
    pending_update: PendingUpdate | None = None

    @property
    def base_item(self) -> SubscriptionItem | None:
        """The item of a catalog plan; failing that (a price made outside the catalog), the first
        licensed item, so its status and period are still known; None without items."""
        for item in self.items:
            if item.plan is not None:
                return item
        return next((i for i in self.items if i.usage_type == "licensed"), self.items[0] if self.items else None)

    @property
    def plan(self) -> Plan | None:
        return self.base_item.plan if self.base_item else None

    @property
    def quantity(self) -> int | None:
        """The base plan's quantity: the seats billed on a per-seat plan, 1 on a flat one."""
        return self.base_item.quantity if self.base_item else None

    @property
    def other_items(self) -> tuple[SubscriptionItem, ...]:
        base = self.base_item
        return tuple(item for item in self.items if base is None or item.id != base.id)

    def item_for(self, lookup_key: str) -> SubscriptionItem | None:
        return next((item for item in self.items if item.lookup_key == lookup_key), None)


def _item(raw: dict) -> SubscriptionItem:
    price = raw.get("price") or {}
    recurring = price.get("recurring") or {}
    usage_type = recurring.get("usage_type") or "licensed"
    return SubscriptionItem(
        id=raw["id"],
        price_id=price.get("id") or "",
        lookup_key=price.get("lookup_key") or "",
        quantity=raw.get("quantity") if usage_type == "licensed" else None,
        unit_amount=price.get("unit_amount"),
        currency=price.get("currency") or "",
        interval=recurring.get("interval") or "",
        usage_type=usage_type,
        current_period_start=timestamp(raw.get("current_period_start")),
        current_period_end=timestamp(raw.get("current_period_end")),
    )


def subscription_read(raw) -> Subscription:
    """A subscription as Stripe returns it: the library's object or a plain dict."""
    if hasattr(raw, "to_dict"):
        raw = raw.to_dict()
    items = raw.get("items") or {}
    if items.get("has_more"):
        # Stripe embeds the first items only; the catalog's subscriptions carry a few at most.
        logger.warning("subscription %s has more items than Stripe embedded", raw.get("id"))
    customer = raw.get("customer")
    return Subscription(
        id=raw["id"],
        customer=(customer.get("id") if isinstance(customer, dict) else customer) or "",
        status=raw.get("status") or "",
        created=int(raw.get("created") or 0),
        trial_end=timestamp(raw.get("trial_end")),
        cancel_at_period_end=bool(raw.get("cancel_at_period_end")),
        canceled_at=timestamp(raw.get("canceled_at")),
        items=tuple(_item(item) for item in items.get("data") or []),
        pending_update=_pending_update(raw.get("pending_update")),
    )


def _pending_update(raw: dict | None) -> PendingUpdate | None:
    if not raw:
        return None
    return PendingUpdate(
        items=tuple(_item(item) for item in raw.get("subscription_items") or []),
        expires_at=timestamp(raw.get("expires_at")),
    )
