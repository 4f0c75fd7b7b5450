"""Stripe's request limits and network latency, both off unless configured
(``--rate-limit``, ``--latency``; ``/_emulator/config`` at run time).

Limits, from Stripe's "Rate limits" page: a global limit of requests per second
per account (100 live, 25 in a sandbox; here per secret key, at ``rate_limit``),
a limit per endpoint - each API operation, e.g. ``GET /v1/customers/{customer}``
whatever the id - of 25 requests per second unless the docs say otherwise
(``endpoint_rate_limit``; the Search API's is 20), and 200 quantity updates per
subscription per hour (``quantity_update_limit``). Beyond a limit Stripe answers
429 with ``code: rate_limit``; which limiter refused is in the
``Stripe-Rate-Limited-Reason`` header. Stripe documents no ``Retry-After`` and
its libraries do not retry rate limits (only lock timeouts, which come with
``Stripe-Should-Retry: true``), so the answer says ``Stripe-Should-Retry: false``.

The per-second limits are token buckets - the algorithm Stripe describes for its
own request limiter: a key may spend up to a second's worth of requests at once,
and earns them back continuously. The hourly quantity limit is a sliding window
(the timestamps of the last hour's updates per subscription): an update is
refused while 200 happened in the past hour, which is the strictest reading of
"200 per hour", so a client that stays within it here stays within it at Stripe.
"""

import random
import threading
import time
from collections import deque

from .errors import StripeError

RATE_LIMIT_MESSAGE = (
    "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."
)
QUANTITY_LIMIT_MESSAGE = (
    "Request rate limit exceeded: this subscription's quantity was updated %d times in the last hour, the most "
    "Stripe allows. Learn more about rate limits here https://stripe.com/docs/rate-limits."
)
SEARCH_RATE_LIMIT = 20.0  # the Search API's own per-endpoint limit
QUANTITY_WINDOW_SECONDS = 3600.0

# Operations that can change a subscription item's quantity, and where the subscription's id comes from.
SUBSCRIPTION_UPDATE = "POST /v1/subscriptions/{subscription_exposed_id}"
SUBSCRIPTION_ITEM_CREATE = "POST /v1/subscription_items"
SUBSCRIPTION_ITEM_UPDATE = "POST /v1/subscription_items/{item}"


class RateLimited(StripeError):
    """Stripe's 429: ``rate_limit`` body, and the headers Stripe sends with it."""

    def __init__(self, reason, message=RATE_LIMIT_MESSAGE):
        super().__init__(429, "invalid_request_error", message, code="rate_limit")
        self.headers = {"Stripe-Should-Retry": "false", "Stripe-Rate-Limited-Reason": reason}


def latency_seconds(config, rng=random):
    """How long to hold an API call: ``latency_ms`` plus a uniform 0..``latency_jitter_ms``."""
    milliseconds = config["latency_ms"]
    if config["latency_jitter_ms"]:
        milliseconds += rng.uniform(0, config["latency_jitter_ms"])
    return milliseconds / 1000.0


def endpoint_limit(config, operation_key):
    """The operation's own limit (0: none); ``endpoint_rate_limit`` 0 turns every endpoint limit off."""
    limit = config["endpoint_rate_limit"]
    if limit and operation_key.endswith("/search"):
        return min(limit, SEARCH_RATE_LIMIT)
    return limit


class TokenBucket:
    """``rate`` tokens per second, at most one second's worth kept (and at least one)."""

    def __init__(self, rate, now):
        self.tokens = max(rate, 1.0)
        self.updated = now

    def refill(self, rate, now):
        self.tokens = min(max(rate, 1.0), self.tokens + (now - self.updated) * rate)
        self.updated = now
        return self.tokens >= 1


class Limiter:
    """The emulator's limiters; thread-safe. ``clock`` is injectable for tests."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets = {}
        self._quantity_updates = {}

    def reset(self):
        with self._lock:
            self._buckets.clear()
            self._quantity_updates.clear()

    def admit(self, config, api_key, operation_key):
        """Count one request of ``api_key`` (to ``operation_key``, None for a path Stripe does not have)
        against the global and endpoint limits; raises ``RateLimited`` (counting nothing) when over one."""
        if not config["rate_limit"]:
            return
        limits = [(("global", api_key), config["rate_limit"], "global-rate")]
        if operation_key and endpoint_limit(config, operation_key):
            limits.append(((operation_key, api_key), endpoint_limit(config, operation_key), "endpoint-rate"))
        with self._lock:
            now = self.clock()
            buckets = []
            for key, rate, reason in limits:
                bucket = self._buckets.get(key)
                if bucket is None:
                    bucket = self._buckets[key] = TokenBucket(rate, now)
                if not bucket.refill(rate, now):
                    raise RateLimited(reason)
                buckets.append(bucket)
            for bucket in buckets:
                bucket.tokens -= 1

    def admit_quantity_update(self, config, subscription_id):
        """Count one quantity update of ``subscription_id``; raises ``RateLimited`` when the past hour
        already holds ``quantity_update_limit`` of them."""
        limit = config["quantity_update_limit"]
        if not config["rate_limit"] or not limit:
            return
        with self._lock:
            now = self.clock()
            window = self._quantity_updates.setdefault(subscription_id, deque())
            while window and window[0] <= now - QUANTITY_WINDOW_SECONDS:
                window.popleft()
            if len(window) >= limit:
                raise RateLimited("resource-specific", QUANTITY_LIMIT_MESSAGE % limit)
            window.append(now)


def quantity_update_target(state, operation_key, params, path_arguments):
    """The id of the subscription whose quantity this request updates, or None.
    ``state`` must be locked (an item id is looked up among subscriptions)."""
    if operation_key == SUBSCRIPTION_UPDATE:
        if any("quantity" in item for item in params.get("items") or ()):
            return path_arguments[0]
    elif operation_key == SUBSCRIPTION_ITEM_CREATE:
        if "quantity" in params:
            return params.get("subscription")
    elif operation_key == SUBSCRIPTION_ITEM_UPDATE and "quantity" in params:
        for subscription in state.all("subscriptions"):
            if any(item["id"] == path_arguments[0] for item in subscription.get("_items", ())):
                return subscription["id"]
    return None
