"""Outbox tasks: send one owed e-mail; sweep what is still owed."""

from __future__ import annotations

from celery import shared_task

from notifications import services

OWED_SWEEP_AFTER_SECONDS = 60


@shared_task(bind=True, name="notifications.send", max_retries=5)
def send_notification(self, notification_id: int) -> bool:
    try:
        return services.notification_send(notification_id=notification_id)
    except OSError as exc:  # the mail server is unreachable or refused: the claim was released
        raise self.retry(exc=exc, countdown=min(300, 30 * 2**self.request.retries)) from exc


@shared_task(name="notifications.send_owed")
def send_owed() -> int:
    return services.notifications_send_owed(older_than_seconds=OWED_SWEEP_AFTER_SECONDS)
