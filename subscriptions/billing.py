"""Sessions on Stripe-hosted pages for a company: the billing portal and Checkout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from saas_platform.errors import ServiceError

from companies.models import Company
from companies.selectors import members_count
from subscriptions.entitlements import LIVE_STATUSES
from subscriptions.models import CompanySubscription
from subscriptions.plans import plan_for_lookup_key
from subscriptions.stripe_api import as_dict, price_id_for_lookup_key, stripe_client

if TYPE_CHECKING:
    from stripe.params.billing_portal import SessionCreateParams
    from stripe.params.checkout import SessionCreateParams as CheckoutSessionCreateParams

PORTAL_CONFIGURATION_METADATA = {"managed_by": "saas-billing-platform"}

_PORTAL_CONFIGURATION_CACHE_KEY = "billing:portal-configuration"


class NoStripeCustomer(ServiceError):
    """The company has no Stripe customer yet (onboarding not finished)."""

    code = "no_customer"
    detail = "The company has no Stripe customer yet."


class AlreadySubscribed(ServiceError):
    """Checkout makes a new subscription; a company with a live one changes it in the portal."""

    code = "already_subscribed"
    detail = "The company already has a live subscription; use the billing portal."


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
    """A Checkout page subscribing the company to a price (for its members' seats on a per-seat plan);
    refused while it has a live subscription."""
    if CompanySubscription.objects.filter(company=company, status__in=LIVE_STATUSES).exists():
        raise AlreadySubscribed()
    if not company.stripe_customer_id:
        raise NoStripeCustomer()
    plan = plan_for_lookup_key(price_lookup_key)
    quantity = plan.quantity_for(members=members_count(company=company)) if plan else 1
    params: CheckoutSessionCreateParams = {
        "mode": "subscription",
        "customer": company.stripe_customer_id,
        "line_items": [{"price": price_id_for_lookup_key(price_lookup_key), "quantity": quantity}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(company.pk),
        "allow_promotion_codes": True,  # customers type them on Stripe's page
        "subscription_data": {"metadata": {"company_id": str(company.pk), "company_slug": company.slug}},
    }
    if settings.STRIPE_AUTOMATIC_TAX:
        # Checkout taxes the subscription: it collects the billing address (required) and tax IDs and
        # saves them on the existing customer (`customer_update`, which Stripe requires for automatic
        # tax and tax ID collection with a customer that may have no address or name yet).
        params["automatic_tax"] = {"enabled": True}
        params["tax_id_collection"] = {"enabled": True}
        params["billing_address_collection"] = "required"
        params["customer_update"] = {"address": "auto", "name": "auto"}
    session = stripe_client().v1.checkout.sessions.create(params=params)
    if session.url is None:  # only embedded Checkout (ui_mode) comes without a page to send people to
        raise RuntimeError(f"Checkout session {session.id} has no url")
    return session.url
