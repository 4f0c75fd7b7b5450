"""Events signed with the configured secret but forged (a leaked or mis-routed secret, a replay from
another endpoint sharing it) change no access and send no e-mail: every handler re-reads Stripe.

Each forged event goes through the real intake (accepted: the signature is valid) and the real
worker; afterwards the company's state is still Stripe's.
"""

from __future__ import annotations

import time
import uuid

import pytest
from django.core.management import call_command

from companies.models import Company
from notifications.models import Notification
from subscriptions.models import CompanySubscription, Invoice
from subscriptions.services import company_refresh_entitlements
from subscriptions.stripe_objects import subscription_read
from tests.helpers import platform_client, post_event, stripe_event
from tests.plugins.services import stripe_state_of, wait_until, worker_mail
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

FAR_FUTURE = 2**32 - 1


def _send(event: dict) -> WebhookEvent:
    """POST the event signed with the configured secret and wait for the worker to finish it."""
    response = post_event(platform_client(), event)
    assert response.status_code == 200, response.content  # the signature is valid: accepted
    return wait_until(
        lambda: WebhookEvent.objects.filter(stripe_id=event["id"], state__in=["processed", "ignored"]).first(),
        timeout=30,
        message=f"the worker to finish {event['type']}",
    )


def _subscription(emulator, company) -> dict:
    listing = emulator.client().v1.subscriptions.list(params={"customer": company.stripe_customer_id})
    return listing.data[0].to_dict()


def _price(emulator, lookup_key: str) -> dict:
    return emulator.client().v1.prices.list(params={"lookup_keys": [lookup_key]}).data[0].to_dict()


def _state(company) -> tuple:
    company = Company.objects.select_related("subscription").get(pk=company.pk)
    record = company.subscription
    return (
        company.stripe_customer_id,
        sorted(company.features),
        company.paid_access,
        record.status,
        record.price_lookup_key,
        record.entitlement_features,
    )


def _mail_to(admin) -> list[str]:
    return [m for m in worker_mail() if f"To: {admin.email}" in m]


def _entitlement_summary(customer_id: str, lookup_keys: list[str]) -> dict:
    return {
        "object": "entitlements.active_entitlement_summary",
        "customer": customer_id,
        "entitlements": {
            "object": "list",
            "data": [{"object": "entitlements.active_entitlement", "lookup_key": k} for k in lookup_keys],
            "has_more": False,
            "url": "/v1/entitlements/active_entitlements",
        },
        "livemode": False,
    }


# --- entitlements -------------------------------------------------------------------------------


def test_forged_entitlement_summary_cannot_grant_exports(onboarded_company, catalog, celery_worker_process):
    company, _ = onboarded_company()
    assert "exports" not in company.features  # basic plan
    forged = stripe_event(
        "entitlements.active_entitlement_summary.updated",
        _entitlement_summary(company.stripe_customer_id, ["exports", "posts", "api_access"]),
        created=FAR_FUTURE,  # once made later genuine summaries look "older" and be ignored
    )
    row = _send(forged)
    assert row.state == "processed"
    company.refresh_from_db()
    assert "exports" not in company.features
    assert company.features == ["api_access", "posts"]  # what Stripe lists for the basic plan

    # A genuine change afterwards still applies: nothing stored from the forgery outranks it.
    subscription = _subscription(catalog, company)
    catalog.client().v1.subscriptions.update(
        subscription["id"],
        params={
            "items": [
                {"id": subscription_read(subscription).base_item.id, "price": _price(catalog, "pro_monthly")["id"]}
            ]
        },
    )
    genuine = stripe_event(
        "entitlements.active_entitlement_summary.updated", _entitlement_summary(company.stripe_customer_id, [])
    )
    _send(genuine)
    company.refresh_from_db()
    assert "exports" in company.features


def test_resync_billing_repairs_entitlements_a_payload_once_granted(onboarded_company, stripe_emulator):
    """State written by the old handler from a forged summary (exports on a basic plan) is put back
    to Stripe's by `resync_billing`."""
    company, _ = onboarded_company()
    record = CompanySubscription.objects.get(company=company)
    record.entitlement_features = ["api_access", "exports", "posts"]
    record.save(update_fields=["entitlement_features"])
    company_refresh_entitlements(company=company, subscription=record)
    company.refresh_from_db()
    assert "exports" in company.features  # the damage
    call_command("resync_billing", "--company", company.slug)
    company.refresh_from_db()
    assert company.features == ["api_access", "posts"]


# --- customer.deleted -----------------------------------------------------------------------------


def test_forged_customer_deleted_keeps_a_live_customer(onboarded_company, stripe_emulator, celery_worker_process):
    company, _ = onboarded_company()
    before = _state(company)
    forged = stripe_event("customer.deleted", {"id": company.stripe_customer_id, "object": "customer", "deleted": True})
    row = _send(forged)
    assert row.state == "ignored"
    assert "not deleted in Stripe" in row.last_error
    assert _state(company) == before
    assert before[0] and before[3] == "trialing"


def test_customer_deleted_in_stripe_is_forgotten(onboarded_company, stripe_emulator, celery_worker_process):
    company, _ = onboarded_company()
    customer_id = company.stripe_customer_id
    stripe_emulator.client().v1.customers.delete(customer_id)
    assert stripe_emulator.client().v1.customers.retrieve(customer_id).to_dict().get("deleted") is True
    row = _send(stripe_event("customer.deleted", {"id": customer_id, "object": "customer"}))
    assert (row.state, row.company_id) == ("processed", company.pk)
    company.refresh_from_db()
    assert company.stripe_customer_id is None
    assert company.paid_access is False


