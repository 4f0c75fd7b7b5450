"""Stripe Tax for a company's subscription (STRIPE_AUTOMATIC_TAX): where Stripe places the customer,
and automatic tax switched on for the live subscription once Stripe can place it.

Stripe computes tax only for a customer it can locate (https://docs.stripe.com/tax/customer-locations):
the customer's `tax.automatic_tax` is `supported` (taxed where the account collects), `not_collecting`
(placed, but no registration there: 0 tax) or `unrecognized_location`/`failed` (no usable address). A
subscription with automatic tax and an unplaceable customer would have its invoice finalized without
tax and automatic tax switched off, so it is switched on only once the customer is placed: at the
sync after Checkout, the billing details form, or the portal changed the address.
"""

from __future__ import annotations

from django.conf import settings
from stripe.params import CustomerCreateTaxIdParams

from companies.models import Company
from subscriptions.banners import PLACED_FOR_TAX
from subscriptions.entitlements import LIVE_STATUSES
from subscriptions.stripe_api import stripe_client
from subscriptions.stripe_objects import literal_values

# The customer's `tax.automatic_tax` values with which Stripe can tax its subscription's invoices.
PLACED = PLACED_FOR_TAX
TAX_LOCATION_STATUSES = ("supported", "not_collecting", "unrecognized_location", "failed")


# Stripe's tax ID types, as the pinned library declares them (`eu_vat`, `gb_vat`, `us_ein`...).
TAX_ID_TYPES = tuple(sorted(set(literal_values(CustomerCreateTaxIdParams.__annotations__["type"]))))


def customer_tax_status(customer_id: str) -> str:
    """Where Stripe places the customer for automatic tax (its includable `tax.automatic_tax`)."""
    customer = stripe_client().v1.customers.retrieve(customer_id, params={"expand": ["tax"]}).to_dict()
    return (customer.get("tax") or {}).get("automatic_tax") or ""


def automatic_tax_follow(*, company: Company, stripe_subscription: dict | None) -> tuple[str, dict | None]:
    """Under the company lock, with STRIPE_AUTOMATIC_TAX on: read where Stripe places the customer and,
    when it can, switch automatic tax on for the live subscription that does not have it yet (an
    absolute update: no idempotency key needed). Returns (the customer's tax status, "" when not
    read; the subscription as Stripe now has it)."""
    if not settings.STRIPE_AUTOMATIC_TAX or not company.stripe_customer_id:
        return "", stripe_subscription
    status = customer_tax_status(company.stripe_customer_id)
    if (
        stripe_subscription is not None
        and status in PLACED
        and stripe_subscription.get("status") in LIVE_STATUSES
        and not (stripe_subscription.get("automatic_tax") or {}).get("enabled")
    ):
        stripe_subscription = (
            stripe_client()
            .v1.subscriptions.update(stripe_subscription["id"], params={"automatic_tax": {"enabled": True}})
            .to_dict()
        )
    return status, stripe_subscription
