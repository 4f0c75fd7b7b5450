"""A company's billing life through Stripe's own events: trial end, dunning, cancellation,
subscribing again with Checkout. Stripe here is the emulator, time moves with a test clock."""

import re

import pytest
from django.test import Client

from subscriptions.stripe_objects import subscription_read
from tests.helpers import company_client, host_of
from tests.plugins.services import advance_clocks, company_on_a_test_clock, wait_for_webhooks, wait_until, worker_mail

pytestmark = pytest.mark.django_db(transaction=True)


def test_trial_without_a_card_ends_in_cancellation(webhook_delivery, catalog, celery_worker_process):
    company, admin, clock = company_on_a_test_clock(webhook_delivery, card=None)
    advance_clocks(webhook_delivery, clock, 5)  # Stripe warns three days before the end
    wait_for_webhooks(webhook_delivery)
    # The admins were warned while the trial was still running.
    wait_until(
        lambda: any(f"To: {admin.email}" in m and "trial" in m.lower() for m in worker_mail()),
        timeout=30,
        message="the trial-ending e-mail",
    )
    advance_clocks(webhook_delivery, clock, 3)
    wait_for_webhooks(webhook_delivery)
    company.refresh_from_db()
    assert company.subscription.status == "canceled"
    assert company.paid_access is False
    # Read-only: the data stays readable, creating is denied with the uniform 402.
    client = company_client(company, admin)
    assert client.get("/api/posts/").status_code == 200
    denied = client.post("/api/posts/", {"title": "t"}, content_type="application/json")
    assert denied.status_code == 402 and denied.json()["code"] == "subscription_inactive"


def test_trial_with_a_card_becomes_active(webhook_delivery, catalog, celery_worker_process):
    company, _, clock = company_on_a_test_clock(webhook_delivery, card="pm_card_visa")
    advance_clocks(webhook_delivery, clock, 8)
    wait_for_webhooks(webhook_delivery)
    company.refresh_from_db()
    assert company.subscription.status == "active"
    assert company.paid_access is True


def test_failed_renewal_keeps_features_for_the_grace_period_and_emails_admins(
    webhook_delivery, catalog, celery_worker_process
):
    company, admin, clock = company_on_a_test_clock(webhook_delivery, card="pm_card_chargeCustomerFail")
    advance_clocks(webhook_delivery, clock, 8)
    wait_for_webhooks(webhook_delivery)
    company.refresh_from_db()
    assert company.subscription.status == "past_due"
    assert company.subscription.past_due_since is not None
    assert company.paid_access and company.paid_access_until is not None
    assert (
        company_client(company, admin)
        .post("/api/posts/", {"title": "still allowed"}, content_type="application/json")
        .status_code
        == 201
    )
    wait_until(
        lambda: any(f"To: {admin.email}" in m and "payment failed" in m.lower() for m in worker_mail()),
        timeout=30,
        message="the payment-failed e-mail",
    )


def test_plan_change_takes_effect_on_the_next_request(onboarded_company, webhook_delivery, celery_worker_process):
    company, admin = onboarded_company()
    client = company_client(company, admin)
    assert client.get("/api/posts/export/").status_code == 402  # basic has no exports
    stripe = webhook_delivery.client()
    subscription = stripe.v1.subscriptions.list(params={"customer": company.stripe_customer_id}).data[0]
    pro = stripe.v1.prices.list(params={"lookup_keys": ["pro_monthly"]}).data[0]
    stripe.v1.subscriptions.update(
        subscription.id, params={"items": [{"id": subscription_read(subscription).base_item.id, "price": pro.id}]}
    )
    wait_for_webhooks(webhook_delivery)
    assert client.get("/api/posts/export/").status_code == 200


def test_cancelled_company_subscribes_again_with_checkout(
    onboarded_company, webhook_delivery, celery_worker_process, page, live_server
):
    company, admin = onboarded_company()
    stripe = webhook_delivery.client()
    subscription = stripe.v1.subscriptions.list(params={"customer": company.stripe_customer_id}).data[0]
    stripe.v1.subscriptions.cancel(subscription.id)
    wait_for_webhooks(webhook_delivery)
    company.refresh_from_db()
    assert company.subscription.status == "canceled"

    # Through the live server's host and port, so Checkout's success URL leads back to it.
    port = live_server.url.rsplit(":", 1)[1]
    client = Client(HTTP_HOST=f"{host_of(company)}:{port}")
    client.force_login(admin)
    response = client.post(
        "/api/billing/checkout-session/", {"price_lookup_key": "pro_yearly"}, content_type="application/json"
    )
    assert response.status_code == 201
    page.goto(response.json()["url"])
    page.click("#pay")
    # Back on the company's host (the dashboard, behind its login page in this fresh browser).
    page.wait_for_url(re.compile(rf"^http://{re.escape(host_of(company))}:{port}/"))
    wait_for_webhooks(webhook_delivery)
    company.refresh_from_db()
    assert (company.subscription.status, company.subscription.price_lookup_key) == ("active", "pro_yearly")
    assert "exports" in company.features
    # A live subscription cannot start a second one.
    again = client.post(
        "/api/billing/checkout-session/", {"price_lookup_key": "pro_yearly"}, content_type="application/json"
    )
    assert again.status_code == 409 and again.json()["code"] == "already_subscribed"
