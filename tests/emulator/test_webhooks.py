"""Webhook delivery: signatures, retries, chaos knobs."""

import json

import pytest
import stripe

from stripe_emulator.testing import EmulatorProcess


def test_signed_delivery_verified_by_stripe_library(emulator, client, receiver, make):
    secret = emulator.register_webhook(receiver.url)
    assert secret.startswith("whsec_")
    cus = make.customer(email="hook@example.com")
    assert emulator.wait_for_deliveries(15) is True
    assert len(receiver.requests) == 1
    req = receiver.requests[0]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["user-agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    event = stripe.Webhook.construct_event(req["body"], headers["stripe-signature"], secret)
    assert event.type == "customer.created"
    assert event.data.object.id == cus.id
    assert event.api_version == "2026-10-28.endive"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(req["body"], headers["stripe-signature"], "whsec_wrong")
    log = emulator.deliveries()
    assert log[0]["event_type"] == "customer.created" and log[0]["last_status"] == 200
    assert log[0]["attempts"] == 1 and log[0]["status"] == "succeeded"


def test_endpoint_created_through_api_gets_only_enabled_events(emulator, client, receiver, make):
    ep = client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["customer.updated"]})
    cus = make.customer()
    client.v1.customers.update(cus.id, params={"name": "N"})
    assert emulator.wait_for_deliveries(15)
    events = receiver.events()
    assert [e["type"] for e in events] == ["customer.updated"]
    sig = receiver.requests[0]["headers"]["Stripe-Signature"]
    stripe.Webhook.construct_event(receiver.requests[0]["body"], sig, ep.secret)


def test_register_webhook_same_url_twice_updates(emulator, client, receiver, make):
    emulator.register_webhook(receiver.url, "whsec_first")
    emulator.register_webhook(receiver.url, "whsec_second")
    assert len(client.v1.webhook_endpoints.list().data) == 1
    make.customer()
    assert emulator.wait_for_deliveries(15)
    r = receiver.requests[0]
    stripe.Webhook.construct_event(r["body"], r["headers"]["Stripe-Signature"], "whsec_second")


def test_retries_on_non_2xx(emulator, receiver, make):
    emulator.register_webhook(receiver.url)
    receiver.fail_next = 2
    make.customer()
    assert emulator.wait_for_deliveries(20) is True
    assert [r["status"] for r in receiver.requests] == [500, 500, 200]
    log = emulator.deliveries()
    assert log[0]["attempts"] == 3 and log[0]["status"] == "succeeded"
    ids = {json.loads(r["body"])["id"] for r in receiver.requests}
    assert len(ids) == 1


def test_gives_up_after_retry_schedule(emulator, receiver, make):
    emulator.configure(retry_delays=[0.05, 0.05])
    emulator.register_webhook(receiver.url)
    receiver.fail_next = 100
    make.customer()
    assert emulator.wait_for_deliveries(20) is True
    log = emulator.deliveries()
    assert log[0]["attempts"] == 3 and log[0]["status"] == "failed" and log[0]["last_status"] == 500


def test_wait_reports_not_drained_when_retry_is_far_away(emulator, receiver, make, wait_until):
    emulator.configure(retry_delays=[60])
    emulator.register_webhook(receiver.url)
    receiver.fail_next = 1
    make.customer()
    wait_until(lambda: receiver.requests, message="first attempt")
    assert emulator.wait_for_deliveries(0.5) is False
    emulator.reset()
    assert emulator.wait_for_deliveries(5) is True


def test_unreachable_endpoint_is_retried(emulator, make):
    emulator.configure(retry_delays=[0.05])
    emulator.register_webhook("http://127.0.0.1:9/nowhere")
    make.customer()
    assert emulator.wait_for_deliveries(20) is True
    log = emulator.deliveries()
    assert log[0]["attempts"] == 2 and log[0]["status"] == "failed" and log[0]["last_status"] is None


def test_chaos_duplicate(emulator, receiver, make):
    emulator.register_webhook(receiver.url)
    emulator.configure(chaos_duplicate=True)
    make.customer()
    assert emulator.wait_for_deliveries(15)
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_chaos_shuffle(emulator, client, receiver, make):
    emulator.register_webhook(receiver.url)
    emulator.configure(chaos_shuffle=True, delivery_paused=True)
    created = [make.customer(email="s%d@example.com" % i).id for i in range(12)]
    emulator.configure(delivery_paused=False)
    assert emulator.wait_for_deliveries(20)
    delivered = [e["data"]["object"]["id"] for e in receiver.events()]
    assert sorted(delivered) == sorted(created)
    assert delivered != created  # 1 / 12! chance of a false failure


def test_chaos_delay(emulator, receiver, make):
    emulator.register_webhook(receiver.url)
    emulator.configure(chaos_delay=0.3)
    make.customer()
    assert emulator.wait_for_deliveries(15)
    assert len(receiver.events()) == 1


def test_chaos_fail_rate(emulator, client):
    emulator.configure(chaos_fail_rate=1.0)
    with pytest.raises(stripe.APIError) as exc:
        client.v1.customers.list()
    assert exc.value.http_status == 500
    assert exc.value.error.type == "api_error"
    # control endpoints are never subject to chaos
    assert emulator.health()["status"] == "ok"
    emulator.configure(chaos_fail_rate=0.3)
    retrying = emulator.client("sk_test_emulator_tests", max_network_retries=12)
    for i in range(4):
        retrying.v1.customers.create(params={"email": "r%d@example.com" % i})
    emulator.configure(chaos_fail_rate=0.0)
    assert len(client.v1.customers.list().data) == 4  # retries are idempotent


def test_chaos_slow(emulator, client):
    import time

    emulator.configure(chaos_slow_rate=1.0, chaos_slow_seconds=0.3)
    t0 = time.time()
    client.v1.customers.list()
    assert time.time() - t0 >= 0.3


def test_flag_registered_endpoint_and_state_file(tmp_path, receiver):
    state = tmp_path / "state.json"
    args = [
        "--webhook-url",
        receiver.url,
        "--webhook-secret",
        "whsec_known_secret",
        "--state-file",
        str(state),
        "--retry-delays",
        "0.1",
    ]
    with EmulatorProcess(extra_args=args) as emu:
        c = emu.client()
        cus = c.v1.customers.create(params={"email": "persist@example.com"})
        assert emu.wait_for_deliveries(15)
        r = receiver.requests[0]
        ev = stripe.Webhook.construct_event(r["body"], r["headers"]["Stripe-Signature"], "whsec_known_secret")
        assert ev.data.object.id == cus.id
        emu.reset()  # the flag endpoint survives a reset
        assert len(c.v1.webhook_endpoints.list().data) == 1
        c.v1.customers.create(params={"email": "persist@example.com"})
    assert state.exists()
    with EmulatorProcess(extra_args=["--state-file", str(state)]) as emu:
        got = emu.client().v1.customers.list(params={"email": "persist@example.com"}).data
        assert len(got) == 1
    with EmulatorProcess(extra_args=["--state-file", str(state), "--reset"]) as emu:
        assert emu.client().v1.customers.list().data == []
