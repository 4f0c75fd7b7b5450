"""Outbox tasks: send one owed e-mail; sweep what is still owed."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from saas_platform.leases import backoff_seconds

from notifications import services

# Mail-server retries back off from 10 s, capped well below the outbox lease: the retry comes first.
RETRY_BACKOFF_SECONDS = 10
RETRY_BACKOFF_MAX_SECONDS = 30


@shared_task(bind=True, name="notifications.send", max_retries=5)
def send_notification(self, notification_id: int) -> bool:
    countdown = backoff_seconds(retries=self.request.retries, base=RETRY_BACKOFF_SECONDS, cap=RETRY_BACKOFF_MAX_SECONDS)
    try:
        return services.notification_send(notification_id=notification_id, retry_in=countdown)
    except OSError as exc:  # the mail server is unreachable or refused (SMTPException is an OSError)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(name="notifications.send_owed")
def send_owed() -> int:
    """Beat: publish again every e-mail still owed after its lease (the broker was down, a message lost)."""
    return services.notifications_send_owed(lease_seconds=settings.NOTIFICATION_LEASE_SECONDS)
