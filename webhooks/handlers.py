"""The handlers of the Stripe event types the platform handles, each registered in the one registry
(webhooks/registry.py) by `@handles(...)`. Thin: each translates an event into subscriptions' services.

The rule: **no handler trusts a payload.** A valid signature proves only that someone holding a
signing secret sent the body; a leaked or mis-routed secret, or a replay from another endpoint that
shares it, can sign anything. So an event is only a hint that an object changed, and every handler

* re-reads from Stripe the object the event names (subscription, invoice, Checkout session,
  customer) and takes the customer from Stripe's answer, never from the payload;
* finds the company from Stripe-side data only: the company we stored as that customer's owner,
  or the company named by the customer's metadata as Stripe returns it;
* applies only what it re-read, under the company's row lock (`subscriptions.services`), so the
  stored state ends equal to Stripe's whatever the order, number or origin of the events;
* owes an e-mail only when the re-read state calls for one, keyed by that state rather than by the
  event, so a replayed or forged copy of a real event owes nothing more.

An event about an object Stripe does not know, or whose customer belongs to no company, is ignored
with the reason in `last_error`. New handlers follow the same rule.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings

from companies.models import Company
from subscriptions import invoices, promotion_codes
from subscriptions import services as billing
from subscriptions.models import Invoice
from subscriptions.selectors import company_by_stripe_customer
from subscriptions.stripe_api import stripe_retrieve
from webhooks.models import WebhookEvent
from webhooks.notifications import billing_notification_owe
from webhooks.registry import Outcome, handles

# Stripe sends trial_will_end three days before a trial ends (at once for shorter trials); a day
# more covers delivery delays and retries. Outside this window the e-mail would be wrong.
TRIAL_ENDING_WINDOW = timedelta(days=4)


def _named_id(event: WebhookEvent, key: str = "id"):
    """An id the payload names: only ever used to ask Stripe, never believed."""
    obj = event.payload["data"].get("object")
    value = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return value


def _customer_id(stripe_object: dict) -> str | None:
    customer = stripe_object.get("customer")
    return customer.get("id") if isinstance(customer, dict) else customer


def _company(customer_id: str | None) -> Company | None:
    """The company owning a Stripe customer (by our stored id, else by Stripe's metadata)."""
    return billing.company_for_stripe_customer(customer_id) if customer_id else None


def _owner(object_type: str, event: WebhookEvent) -> tuple[Outcome, dict | None]:
    """Re-read the object the event names and find the company owning its customer according to
    Stripe. Returns the outcome (no company: ignored, with the reason) and Stripe's copy of the object."""
    object_id = _named_id(event)
    stripe_object = stripe_retrieve(object_type, object_id)
    if stripe_object is None:
        return Outcome(None, f"no {object_type} {object_id} in Stripe"), None
    customer_id = _customer_id(stripe_object)
    company = _company(customer_id)
    if company is None:
        return Outcome(None, f"no company for customer {customer_id}"), stripe_object
    return Outcome(company), stripe_object


def _resync(object_type: str, event: WebhookEvent) -> tuple[Outcome, dict | None]:
    """`_owner`, then the subscription state of that company re-read from Stripe."""
    outcome, stripe_object = _owner(object_type, event)
    if outcome.company is not None:
        billing.subscription_sync_company(company_id=outcome.company.pk)
    return outcome, stripe_object


@handles(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    # A plan change held until its invoice was paid took effect, or was discarded unpaid: either
    # way the stored plan and `pending_update` follow Stripe's copy, re-read like any other change.
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
)
def subscription_changed(event: WebhookEvent) -> Outcome:
    return _resync("subscription", event)[0]


def _invoice_event(event: WebhookEvent, *, subscription_too: bool) -> tuple[Outcome, Invoice | None]:
    """Re-read the invoice the event names; store Stripe's copy for the company that owns its customer
    (and owe the dunning e-mail it calls for), after re-reading the company's subscription too when
    the event is about a payment."""
    outcome, stripe_invoice = (_resync if subscription_too else _owner)("invoice", event)
    if outcome.company is None or stripe_invoice is None:
        return outcome, None
    return outcome, invoices.invoice_sync(company_id=outcome.company.pk, invoice_id=stripe_invoice["id"])


@handles("invoice.created", "invoice.finalized", "invoice.updated", "invoice.voided", "invoice.marked_uncollectible")
def invoice_changed(event: WebhookEvent) -> Outcome:
    return _invoice_event(event, subscription_too=False)[0]


@handles("invoice.paid", "invoice.payment_succeeded")
def invoice_paid(event: WebhookEvent) -> Outcome:
    return _invoice_event(event, subscription_too=True)[0]


@handles("invoice.deleted")
def invoice_deleted(event: WebhookEvent) -> Outcome:
    """A deleted draft: Stripe no longer knows it, so our copy goes (an invoice Stripe still has is synced)."""
    invoice_id = _named_id(event)
    if stripe_retrieve("invoice", invoice_id) is not None:
        return _invoice_event(event, subscription_too=False)[0]
    company = invoices.invoice_forget(invoice_id=invoice_id) if isinstance(invoice_id, str) else None
    return Outcome(company, "deleted in Stripe") if company else Outcome(None, f"no invoice {invoice_id} in Stripe")


@handles("checkout.session.completed")
def checkout_completed(event: WebhookEvent) -> Outcome:
    return _resync("checkout.session", event)[0]


def _stripe_now(stripe_object: dict) -> float:
    """Stripe's present for the object: its test clock's frozen time in test mode, else now."""
    clock_id = stripe_object.get("test_clock")
    if isinstance(clock_id, dict):
        clock_id = clock_id.get("id")
    clock = stripe_retrieve("test_helpers.test_clock", clock_id) if clock_id else None
    return clock["frozen_time"] if clock else time.time()


@handles("customer.subscription.trial_will_end")
def trial_will_end(event: WebhookEvent) -> Outcome:
    outcome, subscription = _resync("subscription", event)
    if outcome.company is None or subscription is None:
        return outcome
    trial_end = subscription.get("trial_end") or 0
    left = trial_end - _stripe_now(subscription)
    if subscription["status"] != "trialing" or not 0 < left <= TRIAL_ENDING_WINDOW.total_seconds():
        return Outcome(
            outcome.company, f"no e-mail: Stripe has the subscription {subscription['status']}, trial end {trial_end}"
        )
    billing_notification_owe(
        subject=f"subscription:{subscription['id']}:trial_end:{trial_end}",
        kind="trial_will_end",
        company=outcome.company,
    )
    return outcome


@handles("invoice.payment_failed", "invoice.payment_action_required")
def payment_failed(event: WebhookEvent) -> Outcome:
    """Dunning starts here: the e-mail is owed by the invoice sync when Stripe's copy shows a failed
    collection (open, attempted, unpaid), once per invoice and step (subscriptions/dunning.py)."""
    outcome, record = _invoice_event(event, subscription_too=True)
    if record is not None and not record.payment_failed:
        return Outcome(outcome.company, f"no e-mail: Stripe has the invoice {record.status}")
    return outcome


@handles("customer.deleted")
def customer_deleted(event: WebhookEvent) -> Outcome:
    customer_id = _named_id(event)
    customer = stripe_retrieve("customer", customer_id)
    if customer is None:
        return Outcome(None, f"no customer {customer_id} in Stripe")
    if not customer.get("deleted"):
        return Outcome(None, f"customer {customer_id} is not deleted in Stripe")
    # A deleted customer keeps no metadata: only our own record of its owner names the company.
    company = company_by_stripe_customer(customer_id=customer["id"])
    if company is None:
        return Outcome(None, f"no company for customer {customer_id}")
    billing.subscription_forget_customer(company_id=company.pk, customer_id=customer["id"])
    return Outcome(company)


@handles("customer.updated")
def customer_updated(event: WebhookEvent) -> Outcome:
    """With Stripe Tax on, an address set outside the platform (the portal, Stripe's Dashboard) may let
    Stripe place the customer: the subscription sync reads that and switches automatic tax on."""
    if not settings.STRIPE_AUTOMATIC_TAX:
        return Outcome(None, "automatic tax is off")
    customer_id = _named_id(event)
    customer = stripe_retrieve("customer", customer_id)
    if customer is None or customer.get("deleted"):
        return Outcome(None, f"no customer {customer_id} in Stripe")
    company = _company(customer["id"])
    if company is None:
        return Outcome(None, f"no company for customer {customer_id}")
    billing.subscription_sync_company(company_id=company.pk)
    return Outcome(company)


@handles("entitlements.active_entitlement_summary.updated")
def entitlements_updated(event: WebhookEvent) -> Outcome:
    # The summary names a customer and a list; only the customer is used, to find the company
    # whose own customer's active entitlements are then read from Stripe.
    customer_id = _named_id(event, "customer")
    company = _company(customer_id if isinstance(customer_id, str) else None)
    if company is None:
        return Outcome(None, f"no company for customer {customer_id}")
    billing.entitlements_sync_company(company_id=company.pk)
    return Outcome(company)


@handles("promotion_code.created", "promotion_code.updated")
def promotion_code_changed(event: WebhookEvent) -> Outcome:
    """The local copy sign-up checks codes against: the code re-read from Stripe."""
    code_id = _named_id(event)
    stored = promotion_codes.promotion_code_refresh(promotion_code_id=code_id)
    if stored is None:
        return Outcome(None, f"no promotion code {code_id} in Stripe")
    return Outcome(None, f"promotion code {stored.code} stored", applied=True)


@handles("coupon.created", "coupon.updated", "coupon.deleted")
def coupon_changed(event: WebhookEvent) -> Outcome:
    """A coupon's codes re-read from Stripe (a deleted coupon's codes can no longer be redeemed)."""
    coupon_id = _named_id(event)
    count = promotion_codes.promotion_codes_refresh_coupon(coupon_id=coupon_id)
    return Outcome(None, f"{count} promotion code(s) of coupon {coupon_id} stored", applied=True)


@handles("customer.discount.created", "customer.discount.updated", "customer.discount.deleted")
def discount_changed(event: WebhookEvent) -> Outcome:
    """A code was redeemed (Stripe sends no promotion_code.updated for that): the code it names is
    re-read from Stripe, so the local copy knows when it is used up."""
    code_id = _named_id(event, "promotion_code")
    stored = promotion_codes.promotion_code_refresh(promotion_code_id=code_id) if code_id else None
    if stored is None:
        return Outcome(None, "no promotion code to re-read")
    return Outcome(None, f"promotion code {stored.code} stored", applied=True)
