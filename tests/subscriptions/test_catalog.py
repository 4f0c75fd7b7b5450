"""The plan catalog: public listing, and Stripe made to match it, idempotently."""

from dataclasses import replace

import pytest
from django.core.management import call_command

from companies.features import FEATURES
from subscriptions.catalog_sync import catalog_sync
from subscriptions.plans import COUPONS, PLANS, PROMOTION_CODES, all_lookup_keys
from tests.helpers import platform_client

pytestmark = pytest.mark.django_db


def test_plans_are_listed_publicly_with_pricing_model_features_limits_and_prices():
    response = platform_client().get("/api/plans/")
    assert response.status_code == 200
    plans = {plan["key"]: plan for plan in response.json()["results"]}
    assert set(plans) == {"basic", "pro", "team"}
    assert plans["pro"]["limits"]["max_posts"] is None
    assert plans["basic"]["limits"]["max_posts"] == PLANS["basic"].limits["max_posts"]
    assert "exports" in plans["pro"]["features"] and "exports" not in plans["basic"]["features"]
    assert {p["lookup_key"] for p in plans["basic"]["prices"]} == {"basic_monthly", "basic_yearly"}
    assert (plans["basic"]["pricing_model"], plans["pro"]["pricing_model"]) == ("flat", "flat")
    # Team bills each seat (12 USD a month, ten months a year) instead of capping the members.
    team = plans["team"]
    assert team["pricing_model"] == "per_seat"
    assert {(p["lookup_key"], p["interval"], p["unit_amount"], p["currency"]) for p in team["prices"]} == {
        ("team_monthly", "month", 1200, "usd"),
        ("team_yearly", "year", 12000, "usd"),
    }
    assert team["limits"]["max_members"] is None and team["limits"]["max_posts"] is None
    assert set(team["features"]) == set(FEATURES)


def test_sync_plans_makes_stripe_match_and_is_idempotent(stripe_emulator, capsys):
    call_command("sync_plans")
    first = capsys.readouterr().out
    assert "created price" in first and "created promotion code" in first and "created coupon" in first
    call_command("sync_plans")  # a second run changes nothing
    assert "sync_plans: 0 change(s)" in capsys.readouterr().out
    stripe = stripe_emulator.client()
    prices = stripe.v1.prices.list(params={"lookup_keys": all_lookup_keys(), "limit": 10}).data
    assert {p.lookup_key: (p.unit_amount, p.recurring.interval, p.metadata["pricing"]) for p in prices} == {
        "basic_monthly": (1900, "month", "flat"),
        "basic_yearly": (19000, "year", "flat"),
        "pro_monthly": (4900, "month", "flat"),
        "pro_yearly": (49000, "year", "flat"),
        "team_monthly": (1200, "month", "per_seat"),
        "team_yearly": (12000, "year", "per_seat"),
    }
    pro_product = next(p for p in prices if p.lookup_key == "pro_monthly").product
    features = {f.entitlement_feature.lookup_key for f in stripe.v1.products.features.list(pro_product).data}
    assert features == set(PLANS["pro"].features)
    configurations = stripe.v1.billing_portal.configurations.list().data
    assert len(configurations) == 1
    # The portal switches prices but never edits a quantity: seats follow the members.
    update = configurations[0].to_dict()["features"]["subscription_update"]
    assert update["default_allowed_updates"] == ["price"]
    assert {price for p in update["products"] for price in p["prices"]} == {p.id for p in prices}
    assert not any(p["adjustable_quantity"]["enabled"] for p in update["products"])


def test_sync_plans_creates_the_welcome20_promotion_code(stripe_emulator):
    catalog_sync()
    stripe = stripe_emulator.client()
    codes = stripe.v1.promotion_codes.list(params={"code": "WELCOME20", "active": True}).data
    assert len(codes) == 1
    coupon = stripe.v1.coupons.retrieve(codes[0].promotion.coupon)
    assert (coupon.percent_off, coupon.duration, coupon.duration_in_months) == (20, "repeating", 3)


