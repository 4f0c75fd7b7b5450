"""The one place that builds a Stripe client. The emulator is just another API base to it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)
T = TypeVar("T")


@functools.lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, max_network_retries: int) -> stripe.StripeClient:
    options: dict = {"max_network_retries": max_network_retries}
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **options)


def stripe_client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES)


def price_id_for_lookup_key(lookup_key: str) -> str:
    """The id of the active price with this lookup key (sync_plans makes the catalog's), else LookupError."""
    prices = stripe_client().v1.prices.list(params={"lookup_keys": [lookup_key], "active": True, "limit": 1})
    if not prices.data:
        raise LookupError(f"no active Stripe price with lookup key {lookup_key!r}; run manage.py sync_plans")
    return prices.data[0].id


def as_dict(stripe_object) -> dict:
    """A Stripe object (or None) as a plain dict; the library's objects are not dicts."""
    if stripe_object is None:
        return {}
    return stripe_object.to_dict() if hasattr(stripe_object, "to_dict") else dict(stripe_object)


_RETRIEVERS = {
    "customer": lambda client: client.v1.customers,
    "subscription": lambda client: client.v1.subscriptions,
    "invoice": lambda client: client.v1.invoices,
    "checkout.session": lambda client: client.v1.checkout.sessions,
    "promotion_code": lambda client: client.v1.promotion_codes,
    "coupon": lambda client: client.v1.coupons,
    "test_helpers.test_clock": lambda client: client.v1.test_helpers.test_clocks,
}


def stripe_retrieve(object_type: str, object_id, *, expand: list[str] | None = None) -> dict | None:
    """Stripe's current copy of an object as a plain dict (with `expand`ed fields), or None when Stripe
    does not know it (an id that never existed, or not a string at all). Other errors propagate:
    transient ones are retried."""
    if not isinstance(object_id, str) or not object_id or len(object_id) > 255:
        return None
    params = {"expand": expand} if expand else {}
    try:
        return _RETRIEVERS[object_type](stripe_client()).retrieve(object_id, params=params).to_dict()
    except stripe.InvalidRequestError:
        return None


def unless_stripe_fails(read: Callable[[], T], *, what: str) -> T | None:
    """What `read` returns, or None when Stripe cannot be reached or fails (logged): for a page that
    renders whatever Stripe says; the API answers those errors instead."""
    try:
        return read()
    except stripe.StripeError:
        logger.warning("%s unavailable from Stripe", what, exc_info=True)
        return None
