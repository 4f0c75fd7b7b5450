"""Sessions on Stripe-hosted pages for a company: the billing portal and Checkout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.cache import cache

from companies.models import Company
from subscriptions.stripe_api import as_dict, stripe_client

if TYPE_CHECKING:
    from stripe.params.billing_portal import SessionCreateParams

PORTAL_CONFIGURATION_METADATA = {"managed_by": "saas-billing-platform"}
_PORTAL_CONFIGURATION_CACHE_KEY = "billing:portal-configuration"


class NoStripeCustomer(Exception):
    """The company has no Stripe customer yet (onboarding not finished)."""


def portal_configuration_id() -> str | None:
    """The portal configuration sync_plans made (plan switching between catalog prices)."""
    cached = cache.get(_PORTAL_CONFIGURATION_CACHE_KEY)
    if cached:
        return cached
    for configuration in stripe_client().v1.billing_portal.configurations.list(params={"limit": 100}).data:
        metadata = as_dict(configuration.metadata)
        if configuration.active and metadata.get("managed_by") == PORTAL_CONFIGURATION_METADATA["managed_by"]:
            cache.set(_PORTAL_CONFIGURATION_CACHE_KEY, configuration.id, 3600)
            return configuration.id
    return None


def billing_portal_session_create(*, company: Company, return_url: str) -> str:
    if not company.stripe_customer_id:
        raise NoStripeCustomer()
    params: SessionCreateParams = {"customer": company.stripe_customer_id, "return_url": return_url}
    configuration = portal_configuration_id()
    if configuration:
        params["configuration"] = configuration
    return stripe_client().v1.billing_portal.sessions.create(params=params).url


def checkout_session_create(*, company: Company, price_lookup_key: str, success_url: str, cancel_url: str) -> str:
    if not company.stripe_customer_id:
        raise NoStripeCustomer()
    client = stripe_client()
    prices = client.v1.prices.list(params={"lookup_keys": [price_lookup_key], "active": True, "limit": 1})
    if not prices.data:
        raise LookupError(price_lookup_key)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": company.stripe_customer_id,
            "line_items": [{"price": prices.data[0].id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": str(company.pk),
            "subscription_data": {"metadata": {"company_id": str(company.pk), "company_slug": company.slug}},
        }
    )
    if session.url is None:  # only embedded Checkout (ui_mode) comes without a page to send people to
        raise RuntimeError(f"Checkout session {session.id} has no url")
    return session.url
