"""Make Stripe match the catalog (subscriptions/plans.py): products, prices (by lookup key), entitlement
features, coupons, promotion codes and the billing portal configuration, then store the local copy of
every promotion code. Idempotent; returns a list of what it changed in Stripe (empty when it matched)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

from django.core.cache import cache

from companies.features import FEATURES
from subscriptions.billing import _PORTAL_CONFIGURATION_CACHE_KEY, PORTAL_CONFIGURATION_METADATA
from subscriptions.plans import COUPONS, PLANS, PROMOTION_CODES, Coupon, Plan, PromotionCode
from subscriptions.promotion_codes import promotion_codes_sync_all
from subscriptions.stripe_api import as_dict, stripe_client

if TYPE_CHECKING:
    from stripe.params import CouponCreateParams, PromotionCodeCreateParams
    from stripe.params.billing_portal import ConfigurationCreateParams, ConfigurationUpdateParams

# What the catalog made (coupons, promotion codes, the portal configuration) carries this metadata,
# so a later run finds it again and never touches what someone made by hand.
MANAGED = PORTAL_CONFIGURATION_METADATA


def _managed(stripe_object) -> bool:
    return as_dict(stripe_object.metadata).get("managed_by") == MANAGED["managed_by"]


def _product_for(plan: Plan, products: list, changes: list[str]):
    client = stripe_client()
    product = next((p for p in products if as_dict(p.metadata).get("plan_key") == plan.key), None)
    if product is None:
        product = client.v1.products.create(params={"name": plan.name, "metadata": {"plan_key": plan.key}})
        changes.append(f"created product {product.id} for plan {plan.key}")
    elif product.name != plan.name or not product.active:
        product = client.v1.products.update(product.id, params={"name": plan.name, "active": True})
        changes.append(f"updated product {product.id} for plan {plan.key}")
    return product


def _sync_prices(plan: Plan, product, changes: list[str]) -> list[str]:
    client = stripe_client()
    wanted: dict[str, tuple[Literal["month", "year"], int]] = {
        plan.monthly_lookup_key: ("month", plan.monthly_amount),
        plan.yearly_lookup_key: ("year", plan.yearly_amount),
    }
    metadata = {"plan_key": plan.key, "pricing": plan.pricing}
    existing = {p.lookup_key: p for p in client.v1.prices.list(params={"lookup_keys": list(wanted), "limit": 10}).data}
    price_ids = []
    for lookup_key, (interval, amount) in wanted.items():
        price = existing.get(lookup_key)
        matches = (
            price is not None
            and price.active
            and price.product == product.id
            and price.unit_amount == amount
            and price.currency == plan.currency
            and price.recurring is not None
            and price.recurring.interval == interval
            and price.recurring.usage_type == "licensed"
        )
        if price is None or not matches:
            # Prices are immutable: make a new one and move the lookup key to it.
            price = client.v1.prices.create(
                params={
                    "product": product.id,
                    "unit_amount": amount,
                    "currency": plan.currency,
                    "recurring": {"interval": interval, "usage_type": "licensed"},
                    "lookup_key": lookup_key,
                    "transfer_lookup_key": True,
                    "metadata": metadata,
                }
            )
            changes.append(f"created price {price.id} ({lookup_key}, {plan.pricing})")
        elif as_dict(price.metadata) != metadata:  # metadata is the one thing a price lets us change
            price = client.v1.prices.update(price.id, params={"metadata": metadata})
            changes.append(f"updated price {price.id} ({lookup_key}, {plan.pricing})")
        price_ids.append(price.id)
    return price_ids


def _sync_features(plan: Plan, product, features_by_key: dict, changes: list[str]) -> None:
    client = stripe_client()
    attached = {
        pf.entitlement_feature.lookup_key: pf
        for pf in client.v1.products.features.list(product.id, params={"limit": 100}).data
    }
    for key in sorted(plan.features - set(attached)):
        client.v1.products.features.create(product.id, params={"entitlement_feature": features_by_key[key].id})
        changes.append(f"attached feature {key} to {plan.key}")
    for key in sorted(set(attached) - plan.features):
        client.v1.products.features.delete(product.id, attached[key].id)
        changes.append(f"detached feature {key} from {plan.key}")


# --- Coupons and promotion codes ---------------------------------------------------------------


def _coupon_matches(stripe_coupon, coupon: Coupon) -> bool:
    return (
        stripe_coupon.percent_off == coupon.percent_off
        and stripe_coupon.amount_off == coupon.amount_off
        and (stripe_coupon.currency or None) == coupon.currency
        and stripe_coupon.duration == coupon.duration
        and stripe_coupon.duration_in_months == coupon.duration_in_months
    )


def _create_coupon(coupon: Coupon):
    params: CouponCreateParams = {
        "name": coupon.name,
        "duration": coupon.duration,
        "metadata": {**MANAGED, "coupon_key": coupon.id},
    }
    if coupon.percent_off is not None:
        params["percent_off"] = coupon.percent_off
    if coupon.amount_off is not None and coupon.currency:
        params["amount_off"], params["currency"] = coupon.amount_off, coupon.currency
    if coupon.duration_in_months is not None:
        params["duration_in_months"] = coupon.duration_in_months
    return stripe_client().v1.coupons.create(params=params)


def _sync_coupons(changes: list[str]) -> dict[str, str]:
    """The catalog's coupons, each found by its `coupon_key` metadata (Stripe makes the id). Coupons
    cannot change: a changed one is deleted (discounts already given keep running) and made again.
    Returns the Stripe coupon id of each catalog coupon."""
    client = stripe_client()
    ours = [c for c in client.v1.coupons.list(params={"limit": 100}).auto_paging_iter() if _managed(c)]
    ids: dict[str, str] = {}
    for key, coupon in COUPONS.items():
        current = next((c for c in ours if as_dict(c.metadata).get("coupon_key") == key), None)
        if current is not None and not _coupon_matches(current, coupon):
            client.v1.coupons.delete(current.id)
            changes.append(f"deleted coupon {current.id} ({key}): its terms changed")
            current = None
        if current is None:
            current = _create_coupon(coupon)
            changes.append(f"created coupon {current.id} ({key})")
        elif current.name != coupon.name:
            client.v1.coupons.update(current.id, params={"name": coupon.name})
            changes.append(f"renamed coupon {current.id} ({key})")
        ids[key] = current.id
    for stale in ours:
        if as_dict(stale.metadata).get("coupon_key") not in COUPONS:
            client.v1.coupons.delete(stale.id)
            changes.append(f"deleted coupon {stale.id}: no longer in the catalog")
    return ids


def _code_matches(code, promotion: PromotionCode, coupon_id: str) -> bool:
    expires_at = int(promotion.expires_at.timestamp()) if promotion.expires_at else None
    return (
        code.promotion.coupon == coupon_id
        and code.max_redemptions == promotion.max_redemptions
        and code.expires_at == expires_at
        and bool(code.restrictions.first_time_transaction) == promotion.first_time_transaction
        and code.customer is None
    )


def _code_ended(code) -> bool:
    """Inactive by its own terms (expired, used up), not switched off: making it again would restart it."""
    used_up = code.max_redemptions is not None and code.times_redeemed >= code.max_redemptions
    return not code.active and _managed(code) and (used_up or code.expires_at is not None)


def _create_code(promotion: PromotionCode, coupon_id: str):
    params: PromotionCodeCreateParams = {
        "code": promotion.code,
        "promotion": {"type": "coupon", "coupon": coupon_id},
        "metadata": MANAGED,
    }
    if promotion.max_redemptions is not None:
        params["max_redemptions"] = promotion.max_redemptions
    if promotion.expires_at is not None:
        params["expires_at"] = int(promotion.expires_at.timestamp())
    if promotion.first_time_transaction:
        params["restrictions"] = {"first_time_transaction": True}
    return stripe_client().v1.promotion_codes.create(params=params)


def _sync_promotion_codes(coupon_ids: dict[str, str], changes: list[str]) -> None:
    """Each catalog code active at Stripe with the catalog's terms. A code's terms cannot change: a
    changed one is switched off and made again (codes are unique among active ones, not forever)."""
    client = stripe_client()
    for text, promotion in PROMOTION_CODES.items():
        coupon_id = coupon_ids[promotion.coupon]
        codes = list(client.v1.promotion_codes.list(params={"code": text, "limit": 100}).auto_paging_iter())
        if any(_code_matches(c, promotion, coupon_id) and (c.active or _code_ended(c)) for c in codes):
            continue
        for stale in (c for c in codes if c.active):
            client.v1.promotion_codes.update(stale.id, params={"active": False})
            changes.append(f"deactivated promotion code {stale.id} ({text}): its terms changed")
        created = _create_code(promotion, coupon_id)
        changes.append(f"created promotion code {created.id} ({text})")
    active = client.v1.promotion_codes.list(params={"active": True, "limit": 100}).auto_paging_iter()
    for stale in [c for c in active if _managed(c) and c.code not in PROMOTION_CODES]:
        client.v1.promotion_codes.update(stale.id, params={"active": False})
        changes.append(f"deactivated promotion code {stale.id} ({stale.code}): no longer in the catalog")


# --- The billing portal ------------------------------------------------------------------------


def _portal_products(products_prices: list[tuple[str, list[str]]]) -> list:
    # Quantities are never the customer's to edit: per-seat plans bill the members, flat plans one.
    return [
        {"product": product, "prices": prices, "adjustable_quantity": {"enabled": False}}
        for product, prices in products_prices
    ]


def _portal_params(products_prices: list[tuple[str, list[str]]]) -> ConfigurationCreateParams:
    return {
        "business_profile": {"headline": "Manage your company's subscription"},
        "features": {
            "payment_method_update": {"enabled": True},
            "invoice_history": {"enabled": True},
            "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
            "subscription_update": {
                "enabled": True,
                "default_allowed_updates": ["price"],
                "proration_behavior": "create_prorations",
                "products": _portal_products(products_prices),
            },
        },
        "metadata": MANAGED,
    }


def _portal_shape(update: dict) -> tuple:
    """What the configuration allows, comparable between what Stripe has and what we want."""
    products = {
        (p["product"], tuple(sorted(p["prices"])), bool((p.get("adjustable_quantity") or {}).get("enabled")))
        for p in update.get("products") or []
    }
    return (tuple(sorted(update.get("default_allowed_updates") or [])), frozenset(products))


def _sync_portal(products_prices: list[tuple[str, list[str]]], changes: list[str]) -> None:
    client = stripe_client()
    params = _portal_params(products_prices)
    configurations = client.v1.billing_portal.configurations.list(params={"limit": 100}).data
    current = next((c for c in configurations if _managed(c)), None)
    if current is None:
        current = client.v1.billing_portal.configurations.create(params=params)
        changes.append(f"created billing portal configuration {current.id}")
    else:
        wanted = _portal_shape(cast("dict", params["features"]["subscription_update"]))
        if _portal_shape(current.to_dict()["features"]["subscription_update"]) != wanted:
            # The same settings: the update's type differs only in making every key optional.
            client.v1.billing_portal.configurations.update(current.id, params=cast("ConfigurationUpdateParams", params))
            changes.append(f"updated billing portal configuration {current.id}")
    cache.delete(_PORTAL_CONFIGURATION_CACHE_KEY)


def catalog_sync() -> list[str]:
    client = stripe_client()
    changes: list[str] = []
    features_by_key = {f.lookup_key: f for f in client.v1.entitlements.features.list(params={"limit": 100}).data}
    for key, description in FEATURES.items():
        if key not in features_by_key:
            features_by_key[key] = client.v1.entitlements.features.create(
                params={"lookup_key": key, "name": description}
            )
            changes.append(f"created entitlement feature {key}")
    products = list(client.v1.products.list(params={"limit": 100}).data)
    products_prices = []
    for plan in PLANS.values():
        product = _product_for(plan, products, changes)
        products_prices.append((product.id, _sync_prices(plan, product, changes)))
        _sync_features(plan, product, features_by_key, changes)
    _sync_promotion_codes(_sync_coupons(changes), changes)
    promotion_codes_sync_all()  # the local copy sign-up checks codes against
    _sync_portal(products_prices, changes)
    return changes
