"""promotion_code.*, coupon.* and customer.discount.* keep the local copy of the promotion codes that
sign-up checks against: each handler re-reads from Stripe what the event names, so a forged payload
changes nothing, and events delivered twice or out of order leave Stripe's current state."""

from __future__ import annotations

import pytest

from subscriptions.models import PromotionCode
from tests.helpers import platform_client, post_event, stripe_event
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db


def _deliver(event_type: str, obj: dict) -> WebhookEvent:
    """Through the real intake (the worker's task recorded, not sent), then processed here."""
    event = stripe_event(event_type, obj)
    assert post_event(platform_client(), event).status_code == 200
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    webhook_event_process(event_id=stored.pk)
    stored.refresh_from_db()
    return stored


def test_a_forged_promotion_code_event_cannot_switch_a_code_off(catalog, published):
    welcome = PromotionCode.objects.get(code="WELCOME20")
    event = _deliver("promotion_code.updated", {"id": welcome.stripe_id, "object": "promotion_code", "active": False})
    assert event.state == "processed"
    assert PromotionCode.objects.get(pk=welcome.pk).active is True  # Stripe says active
    unknown = _deliver("promotion_code.created", {"id": "promo_forged", "object": "promotion_code", "code": "FREE"})
    assert unknown.state == "ignored" and "no promotion code promo_forged" in unknown.last_error
    assert not PromotionCode.objects.filter(code="FREE").exists()


def test_events_twice_and_out_of_order_leave_stripes_latest_state(catalog, published):
    stripe = catalog.client()
    welcome = PromotionCode.objects.get(code="WELCOME20")
    stripe.v1.promotion_codes.update(welcome.stripe_id, params={"active": False})
    # The older "created" arrives after the "updated", and each twice: all of them store what Stripe has now.
    for event_type in ("promotion_code.updated", "promotion_code.created", "promotion_code.updated"):
        assert _deliver(event_type, {"id": welcome.stripe_id, "object": "promotion_code"}).state == "processed"
        assert PromotionCode.objects.get(pk=welcome.pk).active is False


def test_a_deleted_coupon_makes_its_codes_unredeemable(catalog, published):
    stripe = catalog.client()
    welcome = PromotionCode.objects.get(code="WELCOME20")
    stripe.v1.coupons.delete(welcome.coupon_id)
    assert _deliver("coupon.deleted", {"id": welcome.coupon_id, "object": "coupon"}).state == "processed"
    stored = PromotionCode.objects.get(pk=welcome.pk)
    assert stored.coupon_valid is False and stored.refusal(at=stored.synced_at) is not None


def test_a_discount_event_re_reads_the_redemptions_of_its_code_not_the_payload(catalog, published):
    stripe = catalog.client()
    coupon = stripe.v1.coupons.create(params={"percent_off": 10, "duration": "once"})
    once = stripe.v1.promotion_codes.create(
        params={"code": "ONCE", "promotion": {"type": "coupon", "coupon": coupon.id}, "max_redemptions": 1}
    )
    assert _deliver("promotion_code.created", {"id": once.id, "object": "promotion_code"}).state == "processed"
    forged = {"id": "di_forged", "object": "discount", "promotion_code": once.id, "customer": "cus_x"}
    assert _deliver("customer.discount.created", forged).state == "processed"
    assert PromotionCode.objects.get(stripe_id=once.id).times_redeemed == 0  # Stripe counts none
    customer = stripe.v1.customers.create(params={"email": "someone@else.example"})
    price = stripe.v1.prices.list(params={"lookup_keys": ["basic_monthly"]}).data[0]
    stripe.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "trial_period_days": 7,
            "discounts": [{"promotion_code": once.id}],
        }
    )
    assert _deliver("customer.discount.created", forged).state == "processed"
    assert PromotionCode.objects.get(stripe_id=once.id).times_redeemed == 1
