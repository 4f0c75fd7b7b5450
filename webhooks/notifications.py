"""The trial e-mail Stripe's state owes a company's admins (found by a webhook handler), written at send
time. The dunning e-mails of unpaid invoices are subscriptions' (subscriptions/notifications.py)."""

from __future__ import annotations

from django.conf import settings

from companies.models import Company
from companies.selectors import admin_emails
from companies.services import company_url
from notifications.models import Notification
from notifications.services import Message, notification_kind, notification_owe

TEXTS = {
    "trial_will_end": (
        "Your trial of {company} ends soon",
        "The free trial of {company} ends in a few days. Add a card under Manage billing "
        "({url}) to keep your plan; without one the subscription is cancelled.",
    ),
}


def billing_notification_owe(*, subject: str, kind: str, company: Company) -> None:
    """Owe the company's admins one e-mail of `kind` about `subject`, the Stripe state that calls for
    it ("subscription:sub_1:trial_end:1700000000"): however many events,
    replays or forged copies report that state, it is owed once."""
    notification_owe(subject=subject, kind=kind, company=company)


def _to_admins(notification: Notification) -> Message:
    company = notification.company
    subject, body = TEXTS[notification.kind]
    context = {"company": company.name, "url": company_url(company.slug), "grace": settings.BILLING_PAST_DUE_GRACE_DAYS}
    return Message(subject.format(**context), body.format(**context), admin_emails(company=company))


for _kind in TEXTS:
    notification_kind(_kind)(_to_admins)
