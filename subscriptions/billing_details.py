"""A company's billing details in Stripe: the customer's billing address and tax IDs, which Stripe Tax
uses to place the customer (subscriptions/tax.py) and which its invoices show.

The update locks the company, changes the customer in Stripe (its tax IDs added and removed to match
the list asked for), then resyncs the subscription, which switches automatic tax on once Stripe can
place the customer (with STRIPE_AUTOMATIC_TAX). Stripe's refusal of a value (a tax ID's format) is a
400 on that field with Stripe's code. Creating a tax ID carries an idempotency key derived from the
customer's tax IDs before it, so a retried request never adds one twice, and re-adding an ID removed
since is a new request.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, cast

import stripe
from django.db import transaction
from saas_platform.errors import FieldInvalid

from companies.locks import company_lock
from companies.models import Company
from subscriptions.billing import NoStripeCustomer
from subscriptions.models import CompanySubscription
from subscriptions.services import subscription_sync_company
from subscriptions.stripe_api import stripe_client

if TYPE_CHECKING:
    from stripe.params import CustomerUpdateParamsAddress

ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "state", "country")


def _tax_id(raw: dict) -> dict:
    verification = raw.get("verification") or {}
    return {
        "id": raw["id"],
        "type": raw.get("type") or "",
        "value": raw.get("value") or "",
        "country": raw.get("country") or "",
        "verification": verification.get("status") or "",
    }


def billing_details_of(*, company: Company) -> dict:
    """The customer's address and tax IDs as Stripe has them, where Stripe places it for tax, and
    whether the subscription has automatic tax (as last synced)."""
    if not company.stripe_customer_id:
        raise NoStripeCustomer()
    customer = (
        stripe_client()
        .v1.customers.retrieve(company.stripe_customer_id, params={"expand": ["tax", "tax_ids"]})
        .to_dict()
    )
    address = customer.get("address") or None
    record = CompanySubscription.objects.filter(company=company).first()
    return {
        "address": {field: address.get(field) or "" for field in ADDRESS_FIELDS} if address else None,
        "tax_ids": [_tax_id(t) for t in (customer.get("tax_ids") or {}).get("data") or []],
        "tax_location": (customer.get("tax") or {}).get("automatic_tax") or "",
        "automatic_tax": bool(record and record.automatic_tax),
    }


def _refusal(error: stripe.InvalidRequestError, field: str) -> FieldInvalid:
    return FieldInvalid(field, error.code or "invalid", error.user_message or str(error))


def _digest(*parts: str) -> str:
    """A short header-safe digest (idempotency keys are HTTP headers: Latin-1 only, so no raw values)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _match_tax_ids(company: Company, wanted: list[dict]) -> None:
    """Add the wanted tax IDs the customer lacks (Stripe checks each), then remove the others."""
    client, customer_id = stripe_client(), company.stripe_customer_id
    existing = list(client.v1.customers.tax_ids.list(customer_id, params={"limit": 100}).auto_paging_iter())
    have = {(t.type, t.value): t.id for t in existing}
    before = _digest(*sorted(have.values()))
    keep = set()
    for entry in wanted:
        key = (entry["type"], entry["value"])
        keep.add(key)
        if key in have:
            continue
        try:
            client.v1.customers.tax_ids.create(
                customer_id,
                params={"type": entry["type"], "value": entry["value"]},
                options={"idempotency_key": f"company-{company.pk}-tax-id-{before}-{_digest(*key)}"},
            )
        except stripe.InvalidRequestError as error:
            raise _refusal(error, "tax_ids") from error
    for key, tax_id in have.items():
        if key not in keep:
            client.v1.customers.tax_ids.delete(customer_id, tax_id)


def billing_details_update(*, company: Company, address: dict | None = None, tax_ids: list[dict] | None = None) -> dict:
    """Set the customer's billing address (when given) and make its tax IDs the list given (when
    given), then resync the subscription (automatic tax follows). Returns the details as now in Stripe."""
    with transaction.atomic():
        company = company_lock(company_id=company.pk)
        if not company.stripe_customer_id:
            raise NoStripeCustomer()
        if address is not None:
            # Stripe refuses empty strings inside the address (they would mean "unset" a part it cannot).
            params = cast("CustomerUpdateParamsAddress", {f: address[f] for f in ADDRESS_FIELDS if address.get(f)})
            try:
                stripe_client().v1.customers.update(company.stripe_customer_id, params={"address": params})
            except stripe.InvalidRequestError as error:
                raise _refusal(error, "address") from error
        if tax_ids is not None:
            _match_tax_ids(company, tax_ids)
        subscription_sync_company(company_id=company.pk)
        return billing_details_of(company=company)
