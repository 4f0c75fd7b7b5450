"""The dunning schedule: which e-mail an unpaid invoice calls for at a given moment. Pure rules; the
services that owe the e-mails are in subscriptions/invoices.py.

A payment Stripe could not collect (declined, or waiting for 3-D Secure) is e-mailed to the
company's admins

1. at once: `payment_failed` with the hosted invoice link, or `payment_action_required` (the link to
   confirm the payment) when the bank asks for 3-D Secure;
2. `DUNNING_REMINDER_DAYS` (3) after the invoice was finalized (its first attempt), if still unpaid:
   `payment_reminder`;
3. when the past-due grace ends, if still unpaid: `payment_final_notice`. The grace is the company's
   (`paid_access_until`, counted from when its subscription was first seen past due); a company not
   in its grace counts `BILLING_PAST_DUE_GRACE_DAYS` from the invoice's finalization.

Each step is owed once per invoice (the outbox is keyed by the invoice and the step's kind), however
many `invoice.payment_failed` events Stripe's retries send. A step whose time has passed when a later
one is due is skipped (a beat that was down for a week sends the final notice, not all three).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from subscriptions.models import Invoice

# The steps, in order: an invoice stores the last one owed (`Invoice.dunning_step`).
NONE, FAILED, REMINDER, FINAL = (
    Invoice.DUNNING_NONE,
    Invoice.DUNNING_FAILED,
    Invoice.DUNNING_REMINDER,
    Invoice.DUNNING_FINAL,
)
KINDS = {FAILED: "payment_failed", REMINDER: "payment_reminder", FINAL: "payment_final_notice"}
ACTION_REQUIRED_KIND = "payment_action_required"


def dunning_anchor(invoice: Invoice) -> datetime:
    """When the invoice's collection started (Stripe's finalization time): the schedule counts from here."""
    return invoice.finalized_at or invoice.created_at


def grace_end(invoice: Invoice, paid_access_until: datetime | None) -> datetime:
    """When paid features stop if the invoice stays unpaid: the company's own grace end if it is in one."""
    return paid_access_until or dunning_anchor(invoice) + timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)


def step_due(invoice: Invoice, *, paid_access_until: datetime | None, now: datetime) -> int:
    """The furthest step of the schedule due at `now` (NONE for an invoice that is paid, void, a
    draft, or was never attempted)."""
    if not invoice.payment_failed:
        return NONE
    if now >= grace_end(invoice, paid_access_until):
        return FINAL
    if now >= dunning_anchor(invoice) + timedelta(days=settings.DUNNING_REMINDER_DAYS):
        return REMINDER
    return FAILED


def kind_for(step: int, invoice: Invoice) -> str:
    """The e-mail of a step: the first one asks to confirm rather than to pay when 3-D Secure waits."""
    if step == FAILED and invoice.payment_action_required:
        return ACTION_REQUIRED_KIND
    return KINDS[step]
