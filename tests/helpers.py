"""Helpers: Stripe-signed payloads, event bodies shaped like Stripe's, host-aware test clients."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import time

from django.conf import settings
from django.test import Client

_ids = itertools.count(1)


def stripe_signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header exactly as Stripe computes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def stripe_event(event_type: str, obj: dict, *, created: int | None = None, event_id: str | None = None) -> dict:
    obj = json.loads(json.dumps(obj, default=str))  # as it travels: the library parses decimals
    return {
        "id": event_id or f"evt_test_{next(_ids)}_{time.time_ns()}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created or int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def post_event(client: Client, event: dict | str, *, secret: str | None = None, timestamp: int | None = None):
    payload = event if isinstance(event, str) else json.dumps(event)
    secret = secret or settings.STRIPE_WEBHOOK_SECRETS[0]
    return client.post(
        "/stripe/webhooks/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(payload, secret, timestamp),
        HTTP_HOST=settings.PLATFORM_DOMAIN,
    )


def host_of(company) -> str:
    return f"{company.slug}.{settings.PLATFORM_DOMAIN}"


def company_client(company, user=None) -> Client:
    client = Client(HTTP_HOST=host_of(company))
    if user is not None:
        client.force_login(user)
    return client


def platform_client(user=None) -> Client:
    client = Client(HTTP_HOST=settings.PLATFORM_DOMAIN)
    if user is not None:
        client.force_login(user)
    return client


@contextlib.contextmanager
def broker_unreachable():
    """The Celery app publishes to a closed port meanwhile, as when Redis is down."""
    from saas_platform.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url = original
        app._pool = None
        app.amqp._producer_pool = None


def send_owed_emails() -> int:
    """Send, in this process, every e-mail the outbox owes, as its task would. In-process tests need
    it: their transaction never commits, so the task publishing the e-mail never ran."""
    from notifications.models import Notification
    from notifications.services import notification_send

    owed = Notification.objects.filter(sent_at__isnull=True, claimed_at__isnull=True).order_by("pk")
    return sum(notification_send(notification_id=pk) for pk in owed.values_list("pk", flat=True))


def contend_for_a_lock(*, holder, contender, expected: type[BaseException] = Exception):
    """Race two requests for one row lock on real connections: `holder()` runs in a thread inside a
    transaction kept open; then `contender()` runs in another thread. Asserts the contender waits
    on a PostgreSQL lock while the holder's transaction is open (without the lock it would have
    finished), then lets the holder commit. Returns what the contender returned, or the `expected`
    exception it raised."""
    import threading

    from django.db import connection, connections, transaction

    from tests.plugins.services import wait_until

    holding, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def hold() -> None:
        try:
            with transaction.atomic():
                holder()
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    def contend() -> None:
        try:
            holding.wait(30)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                outcome["pid"] = cursor.fetchone()[0]
            try:
                outcome["result"] = contender()
            except expected as raised:
                outcome["result"] = raised
        finally:
            connections.close_all()

    def waits_on_a_lock_or_finished() -> bool:
        if "result" in outcome:
            return True
        if "pid" not in outcome:
            return False
        with connection.cursor() as cursor:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [outcome["pid"]])
            row = cursor.fetchone()
        return bool(row) and row[0] == "Lock"

    threads = [threading.Thread(target=hold), threading.Thread(target=contend)]
    for thread in threads:
        thread.start()
    try:
        wait_until(waits_on_a_lock_or_finished, timeout=30, message="the contender to wait on the lock")
        assert "result" not in outcome, "the contender did not wait for the lock"
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    return outcome["result"]
