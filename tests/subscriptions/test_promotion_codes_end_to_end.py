"""Promotion codes end to end: a company signs up through the API with a code, the real worker runs its
onboarding (the trial started with the code), the customer adds a card, a test clock moves past the
trial and Stripe's events come back through the webhook. And the local copy of the codes following
Stripe's events. Stripe is the emulator."""

from __future__ import annotations

import time

import pytest

from companies.models import Company
from companies.services import onboarding_start
from notifications.models import Notification
from subscriptions.models import CompanySubscription, Invoice, PromotionCode
from tests.helpers import company_client, platform_client
from tests.plugins.services import advance_clocks, wait_for_webhooks, wait_until, worker_mail

pytestmark = pytest.mark.django_db(transaction=True)


def _signup(code: str, slug: str):
    body = {
        "name": slug.title(),
        "slug": slug,
        "admin_email": f"admin@{slug}.example",
        "admin_password": "a-long-enough-secret",
        "price_lookup_key": "basic_monthly",
        "promotion_code": code,
    }
    return platform_client().post("/api/companies/", body, content_type="application/json")


def _signed_up_on_a_test_clock(emulator, monkeypatch, code: str, slug: str, before_trial=None):
    """Sign up through the API with the onboarding held back, give the company a Stripe customer on a
    test clock, then let the real worker run the onboarding; returns (company, clock) once active."""
    stripe = emulator.client()
    with monkeypatch.context() as held:
        held.setattr("companies.services.onboarding_start", lambda *, company_id: None)
        response = _signup(code, slug)
    assert response.status_code == 202, response.content
    company = Company.objects.get(slug=slug)
    clock = stripe.v1.test_helpers.test_clocks.create(params={"frozen_time": int(time.time())})
    customer = stripe.v1.customers.create(
        params={"email": f"admin@{slug}.example", "test_clock": clock.id, "metadata": {"company_id": str(company.pk)}}
    )
    Company.objects.filter(pk=company.pk).update(stripe_customer_id=customer.id)
    if before_trial is not None:
        before_trial()
    onboarding_start(company_id=company.pk)
    wait_until(
        lambda: Company.objects.get(pk=company.pk).status == Company.Status.ACTIVE,
        timeout=120,
        message="the worker to onboard the company",
    )
    return Company.objects.get(pk=company.pk), clock


def _add_card(stripe, customer_id: str) -> None:
    stripe.v1.payment_methods.attach("pm_card_visa", params={"customer": customer_id})
    method = stripe.v1.customers.payment_methods.list(customer_id).data[0]
    stripe.v1.customers.update(customer_id, params={"invoice_settings": {"default_payment_method": method.id}})


def _code(stripe, text: str, **params):
    coupon = stripe.v1.coupons.create(params={"percent_off": 10, "duration": "once", "name": "Ten"})
    return stripe.v1.promotion_codes.create(
        params={"code": text, "promotion": {"type": "coupon", "coupon": coupon.id}, **params}
    )


def test_signup_with_welcome20_makes_the_first_paid_invoice_20_percent_off(
    webhook_delivery, catalog, celery_worker_process, monkeypatch
):
    stripe = webhook_delivery.client()
    company, clock = _signed_up_on_a_test_clock(webhook_delivery, monkeypatch, "welcome20", "welcome-co")
    admin = company.memberships.get().user
    record = CompanySubscription.objects.get(company=company)
    assert (record.status, record.discount["promotion_code"]) == ("trialing", "WELCOME20")

    _add_card(stripe, company.stripe_customer_id)
    advance_clocks(webhook_delivery, clock, 8)  # the 7-day trial ends: the first month is charged
    wait_for_webhooks(webhook_delivery)

    [paid] = [i for i in stripe.v1.invoices.list(params={"customer": company.stripe_customer_id}).data if i.amount_paid]
    assert (paid.subtotal, paid.total, paid.amount_paid, paid.status) == (1900, 1520, 1520, "paid")
    assert [d.amount for d in paid.total_discount_amounts] == [380]
    stored = Invoice.objects.get(stripe_invoice_id=paid.id)
    assert (stored.subtotal, stored.discount, stored.total, stored.amount_paid) == (1900, 380, 1520, 1520)
    body = company_client(company, admin).get("/api/billing/subscription/").json()
    assert body["status"] == "active"
    assert (body["discount"]["promotion_code"], body["discount"]["percent_off"]) == ("WELCOME20", 20.0)


def test_a_code_used_up_before_the_trial_starts_is_emailed_to_the_admin_and_the_trial_starts_without_it(
    webhook_delivery, catalog, celery_worker_process, monkeypatch
):
    stripe = webhook_delivery.client()
    last = _code(stripe, "LASTONE", max_redemptions=1)
    wait_for_webhooks(webhook_delivery)  # promotion_code.created: the local copy has it
    assert PromotionCode.objects.get(stripe_id=last.id).active

    def someone_else_redeems_it() -> None:
        other = stripe.v1.customers.create(params={"email": "someone@else.example"})
        _add_card(stripe, other.id)
        price = stripe.v1.prices.list(params={"lookup_keys": ["basic_monthly"]}).data[0]
        stripe.v1.subscriptions.create(
            params={"customer": other.id, "items": [{"price": price.id}], "discounts": [{"promotion_code": last.id}]}
        )

    company, _ = _signed_up_on_a_test_clock(
        webhook_delivery, monkeypatch, "lastone", "late-co", before_trial=someone_else_redeems_it
    )

    record = CompanySubscription.objects.get(company=company)
    assert (record.status, record.discount, record.refused_promotion_code) == ("trialing", None, "LASTONE")
    assert stripe.v1.subscriptions.retrieve(record.stripe_subscription_id).discounts == []
    assert Notification.objects.filter(company=company, kind="promotion_code_refused").count() == 1
    [mail] = wait_until(
        lambda: [m for m in worker_mail() if "To: admin@late-co.example" in m and "Subject: Promotion code" in m],
        timeout=30,
        message="the e-mail about the refused code",
    )
    assert "LASTONE" in mail and "redeemed the maximum number of times" in mail


def test_the_local_copy_follows_stripes_events_and_signup_refuses_what_stripe_switched_off(
    webhook_delivery, catalog, celery_worker_process
):
    stripe = webhook_delivery.client()
    spring = _code(stripe, "SPRING")
    once = _code(stripe, "ONCE", max_redemptions=1)
    wait_for_webhooks(webhook_delivery)
    assert set(PromotionCode.objects.filter(active=True).values_list("code", flat=True)) >= {"SPRING", "ONCE"}

    stripe.v1.promotion_codes.update(spring.id, params={"active": False})  # promotion_code.updated
    other = stripe.v1.customers.create(params={"email": "someone@else.example"})
    _add_card(stripe, other.id)
    price = stripe.v1.prices.list(params={"lookup_keys": ["basic_monthly"]}).data[0]
    stripe.v1.subscriptions.create(  # customer.discount.created: ONCE is used up
        params={"customer": other.id, "items": [{"price": price.id}], "discounts": [{"promotion_code": once.id}]}
    )
    wait_for_webhooks(webhook_delivery)

    assert PromotionCode.objects.get(stripe_id=spring.id).active is False
    assert PromotionCode.objects.get(stripe_id=once.id).times_redeemed == 1
    for code in ("spring", "once"):
        response = _signup(code, f"{code}-co")
        assert response.status_code == 400, code
        assert response.json()["error_codes"] == {"promotion_code": ["invalid_promotion_code"]}
    assert not Company.objects.filter(slug__in=["spring-co", "once-co"]).exists()
