"""The one registry of Stripe event types the platform handles, and their (thin) handlers.

Handlers never trust the payload to be the latest state: they ask the subscriptions services
to re-read the company's subscription from Stripe under the company's row lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from companies.models import Company
from subscriptions import services as billing
from webhooks.models import WebhookEvent
from webhooks.notifications import event_notification_owe


@dataclass(frozen=True)
class Outcome:
    company: Company | None
    note: str = ""


Handler = Callable[[WebhookEvent], Outcome]
HANDLERS: dict[str, Handler] = {}


def handles(*event_types: str):
    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            if event_type in HANDLERS:
                raise ValueError(f"{event_type} already has a handler")
            HANDLERS[event_type] = handler
        return handler

    return register


def _object(event: WebhookEvent) -> dict:
    return event.payload["data"]["object"]


def _company_of(customer_id) -> Company | None:
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id")
    return billing.company_for_stripe_customer(customer_id) if customer_id else None


def _sync(event: WebhookEvent, customer_id) -> Outcome:
    company = _company_of(customer_id)
    if company is None:
        return Outcome(None, f"no company for customer {customer_id}")
    if company.stripe_customer_id is None and customer_id:
        Company.objects.filter(pk=company.pk, stripe_customer_id=None).update(stripe_customer_id=customer_id)
    billing.subscription_sync_company(company_id=company.pk)
    return Outcome(company)


@handles(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "invoice.paid",
    "invoice.payment_succeeded",
    "checkout.session.completed",
)
def subscription_changed(event: WebhookEvent) -> Outcome:
    return _sync(event, _object(event).get("customer"))


@handles("customer.subscription.trial_will_end")
def trial_will_end(event: WebhookEvent) -> Outcome:
    outcome = _sync(event, _object(event).get("customer"))
    if outcome.company:
        event_notification_owe(event=event, company=outcome.company, kind="trial_will_end")
    return outcome


@handles("invoice.payment_failed")
def payment_failed(event: WebhookEvent) -> Outcome:
    outcome = _sync(event, _object(event).get("customer"))
    if outcome.company:
        event_notification_owe(event=event, company=outcome.company, kind="payment_failed")
    return outcome


@handles("customer.deleted")
def customer_deleted(event: WebhookEvent) -> Outcome:
    customer_id = _object(event)["id"]
    company = Company.objects.filter(stripe_customer_id=customer_id).first()
    if company is None:
        return Outcome(None, f"no company for customer {customer_id}")
    billing.subscription_forget_customer(company_id=company.pk)
    return Outcome(company)


@handles("entitlements.active_entitlement_summary.updated")
def entitlements_updated(event: WebhookEvent) -> Outcome:
    summary = _object(event)
    company = _company_of(summary.get("customer"))
    if company is None:
        return Outcome(None, f"no company for customer {summary.get('customer')}")
    applied = billing.entitlements_apply_summary(company_id=company.pk, summary=summary, as_of=event.created)
    return Outcome(company, "" if applied else "older than the stored entitlements")
