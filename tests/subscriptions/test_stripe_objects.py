"""The one adapter for Stripe's subscription shapes: the base plan's item is found by its price's lookup
key among several items, whatever their order, and the stored state follows it."""

import pytest

from subscriptions.models import CompanySubscription
from subscriptions.services import subscription_sync_company
from subscriptions.stripe_objects import subscription_read

pytestmark = pytest.mark.django_db


def _metered_price(stripe):
    meter = stripe.v1.billing.meters.create(
        params={"display_name": "API calls", "event_name": "api_call", "default_aggregation": {"formula": "sum"}}
    )
    return stripe.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 1,
            "lookup_key": "api_calls_metered",
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
            "product_data": {"name": "API calls"},
        }
    )


def test_a_subscription_with_a_metered_item_before_the_plan_reads_the_plans_item(onboarded_company, catalog):
    company, _ = onboarded_company()
    stripe = catalog.client()
    trial = stripe.v1.subscriptions.list(params={"customer": company.stripe_customer_id}).data[0]
    stripe.v1.subscriptions.cancel(trial.id)
    team = stripe.v1.prices.list(params={"lookup_keys": ["team_monthly"]}).data[0]
    created = stripe.v1.subscriptions.create(
        params={
            "customer": company.stripe_customer_id,
            # The metered item first: nothing may take the first item for the plan's.
            "items": [{"price": _metered_price(stripe).id}, {"price": team.id, "quantity": 3}],
            "trial_period_days": 7,
        }
    )

    subscription = subscription_read(stripe.v1.subscriptions.retrieve(created.id))

    assert [item.lookup_key for item in subscription.items] == ["api_calls_metered", "team_monthly"]
    assert subscription.base_item.lookup_key == "team_monthly" and subscription.plan.key == "team"
    assert subscription.quantity == 3
    assert [item.lookup_key for item in subscription.other_items] == ["api_calls_metered"]
    metered = subscription.item_for("api_calls_metered")
    assert (metered.usage_type, metered.quantity) == ("metered", None)

    record = subscription_sync_company(company_id=company.pk)
    assert (record.plan, record.price_lookup_key, record.quantity, record.unit_amount, record.currency) == (
        "team",
        "team_monthly",
        3,
        1200,
        "usd",
    )
    assert record.current_period_end == subscription.base_item.current_period_end is not None


def test_a_price_outside_the_catalog_is_still_read_as_the_base_item(onboarded_company, catalog):
    company, _ = onboarded_company()
    stripe = catalog.client()
    trial = stripe.v1.subscriptions.list(params={"customer": company.stripe_customer_id}).data[0]
    stripe.v1.subscriptions.cancel(trial.id)
    custom = stripe.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 999,
            "recurring": {"interval": "month"},
            "product_data": {"name": "X"},
        }
    )
    stripe.v1.subscriptions.create(
        params={"customer": company.stripe_customer_id, "items": [{"price": custom.id}], "trial_period_days": 7}
    )

    record = subscription_sync_company(company_id=company.pk)

    assert (record.status, record.plan, record.price_lookup_key, record.quantity) == ("trialing", "", "", 1)
    assert CompanySubscription.objects.get(company=company).unit_amount == 999
