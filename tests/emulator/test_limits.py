"""Stripe's rate limits and network latency, off by default (``--rate-limit``,
``--latency``, ``/_emulator/config``), through the real ``stripe`` library."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe

from stripe_emulator.limits import Limiter, RateLimited, latency_seconds
from stripe_emulator.testing import EmulatorProcess

from .conftest import API_KEY

RATE_LIMIT_BODY = {
    "type": "invalid_request_error",
    "code": "rate_limit",
    "message": "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
    "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
}


class CountingClient:
    """A ``stripe`` client whose HTTP client counts the requests it really sends (retries included)."""

    def __init__(self, emulator, max_network_retries=2):
        lock = threading.Lock()
        counter = self
        self.sent = 0
        base = type(stripe.new_default_http_client())

        class Counting(base):
            def request(self, *args, **kwargs):
                with lock:
                    counter.sent += 1
                return super().request(*args, **kwargs)

        self.stripe = stripe.StripeClient(
            API_KEY,
            base_addresses={"api": emulator.api_base},
            http_client=Counting(),
            max_network_retries=max_network_retries,
        )


def burst(call, count, threads=10):
    """Run ``call`` ``count`` times from ``threads`` threads; (successes, rate-limit errors, seconds taken)."""

    def attempt(_index):
        try:
            call()
            return None
        except stripe.RateLimitError as error:
            return error

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(attempt, range(count)))
    elapsed = time.monotonic() - started
    errors = [outcome for outcome in outcomes if outcome is not None]
    return count - len(errors), errors, elapsed


def list_customers(client):
    return lambda: client.v1.customers.list(params={"limit": 1})


def test_limits_and_latency_are_off_by_default(emulator, client):
    config = emulator.config()
    assert config["rate_limit"] == 0 and config["latency_ms"] == 0 and config["latency_jitter_ms"] == 0
    succeeded, errors, _ = burst(list_customers(client), 100)
    assert succeeded == 100 and errors == []


def test_rate_limit_25_turns_a_burst_of_100_calls_into_stripe_shaped_429s(emulator):
    emulator.configure(rate_limit=25)
    counting = CountingClient(emulator, max_network_retries=2)

    succeeded, errors, elapsed = burst(list_customers(counting.stripe), 100)

    # A token bucket of 25 per second: the first 25 pass, then 25 more per second taken.
    assert 25 <= succeeded <= 25 + 25 * elapsed + 1
    assert len(errors) == 100 - succeeded > 0
    error = errors[0]
    assert error.http_status == 429
    assert {k: v for k, v in error.json_body["error"].items() if k != "request_log_url"} == RATE_LIMIT_BODY
    assert error.headers["Stripe-Should-Retry"] == "false"
    assert error.headers["Stripe-Rate-Limited-Reason"] == "global-rate"
    assert "Retry-After" not in error.headers  # Stripe documents none
    assert error.headers["Request-Id"].startswith("req_")
    # The library honours Stripe-Should-Retry: false - one request per call, no retries piling on.
    assert counting.sent == 100


def test_each_endpoint_has_its_own_limit_within_the_global_one(emulator, client):
    emulator.configure(rate_limit=1000, endpoint_rate_limit=5)

    succeeded, errors, elapsed = burst(list_customers(client), 20)

    assert 5 <= succeeded <= 5 + 5 * elapsed + 1 and errors
    assert {error.headers["Stripe-Rate-Limited-Reason"] for error in errors} == {"endpoint-rate"}
    # Other operations have buckets of their own.
    client.v1.products.list()
    customer = client.v1.customers.create(params={"email": "own-bucket@example.com"})
    client.v1.customers.retrieve(customer.id)


def test_runtime_reconfiguration_turns_limits_on_and_off(emulator, client):
    emulator.configure(rate_limit=25)
    _, errors, _ = burst(list_customers(client), 100)
    assert errors

    config = emulator.configure(rate_limit=0)

    assert config["rate_limit"] == 0
    succeeded, errors, _ = burst(list_customers(client), 100)
    assert succeeded == 100 and errors == []


def test_quantity_updates_beyond_the_hourly_limit_per_subscription_are_429(emulator, client, make):
    emulator.configure(rate_limit=1000, quantity_update_limit=3)
    price = make.price()
    customer = make.customer(card="pm_card_visa")
    seats = client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": price.id}]})
    other = client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": price.id}]})
    item = seats["items"].data[0].id

    def set_quantity(subscription, quantity):
        return client.v1.subscriptions.update(
            subscription.id, params={"items": [{"id": subscription["items"].data[0].id, "quantity": quantity}]}
        )

    for quantity in (2, 3, 4):
        set_quantity(seats, quantity)
    with pytest.raises(stripe.RateLimitError) as refused:
        set_quantity(seats, 5)

    assert refused.value.http_status == 429
    assert refused.value.json_body["error"]["code"] == "rate_limit"
    assert refused.value.headers["Stripe-Rate-Limited-Reason"] == "resource-specific"
    assert client.v1.subscription_items.retrieve(item).quantity == 4  # the refused update changed nothing
    # Other updates of that subscription, and other subscriptions' quantities, are not limited.
    client.v1.subscriptions.update(seats.id, params={"metadata": {"seats": "4"}})
    assert set_quantity(other, 2)["items"].data[0].quantity == 2


def test_latency_is_added_to_every_api_call(emulator, client):
    emulator.configure(latency_ms=250)

    for call in (client.v1.customers.list, lambda: client.v1.customers.retrieve("cus_missing")):
        started = time.monotonic()
        try:
            call()
        except stripe.InvalidRequestError:
            pass  # errors are delayed too
        assert time.monotonic() - started >= 0.25


def test_latency_jitter_adds_up_to_the_given_milliseconds():
    config = {"latency_ms": 100.0, "latency_jitter_ms": 50.0}
    rng = random.Random(14)

    delays = [latency_seconds(config, rng) for _ in range(200)]

    assert all(0.1 <= delay <= 0.15 for delay in delays)
    assert max(delays) - min(delays) > 0.04  # not a constant
    assert latency_seconds({"latency_ms": 0.0, "latency_jitter_ms": 0.0}) == 0


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def limits(**changes):
    config = {"rate_limit": 25.0, "endpoint_rate_limit": 25.0, "quantity_update_limit": 200}
    config.update(changes)
    return config


def admitted(limiter, config, count, operation="GET /v1/customers", key=API_KEY):
    passed = 0
    for _ in range(count):
        try:
            limiter.admit(config, key, operation)
            passed += 1
        except RateLimited:
            pass
    return passed


def test_token_bucket_refills_at_the_rate_and_keeps_at_most_a_second():
    clock = FakeClock()
    limiter = Limiter(clock)
    config = limits(endpoint_rate_limit=0)

    assert admitted(limiter, config, 40) == 25
    clock.now += 0.2
    assert admitted(limiter, config, 40) == 5
    clock.now += 60  # idle for a minute: still only one second's worth
    assert admitted(limiter, config, 40) == 25
    assert admitted(limiter, config, 5, key="sk_test_another_key") == 5  # per secret key


def test_search_endpoints_are_limited_to_20_per_second():
    limiter = Limiter(FakeClock())
    config = limits(rate_limit=1000)

    assert admitted(limiter, config, 30, operation="GET /v1/customers/search") == 20
    assert admitted(limiter, config, 30, operation="GET /v1/customers") == 25


def test_quantity_window_forgets_updates_older_than_an_hour():
    clock = FakeClock()
    limiter = Limiter(clock)
    config = limits()

    for _ in range(200):
        limiter.admit_quantity_update(config, "sub_1")
        clock.now += 1
    with pytest.raises(RateLimited):
        limiter.admit_quantity_update(config, "sub_1")
    clock.now = 1000.0 + 3600  # the first update is now an hour old
    limiter.admit_quantity_update(config, "sub_1")
    with pytest.raises(RateLimited):
        limiter.admit_quantity_update(config, "sub_1")


def test_flags_set_limits_and_latency_and_reset_restores_them():
    with EmulatorProcess(extra_args=["--rate-limit", "25", "--latency", "40", "--latency-jitter", "10"]) as emulator:
        config = emulator.config()
        assert (config["rate_limit"], config["endpoint_rate_limit"], config["quantity_update_limit"]) == (25, 25, 200)
        assert (config["latency_ms"], config["latency_jitter_ms"]) == (40, 10)
        emulator.configure(rate_limit=0, latency_ms=0)

        emulator.reset()

        assert emulator.config()["rate_limit"] == 25 and emulator.config()["latency_ms"] == 40
        client = emulator.client(API_KEY)
        started = time.monotonic()
        client.v1.customers.list()
        assert time.monotonic() - started >= 0.04
