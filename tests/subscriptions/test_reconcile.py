"""Drift from events we never received is fixed by reconciliation with Stripe."""

import pytest
from django.core.management import call_command

from subscriptions.models import CompanySubscription
from tests.plugins.services import stripe_state_of, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _cancel_quietly(emulator, company):
    """Change the subscription in Stripe with no webhook endpoint registered: nobody tells us."""
    stripe = emulator.client()
    subscription = stripe.v1.subscriptions.list(params={"customer": company.stripe_customer_id}).data[0]
    stripe.v1.subscriptions.cancel(subscription.id)


def test_resync_command_fixes_drift(onboarded_company, stripe_emulator, capsys):
    company, _ = onboarded_company()
    _cancel_quietly(stripe_emulator, company)
    assert CompanySubscription.objects.get(company=company).status == "trialing"  # drifted
    call_command("resync_billing", "--all")
    output = capsys.readouterr().out
    assert "1 changed" in output
    record = CompanySubscription.objects.get(company=company)
    assert (record.status, record.price_lookup_key) == stripe_state_of(stripe_emulator, company)
    company.refresh_from_db()
    assert company.paid_access is False


def test_beat_reconciliation_fixes_drift_through_the_worker(onboarded_company, stripe_emulator, celery_worker_process):
    from subscriptions.tasks import reconcile_all

    companies = [onboarded_company()[0] for _ in range(3)]
    _cancel_quietly(stripe_emulator, companies[1])
    assert reconcile_all.apply().get() == 3  # the sweep itself; each company is reconciled by the worker
    wait_until(
        lambda: CompanySubscription.objects.get(company=companies[1]).status == "canceled",
        timeout=30,
        message="the worker to reconcile the drifted company",
    )
    assert CompanySubscription.objects.get(company=companies[0]).status == "trialing"


def test_reconciliation_covers_every_company_with_a_stripe_customer_whatever_its_status(published):
    """One selection rule for beat, `resync_billing` and the admin's action."""
    from companies.models import Company
    from subscriptions.services import companies_reconcile_later
    from subscriptions.tasks import reconcile_all
    from tests.factories import CompanyFactory

    active = CompanyFactory(stripe_customer_id="cus_rule_active", provisioned=False)
    failed = CompanyFactory(status=Company.Status.FAILED, stripe_customer_id="cus_rule_failed", provisioned=False)
    no_customer = CompanyFactory(provisioned=False)

    assert reconcile_all.apply().get() == 2  # beat
    assert sorted(args for _, args in published) == sorted([(active.pk,), (failed.pk,)])
    published.clear()
    assert companies_reconcile_later(company_ids=[failed.pk, no_customer.pk]) == 1  # the admin's selection
    assert published == [("subscriptions.reconcile_company", (failed.pk,))]
