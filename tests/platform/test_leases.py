"""Leases on work: what a killed worker held is published again once its lease runs out, work a live
worker holds is left alone, and a long but healthy queue gets a few copies, never one per sweep."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from django.utils import timezone

from tests.factories import WebhookEventFactory
from tests.helpers import broker_unreachable, stripe_event
from tests.plugins.services import _test_database_url
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_record_failure, webhook_events_requeue_expired

LEASE = 30


def _pending_events(count: int, leased_seconds_ago: float) -> list[int]:
    leased_at = timezone.now() - timedelta(seconds=leased_seconds_ago)
    return [
        WebhookEventFactory(
            payload=stripe_event("charge.succeeded", {"id": f"ch_{i}", "object": "charge"}), leased_at=leased_at
        ).pk
        for i in range(count)
    ]


@pytest.mark.django_db
def test_fresh_events_are_left_to_their_tasks_and_expired_ones_published_again():
    fresh = _pending_events(3, leased_seconds_ago=LEASE - 5)
    lost = _pending_events(2, leased_seconds_ago=LEASE + 1)
    assert webhook_events_requeue_expired(lease_seconds=LEASE) == 2
    assert set(WebhookEvent.objects.filter(requeues=1).values_list("pk", flat=True)) == set(lost)
    assert not WebhookEvent.objects.filter(pk__in=fresh, requeues__gt=0).exists()


@pytest.mark.django_db
def test_a_long_queue_gets_a_few_copies_not_one_per_sweep():
    """Twenty events waiting ten minutes in a queue that is slow but healthy, swept every 10 s as in
    production: each copy waits twice as long as the last (30, 60, 120, 240 s), so each event is
    published again 4 times in those ten minutes, not 20 (once per lease) or 60 (once per sweep)."""
    ids = _pending_events(20, leased_seconds_ago=0)
    published = {pk: 0 for pk in ids}
    for _ in range(60):  # ten minutes of sweeps, 10 s apart
        rows = WebhookEvent.objects.values_list("pk", "leased_at")
        for pk, leased_at in rows:
            WebhookEvent.objects.filter(pk=pk).update(leased_at=leased_at - timedelta(seconds=10))
        before = dict(WebhookEvent.objects.values_list("pk", "requeues"))
        webhook_events_requeue_expired(lease_seconds=LEASE)
        for pk, requeues in WebhookEvent.objects.values_list("pk", "requeues"):
            published[pk] += requeues - before[pk]
    assert set(published.values()) == {4}


@pytest.mark.django_db
def test_a_scheduled_retry_holds_the_lease_until_it_is_due():
    [event_id] = _pending_events(1, leased_seconds_ago=0)
    webhook_event_record_failure(event_id=event_id, error=RuntimeError("Stripe 500"), final=False, retry_in=20)
    leased_at = WebhookEvent.objects.get(pk=event_id).leased_at
    assert timedelta(seconds=19) < leased_at - timezone.now() <= timedelta(seconds=20)
    WebhookEvent.objects.filter(pk=event_id).update(leased_at=leased_at - timedelta(seconds=20 + LEASE - 1))
    assert webhook_events_requeue_expired(lease_seconds=LEASE) == 0  # retry due, lease not yet out
    WebhookEvent.objects.filter(pk=event_id).update(leased_at=leased_at - timedelta(seconds=20 + LEASE + 1))
    assert webhook_events_requeue_expired(lease_seconds=LEASE) == 1


@pytest.mark.django_db(transaction=True)
def test_sweep_skips_an_event_a_live_worker_is_processing():
    """A worker processing an event holds its row lock; only a dead worker's lock is released."""
    busy, lost = _pending_events(2, leased_seconds_ago=LEASE + 1)
    locked, release = threading.Event(), threading.Event()

    def worker():
        with psycopg.connect(_test_database_url()) as conn, conn.transaction():
            conn.execute("SELECT 1 FROM webhooks_webhookevent WHERE id = %s FOR UPDATE", [busy])
            locked.set()
            release.wait(30)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert locked.wait(10)
        with broker_unreachable():  # nothing reaches a worker: only the sweep's choice is tested
            assert webhook_events_requeue_expired(lease_seconds=LEASE) == 1
        assert list(WebhookEvent.objects.filter(requeues=1).values_list("pk", flat=True)) == [lost]
    finally:
        release.set()
        thread.join()
