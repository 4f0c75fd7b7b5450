"""Processing stored webhook events: once each, through the handler registry, failures recorded."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from saas_platform import metrics
from saas_platform.dispatch import dispatch_after_commit
from saas_platform.leases import lease_sweep
from saas_platform.log_context import bind_company

from webhooks.models import WebhookEvent
from webhooks.registry import HANDLERS
from webhooks.selectors import events_to_replay

logger = logging.getLogger(__name__)

DONE_STATES = (WebhookEvent.State.PROCESSED, WebhookEvent.State.IGNORED)
PROCESS_TASK = "webhooks.process_event"  # webhooks/tasks.py: process_event


def webhook_event_process(*, event_id: int) -> str:
    """Apply one stored event. Idempotent: an event already processed or ignored is left alone."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.state in DONE_STATES:
            return event.state if event else "missing"
        handler = HANDLERS.get(event.type)
        if handler is None:
            event.state, note = WebhookEvent.State.IGNORED, f"no handler for {event.type}"
        else:
            outcome = handler(event)
            if outcome.company is not None:
                bind_company(outcome.company.slug)  # this task's remaining log lines name it
            event.company = outcome.company
            note = outcome.note
            done = outcome.company is not None or outcome.applied
            event.state = WebhookEvent.State.PROCESSED if done else WebhookEvent.State.IGNORED
        event.attempts += 1
        event.last_error = note
        event.processed_at = timezone.now()
        event.save(update_fields=["state", "company", "attempts", "last_error", "processed_at"])
    metrics.WEBHOOKS_PROCESSED.labels(state=event.state).inc()
    metrics.WEBHOOK_LAG.observe((event.processed_at - event.received_at).total_seconds())
    logger.info("event %s %s: %s %s", event.stripe_id, event.type, event.state, note)
    return event.state


def webhook_event_record_failure(*, event_id: int, error: BaseException, final: bool, retry_in: float = 0) -> None:
    """Record a failed attempt. Not final: a retry is due in `retry_in` seconds, and the event's lease
    starts then (a worker killed meanwhile takes the retry with it; the sweep publishes it again)."""
    message = f"{type(error).__name__}: {error}"[:4000]
    updates = {"attempts": F("attempts") + 1, "last_error": message}
    if final:
        updates["state"] = WebhookEvent.State.FAILED
    else:
        updates.update(leased_at=timezone.now() + timedelta(seconds=retry_in), requeues=0)
    WebhookEvent.objects.filter(pk=event_id).exclude(state__in=DONE_STATES).update(**updates)
    metrics.WEBHOOK_FAILURES.inc()
    if final:
        metrics.WEBHOOKS_PROCESSED.labels(state="failed").inc()
    logger.warning("event %s failed%s: %s", event_id, " for good" if final else "", message)


def webhook_events_replay(
    *, event_ids: list[int], here: bool = False, progress: Callable[[int, int], None] | None = None
) -> Counter[str]:
    """Operators (`replay_webhooks`, the admin's action): apply the named events again. The rule: an
    event already processed is never replayed (its effect is in place); every other one (failed,
    ignored, pending) goes back to pending and is published to the workers after commit, or, with
    `here`, processed in this process in Stripe's order, a failure recorded as final (no retries).
    Returns how many events ended in each state ("pending": handed to the workers)."""
    ids = list(events_to_replay(event_ids=event_ids).values_list("pk", flat=True))
    WebhookEvent.objects.filter(pk__in=ids).update(
        state=WebhookEvent.State.PENDING, leased_at=timezone.now(), requeues=0
    )
    if not here:
        for event_id in ids:
            dispatch_after_commit(PROCESS_TASK, event_id, waits_for="the inbox sweep")
        return Counter({str(WebhookEvent.State.PENDING): len(ids)})
    outcomes: Counter[str] = Counter()
    for index, event_id in enumerate(ids, start=1):
        try:
            outcomes[webhook_event_process(event_id=event_id)] += 1
        except Exception as exc:
            webhook_event_record_failure(event_id=event_id, error=exc, final=True)
            outcomes[str(WebhookEvent.State.FAILED)] += 1
        if progress:
            progress(index, len(ids))
    return outcomes


def webhook_events_requeue_expired(*, lease_seconds: float, limit: int = 1000) -> int:
    """Publish again the pending events whose lease ran out (a killed worker held them, the broker
    lost them, or it was down when they arrived). Events a worker is processing right now are
    locked by it and skipped."""
    pending = WebhookEvent.objects.filter(state=WebhookEvent.State.PENDING)
    ids = lease_sweep(pending, lease_seconds=lease_seconds, task=PROCESS_TASK, limit=limit)
    if ids:
        logger.warning("%s pending event(s) outlived their lease; published again", len(ids))
    return len(ids)
