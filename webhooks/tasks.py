"""Webhook tasks: process one stored event, sweep the inbox."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from subscriptions.stripe_api import is_transient
from webhooks import services


@shared_task(bind=True, name="webhooks.process_event", max_retries=None)
def process_event(self, event_id: int) -> str:
    try:
        state = services.webhook_event_process(event_id=event_id)
    except Exception as exc:
        retry = is_transient(exc) and self.request.retries < settings.WEBHOOK_MAX_RETRIES
        services.webhook_event_record_failure(event_id=event_id, error=exc, final=not retry)
        if retry:
            raise self.retry(
                exc=exc, countdown=settings.WEBHOOK_RETRY_BACKOFF_SECONDS * 2**self.request.retries
            ) from exc
        raise
    return state


@shared_task(name="webhooks.requeue_pending")
def requeue_pending() -> int:
    return services.webhook_events_requeue_pending(older_than_seconds=settings.WEBHOOK_PENDING_REQUEUE_SECONDS)
