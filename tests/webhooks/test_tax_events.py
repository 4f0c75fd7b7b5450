"""customer.updated with Stripe Tax on: an address set in Stripe (the portal, the Dashboard) gives the
subscription automatic tax, whatever the order or number of deliveries."""

import time

import pytest

from subscriptions.models import CompanySubscription
from tests.factories import WebhookEventFactory
from tests.helpers import stripe_event
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_address_set_in_stripe_gives_automatic_tax_twice_and_out_of_order(
    onboarded_company, stripe_emulator, settings
):
    settings.STRIPE_AUTOMATIC_TAX = True
    company, _ = onboarded_company()
    client = stripe_emulator.client()
    before = client.v1.customers.retrieve(company.stripe_customer_id).to_dict()
    after = client.v1.customers.update(
        company.stripe_customer_id, params={"address": {"country": "GB", "postal_code": "SW1A 1AA"}}
    ).to_dict()
    newer = stripe_event("customer.updated", after, created=int(time.time()))
    older = stripe_event("customer.updated", before, created=int(time.time()) - 60)
    first = WebhookEventFactory(payload=newer).pk
    assert webhook_event_process(event_id=first) == "processed"
    assert webhook_event_process(event_id=first) == "processed"  # delivered again: applied once
    assert webhook_event_process(event_id=WebhookEventFactory(payload=older).pk) == "processed"  # arrives last
    record = CompanySubscription.objects.get(company=company)
    assert (record.automatic_tax, record.customer_tax_status) == (True, "supported")
    subscription = client.v1.subscriptions.list(params={"customer": company.stripe_customer_id}).data[0]
    assert subscription.automatic_tax.enabled is True


def test_without_the_setting_customer_events_are_ignored(onboarded_company, stripe_emulator):
    company, _ = onboarded_company()
    customer = stripe_emulator.client().v1.customers.retrieve(company.stripe_customer_id).to_dict()
    row = WebhookEventFactory(payload=stripe_event("customer.updated", customer))
    assert webhook_event_process(event_id=row.pk) == "ignored"
