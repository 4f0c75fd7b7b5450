"""The catalog: each plan's prices (flat, or per seat), what it grants and limits, and the coupons and
promotion codes on offer. Stripe is made to match it by sync_plans (subscriptions/catalog_sync.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from companies.features import FEATURES, require_feature, require_limit

PricingModel = Literal["flat", "per_seat"]
FLAT: PricingModel = "flat"
PER_SEAT: PricingModel = "per_seat"


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    monthly_lookup_key: str
    yearly_lookup_key: str
    # In the currency's smallest unit: the whole plan when flat, one seat when per seat.
    monthly_amount: int
    yearly_amount: int
    features: frozenset[str]
    limits: dict[str, int | None] = field(default_factory=dict)  # None means unlimited
    currency: str = "usd"
    pricing: PricingModel = FLAT

    def __post_init__(self) -> None:
        for name in self.features:
            require_feature(name)
        for name in self.limits:
            require_limit(name)

    @property
    def lookup_keys(self) -> tuple[str, str]:
        return (self.monthly_lookup_key, self.yearly_lookup_key)

    @property
    def per_seat(self) -> bool:
        return self.pricing == PER_SEAT

    def quantity_for(self, *, members: int) -> int:
        """The subscription quantity this plan bills: one seat per member (at least one), else 1."""
        return max(1, members) if self.per_seat else 1


PLANS: dict[str, Plan] = {
    plan.key: plan
    for plan in (
        Plan(
            key="basic",
            name="Basic",
            monthly_lookup_key="basic_monthly",
            yearly_lookup_key="basic_yearly",
            monthly_amount=1900,
            yearly_amount=19000,
            features=frozenset({"posts", "api_access"}),
            limits={"max_posts": 10, "max_members": 3},
        ),
        Plan(
            key="pro",
            name="Pro",
            monthly_lookup_key="pro_monthly",
            yearly_lookup_key="pro_yearly",
            monthly_amount=4900,
            yearly_amount=49000,
            features=frozenset({"posts", "exports", "api_access"}),
            limits={"max_posts": None, "max_members": 25},
        ),
        # Seats are billed instead of capped: the quantity follows the members (subscriptions/seats.py).
        Plan(
            key="team",
            name="Team",
            monthly_lookup_key="team_monthly",
            yearly_lookup_key="team_yearly",
            monthly_amount=1200,
            yearly_amount=12000,  # ten months
            features=frozenset(FEATURES),
            limits={"max_posts": None, "max_members": None},
            pricing=PER_SEAT,
        ),
    )
}

_BY_LOOKUP_KEY = {key: plan for plan in PLANS.values() for key in plan.lookup_keys}


def plan_for_lookup_key(lookup_key: str | None) -> Plan | None:
    return _BY_LOOKUP_KEY.get(lookup_key or "")


def all_lookup_keys() -> list[str]:
    return list(_BY_LOOKUP_KEY)


def lookup_keys_priced(pricing: PricingModel) -> list[str]:
    return [key for plan in PLANS.values() if plan.pricing == pricing for key in plan.lookup_keys]


# --- Discounts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coupon:
    """A Stripe coupon, by its id. Coupons cannot change at Stripe: a changed one is made again."""

    id: str
    name: str
    duration: Literal["once", "repeating", "forever"]
    percent_off: float | None = None
    amount_off: int | None = None  # with `currency`
    currency: str | None = None
    duration_in_months: int | None = None  # for "repeating"

    def __post_init__(self) -> None:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError(f"coupon {self.id}: exactly one of percent_off and amount_off")
        if (self.duration == "repeating") != (self.duration_in_months is not None):
            raise ValueError(f"coupon {self.id}: duration_in_months goes with (only) a repeating duration")


@dataclass(frozen=True)
class PromotionCode:
    """A code customers type, redeeming a coupon of the catalog."""

    code: str
    coupon: str
    max_redemptions: int | None = None
    expires_at: datetime | None = None
    first_time_transaction: bool = False

    def __post_init__(self) -> None:
        if self.coupon not in COUPONS:
            raise ValueError(f"promotion code {self.code}: no coupon {self.coupon!r} in the catalog")


COUPONS: dict[str, Coupon] = {
    coupon.id: coupon
    for coupon in (
        Coupon(
            id="welcome-20",
            name="Welcome: 20 % off for 3 months",
            percent_off=20,
            duration="repeating",
            duration_in_months=3,
        ),
    )
}

PROMOTION_CODES: dict[str, PromotionCode] = {
    promotion.code: promotion for promotion in (PromotionCode(code="WELCOME20", coupon="welcome-20"),)
}


# Currencies whose amounts Stripe counts in whole units (no cents).
_ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "vnd", "vuv", "xaf"})
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


def amount_display(amount: int, currency: str) -> str:
    """An amount in the currency's smallest unit as people read it: 1900 usd → $19, 1583 → $15.83,
    -3667 → −$36.67 (a credit)."""
    if amount < 0:
        return "\u2212" + amount_display(-amount, currency)
    currency = currency.lower()
    value = amount if currency in _ZERO_DECIMAL else amount / 100
    number = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"
