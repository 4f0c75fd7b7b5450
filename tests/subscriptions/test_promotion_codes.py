"""Promotion codes without a worker: the local copy sync_plans keeps, sign-up's check against it (no
Stripe call), the code applied at the trial's start (or reported when Stripe refuses it), and the
apply endpoint and the Billing page's form. Stripe is the emulator."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from saas_platform import clock

from companies.models import Company
from notifications.models import Notification
from notifications.services import KINDS
from onboarding import services as onboarding
from subscriptions.billing import checkout_session_create
from subscriptions.models import CompanySubscription, PromotionCode
from subscriptions.promotion_codes import promotion_codes_sync_all
from subscriptions.stripe_api import stripe_client
from tests.factories import CompanyFactory, MembershipFactory
from tests.helpers import company_client, platform_client

pytestmark = pytest.mark.django_db

UNREACHABLE = "http://127.0.0.1:9"  # nothing listens: any Stripe call would fail


def _signup(code: str, slug: str = "promo-co"):
    body = {
        "name": "Promo Co",
        "slug": slug,
        "admin_email": f"admin@{slug}.example",
        "admin_password": "a-long-enough-secret",
        "promotion_code": code,
    }
    return platform_client().post("/api/companies/", body, content_type="application/json")


def _code(stripe, text: str, *, coupon: str | None = None, **params):
    coupon = coupon or stripe.v1.coupons.create(params={"percent_off": 10, "duration": "once", "name": "Ten"}).id
    return stripe.v1.promotion_codes.create(
        params={"code": text, "promotion": {"type": "coupon", "coupon": coupon}, **params}
    )


def _redeem(stripe, code_id: str) -> None:
    """Someone else's subscription redeems the code."""
    customer = stripe.v1.customers.create(params={"email": "someone@else.example"})
    stripe.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    method = stripe.v1.customers.payment_methods.list(customer.id).data[0]
    stripe.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": method.id}})
    price = stripe.v1.prices.list(params={"lookup_keys": ["basic_monthly"]}).data[0]
    stripe.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}], "discounts": [{"promotion_code": code_id}]}
    )


def test_sync_plans_keeps_a_local_copy_of_every_code_with_its_coupon(catalog):
    stored = PromotionCode.objects.get(code="WELCOME20")
    assert (stored.active, stored.percent_off, stored.amount_off, stored.coupon_valid) == (True, 20, None, True)
    assert stored.coupon_name == "Welcome: 20 % off for 3 months"
    assert stored.refusal(at=clock.now()) is None


def test_signup_with_a_valid_code_in_any_case_calls_no_stripe_and_keeps_the_code(catalog, published, settings):
    settings.STRIPE_API_BASE = UNREACHABLE
    response = _signup("welcome20")
    assert response.status_code == 202, response.content
    assert Company.objects.get(slug="promo-co").signup_promotion_code == "WELCOME20"


@pytest.mark.parametrize("kind", ["unknown", "inactive", "expired", "used_up", "coupon_redeem_by_passed"])
def test_signup_with_a_code_stripe_would_refuse_is_400_invalid_promotion_code_without_a_stripe_call(
    catalog, published, settings, kind
):
    stripe = catalog.client()
    soon = int(time.time()) + 86400
    if kind == "inactive":
        _code(stripe, "PROMO", active=False)
    elif kind == "expired":
        _code(stripe, "PROMO", expires_at=soon)
    elif kind == "used_up":
        _redeem(stripe, _code(stripe, "PROMO", max_redemptions=1).id)
    elif kind == "coupon_redeem_by_passed":
        coupon = stripe.v1.coupons.create(params={"percent_off": 10, "duration": "once", "redeem_by": soon})
        _code(stripe, "PROMO", coupon=coupon.id)
    promotion_codes_sync_all()  # as sync_plans does
    clock.travel_to(datetime.now(tz=UTC) + timedelta(days=2))  # past `soon`
    settings.STRIPE_API_BASE = UNREACHABLE

    response = _signup("promo")

    assert response.status_code == 400
    assert response.json()["error_codes"] == {"promotion_code": ["invalid_promotion_code"]}
    assert not Company.objects.filter(slug="promo-co").exists()


def test_the_trial_starts_with_the_signup_code_and_the_subscription_shows_its_discount(onboarded_company):
    company, admin = onboarded_company(signup_promotion_code="WELCOME20")
    body = company_client(company, admin).get("/api/billing/subscription/").json()
    discount = body["discount"]
    assert {k: discount[k] for k in ("name", "percent_off", "amount_off", "currency", "promotion_code")} == {
        "name": "Welcome: 20 % off for 3 months",
        "percent_off": 20.0,
        "amount_off": None,
        "currency": "",
        "promotion_code": "WELCOME20",
    }
    ends_at = datetime.fromisoformat(discount["ends_at"])
    assert timedelta(days=88) < ends_at - datetime.now(tz=UTC) < timedelta(days=93)  # three months
    assert body["refused_promotion_code"] is None
    assert PromotionCode.objects.get(code="WELCOME20").times_redeemed == 1