def test_forged_customer_deleted_for_an_unknown_customer_is_ignored(onboarded_company, celery_worker_process):
    company, _ = onboarded_company()
    before = _state(company)
    row = _send(stripe_event("customer.deleted", {"id": "cus_forged", "object": "customer", "deleted": True}))
    assert (row.state, row.last_error) == ("ignored", "no customer cus_forged in Stripe")
    assert _state(company) == before


# --- e-mails ---------------------------------------------------------------------------------------


def test_forged_trial_will_end_sends_no_email(onboarded_company, stripe_emulator, celery_worker_process):
    """A 7-day trial that just started: a trial_will_end naming it (its own payload says the trial
    ends in an hour) is not what Stripe shows, so nobody is e-mailed."""
    company, _ = onboarded_company()
    subscription = _subscription(stripe_emulator, company)
    subscription["trial_end"] = int(time.time()) + 3600
    row = _send(stripe_event("customer.subscription.trial_will_end", subscription))
    assert row.state == "processed"
    assert row.last_error.startswith("no e-mail")
    # Every e-mail goes through the outbox: no row owed, no e-mail.
    assert not Notification.objects.filter(company=company).exists()


def test_trial_ending_is_emailed_once_whatever_copies_of_the_event_arrive(
    onboarded_company, stripe_emulator, celery_worker_process, settings
):
    """A trial that really ends soon: Stripe's event and a forged copy with another id owe one e-mail."""
    settings.STRIPE_TRIAL_DAYS = 2
    company, admin = onboarded_company()
    subscription = _subscription(stripe_emulator, company)
    first = _send(stripe_event("customer.subscription.trial_will_end", subscription))
    copy = _send(stripe_event("customer.subscription.trial_will_end", subscription))
    assert first.last_error == copy.last_error == ""
    notification = Notification.objects.get(company=company, kind="trial_will_end")
    assert notification.subject == f"subscription:{subscription['id']}:trial_end:{subscription['trial_end']}"
    wait_until(lambda: _mail_to(admin), timeout=30, message="the trial e-mail")
    assert len(_mail_to(admin)) == 1


@pytest.mark.parametrize("event_type", ["invoice.payment_failed", "invoice.payment_action_required"])
def test_forged_payment_failed_sends_no_email(event_type, onboarded_company, stripe_emulator, celery_worker_process):
    """The company's real invoice (the trial's, paid) named in a payment_failed (or 3-D Secure) event
    whose payload says it is open and failed: Stripe says paid, so nobody is e-mailed."""
    company, _ = onboarded_company()
    invoice = stripe_emulator.client().v1.invoices.list(params={"customer": company.stripe_customer_id}).data[0]
    payload = invoice.to_dict() | {"status": "open", "attempted": True, "attempt_count": 1, "amount_remaining": 900}
    row = _send(stripe_event(event_type, payload))
    assert row.state == "processed"
    assert row.last_error == "no e-mail: Stripe has the invoice paid"
    assert not Notification.objects.filter(company=company).exists()


# --- every handler: objects Stripe does not know, customers the payload makes up ------------------


def _forged_object(event_type: str, customer_id: str, pro_price: dict) -> dict:
    """A payload granting as much as the type allows, about an object Stripe never had."""
    suffix = uuid.uuid4().hex[:10]
    if event_type.startswith("customer.subscription."):
        return {
            "id": f"sub_forged_{suffix}",
            "object": "subscription",
            "customer": customer_id,
            "status": "active",
            "trial_end": int(time.time()) + 3600,
            "items": {"object": "list", "data": [{"id": f"si_{suffix}", "price": pro_price}]},
        }
    if event_type.startswith("invoice."):
        return {
            "id": f"in_forged_{suffix}",
            "object": "invoice",
            "customer": customer_id,
            "status": "open",
            "attempted": True,
            "attempt_count": 1,
            "amount_remaining": 900,
        }
    return {"id": f"cs_forged_{suffix}", "object": "checkout.session", "customer": customer_id, "status": "complete"}


@pytest.mark.parametrize(
    "event_type",
    [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.resumed",
        "customer.subscription.pending_update_applied",
        "customer.subscription.pending_update_expired",
        "customer.subscription.trial_will_end",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.payment_action_required",
        "invoice.voided",
        "invoice.deleted",
        "checkout.session.completed",
    ],
)
def test_forged_event_about_an_object_stripe_never_had_changes_nothing(
    event_type, onboarded_company, stripe_emulator, celery_worker_process
):
    company, _ = onboarded_company()
    before = _state(company)
    forged = stripe_event(
        event_type, _forged_object(event_type, company.stripe_customer_id, _price(stripe_emulator, "pro_monthly"))
    )
    row = _send(forged)
    assert row.state == "ignored"
    assert row.last_error.startswith("no ") and "in Stripe" in row.last_error, row.last_error
    assert row.company_id is None
    assert _state(company) == before
    assert not Notification.objects.filter(company=company).exists()
    assert not Invoice.objects.filter(company=company).exists()


def test_company_comes_from_stripe_not_from_the_payloads_customer(
    onboarded_company, stripe_emulator, celery_worker_process
):
    """Company A's real subscription named with company B's customer id: Stripe says A owns it, so
    the event is about A, and B is not touched."""
    owner, _ = onboarded_company()
    bystander, _ = onboarded_company()
    before = _state(bystander)
    subscription = _subscription(stripe_emulator, owner) | {"customer": bystander.stripe_customer_id}
    row = _send(stripe_event("customer.subscription.updated", subscription))
    assert (row.state, row.company_id) == ("processed", owner.pk)
    assert _state(bystander) == before
    record = CompanySubscription.objects.get(company=owner)
    assert (record.status, record.price_lookup_key) == stripe_state_of(stripe_emulator, owner)
