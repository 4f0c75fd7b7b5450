"""Seats end to end: people join and leave a company on the per-seat `team` plan through the app, the
real worker syncs the quantity, Stripe's events come back through the webhook, and the next invoice
carries the proration. Stripe is the emulator; time moves with a test clock."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
from django.db import connections

from companies.members import invitation_accept_path
from companies.models import Invitation, Membership
from subscriptions.models import CompanySubscription
from subscriptions.seats import seats_sync_due
from subscriptions.stripe_objects import subscription_read
from tests.helpers import company_client
from tests.plugins.services import advance_clocks, company_on_a_test_clock, wait_for_webhooks, wait_until
from tests.subscriptions.test_seats import PASSWORD, quantity_updates

pytestmark = pytest.mark.django_db(transaction=True)

DEBOUNCE_SECONDS = 5


@contextlib.contextmanager
def beat(every: float = 0.25):
    """Beat, played by the test and much more often than the real one (every 2 s): the seat sweep runs
    all along, during the burst too, publishing whatever is due to the worker."""
    stop = threading.Event()

    def sweep() -> None:
        try:
            while not stop.wait(every):
                seats_sync_due()
        finally:
            connections.close_all()

    thread = threading.Thread(target=sweep)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def _burst(company, admin, *, joining: int, apart: float) -> float:
    """`joining` people accept their invitations, `apart` seconds apart (longer than a sweep and a
    task take), and the first of them is removed again; returns how long the changes took."""
    admin_client = company_client(company, admin)
    emails = [f"seat{n}-{company.slug}@example.com" for n in range(joining)]
    for email in emails:
        assert (
            admin_client.post("/api/invitations/", {"email": email}, content_type="application/json").status_code == 201
        )
    links = [invitation_accept_path(Invitation.objects.get(company=company, email=email)) for email in emails]
    started = time.monotonic()
    for link in links:
        accepted = company_client(company).post(link, {"new_password1": PASSWORD, "new_password2": PASSWORD})
        assert accepted.status_code == 302, accepted.content
        time.sleep(apart)  # people join one after another, not all in one millisecond
    leaving = Membership.objects.get(company=company, user__email=emails[0])
    assert admin_client.delete(f"/api/members/{leaving.pk}/").status_code == 204
    return time.monotonic() - started


def test_four_joining_and_one_leaving_on_team_is_one_quantity_update_prorated_on_the_next_invoice(
    webhook_delivery, catalog, celery_worker_process, settings
):
    settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY = "team_monthly"
    settings.SEAT_SYNC_DEBOUNCE_SECONDS = DEBOUNCE_SECONDS
    stripe = webhook_delivery.client()
    company, admin, clock = company_on_a_test_clock(webhook_delivery, card="pm_card_visa")
    advance_clocks(webhook_delivery, clock, 8)  # the trial ends; the first month (one seat) is paid
    wait_for_webhooks(webhook_delivery)
    record = CompanySubscription.objects.get(company=company)
    assert (record.status, record.quantity) == ("active", 1)

    with beat():
        took = _burst(company, admin, joining=4, apart=0.5)
        assert took < DEBOUNCE_SECONDS, f"the burst took {took:.1f} s, longer than the debounce window"
        wait_until(
            lambda: subscription_read(stripe.v1.subscriptions.retrieve(record.stripe_subscription_id)).quantity == 4,
            timeout=60,
            interval=0.5,
            message="the worker to bill 4 seats",
        )
        wait_for_webhooks(webhook_delivery)
    assert quantity_updates(webhook_delivery, company) == 1  # one Stripe update for the whole burst
    assert CompanySubscription.objects.get(company=company).quantity == 4  # the webhook stored it
    body = company_client(company, admin).get("/api/billing/subscription/").json()
    assert (body["quantity"], body["unit_amount"], body["pricing_model"]) == (4, 1200, "per_seat")

    # The proration: three more seats for what is left of the month, on the next invoice.
    subscription = subscription_read(stripe.v1.subscriptions.retrieve(record.stripe_subscription_id))
    period = subscription.base_item
    changed_at = stripe.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time
    share = (period.current_period_end.timestamp() - changed_at) / (
        period.current_period_end.timestamp() - period.current_period_start.timestamp()
    )
    advance_clocks(webhook_delivery, clock, 31)
    wait_for_webhooks(webhook_delivery)
    renewal = next(
        invoice
        for invoice in stripe.v1.invoices.list(params={"customer": company.stripe_customer_id}).data
        if invoice.billing_reason == "subscription_cycle"
    )
    lines = [line.to_dict() for line in stripe.v1.invoices.line_items.list(renewal.id, params={"limit": 100}).data]
    prorations = [line for line in lines if (line["parent"]["invoice_item_details"] or {}).get("proration")]
    assert sorted(line["amount"] for line in prorations) == [
        pytest.approx(-round(1200 * share), abs=1),
        pytest.approx(round(4 * 1200 * share), abs=1),
    ]
    seats = [line for line in lines if line["parent"]["type"] == "subscription_item_details"]
    assert [(line["quantity"], line["amount"]) for line in seats] == [(4, 4800)]
    assert renewal.status == "paid" and renewal.total == sum(line["amount"] for line in lines)