def test_a_code_stripe_refuses_at_the_trial_start_is_reported_and_the_trial_starts_without_it(catalog):
    stripe = catalog.client()
    code = _code(stripe, "LASTONE", max_redemptions=1)
    promotion_codes_sync_all()
    _redeem(stripe, code.id)  # used up meanwhile: the local copy does not know yet
    company = CompanyFactory(signup_promotion_code="LASTONE")
    admin = MembershipFactory(company=company, role="admin").user
    onboarding.company_create_stripe_customer(company_id=company.pk)

    onboarding.company_start_trial(company_id=company.pk)

    company.refresh_from_db()
    assert company.status == Company.Status.ACTIVE
    record = CompanySubscription.objects.get(company=company)
    assert (record.status, record.discount) == ("trialing", None)
    assert stripe.v1.subscriptions.retrieve(record.stripe_subscription_id).discounts == []
    body = company_client(company, admin).get("/api/billing/subscription/").json()
    assert body["refused_promotion_code"]["code"] == "LASTONE"
    assert "redeemed the maximum number of times" in body["refused_promotion_code"]["reason"]
    assert PromotionCode.objects.get(stripe_id=code.id).times_redeemed == 1  # re-read from Stripe
    # What the outbox will send (the worker sends it: see the end-to-end test).
    [owed] = Notification.objects.filter(company=company, kind="promotion_code_refused")
    message = KINDS[owed.kind](owed)
    assert message.to == [admin.email] and "LASTONE" in message.subject and "could not be applied" in message.body


def test_admin_applies_a_code_and_the_subscription_shows_the_discount(onboarded_company):
    company, admin = onboarded_company()
    response = company_client(company, admin).post(
        "/api/billing/promotion-code/", {"code": "Welcome20"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["discount"]["promotion_code"] == "WELCOME20"
    assert response.json()["discount"]["percent_off"] == 20.0
    record = CompanySubscription.objects.get(company=company)
    assert record.discount["promotion_code"] == "WELCOME20"
    again = company_client(company, admin).post(
        "/api/billing/promotion-code/", {"code": "WELCOME20"}, content_type="application/json"
    )
    assert again.status_code == 200  # the code it has already: nothing changes
    assert PromotionCode.objects.get(code="WELCOME20").times_redeemed == 1


def test_a_member_may_not_apply_a_code(onboarded_company):
    company, _ = onboarded_company()
    member = MembershipFactory(company=company, role="member").user
    response = company_client(company, member).post(
        "/api/billing/promotion-code/", {"code": "WELCOME20"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert CompanySubscription.objects.get(company=company).discount is None


def test_a_bad_code_is_400_and_a_code_stripe_refuses_is_400_with_its_reason(onboarded_company):
    company, admin = onboarded_company()
    client = company_client(company, admin)
    unknown = client.post("/api/billing/promotion-code/", {"code": "NOPE"}, content_type="application/json")
    assert unknown.status_code == 400
    assert unknown.json()["error_codes"] == {"code": ["invalid_promotion_code"]}

    welcome = PromotionCode.objects.get(code="WELCOME20")
    stripe_client().v1.promotion_codes.update(welcome.stripe_id, params={"active": False})  # no event seen yet
    refused = client.post("/api/billing/promotion-code/", {"code": "WELCOME20"}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["error_codes"] == {"code": ["invalid_promotion_code"]}
    assert "inactive" in refused.json()["errors"]["code"][0]
    assert PromotionCode.objects.get(pk=welcome.pk).active is False  # re-read from Stripe
    assert CompanySubscription.objects.get(company=company).discount is None


def test_applying_a_code_without_a_live_subscription_is_409(catalog):
    company = CompanyFactory()
    admin = MembershipFactory(company=company, role="admin").user
    response = company_client(company, admin).post(
        "/api/billing/promotion-code/", {"code": "WELCOME20"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "no_live_subscription"


def test_the_billing_page_shows_the_discount_and_its_form_refuses_a_bad_code_next_to_the_field(onboarded_company):
    company, admin = onboarded_company()
    client = company_client(company, admin)
    refused = client.post("/billing/promotion-code/", {"code": "NOPE"})
    assert refused.status_code == 400
    assert b'id="id_code_error"' in refused.content and b"does not exist" in refused.content
    applied = client.post("/billing/promotion-code/", {"code": "welcome20"})
    assert applied.status_code == 302 and applied["Location"] == "/billing/"
    page = client.get("/billing/").content.decode()
    assert 'id="discount-code">WELCOME20<' in page and "20 % off" in page
    member = MembershipFactory(company=company, role="member").user
    shown = company_client(company, member).get("/billing/").content.decode()
    assert "20 % off" in shown and 'id="promotion-form"' not in shown


def test_checkout_pages_accept_promotion_codes(catalog):
    company = CompanyFactory()
    MembershipFactory(company=company, role="admin")
    onboarding.company_create_stripe_customer(company_id=company.pk)
    company.refresh_from_db()
    checkout_session_create(
        company=company, price_lookup_key="pro_monthly", success_url="http://x/ok", cancel_url="http://x/no"
    )
    [session] = stripe_client().v1.checkout.sessions.list(params={"customer": company.stripe_customer_id}).data
    assert session.allow_promotion_codes is True
