"""Bad input at POST /stripe/webhooks/: whatever arrives, the answer is never a 5xx and nothing that
was rejected is stored. (The Schemathesis run over every API operation lives in tests/api/.)"""

from __future__ import annotations

import json
import random
import time

import pytest
from django.conf import settings
from django.test import Client

from tests.helpers import stripe_event, stripe_signature
from tests.reliability import report
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

SIZES = {"ci": 400, "full": 5000}
CONTENT_TYPES = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/xml",
    "",
    "application/json; charset=latin-1",
    "*/*",
]

KINDS = [
    "random_bytes",
    "random_bytes_signed",
    "truncated_json",
    "truncated_json_signed",
    "wrong_secret",
    "stale",
    "future",
    "missing_signature",
    "garbage_signature",
    "non_ascii_signature",
    "huge_signature",
    "huge_body",
    "huge_body_signed",
    "wrong_content_type_unsigned",
    "wrong_content_type_signed",
    "not_an_event",
    "deep_nesting",
    "nul_characters",
    "wrong_method",
    "empty_body",
    "tampered",
]


def _valid_payload(rng: random.Random) -> str:
    event = stripe_event(
        rng.choice(["customer.subscription.updated", "invoice.paid", "charge.succeeded"]),
        {"id": f"sub_fuzz_{rng.randrange(10**9)}", "object": "subscription", "customer": "cus_nobody"},
    )
    return json.dumps(event)


def _case(rng: random.Random, secret: str) -> tuple[str, dict, bool]:
    """(kind, request kwargs, may be stored): one bad request, and whether a 2xx is legitimate
    (only a correctly signed Stripe event may be stored, whatever its content type)."""
    now = int(time.time())
    kind = rng.choice(KINDS)
    payload: str | bytes = _valid_payload(rng)
    signature = None
    content_type = "application/json"
    method = "post"
    legitimate = False
    if kind == "random_bytes":
        payload = rng.randbytes(rng.randrange(1, 4000))
        signature = stripe_signature(_valid_payload(rng), secret)
    elif kind == "random_bytes_signed":
        payload = rng.randbytes(rng.randrange(1, 4000))
        text = payload.decode("latin-1")
        signature = f"t={now},v1=" + stripe_signature(text, secret).split("v1=")[1]
    elif kind in ("truncated_json", "truncated_json_signed"):
        payload = payload[: rng.randrange(1, len(payload) - 1)]
        signature = stripe_signature(payload, secret if kind.endswith("signed") else "whsec_not_ours")
    elif kind == "wrong_secret":
        signature = stripe_signature(payload, "whsec_" + "".join(rng.choices("abcdef0123456789", k=32)))
    elif kind == "stale":
        signature = stripe_signature(payload, secret, timestamp=now - settings.STRIPE_WEBHOOK_TOLERANCE - 60)
    elif kind == "future":
        signature = stripe_signature(payload, secret, timestamp=now + settings.STRIPE_WEBHOOK_TOLERANCE + 60)
        # Stripe's library checks only for old timestamps (replays); a future one signed with our
        # secret can only come from Stripe, so storing it is allowed.
        legitimate = True
    elif kind == "missing_signature":
        signature = None
    elif kind == "garbage_signature":
        signature = rng.choice(
            [
                "t=,v1=",
                "v1=abc",
                "t=abc,v1=def",
                ",,,",
                "t=1" + "0" * 40 + ",v1=00",
                f"t={now},v0={'a' * 64}",
                f"t={now}",
                "=" * 10,
            ]
        )
    elif kind == "non_ascii_signature":
        signature = f"t={now},v1=é" + "ü" * rng.randrange(1, 50)
    elif kind == "huge_signature":
        signature = ",".join(f"v1={rng.randbytes(32).hex()}" for _ in range(500)) + f",t={now}"
    elif kind in ("huge_body", "huge_body_signed"):
        padding = "x" * (settings.STRIPE_WEBHOOK_MAX_BYTES + rng.randrange(1, 5000))
        payload = '{"id": "evt_huge", "pad": "' + padding + '"}'
        signature = stripe_signature(payload, secret if kind.endswith("signed") else "whsec_not_ours")
    elif kind == "wrong_content_type_unsigned":
        content_type = rng.choice(CONTENT_TYPES[1:])
        signature = stripe_signature(payload, "whsec_not_ours")
    elif kind == "wrong_content_type_signed":
        content_type = rng.choice(CONTENT_TYPES[1:])
        signature = stripe_signature(payload, secret)
        legitimate = True  # Stripe's signature is the authentication; the header is not
    elif kind == "not_an_event":
        payload = json.dumps(
            rng.choice(
                [
                    [],
                    "event",
                    42,
                    None,
                    {},
                    {"id": 1, "type": "x", "created": 1, "data": {}},
                    {"id": "evt_x", "type": None, "created": 1, "data": {}},
                    {"id": "evt_x", "type": "x", "created": "1", "data": {}},
                    {"id": "evt_x", "type": "x", "created": 1, "data": []},
                    {"id": "evt_x", "type": "x", "created": 1.5, "data": {}},
                    {"id": "evt_x", "type": "x", "created": 10**30, "data": {}},
                ]
            )
        )
        signature = stripe_signature(payload, secret)
    elif kind == "deep_nesting":
        depth = rng.choice([1000, 20000, 200000])
        payload = '{"id": "evt_deep", "type": "x", "created": 1, "data": ' + "[" * depth + "]" * depth + "}"
        signature = stripe_signature(payload, secret)
    elif kind == "nul_characters":
        event = json.loads(payload)
        event["data"]["object"]["description"] = "nul \u0000 here"
        payload = json.dumps(event)
        signature = stripe_signature(payload, secret)
        legitimate = True  # a signed event: storing it (without the NUL) or refusing it are both fine
    elif kind == "wrong_method":
        method = rng.choice(["get", "put", "patch", "delete", "head", "options"])
        signature = stripe_signature(payload, secret)
    elif kind == "empty_body":
        payload = ""
        signature = stripe_signature(payload, secret)
    elif kind == "tampered":
        signature = stripe_signature(payload, secret)
        payload = payload.replace("cus_nobody", "cus_someone")
    kwargs = {"path": "/stripe/webhooks/", "data": payload, "content_type": content_type, "method": method}
    if signature is not None:
        kwargs["HTTP_STRIPE_SIGNATURE"] = signature
    return kind, kwargs, legitimate


