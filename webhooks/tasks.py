"""Webhook tasks: process one stored event (retried by the platform's policy), sweep the inbox."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from saas_platform.retry import RetryingTask

from webhooks import services


class EventTask(RetryingTask):
    """Every attempt that fails is recorded on the event; a retry's lease starts when it is due."""

    def on_retry_scheduled(self, exc, countdown, args, kwargs):
        services.webhook_event_record_failure(event_id=args[0], error=exc, final=False, retry_in=countdown)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        services.webhook_event_record_failure(event_id=args[0], error=exc, final=True)


@shared_task(base=EventTask, name="webhooks.process_event")
def process_event(event_id: int) -> str:
    return services.webhook_event_process(event_id=event_id)


@shared_task(base=RetryingTask, name="webhooks.requeue_pending")
def requeue_pending() -> int:
    """Beat: publish again the pending events whose lease ran out."""
    return services.webhook_events_requeue_expired(lease_seconds=settings.WEBHOOK_LEASE_SECONDS)
