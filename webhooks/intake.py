"""POST /stripe/webhooks/: verify, store once, acknowledge, enqueue after commit. No business logic."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from saas_platform import metrics
from saas_platform.dispatch import dispatch_after_commit
from saas_platform.errors import ServiceError

from webhooks.models import WebhookEvent
from webhooks.services import PROCESS_TASK

logger = logging.getLogger(__name__)


class Rejected(ServiceError):
    """The body is not a verified Stripe event: 400 with the reason's code, and nothing is stored."""

    status = 400

    def __init__(self, code: str, detail: str):
        super().__init__(detail, code=code)


def verify(payload: bytes, signature: str) -> dict:
    """The event if `signature` is Stripe's for `payload` under any configured secret, else Rejected."""
    if not signature:
        raise Rejected("missing_signature", "The Stripe-Signature header is missing.")
    if not signature.isascii():
        raise Rejected("invalid_signature", "The Stripe-Signature header is malformed.")
    if not settings.STRIPE_WEBHOOK_SECRETS:
        raise Rejected("no_signing_secret", "No webhook signing secret is configured.")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("invalid_payload", "The body is not UTF-8.") from exc
    stale = False
    for secret in settings.STRIPE_WEBHOOK_SECRETS:
        try:
            stripe.WebhookSignature.verify_header(text, signature, secret, settings.STRIPE_WEBHOOK_TOLERANCE)
        except stripe.SignatureVerificationError as exc:
            stale = stale or "tolerance" in str(exc).lower()
            continue
        except (ValueError, TypeError, UnicodeError):
            raise Rejected("invalid_signature", "The Stripe-Signature header is malformed.") from None
        # The library only refuses timestamps too far in the past; one too far in the future is a
        # signature made ahead of time (a replay waiting to happen), refused the same way.
        if _signed_at(signature) > time.time() + settings.STRIPE_WEBHOOK_TOLERANCE:
            stale = True
            continue
        break
    else:
        if stale:
            raise Rejected("stale_signature", "The signature's timestamp is outside the tolerance.")
        raise Rejected("invalid_signature", "No signature matches the payload.")
    try:
        event = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise Rejected("invalid_payload", "The body is not JSON.") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise Rejected("invalid_payload", "The body is not a Stripe event.")
    if not isinstance(event.get("created"), int) or not isinstance(event.get("data"), dict):
        raise Rejected("invalid_payload", "The body is not a Stripe event.")
    if not 0 <= event["created"] < 2**32:  # a Unix time the database can store
        raise Rejected("invalid_payload", "The event's created time is out of range.")
    return event


def _signed_at(signature: str) -> int:
    """The `t=` timestamp of a Stripe-Signature header the library accepted, read as it reads it
    (the first `t` item)."""
    return int(next(item.split("=", 2)[1] for item in signature.split(",") if item.split("=", 2)[0] == "t"))


_INSERT = f"""
    INSERT INTO {WebhookEvent._meta.db_table}
        (stripe_id, type, created, livemode, account, payload, state, attempts, last_error, received_at,
         leased_at, requeues)
    VALUES (%s, %s, %s, %s, %s, %s::jsonb, 'pending', 0, '', now(), now(), 0)
    ON CONFLICT (stripe_id) DO NOTHING
    RETURNING id
"""


def _without_nul(value):
    """The value with NUL characters removed from every string: PostgreSQL stores none (text or
    jsonb), and a signed event that cannot be stored would be answered 500 and retried for days."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def store(event: dict) -> int | None:
    """Insert the event once and return its row id; None when it was already stored (a duplicate)."""
    event = _without_nul(event)
    params = [
        event["id"][:255],
        event["type"][:100],
        datetime.fromtimestamp(event["created"], tz=UTC),
        bool(event.get("livemode")),
        str(event.get("account") or "")[:255],
        json.dumps(event),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, params)
        row = cursor.fetchone()
    return row[0] if row else None


@csrf_exempt
@require_POST
def stripe_webhook(request):
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.STRIPE_WEBHOOK_MAX_BYTES:
        return _reject(Rejected("payload_too_large", "The body is larger than the limit."))
    payload = request.read(settings.STRIPE_WEBHOOK_MAX_BYTES + 1)
    if len(payload) > settings.STRIPE_WEBHOOK_MAX_BYTES:
        return _reject(Rejected("payload_too_large", "The body is larger than the limit."))
    try:
        event = verify(payload, request.headers.get("Stripe-Signature", ""))
    except Rejected as rejected:
        return _reject(rejected)
    with transaction.atomic():
        event_id = store(event)
        if event_id is not None:
            # If the broker is down, the event waits in the inbox until its lease runs out.
            dispatch_after_commit(PROCESS_TASK, event_id, waits_for="the inbox sweep")
    created = event_id is not None
    if created:
        metrics.WEBHOOKS_RECEIVED.labels(type=event["type"][:100]).inc()
    else:
        metrics.WEBHOOKS_DUPLICATES.inc()
    return JsonResponse({"received": True, "duplicate": not created})


def _reject(rejected: Rejected) -> JsonResponse:
    metrics.WEBHOOKS_REJECTED.labels(reason=rejected.code).inc()
    return JsonResponse({"code": rejected.code, "detail": rejected.detail}, status=rejected.status)
