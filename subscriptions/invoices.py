"""A company's invoices, stored as Stripe has them, the dunning e-mails they call for, and the preview
of the next one.

Every write re-reads the invoice from Stripe while holding the company's row lock (like the
subscription sync), so whatever order or number of `invoice.*` events arrive, and whoever signed
them, the stored row ends equal to Stripe's latest copy; an e-mail is owed only when that copy calls
for it (subscriptions/dunning.py), once per invoice and step.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import stripe
from django.db import transaction
from django.utils import timezone
from saas_platform import clock
from saas_platform.dispatch import dispatch_after_commit
from saas_platform.errors import ServiceError

from companies.locks import company_lock
from companies.models import Company
from notifications.services import notification_owe
from subscriptions import dunning
from subscriptions.entitlements import LIVE_STATUSES
from subscriptions.models import CompanySubscription, Invoice
from subscriptions.selectors import invoices_in_dunning
from subscriptions.stripe_api import stripe_client, stripe_retrieve, unless_stripe_fails

if TYPE_CHECKING:
    from stripe.params import InvoiceCreatePreviewParams

logger = logging.getLogger(__name__)

DUNNING_TASK = "subscriptions.dunning_advance"  # subscriptions/tasks.py: dunning_advance
# The invoice's payments with their PaymentIntents: whether the payment waits for 3-D Secure.
INVOICE_EXPAND = ["payments.data.payment.payment_intent"]


class NoUpcomingInvoice(ServiceError):
    """Stripe has no next invoice for the company: no customer, no live subscription, or a
    subscription that ends with its period."""

    status = 404
    code = "no_upcoming_invoice"
    detail = "The company has no upcoming invoice."


def _time(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _service_period(stripe_invoice: dict) -> tuple[datetime | None, datetime | None]:
    """What the invoice bills for: from its lines' periods (Stripe's invoice-level period of a
    renewal looks one period back), else the invoice's own."""
    periods = [line.get("period") or {} for line in (stripe_invoice.get("lines") or {}).get("data") or []]
    starts = [p["start"] for p in periods if p.get("start")]
    ends = [p["end"] for p in periods if p.get("end")]
    if starts and ends:
        return _time(min(starts)), _time(max(ends))
    return _time(stripe_invoice.get("period_start")), _time(stripe_invoice.get("period_end"))


def invoice_amounts(stripe_invoice: dict) -> dict:
    """The amounts and period of an invoice or a preview, in the currency's smallest unit."""
    period_start, period_end = _service_period(stripe_invoice)
    return {
        "currency": stripe_invoice.get("currency") or "",
        "subtotal": stripe_invoice.get("subtotal") or 0,
        "discount": sum(d.get("amount") or 0 for d in stripe_invoice.get("total_discount_amounts") or []),
        "tax": sum(t.get("amount") or 0 for t in stripe_invoice.get("total_taxes") or []),
        "total": stripe_invoice.get("total") or 0,
        "amount_due": stripe_invoice.get("amount_due") or 0,
        "amount_paid": stripe_invoice.get("amount_paid") or 0,
        "amount_remaining": stripe_invoice.get("amount_remaining") or 0,
        "period_start": period_start,
        "period_end": period_end,
    }


def _waits_for_authentication(stripe_invoice: dict) -> bool:
    """One of the invoice's payments (expanded) is a PaymentIntent waiting for 3-D Secure."""
    for payment in (stripe_invoice.get("payments") or {}).get("data") or []:
        intent = (payment.get("payment") or {}).get("payment_intent")
        if isinstance(intent, dict) and intent.get("status") == "requires_action":
            return True
    return False


def _fields(stripe_invoice: dict) -> dict:
    transitions = stripe_invoice.get("status_transitions") or {}
    parent = (stripe_invoice.get("parent") or {}).get("subscription_details") or {}
    subscription = parent.get("subscription")
    return invoice_amounts(stripe_invoice) | {
        "stripe_subscription_id": (subscription.get("id") if isinstance(subscription, dict) else subscription) or "",
        "number": stripe_invoice.get("number") or "",
        "status": stripe_invoice.get("status") or "",
        "billing_reason": stripe_invoice.get("billing_reason") or "",
        "attempt_count": stripe_invoice.get("attempt_count") or 0,
        "payment_action_required": _waits_for_authentication(stripe_invoice),
        "created_at": _time(stripe_invoice.get("created")) or timezone.now(),
        "finalized_at": _time(transitions.get("finalized_at")),
        "paid_at": _time(transitions.get("paid_at")),
        "hosted_invoice_url": stripe_invoice.get("hosted_invoice_url") or "",
        "invoice_pdf": stripe_invoice.get("invoice_pdf") or "",
    }


def _store(company: Company, stripe_invoice: dict) -> Invoice:
    """Under the company lock: Stripe's copy of the invoice, stored; then the dunning e-mail it calls for."""
    record, _ = Invoice.objects.update_or_create(
        stripe_invoice_id=stripe_invoice["id"],
        defaults=_fields(stripe_invoice) | {"company": company, "synced_at": timezone.now()},
    )
    _dun(company, record)
    return record


def _dun(company: Company, record: Invoice) -> None:
    """Owe the e-mails the stored invoice calls for now: the dunning step due at the platform clock's
    present (if further than the last one owed) and, while 3-D Secure waits, the link to confirm."""
    context = {
        "number": record.number,
        "amount": record.amount_remaining,
        "currency": record.currency,
        "hosted_invoice_url": record.hosted_invoice_url,
        "grace_end": dunning.grace_end(record, company.paid_access_until).isoformat(),
    }
    subject = f"invoice:{record.stripe_invoice_id}"
    if record.payment_failed and record.payment_action_required:
        notification_owe(subject=subject, kind=dunning.ACTION_REQUIRED_KIND, company=company, context=context)
    step = dunning.step_due(record, paid_access_until=company.paid_access_until, now=clock.now())
    if step > record.dunning_step:
        kind = dunning.kind_for(step, record)
        notification_owe(subject=subject, kind=kind, company=company, context=context)
        record.dunning_step = step
        record.save(update_fields=["dunning_step"])
        logger.info("invoice %s: dunning e-mail %s owed", record.stripe_invoice_id, kind)


