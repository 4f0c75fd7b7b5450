"""Stripe's objects read in one place, in the shapes of the pinned API version (2026-10-28.endive).

A subscription has several items: the base plan's (a price of the catalog, found by its lookup key),
and any others a feature adds beside it (a metered item). Billing periods are on the items in this
version, not on the subscription. Code elsewhere asks `subscription.base_item.quantity`, never
`items.data[0]`.
"""

from __future__ import annotations

import logging
import typing
from dataclasses import dataclass
from datetime import UTC, datetime

from subscriptions.plans import Plan, plan_for_lookup_key

logger = logging.getLogger(__name__)


def literal_values(hint) -> list[str]:
    """The values of the `Literal`s in a type of the library's params (an enum Stripe accepts)."""
    found: list[str] = []
    for arg in typing.get_args(hint):
        found += list(typing.get_args(arg)) if typing.get_origin(arg) is typing.Literal else literal_values(arg)
    return found


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
class Discount:
    """A discount on a subscription, read with its coupon and promotion code expanded."""

    id: str
    name: str  # the coupon's name (its id when it has none)
    percent_off: float | None
    amount_off: int | None  # with `currency`
    currency: str
    promotion_code: str  # the code customers typed; "" for a coupon applied without one
    ends_at: datetime | None  # None: forever (or until the subscription ends)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "percent_off": self.percent_off,
            "amount_off": self.amount_off,
            "currency": self.currency,
            "promotion_code": self.promotion_code,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
        }


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
    # Discounts whose coupon was expanded (`discounts.source.coupon`); `discount_ids` are all of them.
    discounts: tuple[Discount, ...] = ()
    discount_ids: tuple[str, ...] = ()

    @property
    def discounts_expanded(self) -> bool:
        return len(self.discounts) == len(self.discount_ids)

    @property
    def discount(self) -> Discount | None:
        """The discount shown: the first of the subscription's (Stripe applies them in order)."""
        return self.discounts[0] if self.discounts else None

    # `cancellation_details`: the customer's feedback and comment, and Stripe's reason ("" when none).
    cancellation_feedback: str = ""
    cancellation_comment: str = ""
    cancellation_reason: str = ""
    automatic_tax: bool = False  # `automatic_tax.enabled`
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


# What to expand on a subscription (or `data.` + these on a list) for its discounts to be read.
DISCOUNT_EXPANSIONS = ("discounts.source.coupon", "discounts.promotion_code")


def _discount(raw) -> Discount | None:
    """A discount as Stripe returns it expanded, or None for a bare id (or a coupon not expanded)."""
    if not isinstance(raw, dict):
        return None
    coupon = (raw.get("source") or {}).get("coupon") or raw.get("coupon")
    if not isinstance(coupon, dict):
        return None
    code = raw.get("promotion_code")
    return Discount(
        id=raw.get("id") or "",
        name=coupon.get("name") or coupon.get("id") or "",
        percent_off=coupon.get("percent_off"),
        amount_off=coupon.get("amount_off"),
        currency=coupon.get("currency") or "",
        promotion_code=(code.get("code") if isinstance(code, dict) else "") or "",
        ends_at=timestamp(raw.get("end")),
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
    details = raw.get("cancellation_details") or {}
    return Subscription(
        id=raw["id"],
        customer=(customer.get("id") if isinstance(customer, dict) else customer) or "",
        status=raw.get("status") or "",
        created=int(raw.get("created") or 0),
        trial_end=timestamp(raw.get("trial_end")),
        cancel_at_period_end=bool(raw.get("cancel_at_period_end")),
        canceled_at=timestamp(raw.get("canceled_at")),
        items=tuple(_item(item) for item in items.get("data") or []),
        discounts=tuple(d for d in (_discount(raw) for raw in raw.get("discounts") or []) if d is not None),
        discount_ids=tuple(str(d.get("id") if isinstance(d, dict) else d) for d in raw.get("discounts") or []),
        cancellation_feedback=details.get("feedback") or "",
        cancellation_comment=details.get("comment") or "",
        cancellation_reason=details.get("reason") or "",
        automatic_tax=bool((raw.get("automatic_tax") or {}).get("enabled")),
        pending_update=_pending_update(raw.get("pending_update")),
    )


def _pending_update(raw: dict | None) -> PendingUpdate | None:
    if not raw:
        return None
    return PendingUpdate(
        items=tuple(_item(item) for item in raw.get("subscription_items") or []),
        expires_at=timestamp(raw.get("expires_at")),
    )


@dataclass(frozen=True)
class PromotionCodeState:
    """A promotion code with its coupon, in the fields of the local copy (subscriptions.models.PromotionCode)."""

    stripe_id: str
    fields: dict


def promotion_code_read(raw, coupon: dict | None) -> PromotionCodeState:
    """A promotion code as Stripe returns it, with its coupon (None: Stripe no longer has it)."""
    if hasattr(raw, "to_dict"):
        raw = raw.to_dict()
    promotion = raw.get("promotion") or {}
    coupon_ref = promotion.get("coupon") or raw.get("coupon")
    coupon_id = coupon_ref.get("id") if isinstance(coupon_ref, dict) else coupon_ref
    restrictions = raw.get("restrictions") or {}
    customer = raw.get("customer")
    coupon = coupon or {}
    fields = {
        "code": raw.get("code") or "",
        "active": bool(raw.get("active")),
        "expires_at": timestamp(raw.get("expires_at")),
        "max_redemptions": raw.get("max_redemptions"),
        "times_redeemed": int(raw.get("times_redeemed") or 0),
        "customer": (customer.get("id") if isinstance(customer, dict) else customer) or "",
        "first_time_transaction": bool(restrictions.get("first_time_transaction")),
        "coupon_id": coupon_id or "",
        "coupon_name": coupon.get("name") or "",
        "coupon_valid": bool(coupon.get("valid")) and not coupon.get("deleted"),
        "coupon_redeem_by": timestamp(coupon.get("redeem_by")),
        "coupon_max_redemptions": coupon.get("max_redemptions"),
        "coupon_times_redeemed": int(coupon.get("times_redeemed") or 0),
        "percent_off": coupon.get("percent_off"),
        "amount_off": coupon.get("amount_off"),
        "currency": coupon.get("currency") or "",
    }
    return PromotionCodeState(stripe_id=raw["id"], fields=fields)
