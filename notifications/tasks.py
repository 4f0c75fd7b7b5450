"""Outbox tasks: send one owed e-mail (retried by the platform's policy); sweep what is still owed."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from saas_platform.retry import TRANSIENT_ERRORS, RetryingTask

from notifications import services


class SendTask(RetryingTask):
    """The mail server being unreachable or refusing (SMTPException is an OSError) is transient too.
    A failed send releases the e-mail; its lease then starts when the retry is due, and the retry
    comes before the outbox sweep would (the back-off's cap is below the lease)."""

    autoretry_for = (*TRANSIENT_ERRORS, OSError)

    def on_retry_scheduled(self, exc, countdown, args, kwargs):
        services.notification_lease_until(notification_id=args[0], retry_in=countdown)


@shared_task(base=SendTask, name="notifications.send")
def send_notification(notification_id: int) -> bool:
    return services.notification_send(notification_id=notification_id)


@shared_task(base=RetryingTask, name="notifications.send_owed")
def send_owed() -> int:
    """Beat: publish again every e-mail still owed after its lease (the broker was down, a message lost)."""
    return services.notifications_send_owed(lease_seconds=settings.NOTIFICATION_LEASE_SECONDS)
