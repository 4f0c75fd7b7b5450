"""Make Stripe match the plan catalog: products, prices (by lookup key), entitlement features and
the billing portal configuration. Idempotent; returns a list of what it changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

from django.core.cache import cache

from companies.features import FEATURES
from subscriptions.billing import _PORTAL_CONFIGURATION_CACHE_KEY, PORTAL_CONFIGURATION_METADATA
from subscriptions.plans import PLANS, Plan
from subscriptions.stripe_api import as_dict, stripe_client

if TYPE_CHECKING:
    from stripe.params.billing_portal import ConfigurationCreateParams, ConfigurationUpdateParams


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
        )
        if price is None or not matches:
            # Prices are immutable: make a new one and move the lookup key to it.
            price = client.v1.prices.create(
                params={
                    "product": product.id,
                    "unit_amount": amount,
                    "currency": plan.currency,
                    "recurring": {"interval": interval},
                    "lookup_key": lookup_key,
                    "transfer_lookup_key": True,
                    "metadata": {"plan_key": plan.key},
                }
            )
            changes.append(f"created price {price.id} ({lookup_key})")
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


def _sync_portal(products_prices: list[tuple[str, list[str]]], changes: list[str]) -> None:
    client = stripe_client()
    params: ConfigurationCreateParams = {
        "business_profile": {"headline": "Manage your company's subscription"},
        "features": {
            "payment_method_update": {"enabled": True},
            "invoice_history": {"enabled": True},
            "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
            "subscription_update": {
                "enabled": True,
                "default_allowed_updates": ["price"],
                "proration_behavior": "create_prorations",
                "products": [{"product": product, "prices": prices} for product, prices in products_prices],
            },
        },
        "metadata": PORTAL_CONFIGURATION_METADATA,
    }
    configurations = client.v1.billing_portal.configurations.list(params={"limit": 100}).data
    current = next(
        (
            c
            for c in configurations
            if as_dict(c.metadata).get("managed_by") == PORTAL_CONFIGURATION_METADATA["managed_by"]
        ),
        None,
    )
    if current is None:
        current = client.v1.billing_portal.configurations.create(params=params)
        changes.append(f"created billing portal configuration {current.id}")
    else:
        allowed = {
            (p["product"], tuple(sorted(p["prices"])))
            for p in current.to_dict()["features"]["subscription_update"].get("products") or []
        }
        wanted = {(product, tuple(sorted(prices))) for product, prices in products_prices}
        if allowed != wanted:
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
    _sync_portal(products_prices, changes)
    return changes
