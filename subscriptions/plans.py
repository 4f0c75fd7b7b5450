"""The plan catalog: what each plan costs, grants and limits. Stripe is made to match it by sync_plans."""

from __future__ import annotations

from dataclasses import dataclass, field

from companies.features import require_feature, require_limit


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    monthly_lookup_key: str
    yearly_lookup_key: str
    monthly_amount: int  # in the currency's smallest unit
    yearly_amount: int
    features: frozenset[str]
    limits: dict[str, int | None] = field(default_factory=dict)  # None means unlimited
    currency: str = "usd"

    def __post_init__(self) -> None:
        for name in self.features:
            require_feature(name)
        for name in self.limits:
            require_limit(name)

    @property
    def lookup_keys(self) -> tuple[str, str]:
        return (self.monthly_lookup_key, self.yearly_lookup_key)


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
    )
}

_BY_LOOKUP_KEY = {key: plan for plan in PLANS.values() for key in plan.lookup_keys}


def plan_for_lookup_key(lookup_key: str | None) -> Plan | None:
    return _BY_LOOKUP_KEY.get(lookup_key or "")


def all_lookup_keys() -> list[str]:
    return list(_BY_LOOKUP_KEY)


# Currencies whose amounts Stripe counts in whole units (no cents).
_ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "vnd", "vuv", "xaf"})
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


def amount_display(amount: int, currency: str) -> str:
    """An amount in the currency's smallest unit as people read it: 1900 usd → $19, 1583 → $15.83."""
    currency = currency.lower()
    value = amount if currency in _ZERO_DECIMAL else amount / 100
    number = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"
