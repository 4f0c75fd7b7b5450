"""Stored events become company state: once each, in any order, with failures kept and replayable."""

import random
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from companies.models import Company
from notifications.models import Notification
from notifications.services import notification_send
from subscriptions.models import CompanySubscription
from subscriptions.stripe_objects import subscription_read
from tests.factories import WebhookEventFactory
from tests.helpers import broker_unreachable, platform_client, post_event, stripe_event
from tests.plugins.services import stripe_state_of, wait_for_webhooks, wait_until, worker_mail
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db(transaction=True)


def _subscription(emulator, company) -> dict:
    return emulator.client().v1.subscriptions.list(params={"customer": company.stripe_customer_id}).data[0].to_dict()


def _price_id(emulator, lookup_key: str) -> str:
    return emulator.client().v1.prices.list(params={"lookup_keys": [lookup_key]}).data[0].id


def test_duplicate_delivery_applies_once(onboarded_company, stripe_emulator):
    company, _ = onboarded_company()
    event = stripe_event("customer.subscription.updated", _subscription(stripe_emulator, company))
    row = WebhookEventFactory(payload=event)
    assert webhook_event_process(event_id=row.pk) == "processed"
    assert webhook_event_process(event_id=row.pk) == "processed"
    row.refresh_from_db()
    assert row.attempts == 1
    assert row.company == company


def test_older_event_does_not_overwrite_newer_state(onboarded_company, stripe_emulator):
    company, _ = onboarded_company()
    client = stripe_emulator.client()
    old = _subscription(stripe_emulator, company)
    item = subscription_read(old).base_item
    new = client.v1.subscriptions.update(
        old["id"], params={"items": [{"id": item.id, "price": _price_id(stripe_emulator, "pro_monthly")}]}
    ).to_dict()
    newer_event = stripe_event("customer.subscription.updated", new, created=int(time.time()))
    older_event = stripe_event("customer.subscription.updated", old, created=int(time.time()) - 60)
    webhook_event_process(event_id=WebhookEventFactory(payload=newer_event).pk)
    webhook_event_process(event_id=WebhookEventFactory(payload=older_event).pk)  # arrives last, describes the past
    record = CompanySubscription.objects.get(company=company)
    assert (record.plan, record.price_lookup_key) == ("pro", "pro_monthly")


def test_quantity_events_twice_and_out_of_order_store_stripes_quantity_and_ask_for_a_seat_sync(
    onboarded_company, stripe_emulator, settings
):
    from companies.members import MEMBERS_CHANGED

    settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY = "team_monthly"
    company, _ = onboarded_company()
    client = stripe_emulator.client()
    subscription = _subscription(stripe_emulator, company)
    item = subscription_read(subscription).base_item
    events = [
        stripe_event(
            "customer.subscription.updated",
            client.v1.subscriptions.update(
                subscription["id"], params={"items": [{"id": item.id, "quantity": q}]}
            ).to_dict(),
        )
        for q in (5, 3)  # someone edits the seats in Stripe's dashboard, twice
    ]
    newer, older = WebhookEventFactory(payload=events[1]).pk, WebhookEventFactory(payload=events[0]).pk
    for event_id in (newer, older, newer):  # the newer first, the older after it, the newer again
        webhook_event_process(event_id=event_id)

    record = CompanySubscription.objects.get(company=company)
    assert (record.plan, record.quantity, record.unit_amount) == ("team", 3, 1200)
    assert MEMBERS_CHANGED.due_at(company.pk) is not None  # 3 seats billed for 1 member: a seat sync is due


def test_event_about_an_object_stripe_does_not_know_is_kept_and_marked(stripe_emulator):
    event = stripe_event(
        "customer.subscription.updated", {"id": "sub_x", "object": "subscription", "customer": "cus_nobody"}
    )
    row = WebhookEventFactory(payload=event)
    assert webhook_event_process(event_id=row.pk) == "ignored"
    row.refresh_from_db()
    assert row.last_error == "no subscription sub_x in Stripe"


def test_customer_of_no_company_is_kept_and_marked(catalog):
    client = catalog.client()
    customer = client.v1.customers.create(params={"email": "stranger@example.com"})
    price = client.v1.prices.list(params={"lookup_keys": ["basic_monthly"]}).data[0]
    subscription = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 7}
    )
    row = WebhookEventFactory(payload=stripe_event("customer.subscription.created", subscription.to_dict()))
    assert webhook_event_process(event_id=row.pk) == "ignored"
    row.refresh_from_db()
    assert row.last_error == f"no company for customer {customer.id}"


