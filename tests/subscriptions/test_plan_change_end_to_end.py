"""Plan change end to end: the preview's amounts are what Stripe charges, an upgrade whose payment
fails stays pending until it expires, and a downgrade made in the portal onto limits the company is
over e-mails its admins once. The real worker handles Stripe's events; time moves with a test clock."""

from __future__ import annotations

import pytest

from notifications.models import Notification
from subscriptions.models import CompanySubscription, Invoice
from subscriptions.services import subscription_sync_company
from subscriptions.stripe_objects import subscription_read
from tests.factories import MembershipFactory
from tests.helpers import company_client
from tests.plugins.services import (
    advance_clocks,
    company_on_a_test_clock,
    wait_for_webhooks,
    wait_until,
    worker_mail,
)

pytestmark = pytest.mark.django_db(transaction=True)

PREVIEW = "/api/billing/plan-change/preview/"
CHANGE = "/api/billing/plan-change/"


def _post(client, url: str, body: dict):
    return client.post(url, body, content_type="application/json")


def _active_mid_period(emulator, *, card: str, trial_price: str, settings):
    """A company whose trial of `trial_price` ended (the first period paid with pm_card_visa), ten days
    into its first paid month, with `card` as its default payment method from then on."""
    settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY = trial_price
    company, admin, clock = company_on_a_test_clock(emulator, card="pm_card_visa")
    advance_clocks(emulator, clock, 8)
    advance_clocks(emulator, clock, 10)
    wait_for_webhooks(emulator)
    if card != "pm_card_visa":
        client = emulator.client()
        method = client.v1.payment_methods.attach(card, params={"customer": company.stripe_customer_id})
        client.v1.customers.update(
            company.stripe_customer_id, params={"invoice_settings": {"default_payment_method": method.id}}
        )
    company.refresh_from_db()
    assert (company.subscription.status, company.subscription.plan) == ("active", trial_price.split("_")[0])
    return company, admin, clock


def _stripe_subscription(emulator, company) -> dict:
    return emulator.client().v1.subscriptions.retrieve(company.subscription.stripe_subscription_id).to_dict()


def test_an_upgrade_mid_period_charges_exactly_the_previewed_amount(
    webhook_delivery, catalog, celery_worker_process, settings
):
    company, admin, _ = _active_mid_period(
        webhook_delivery, card="pm_card_visa", trial_price="basic_monthly", settings=settings
    )
    client = company_client(company, admin)

    preview = _post(client, PREVIEW, {"price_lookup_key": "pro_monthly"}).json()
    assert (preview["change"], preview["features_gained"], preview["limit_conflicts"]) == ("upgrade", ["exports"], [])
    assert 0 < preview["amount_due"] < 4900 - 1900  # the rest of the month, less the unused basic time
    assert any(line["proration"] for line in preview["lines"])
    assert preview["next_invoice_total"] == 4900

    changed = _post(client, CHANGE, {"price_lookup_key": "pro_monthly", "proration_date": preview["proration_date"]})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["plan"], changed.json()["pending_update"]) == ("pro", None)
    latest = _stripe_subscription(webhook_delivery, company)["latest_invoice"]
    charged = webhook_delivery.client().v1.invoices.retrieve(latest)
    assert (charged.billing_reason, charged.status) == ("subscription_update", "paid")
    assert charged.amount_due == preview["amount_due"]  # to the cent
    assert charged.amount_paid == preview["amount_due"]

    wait_for_webhooks(webhook_delivery)
    stored = Invoice.objects.get(stripe_invoice_id=latest)
    assert (stored.status, stored.amount_paid) == ("paid", preview["amount_due"])
    listed = client.get("/api/billing/invoices/").json()["results"]
    assert listed[0]["id"] == latest
    assert CompanySubscription.objects.get(company=company).plan == "pro"


def test_an_upgrade_whose_payment_fails_stays_pending_until_it_expires(
    webhook_delivery, catalog, celery_worker_process, settings
):
    company, admin, clock = _active_mid_period(
        webhook_delivery, card="pm_card_chargeCustomerFail", trial_price="basic_monthly", settings=settings
    )
    client = company_client(company, admin)
    preview = _post(client, PREVIEW, {"price_lookup_key": "pro_monthly"}).json()

    changed = _post(client, CHANGE, {"price_lookup_key": "pro_monthly", "proration_date": preview["proration_date"]})
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["plan"], body["status"]) == ("basic", "active")  # unchanged until paid
    assert (body["pending_update"]["price_lookup_key"], body["pending_update"]["plan"]) == ("pro_monthly", "pro")
    assert body["features"] == ["api_access", "posts"]
    again = _post(client, CHANGE, {"price_lookup_key": "pro_monthly"})
    assert again.status_code == 409 and again.json()["code"] == "plan_change_pending"
    wait_for_webhooks(webhook_delivery)
    shown = client.get("/api/billing/subscription/").json()
    assert shown["pending_update"]["plan"] == "pro" and shown["plan"] == "basic"
    assert 'id="pending-plan-change"' in client.get("/billing/").content.decode()

    advance_clocks(webhook_delivery, clock, 1)  # past the pending update's expiry (23 hours at most)
    wait_for_webhooks(webhook_delivery)
    record = CompanySubscription.objects.get(company=company)
    assert (record.plan, record.pending_update) == ("basic", None)
    assert _stripe_subscription(webhook_delivery, company)["pending_update"] is None
    from webhooks.models import WebhookEvent

    expired = WebhookEvent.objects.get(type="customer.subscription.pending_update_expired")
    assert (expired.state, expired.company_id) == ("processed", company.pk)
    voided = Invoice.objects.get(company=company, billing_reason="subscription_update")
    assert voided.status == "void"


