"""The one place that builds a Stripe client. The emulator is just another API base to it."""

from __future__ import annotations

import functools

import stripe
from django.conf import settings


@functools.lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, max_network_retries: int) -> stripe.StripeClient:
    options: dict = {"max_network_retries": max_network_retries}
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **options)


def stripe_client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES)


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: the network, rate limits, Stripe's own 5xx, a lock conflict."""
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    if isinstance(exc, stripe.StripeError):
        return (exc.http_status or 0) >= 500 or (exc.http_status == 409)
    from django.db import OperationalError

    return isinstance(exc, OperationalError)


def as_dict(stripe_object) -> dict:
    """A Stripe object (or None) as a plain dict; the library's objects are not dicts."""
    if stripe_object is None:
        return {}
    return stripe_object.to_dict() if hasattr(stripe_object, "to_dict") else dict(stripe_object)
