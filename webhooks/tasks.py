"""Webhook tasks: process one stored event, sweep the inbox."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from saas_platform.leases import backoff_seconds

from subscriptions.stripe_api import is_transient
from webhooks import services


@shared_task(bind=True, name="webhooks.process_event", max_retries=None)
def process_event(self, event_id: int) -> str:
    try:
        state = services.webhook_event_process(event_id=event_id)
    except Exception as exc:
        retry = is_transient(exc) and self.request.retries < settings.WEBHOOK_MAX_RETRIES
        countdown = backoff_seconds(
            retries=self.request.retries,
            base=settings.WEBHOOK_RETRY_BACKOFF_SECONDS,
            cap=settings.WEBHOOK_RETRY_BACKOFF_MAX_SECONDS,
        )
        services.webhook_event_record_failure(event_id=event_id, error=exc, final=not retry, retry_in=countdown)
        if retry:
            raise self.retry(exc=exc, countdown=countdown) from exc
        raise
    return state


@shared_task(name="webhooks.requeue_pending")
def requeue_pending() -> int:
    """Beat: publish again the pending events whose lease ran out."""
    return services.webhook_events_requeue_expired(lease_seconds=settings.WEBHOOK_LEASE_SECONDS)