def test_unhandled_event_types_are_stored_and_ignored(stripe_emulator):
    row = WebhookEventFactory(payload=stripe_event("charge.refunded", {"id": "ch_1", "object": "charge"}))
    assert webhook_event_process(event_id=row.pk) == "ignored"


def test_customer_found_by_metadata_before_its_id_is_saved(onboarded_company, stripe_emulator):
    company, _ = onboarded_company()
    customer_id = company.stripe_customer_id
    Company.objects.filter(pk=company.pk).update(stripe_customer_id=None)
    event = stripe_event("customer.subscription.created", _subscription_for(stripe_emulator, customer_id))
    assert webhook_event_process(event_id=WebhookEventFactory(payload=event).pk) == "processed"
    company.refresh_from_db()
    assert company.stripe_customer_id == customer_id


def _subscription_for(emulator, customer_id):
    return emulator.client().v1.subscriptions.list(params={"customer": customer_id}).data[0].to_dict()


def test_trial_will_end_emails_the_admins_once(onboarded_company, stripe_emulator, celery_worker_process, settings):
    settings.STRIPE_TRIAL_DAYS = 2  # Stripe warns three days ahead: this trial really ends soon
    company, admin = onboarded_company()
    subscription = _subscription(stripe_emulator, company)
    row = WebhookEventFactory(payload=stripe_event("customer.subscription.trial_will_end", subscription))
    webhook_event_process(event_id=row.pk)
    WebhookEvent.objects.filter(pk=row.pk).update(state="pending")  # a replay of the same event
    webhook_event_process(event_id=row.pk)
    notification = Notification.objects.get(company=company, kind="trial_will_end")
    assert notification.subject == f"subscription:{subscription['id']}:trial_end:{subscription['trial_end']}"
    wait_until(
        lambda: Notification.objects.filter(pk=notification.pk, sent_at__isnull=False).exists(),
        timeout=30,
        message="the worker to send the e-mail",
    )
    assert notification_send(notification_id=notification.pk) is False  # never twice
    sent = [m for m in worker_mail() if f"To: {admin.email}" in m]
    assert len(sent) == 1
    assert "trial" in sent[0].lower()


def test_entitlement_summary_stores_what_stripe_lists_now(onboarded_company, stripe_emulator):
    """Whatever a summary says, in whatever order summaries arrive, the stored features are the
    customer's active entitlements read from Stripe when the event is processed."""
    company, _ = onboarded_company()

    def summary(lookup_keys, has_more=False):
        data = [{"lookup_key": k} for k in lookup_keys]
        return {
            "object": "entitlements.active_entitlement_summary",
            "customer": company.stripe_customer_id,
            "entitlements": {"object": "list", "data": data, "has_more": has_more, "url": "/v1/x"},
            "livemode": False,
        }

    truncated = stripe_event("entitlements.active_entitlement_summary.updated", summary(["posts"], has_more=True))
    webhook_event_process(event_id=WebhookEventFactory(payload=truncated).pk)
    company.refresh_from_db()
    assert company.features == ["api_access", "posts"]  # the trial's basic plan, as Stripe lists it
    subscription = _subscription(stripe_emulator, company)
    stripe_emulator.client().v1.subscriptions.update(
        subscription["id"],
        params={
            "items": [
                {"id": subscription_read(subscription).base_item.id, "price": _price_id(stripe_emulator, "pro_monthly")}
            ]
        },
    )
    # An old summary (basic features, an hour ago) processed after the upgrade: Stripe's list wins.
    late = stripe_event(
        "entitlements.active_entitlement_summary.updated",
        summary(["api_access", "posts"]),
        created=int(time.time()) - 3600,
    )
    webhook_event_process(event_id=WebhookEventFactory(payload=late).pk)
    company.refresh_from_db()
    assert "exports" in company.features
    record = CompanySubscription.objects.get(company=company)
    assert record.entitlements_as_of is not None  # when the list was read


