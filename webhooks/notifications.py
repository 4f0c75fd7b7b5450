"""E-mails to a company's admins about billing events, sent once per event."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from companies.models import Company, Membership
from webhooks.models import Notification

logger = logging.getLogger(__name__)

MESSAGES = {
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


def notification_owe(*, event, company: Company, kind: str) -> None:
    """Record that this event owes an e-mail; it is sent by a task after the transaction commits."""
    try:
        with transaction.atomic():
            notification = Notification.objects.create(event=event, company=company, kind=kind)
    except IntegrityError:
        return  # already owed by an earlier attempt at this event
    from webhooks.tasks import send_notification

    transaction.on_commit(lambda: send_notification.delay(notification.pk))


def notification_send(*, notification_id: int) -> bool:
    """Send the e-mail unless it was sent already. The row lock stops two workers sending it."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update().select_related("company").filter(pk=notification_id).first()
        )
        if notification is None or notification.sent_at is not None:
            return False
        company = notification.company
        recipients = list(
            Membership.objects.filter(company=company, role=Membership.Role.ADMIN).values_list("user__email", flat=True)
        )
        subject, body = MESSAGES[notification.kind]
        url = f"{settings.PLATFORM_SCHEME}://{company.slug}.{settings.PLATFORM_DOMAIN}/"
        context = {"company": company.name, "url": url, "grace": settings.BILLING_PAST_DUE_GRACE_DAYS}
        if recipients:
            send_mail(subject.format(**context), body.format(**context), None, recipients)
        notification.sent_at = timezone.now()
        notification.save(update_fields=["sent_at"])
    logger.info("notified %s admins of %s", len(recipients), notification.kind)
    return True
