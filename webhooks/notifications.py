"""The billing e-mails a webhook event owes a company's admins, written at send time."""

from __future__ import annotations

from django.conf import settings

from companies.models import Company, Membership
from notifications.models import Notification
from notifications.services import Message, notification_kind, notification_owe

TEXTS = {
    "trial_will_end": (
        "Your trial of {company} ends soon",
        "The free trial of {company} ends in a few days. Add a card under Manage billing "
        "({url}) to keep your plan; without one the subscription is cancelled.",
    ),
    "payment_failed": (
        "Payment failed for {company}",
        "We could not charge the card on file for {company}. Please update it under Manage billing "
        "({url}); paid features stay available for {grace} days.",
    ),
}


def event_notification_owe(*, event, company: Company, kind: str) -> None:
    """Owe the company's admins one e-mail of `kind` for this event, however often it is processed."""
    notification_owe(subject=f"event:{event.stripe_id}", kind=kind, company=company)


def _to_admins(notification: Notification) -> Message:
    company = notification.company
    recipients = list(
        Membership.objects.filter(company=company, role=Membership.Role.ADMIN)
        .order_by("pk")
        .values_list("user__email", flat=True)
    )
    subject, body = TEXTS[notification.kind]
    url = f"{settings.PLATFORM_SCHEME}://{company.slug}.{settings.PLATFORM_DOMAIN}/"
    context = {"company": company.name, "url": url, "grace": settings.BILLING_PAST_DUE_GRACE_DAYS}
    return Message(subject.format(**context), body.format(**context), recipients)


for _kind in TEXTS:
    notification_kind(_kind)(_to_admins)
