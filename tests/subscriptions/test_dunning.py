"""Dunning: a failed payment e-mails the admins at once, 3 days later if still unpaid and when the
past-due grace ends; 3-D Secure asks them to confirm. Each e-mail once per invoice and step, at the
platform clock's time, whatever Stripe's retries and our replays send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import stripe
from saas_platform import clock

from notifications.models import Notification
from subscriptions import dunning
from subscriptions.invoices import invoice_dunning_advance
from subscriptions.models import Invoice
from subscriptions.tasks import dunning_sweep
from tests.factories import WebhookEventFactory
from tests.helpers import stripe_event
from tests.plugins.services import advance_clocks, company_on_a_test_clock, wait_for_webhooks, wait_until, worker_mail
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _unpaid(**fields) -> Invoice:
    values = {"status": "open", "attempt_count": 1, "amount_remaining": 1900, "finalized_at": T0, "created_at": T0}
    return Invoice(**(values | fields))


# --- the schedule ----------------------------------------------------------------------------------


def test_schedule_first_at_once_then_three_days_later_then_at_the_grace_end():
    invoice, grace_end = _unpaid(), T0 + timedelta(days=7, hours=5)  # the company's grace, from past_due_since

    def due(at: timedelta) -> int:
        return dunning.step_due(invoice, paid_access_until=grace_end, now=T0 + at)

    assert due(timedelta(0)) == dunning.FAILED
    assert due(timedelta(days=3) - timedelta(seconds=1)) == dunning.FAILED
    assert due(timedelta(days=3)) == dunning.REMINDER
    assert due(timedelta(days=7, hours=5) - timedelta(seconds=1)) == dunning.REMINDER
    assert due(timedelta(days=7, hours=5)) == dunning.FINAL
    # Not in its grace (no paid_access_until): BILLING_PAST_DUE_GRACE_DAYS from the finalization.
    assert dunning.step_due(invoice, paid_access_until=None, now=T0 + timedelta(days=7)) == dunning.FINAL


def test_a_grace_shorter_than_the_reminder_delay_goes_straight_to_the_final_notice(settings):
    settings.BILLING_PAST_DUE_GRACE_DAYS = 2
    invoice = _unpaid()
    assert dunning.step_due(invoice, paid_access_until=None, now=T0 + timedelta(days=2)) == dunning.FINAL


@pytest.mark.parametrize(
    "fields",
    [{"status": "paid", "amount_remaining": 0}, {"status": "void"}, {"attempt_count": 0}, {"status": "draft"}],
    ids=["paid", "void", "never-attempted", "draft"],
)
def test_invoices_without_a_failed_payment_owe_no_email(fields):
    invoice = _unpaid(**fields)
    assert dunning.step_due(invoice, paid_access_until=None, now=T0 + timedelta(days=30)) == dunning.NONE


def test_the_first_email_asks_to_confirm_when_3d_secure_waits():
    assert dunning.kind_for(dunning.FAILED, _unpaid(payment_action_required=True)) == "payment_action_required"
    assert dunning.kind_for(dunning.FAILED, _unpaid()) == "payment_failed"
    assert dunning.kind_for(dunning.REMINDER, _unpaid(payment_action_required=True)) == "payment_reminder"


# --- against Stripe ---------------------------------------------------------------------------------


def _failed_renewal(emulator, card: str = "pm_card_chargeCustomerFail"):
    """A company whose first renewal (the trial's end) failed in Stripe; no event delivered yet."""
    company, admin, test_clock = company_on_a_test_clock(emulator, card=card)
    advance_clocks(emulator, test_clock, 8)
    listing = emulator.client().v1.invoices.list(params={"customer": company.stripe_customer_id, "status": "open"})
    return company, admin, test_clock, listing.data[0].to_dict()


def _deliver(event_type: str, invoice: dict) -> str:
    return webhook_event_process(event_id=WebhookEventFactory(payload=stripe_event(event_type, invoice)).pk)


def test_stripes_retries_and_replays_owe_one_payment_failed_email_per_invoice(catalog):
    company, _, _, invoice = _failed_renewal(catalog)
    _deliver("invoice.payment_failed", invoice)
    _deliver("invoice.payment_failed", invoice)  # Stripe delivers again (another event id)
    with pytest.raises(stripe.CardError):
        catalog.client().v1.invoices.pay(invoice["id"])  # a retry, declined again: attempt 2
    _deliver("invoice.payment_failed", catalog.client().v1.invoices.retrieve(invoice["id"]).to_dict())

    record = Invoice.objects.get(stripe_invoice_id=invoice["id"])
    assert (record.attempt_count, record.dunning_step) == (2, dunning.FAILED)
    owed = list(Notification.objects.filter(company=company).values_list("subject", "kind", "context"))
    assert [(subject, kind) for subject, kind, _ in owed] == [(f"invoice:{invoice['id']}", "payment_failed")]
    assert owed[0][2]["hosted_invoice_url"] == invoice["hosted_invoice_url"]


def test_an_invoice_paid_before_its_reminder_gets_none(catalog, published):
    """The stored copy still says open (the paid event is late): the reminder's task asks Stripe first."""
    company, _, _, invoice = _failed_renewal(catalog)
    _deliver("invoice.payment_failed", invoice)
    client = catalog.client()
    card = client.v1.payment_methods.attach("pm_card_visa", params={"customer": company.stripe_customer_id})
    client.v1.invoices.pay(invoice["id"], params={"payment_method": card.id})
    clock.advance(timedelta(days=3, hours=1))

    assert dunning_sweep.apply().get() == 1  # due by what we stored
    (task, (invoice_pk,)) = published[-1]
    invoice_dunning_advance(invoice_pk=invoice_pk)  # what the worker runs

    record = Invoice.objects.get(pk=invoice_pk)
    assert (task, record.status, record.dunning_step) == ("subscriptions.dunning_advance", "paid", dunning.FAILED)
    assert not Notification.objects.filter(company=company, kind="payment_reminder").exists()
    assert dunning_sweep.apply().get() == 0  # stored as paid now: nothing is due any more


def _mails_to(admin, subject_start: str) -> list[str]:
    return [m for m in worker_mail() if f"To: {admin.email}" in m and f"Subject: {subject_start}" in m]


def _sweep_on_the_worker(admin, subject_start: str) -> str:
    """Beat's sweep, run by the real worker (reading the moved clock there); wait for its one e-mail."""
    dunning_sweep.delay()
    return wait_until(lambda: _mails_to(admin, subject_start), timeout=30, message=f"the {subject_start!r} e-mail")[0]


def test_a_failed_payment_is_emailed_at_once_after_three_days_and_when_the_grace_ends(
    webhook_delivery, catalog, celery_worker_process, settings
):
    company, admin, test_clock = company_on_a_test_clock(webhook_delivery, card="pm_card_chargeCustomerFail")
    advance_clocks(webhook_delivery, test_clock, 8)  # the trial ended a day ago: the renewal failed
    wait_for_webhooks(webhook_delivery)
    first = wait_until(lambda: _mails_to(admin, "Payment failed"), timeout=30, message="the first e-mail")[0]
    invoice = Invoice.objects.get(company=company, status="open")
    assert invoice.hosted_invoice_url in first and invoice.number in first
    company.refresh_from_db()
    grace_end = company.paid_access_until  # the grace counts from when we saw it past due: the clock's now
    assert grace_end == company.subscription.past_due_since + timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)

    def at(moment: datetime) -> int:
        clock.travel_to(moment)
        return dunning_sweep.apply().get()  # how many invoices the sweep finds due, here and now

    reminder_at = invoice.finalized_at + timedelta(days=3)  # Stripe's time of the renewal, plus 3 days
    assert at(reminder_at - timedelta(minutes=5)) == 0
    clock.travel_to(reminder_at + timedelta(minutes=5))
    reminder = _sweep_on_the_worker(admin, "Reminder: invoice")
    assert invoice.hosted_invoice_url in reminder
    assert at(grace_end - timedelta(minutes=5)) == 0
    clock.travel_to(grace_end + timedelta(minutes=5))
    final = _sweep_on_the_worker(admin, "Final notice")
    assert invoice.hosted_invoice_url in final and "suspended" in final

    # Later sweeps and a replayed payment_failed owe nothing more: each e-mail went once.
    assert at(grace_end + timedelta(days=10)) == 0
    WebhookEvent.objects.filter(type="invoice.payment_failed").update(state="pending")
    for event_id in WebhookEvent.objects.filter(type="invoice.payment_failed").values_list("pk", flat=True):
        webhook_event_process(event_id=event_id)
    wait_until(lambda: not Notification.objects.filter(sent_at__isnull=True).exists(), timeout=30, message="the outbox")
    kinds = sorted(Notification.objects.filter(company=company).values_list("kind", flat=True))
    assert kinds == ["payment_failed", "payment_final_notice", "payment_reminder"]
    assert [len(_mails_to(admin, s)) for s in ("Payment failed", "Reminder", "Final notice")] == [1, 1, 1]


def test_a_renewal_waiting_for_3d_secure_emails_the_link_to_confirm(webhook_delivery, catalog, celery_worker_process):
    company, admin, test_clock = company_on_a_test_clock(webhook_delivery, card="pm_card_threeDSecure2Required")
    advance_clocks(webhook_delivery, test_clock, 8)
    wait_for_webhooks(webhook_delivery)  # invoice.payment_action_required and invoice.payment_failed

    mail = wait_until(lambda: _mails_to(admin, "Confirm your payment"), timeout=30, message="the e-mail")[0]
    invoice = Invoice.objects.get(company=company, status="open")
    assert invoice.payment_action_required and invoice.hosted_invoice_url in mail
    wait_until(lambda: not Notification.objects.filter(sent_at__isnull=True).exists(), timeout=30, message="outbox")
    # One e-mail for the invoice's first step: the confirmation link, not a "payment failed" as well.
    assert list(Notification.objects.filter(company=company).values_list("subject", "kind")) == [
        (f"invoice:{invoice.stripe_invoice_id}", "payment_action_required")
    ]
    assert _mails_to(admin, "Payment failed") == []