def test_a_portal_downgrade_onto_conflicts_puts_the_company_over_limit_and_emails_the_admins_once(
    webhook_delivery, catalog, celery_worker_process, settings
):
    company, admin, _ = _active_mid_period(
        webhook_delivery, card="pm_card_visa", trial_price="pro_monthly", settings=settings
    )
    for _ in range(4):
        MembershipFactory(company=company)
    stripe = webhook_delivery.client()
    current = subscription_read(_stripe_subscription(webhook_delivery, company))
    basic = stripe.v1.prices.list(params={"lookup_keys": ["basic_monthly"]}).data[0].id
    # What the billing portal does, bypassing our preview:
    stripe.v1.subscriptions.update(
        current.id,
        params={"items": [{"id": current.base_item.id, "price": basic}], "proration_behavior": "create_prorations"},
    )
    wait_for_webhooks(webhook_delivery)

    client = company_client(company, admin)
    shown = client.get("/api/billing/subscription/").json()
    assert shown["plan"] == "basic"
    assert shown["over_limit"] == [{"limit": "max_members", "used": 5, "allowed": 3}]
    assert 'id="banner-over-limit"' in client.get("/").content.decode()
    invited = _post(client, "/api/invitations/", {"email": "sixth@example.com"})
    assert invited.status_code == 402 and invited.json()["code"] == "plan_limit_reached"

    subscription_sync_company(company_id=company.pk, entitlements=True)  # reconciliation: nothing more owed
    owed = Notification.objects.filter(company=company, kind="plan_over_limit")
    assert owed.count() == 1
    wait_until(lambda: owed.filter(sent_at__isnull=False).exists(), timeout=30, message="the over-limit e-mail")
    mails = [m for m in worker_mail() if f"To: {admin.email}" in m and "over its plan's limits" in m]
    assert len(mails) == 1 and "5 in use, the plan allows 3" in mails[0]


def test_a_pending_upgrade_applies_once_its_invoice_is_paid(webhook_delivery, catalog, celery_worker_process, settings):
    company, admin, _ = _active_mid_period(
        webhook_delivery, card="pm_card_chargeCustomerFail", trial_price="basic_monthly", settings=settings
    )
    client = company_client(company, admin)
    changed = _post(client, CHANGE, {"price_lookup_key": "pro_monthly"})
    assert changed.json()["pending_update"]["plan"] == "pro"
    invoice = Invoice.objects.get(company=company, billing_reason="subscription_update")
    assert invoice.status == "open"

    stripe = webhook_delivery.client()
    card = stripe.v1.payment_methods.attach("pm_card_visa", params={"customer": company.stripe_customer_id})
    stripe.v1.invoices.pay(invoice.stripe_invoice_id, params={"payment_method": card.id})
    wait_for_webhooks(webhook_delivery)

    shown = client.get("/api/billing/subscription/").json()
    assert (shown["plan"], shown["pending_update"], shown["status"]) == ("pro", None, "active")
    assert "exports" in shown["features"]
    from webhooks.models import WebhookEvent

    applied = WebhookEvent.objects.get(type="customer.subscription.pending_update_applied")
    assert (applied.state, applied.company_id) == ("processed", company.pk)
    assert not Notification.objects.filter(company=company, kind="plan_over_limit").exists()


def test_a_downgrade_mid_period_credits_the_unused_time_on_the_next_invoice_as_previewed(
    webhook_delivery, catalog, celery_worker_process, settings
):
    company, admin, _ = _active_mid_period(
        webhook_delivery, card="pm_card_visa", trial_price="pro_monthly", settings=settings
    )
    client = company_client(company, admin)
    preview = _post(client, PREVIEW, {"price_lookup_key": "basic_monthly"}).json()
    assert (preview["change"], preview["amount_due"], preview["features_lost"]) == ("downgrade", 0, ["exports"])
    credits = [line["amount"] for line in preview["lines"] if line["proration"]]
    assert credits and sum(credits) < 0  # the unused Pro time is worth more than the rest of Basic
    assert preview["next_invoice_total"] == 1900 + sum(credits)

    changed = _post(client, CHANGE, {"price_lookup_key": "basic_monthly", "proration_date": preview["proration_date"]})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["plan"], changed.json()["over_limit"]) == ("basic", [])
    upcoming = client.get("/api/billing/upcoming-invoice/").json()
    assert upcoming["total"] == preview["next_invoice_total"]  # to the cent
    assert Invoice.objects.filter(company=company, billing_reason="subscription_update").count() == 0
