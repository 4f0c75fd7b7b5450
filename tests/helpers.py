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


def newest_email_body(to: str, timeout: float = 30) -> str:
    """The body of the newest e-mail to `to`, whoever sent it. A page served by the live server owes
    its e-mail after commit and publishes the send task: the session's worker, if a test before
    started it, may send it (into its mail files); else this process sends what is still owed."""
    import email
    import time

    from django.core import mail

    from tests.plugins.services import worker_mail

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        send_owed_emails()
        ours = [m.body for m in mail.outbox if to in m.to]
        theirs = [email.message_from_string(raw) for raw in worker_mail()]
        theirs = [m.get_payload(decode=True).decode() for m in theirs if to in (m["To"] or "")]
        if ours or theirs:
            return (ours or theirs)[-1]
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {to} within {timeout}s")