def invoice_sync(*, company_id: int, invoice_id: str) -> Invoice | None:
    """Re-read one of the company's invoices from Stripe under the company's lock, store it and owe the
    e-mail its state calls for. None when Stripe does not know the invoice."""
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        stripe_invoice = stripe_retrieve("invoice", invoice_id, expand=INVOICE_EXPAND)
        if stripe_invoice is None:
            return None
        return _store(company, stripe_invoice)


def invoice_forget(*, invoice_id: str) -> Company | None:
    """Stripe no longer has the invoice (a deleted draft): drop our copy. Returns its company, if we had one."""
    record = Invoice.objects.select_related("company").filter(stripe_invoice_id=invoice_id).first()
    if record is None:
        return None
    with transaction.atomic():
        company_lock(company_id=record.company_id)
        Invoice.objects.filter(pk=record.pk).delete()
    return record.company


def invoices_backfill(*, company: Company) -> int:
    """Reconciliation, under the company lock the caller holds: store every invoice of the company's
    customer as Stripe lists it (and what it owes), and drop drafts Stripe deleted. Returns how many."""
    listing = stripe_client().v1.invoices.list(params={"customer": company.stripe_customer_id, "limit": 100})
    seen = []
    # Oldest first (Stripe lists newest first), so new rows' ids break ties of `created` like Stripe's order.
    for stripe_invoice in reversed([invoice.to_dict() for invoice in listing.auto_paging_iter()]):
        if stripe_invoice.get("status") == "open" and stripe_invoice.get("attempt_count"):
            # Lists cannot expand that deep: read the one whose payment may wait for 3-D Secure.
            stripe_invoice = stripe_retrieve("invoice", stripe_invoice["id"], expand=INVOICE_EXPAND) or stripe_invoice
        seen.append(_store(company, stripe_invoice).stripe_invoice_id)
    company.invoices.filter(status="draft").exclude(stripe_invoice_id__in=seen).delete()
    return len(seen)


def dunning_sweep(*, limit: int = 500) -> int:
    """Beat: publish a re-read of every unpaid invoice whose next dunning e-mail is due at the platform
    clock's present; the task (`invoice_sync`) confirms with Stripe that it is still unpaid before
    owing it. A lost task is found again by the next sweep. Returns how many were published."""
    due = invoices_in_dunning(now=clock.now(), limit=limit)
    for record in due:
        dispatch_after_commit(DUNNING_TASK, record.pk, waits_for="the next dunning sweep")
    return len(due)


def invoice_dunning_advance(*, invoice_pk: int) -> Invoice | None:
    """The dunning task: re-read a stored invoice from Stripe and owe the e-mail now due, if any."""
    record = Invoice.objects.filter(pk=invoice_pk).only("company_id", "stripe_invoice_id").first()
    if record is None:
        return None
    return invoice_sync(company_id=record.company_id, invoice_id=record.stripe_invoice_id)


def invoice_line(line: dict) -> dict:
    """One line of an invoice or a preview: what it bills, and whether it prorates a change."""
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    period = line.get("period") or {}
    return {
        "description": line.get("description") or "",
        "amount": line.get("amount") or 0,
        "currency": line.get("currency") or "",
        "quantity": line.get("quantity"),
        "period_start": _time(period.get("start")),
        "period_end": _time(period.get("end")),
        "proration": bool(details.get("proration")),
    }


def invoice_upcoming(*, company: Company) -> dict:
    """Stripe's preview of the company's next invoice (`invoices.create_preview`): its amounts, when it
    is attempted, and its lines. NoUpcomingInvoice (404) when Stripe has none."""
    if not company.stripe_customer_id:
        raise NoUpcomingInvoice("The company has no Stripe customer yet, so no upcoming invoice.")
    params: InvoiceCreatePreviewParams = {"customer": company.stripe_customer_id}
    record = CompanySubscription.objects.filter(company=company, status__in=LIVE_STATUSES).first()
    if record and record.stripe_subscription_id:
        params["subscription"] = record.stripe_subscription_id
    try:
        preview = stripe_client().v1.invoices.create_preview(params=params).to_dict()
    except stripe.InvalidRequestError as error:
        # None to preview, or a customer or subscription Stripe no longer has (reconciliation catches up).
        if error.code in ("invoice_upcoming_none", "resource_missing"):
            raise NoUpcomingInvoice() from error
        raise
    lines = (preview.get("lines") or {}).get("data") or []
    return invoice_amounts(preview) | {
        "next_payment_attempt": _time(preview.get("next_payment_attempt")),
        "lines": [invoice_line(line) for line in lines],
    }


def invoice_upcoming_for_page(*, company: Company) -> tuple[dict | None, str]:
    """The upcoming invoice for a page that must render whatever Stripe says: (preview, "") when there
    is one, (None, "none") when there is none, (None, "unavailable") when Stripe cannot be reached or
    fails; the API answers those errors instead."""
    try:
        upcoming = unless_stripe_fails(lambda: invoice_upcoming(company=company), what="upcoming invoice")
    except NoUpcomingInvoice:
        return None, "none"
    return upcoming, "" if upcoming is not None else "unavailable"
