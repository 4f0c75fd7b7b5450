"""The dunning e-mails to a company's admins (subscriptions/dunning.py), written at send time from
what was owed: the invoice's number, amount, hosted page and the end of the grace period; and the
notice of a plan changed onto limits the company is over (subscriptions/services.py)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from companies.features import LIMIT_NOUNS
from companies.selectors import admin_emails
from companies.services import company_url
from notifications.models import Notification
from notifications.services import Message, notification_kind
from subscriptions.plans import PLANS

# Stripe's zero-decimal currencies: amounts are whole units.
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())

TEXTS = {
    "payment_failed": (
        "Payment failed for {company}",
        "We could not charge the card on file for {company}: invoice {number}, {amount}.\n\n"
        "Pay it on the invoice's page: {invoice_url}\n"
        "or update the card under Manage billing ({url}).\n\n"
        "Paid features stay available until {grace_end} ({grace} days' grace).",
    ),
    "payment_action_required": (
        "Confirm your payment for {company}",
        "Your bank asks you to confirm the payment of invoice {number} of {company}, {amount} (3-D Secure).\n\n"
        "Confirm it on the invoice's page: {invoice_url}\n\n"
        "Until it is confirmed the payment is outstanding; paid features stay available until {grace_end}.",
    ),
    "payment_reminder": (
        "Reminder: invoice {number} of {company} is unpaid",
        "Invoice {number} of {company}, {amount}, is still unpaid.\n\n"
        "Pay (or confirm) it on the invoice's page: {invoice_url}\n"
        "or update the card under Manage billing ({url}).\n\n"
        "Paid features stay available until {grace_end}.",
    ),
    "payment_final_notice": (
        "Final notice: paid features of {company} are suspended",
        "Invoice {number} of {company}, {amount}, is still unpaid and the {grace}-day grace period has "
        "ended: paid features are suspended until it is paid. Your data stays readable.\n\n"
        "Pay it on the invoice's page: {invoice_url}\n"
        "or update the card under Manage billing ({url}).",
    ),
}


def money(amount: int, currency: str) -> str:
    """19.00 USD, 1900 JPY."""
    code = (currency or "").lower()
    if code in ZERO_DECIMAL:
        return f"{amount} {code.upper()}"
    return f"{amount / 100:.2f} {code.upper()}"


def _day(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%d %b %Y %H:%M UTC") if value else "-"


def _to_admins(notification: Notification) -> Message:
    company = notification.company
    owed = notification.context
    subject, body = TEXTS[notification.kind]
    context = {
        "company": company.name,
        "url": company_url(company.slug),
        "grace": settings.BILLING_PAST_DUE_GRACE_DAYS,
        "number": owed.get("number") or "(no number)",
        "amount": money(owed.get("amount") or 0, owed.get("currency") or ""),
        "invoice_url": owed.get("hosted_invoice_url") or company_url(company.slug),
        "grace_end": _day(owed.get("grace_end") or ""),
    }
    return Message(subject.format(**context), body.format(**context), admin_emails(company=company))


for _kind in TEXTS:
    notification_kind(_kind)(_to_admins)


PROMOTION_CODE_REFUSED = (
    "Promotion code {code} was not applied to {company}",
    "Your trial of {company} has started, but the promotion code {code} could not be applied: {reason}\n\n"
    "An admin can apply another code on the Billing page: {url}",
)


@notification_kind("promotion_code_refused")
def _promotion_code_refused(notification: Notification) -> Message:
    company, owed = notification.company, notification.context
    subject, body = PROMOTION_CODE_REFUSED
    context = {
        "company": company.name,
        "url": company_url(company.slug, "/billing/"),
        "code": owed.get("code") or "",
        "reason": owed.get("reason") or "Stripe refused it.",
    }
    return Message(subject.format(**context), body.format(**context), admin_emails(company=company))


@notification_kind("plan_over_limit")
def _over_limit_to_admins(notification: Notification) -> Message:
    """A plan changed outside our preview (the billing portal) onto limits the company is over."""
    company = notification.company
    owed = notification.context
    plan = PLANS.get(owed.get("plan") or "")
    lines = "\n".join(
        f"- {LIMIT_NOUNS.get(item['limit'], item['limit'])}: {item['used']} in use, the plan allows {item['allowed']}"
        for item in owed.get("over_limit") or []
    )
    subject = f"{company.name} is over its plan's limits"
    body = (
        f"The subscription of {company.name} changed to {plan.name if plan else 'a new plan'}, which allows less "
        f"than the company uses:\n{lines}\n\n"
        "Everything already there stays readable, but nothing more can be added until the usage is back "
        f"within the limits or the plan is changed under Billing ({company_url(company.slug, '/billing/')})."
    )
    return Message(subject, body, admin_emails(company=company))