@pytest.mark.parametrize("size", [pytest.param("ci", id="ci"), pytest.param("full", id="full", marks=pytest.mark.slow)])
def test_fuzzed_webhooks_never_get_5xx_and_rejected_input_is_never_stored(size):
    rng = random.Random(f"webhook-fuzz-{size}")
    client = Client(HTTP_HOST=settings.PLATFORM_DOMAIN, raise_request_exception=False)
    secret = settings.STRIPE_WEBHOOK_SECRETS[0]
    started = time.monotonic()
    fivexx, stored_rejected, by_kind = [], [], {}
    for _ in range(SIZES[size]):
        kind, kwargs, legitimate = _case(rng, secret)
        before = WebhookEvent.objects.count()
        method, path = kwargs.pop("method"), kwargs.pop("path")
        # generic(): the body goes out raw whatever the method, as a real client could send it.
        response = client.generic(method.upper(), path, **kwargs)
        stored = WebhookEvent.objects.count() - before
        by_kind.setdefault(kind, set()).add(response.status_code)
        if response.status_code >= 500:
            fivexx.append((kind, response.status_code))
        if stored and not (legitimate and 200 <= response.status_code < 300):
            stored_rejected.append((kind, response.status_code))
        if not 200 <= response.status_code < 300:
            assert stored == 0
    report.record(
        "webhook_fuzz",
        size,
        seconds=time.monotonic() - started,
        load=f"{SIZES[size]} requests, {len(by_kind)} kinds",
        faults="random bytes, truncated JSON, wrong/stale/missing/garbage signatures, >1 MiB bodies, "
        "content types, methods, deep nesting, NUL characters",
        sent=SIZES[size],
        lost=None,
        duplicated=None,
        **{"5xx": len(fivexx)},
        checks=f"{len(stored_rejected)} rows stored from rejected input",
    )
    assert not fivexx, fivexx[:10]
    assert not stored_rejected, stored_rejected[:10]
    assert sorted(by_kind) == sorted(KINDS), "a kind never drawn would pass the checks below unseen"
    # The cases that must be refused were refused.
    for kind in (
        "random_bytes",
        "truncated_json",
        "wrong_secret",
        "stale",
        "missing_signature",
        "huge_body",
        "huge_body_signed",
        "not_an_event",
        "tampered",
        "empty_body",
    ):
        assert all(400 <= code < 500 for code in by_kind[kind]), (kind, by_kind[kind])
    assert all(code == 405 for code in by_kind["wrong_method"]), by_kind["wrong_method"]
