"""The plan catalog: public listing, and Stripe made to match it, idempotently."""

import pytest
from django.core.management import call_command

from subscriptions.catalog_sync import catalog_sync
from subscriptions.plans import PLANS
from tests.helpers import platform_client

pytestmark = pytest.mark.django_db


def test_plans_are_listed_publicly_with_features_limits_and_prices():
    response = platform_client().get("/api/plans/")
    assert response.status_code == 200
    plans = {plan["key"]: plan for plan in response.json()["results"]}
    assert set(plans) == {"basic", "pro"}
    assert plans["pro"]["limits"]["max_posts"] is None
    assert plans["basic"]["limits"]["max_posts"] == PLANS["basic"].limits["max_posts"]
    assert "exports" in plans["pro"]["features"] and "exports" not in plans["basic"]["features"]
    assert {p["lookup_key"] for p in plans["basic"]["prices"]} == {"basic_monthly", "basic_yearly"}


def test_sync_plans_makes_stripe_match_and_is_idempotent(stripe_emulator, capsys):
    call_command("sync_plans")
    first = capsys.readouterr().out
    assert "created price" in first
    assert catalog_sync() == []  # a second run changes nothing
    stripe = stripe_emulator.client()
    prices = stripe.v1.prices.list(
        params={"lookup_keys": ["basic_monthly", "basic_yearly", "pro_monthly", "pro_yearly"], "limit": 10}
    ).data
    assert {p.lookup_key: (p.unit_amount, p.recurring.interval) for p in prices} == {
        "basic_monthly": (1900, "month"),
        "basic_yearly": (19000, "year"),
        "pro_monthly": (4900, "month"),
        "pro_yearly": (49000, "year"),
    }
    pro_product = next(p for p in prices if p.lookup_key == "pro_monthly").product
    features = {f.entitlement_feature.lookup_key for f in stripe.v1.products.features.list(pro_product).data}
    assert features == set(PLANS["pro"].features)
    configurations = stripe.v1.billing_portal.configurations.list().data
    assert len(configurations) == 1


def test_sync_plans_moves_a_lookup_key_when_the_price_changes(stripe_emulator, monkeypatch):
    catalog_sync()
    from dataclasses import replace

    from subscriptions import catalog_sync as sync_module

    changed = dict(PLANS, basic=replace(PLANS["basic"], monthly_amount=2500))
    monkeypatch.setattr(sync_module, "PLANS", changed)
    changes = catalog_sync()
    assert any("basic_monthly" in change for change in changes)
    price = stripe_emulator.client().v1.prices.list(params={"lookup_keys": ["basic_monthly"]}).data[0]
    assert price.unit_amount == 2500