def test_handler_failure_ends_failed_and_the_command_replays_it(
    onboarded_company, stripe_emulator, celery_worker_process
):
    company, _ = onboarded_company()
    stripe_emulator.configure(chaos_fail_rate=1.0)  # Stripe is down for longer than our retries
    try:
        response = post_event(
            platform_client(), stripe_event("customer.subscription.updated", _subscription_for_id(company))
        )
        assert response.status_code == 200
        row = wait_until(
            lambda: WebhookEvent.objects.filter(state="failed").first(), timeout=60, message="the event to fail"
        )
        assert row.attempts >= 2
        assert "APIError" in row.last_error or "api_error" in row.last_error.lower()
    finally:
        stripe_emulator.configure(chaos_fail_rate=0)
    call_command("replay_webhooks", "--failed")
    wait_until(
        lambda: WebhookEvent.objects.filter(pk=row.pk, state="processed").exists(), timeout=60, message="the replay"
    )


def _subscription_for_id(company):
    return {"id": company.subscription.stripe_subscription_id, "object": "subscription", "customer": "cus_any"}


def test_broker_outage_events_wait_in_the_inbox_and_are_processed_after(onboarded_company, celery_worker_process):
    from webhooks.services import webhook_events_requeue_expired

    company, _ = onboarded_company()
    invoice = {"id": _invoice_of(company), "object": "invoice", "customer": company.stripe_customer_id}
    with broker_unreachable():
        responses = [post_event(platform_client(), stripe_event("invoice.paid", invoice)) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert WebhookEvent.objects.filter(state="pending").count() == 3
    assert webhook_events_requeue_expired(lease_seconds=30) == 0  # their lease is still running
    WebhookEvent.objects.update(leased_at=timezone.now() - timedelta(seconds=31))
    assert webhook_events_requeue_expired(lease_seconds=30) == 3
    wait_until(lambda: WebhookEvent.objects.filter(state="processed").count() == 3, timeout=60, message="the backlog")
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}


def _invoice_of(company) -> str:
    from subscriptions.stripe_api import stripe_client

    return stripe_client().v1.invoices.list(params={"customer": company.stripe_customer_id}).data[0].id


def test_shuffled_duplicated_burst_ends_equal_to_stripe(onboarded_company, webhook_delivery, celery_worker_process):
    """A few hundred events for many companies, delivered shuffled and twice, end in Stripe's state."""
    emulator = webhook_delivery
    companies = [onboarded_company()[0] for _ in range(20)]
    wait_for_webhooks(emulator)
    emulator.configure(chaos_duplicate=True, chaos_shuffle=True, chaos_delay=0.05)
    client = emulator.client()
    prices = {key: _price_id(emulator, key) for key in ("basic_monthly", "basic_yearly", "pro_monthly", "pro_yearly")}
    rng = random.Random(7)
    for company in companies:
        subscription = _subscription(emulator, company)
        client.v1.payment_methods.attach("pm_card_visa", params={"customer": company.stripe_customer_id})
        for _ in range(rng.randint(6, 10)):
            item = subscription_read(client.v1.subscriptions.retrieve(subscription["id"])).base_item
            client.v1.subscriptions.update(
                subscription["id"], params={"items": [{"id": item.id, "price": prices[rng.choice(list(prices))]}]}
            )
        if rng.random() < 0.3:
            client.v1.subscriptions.cancel(subscription["id"])
    stored_before = WebhookEvent.objects.count()
    wait_for_webhooks(emulator, timeout=120)
    assert WebhookEvent.objects.count() - stored_before >= 100
    for company in companies:
        record = CompanySubscription.objects.get(company=company)
        assert (record.status, record.price_lookup_key) == stripe_state_of(emulator, company), company.slug
    assert not WebhookEvent.objects.filter(state="failed").exists()


def test_replay_here_applies_failed_events_in_this_process_and_never_a_processed_one():
    import io

    charge = {"id": "ch_replayed", "object": "charge"}
    failed = WebhookEventFactory(payload=stripe_event("charge.refunded", charge), state="failed", attempts=8)
    done = WebhookEventFactory(payload=stripe_event("charge.refunded", charge), state="processed", attempts=1)

    out = io.StringIO()
    call_command("replay_webhooks", "--failed", "--sync", stdout=out)
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == ("ignored", 9)  # no handler for charges: ignored, here
    assert "replay_webhooks: 1 ignored" in out.getvalue()

    out = io.StringIO()
    call_command("replay_webhooks", "--event", done.stripe_id, "--sync", stdout=out)
    done.refresh_from_db()
    assert (done.state, done.attempts) == ("processed", 1)
    assert "replay_webhooks: nothing to do" in out.getvalue()