def test_sync_plans_remakes_a_changed_coupon_and_its_code_and_keeps_hand_made_ones(stripe_emulator, monkeypatch):
    from subscriptions import catalog_sync as sync_module

    catalog_sync()
    stripe = stripe_emulator.client()
    hand_made = stripe.v1.coupons.create(params={"percent_off": 50, "duration": "once"})
    old_code = stripe.v1.promotion_codes.list(params={"code": "WELCOME20"}).data[0]
    monkeypatch.setattr(sync_module, "COUPONS", {"welcome-20": replace(COUPONS["welcome-20"], percent_off=25)})

    changes = catalog_sync()

    assert sum("coupon" in change for change in changes) == 2  # deleted, created
    assert sum("created promotion code" in change for change in changes) == 1
    assert not stripe.v1.promotion_codes.retrieve(old_code.id).active  # its coupon is gone
    active = stripe.v1.promotion_codes.list(params={"code": "WELCOME20", "active": True}).data
    assert len(active) == 1 and active[0].id != old_code.id
    assert stripe.v1.coupons.retrieve(active[0].promotion.coupon).percent_off == 25
    assert stripe.v1.coupons.retrieve(hand_made.id).percent_off == 50
    assert catalog_sync() == []


def test_sync_plans_replaces_a_code_whose_terms_changed(stripe_emulator, monkeypatch):
    from subscriptions import catalog_sync as sync_module

    catalog_sync()
    limited = replace(PROMOTION_CODES["WELCOME20"], max_redemptions=100)
    monkeypatch.setattr(sync_module, "PROMOTION_CODES", {"WELCOME20": limited})
    changes = catalog_sync()
    assert [change.split(" promo_")[0] for change in changes] == [
        "deactivated promotion code",
        "created promotion code",
    ]
    active = stripe_emulator.client().v1.promotion_codes.list(params={"code": "WELCOME20", "active": True}).data
    assert [code.max_redemptions for code in active] == [100]
    assert catalog_sync() == []


def test_sync_plans_deactivates_a_code_the_catalog_dropped(stripe_emulator, monkeypatch):
    from subscriptions import catalog_sync as sync_module

    catalog_sync()
    monkeypatch.setattr(sync_module, "PROMOTION_CODES", {})
    assert any("deactivated promotion code" in change for change in catalog_sync())
    stripe = stripe_emulator.client()
    assert not stripe.v1.promotion_codes.list(params={"code": "WELCOME20", "active": True}).data


def test_sync_plans_turns_quantity_edits_in_the_portal_off_again(stripe_emulator):
    catalog_sync()
    stripe = stripe_emulator.client()
    configuration = stripe.v1.billing_portal.configurations.list().data[0]
    products = [
        {"product": p["product"], "prices": p["prices"], "adjustable_quantity": {"enabled": True}}
        for p in configuration.to_dict()["features"]["subscription_update"]["products"]
    ]
    stripe.v1.billing_portal.configurations.update(
        configuration.id, params={"features": {"subscription_update": {"products": products}}}
    )

    assert catalog_sync() == [f"updated billing portal configuration {configuration.id}"]
    update = stripe.v1.billing_portal.configurations.retrieve(configuration.id)["features"]["subscription_update"]
    assert not any(p["adjustable_quantity"]["enabled"] for p in update["products"])


def test_sync_plans_moves_a_lookup_key_when_the_price_changes(stripe_emulator, monkeypatch):
    catalog_sync()
    from subscriptions import catalog_sync as sync_module

    changed = dict(PLANS, basic=replace(PLANS["basic"], monthly_amount=2500))
    monkeypatch.setattr(sync_module, "PLANS", changed)
    changes = catalog_sync()
    assert any("basic_monthly" in change for change in changes)
    price = stripe_emulator.client().v1.prices.list(params={"lookup_keys": ["basic_monthly"]}).data[0]
    assert price.unit_amount == 2500
