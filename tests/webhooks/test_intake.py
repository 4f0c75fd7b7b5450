"""POST /stripe/webhooks/: only verified events are stored, each once, and always acknowledged fast."""

import json
import time

import pytest
from django.conf import settings

from tests.helpers import broker_unreachable, platform_client, post_event, stripe_event, stripe_signature
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def _event():
    return stripe_event("customer.subscription.updated", {"id": "sub_1", "object": "subscription", "customer": "cus_1"})


def _post_raw(body: bytes | str, signature: str | None, content_type="application/json"):
    headers = {"HTTP_HOST": settings.PLATFORM_DOMAIN}
    if signature is not None:
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    return platform_client().post("/stripe/webhooks/", data=body, content_type=content_type, **headers)


def test_verified_event_is_stored_once_and_acknowledged(django_capture_on_commit_callbacks):
    event = _event()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_event(platform_client(), event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert (stored.type, stored.state, stored.payload["id"]) == (event["type"], "pending", event["id"])
    assert len(callbacks) == 1  # the task is enqueued only after commit


def test_duplicate_delivery_is_a_normal_200_and_stored_once(django_capture_on_commit_callbacks):
    event = _event()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = post_event(platform_client(), event)
        second = post_event(platform_client(), event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["duplicate"] is True
    assert WebhookEvent.objects.filter(stripe_id=event["id"]).count() == 1
    assert len(callbacks) == 1


def test_rotated_secrets_are_all_accepted(settings):
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_new", "whsec_old"]
    assert post_event(platform_client(), _event(), secret="whsec_old").status_code == 200
    assert post_event(platform_client(), _event(), secret="whsec_new").status_code == 200


@pytest.mark.parametrize(
    "case, code",
    [
        ("missing_signature", "missing_signature"),
        ("tampered_body", "invalid_signature"),
        ("wrong_secret", "invalid_signature"),
        ("stale_timestamp", "stale_signature"),
        ("future_timestamp", "stale_signature"),
        ("garbage_header", "invalid_signature"),
        ("not_json", "invalid_payload"),
        ("json_but_not_an_event", "invalid_payload"),
        ("not_utf8", "invalid_payload"),
        ("too_large", "payload_too_large"),
        ("non_ascii_header", "invalid_signature"),
    ],
)
def test_rejected_input_gets_400_and_stores_nothing(case, code, django_capture_on_commit_callbacks):
    secret = settings.STRIPE_WEBHOOK_SECRETS[0]
    payload = json.dumps(_event())
    signature = stripe_signature(payload, secret)
    body: bytes | str = payload
    if case == "missing_signature":
        signature = None
    elif case == "tampered_body":
        body = payload.replace("sub_1", "sub_2")
    elif case == "wrong_secret":
        signature = stripe_signature(payload, "whsec_attacker")
    elif case == "stale_timestamp":
        signature = stripe_signature(payload, secret, int(time.time()) - 3600)
    elif case == "future_timestamp":  # signed ahead of time, to be replayed later
        signature = stripe_signature(payload, secret, int(time.time()) + settings.STRIPE_WEBHOOK_TOLERANCE + 60)
    elif case == "garbage_header":
        signature = "nonsense"
    elif case == "not_json":
        body = "this is not json"
        signature = stripe_signature(body, secret)
    elif case == "json_but_not_an_event":
        body = json.dumps([1, 2, 3])
        signature = stripe_signature(body, secret)
    elif case == "not_utf8":
        body = b"\xff\xfe\x00garbage"
        signature = stripe_signature("ignored", secret)
    elif case == "too_large":
        body = json.dumps({**_event(), "padding": "x" * (settings.STRIPE_WEBHOOK_MAX_BYTES + 10)})
        signature = stripe_signature(body, secret)
    elif case == "non_ascii_header":
        signature = "t=1,v1=é"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _post_raw(body, signature)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert WebhookEvent.objects.count() == 0
    assert callbacks == []


def test_signature_from_a_clock_slightly_ahead_is_accepted():
    """Clock skew within the tolerance is normal; only beyond it is a signature refused."""
    ahead = int(time.time()) + settings.STRIPE_WEBHOOK_TOLERANCE // 2
    assert post_event(platform_client(), _event(), timestamp=ahead).status_code == 200


def test_future_signature_under_a_rotated_secret_is_refused_too(settings):
    """Every configured secret applies the same window: no secret lets a future signature through."""
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_new", "whsec_old"]
    future = int(time.time()) + settings.STRIPE_WEBHOOK_TOLERANCE + 60
    response = post_event(platform_client(), _event(), secret="whsec_old", timestamp=future)
    assert (response.status_code, response.json()["code"]) == (400, "stale_signature")
    assert WebhookEvent.objects.count() == 0


def test_get_is_not_allowed():
    assert platform_client().get("/stripe/webhooks/").status_code == 405


def test_webhooks_are_not_served_on_company_hosts():
    from tests.factories import CompanyFactory
    from tests.helpers import company_client

    company = CompanyFactory()
    response = company_client(company).post("/stripe/webhooks/", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_broker_down_still_acknowledges_and_keeps_the_event():
    """With Redis unreachable the event is stored and answered 200; beat re-enqueues it later."""
    with broker_unreachable():
        started = time.monotonic()
        event = _event()
        response = post_event(platform_client(), event)
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert WebhookEvent.objects.get(stripe_id=event["id"]).state == "pending"
    assert elapsed < 15
