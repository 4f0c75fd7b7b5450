"""Sign-up to an active company: a schema, one Stripe customer and a trialing subscription."""

from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from companies.models import Company
from onboarding.services import company_create_stripe_customer, company_start_trial
from subscriptions.stripe_objects import subscription_read
from tests.factories import CompanyFactory, MembershipFactory
from tests.helpers import broker_unreachable, platform_client
from tests.plugins.services import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _signup(base_url: str, slug: str, **extra) -> httpx.Response:
    body = {
        "name": f"{slug.title()} Inc",
        "slug": slug,
        "admin_email": f"admin@{slug}.example",
        "admin_password": "a-long-enough-secret",
    } | extra
    return httpx.post(f"{base_url}/api/companies/", json=body, timeout=30)


def _active(slug: str) -> Company | None:
    return Company.objects.filter(slug=slug, status=Company.Status.ACTIVE).first()


def test_signup_ends_in_an_active_company_with_a_trial(
    live_server, webhook_delivery, catalog, celery_worker_process, settings
):
    response = _signup(live_server.url, "acme")
    assert response.status_code == 202
    body = response.json()
    assert (body["slug"], body["status"], body["domain"]) == ("acme", "provisioning", "acme.localhost")
    assert response.headers["Location"].endswith(f"/api/companies/{body['id']}/")

    company = wait_until(lambda: _active("acme"), timeout=60, message="acme to become active")

    stripe = catalog.client()
    customers = stripe.v1.customers.list(params={"email": "admin@acme.example"}).data
    assert len(customers) == 1
    assert customers[0].metadata["company_id"] == str(company.pk)
    subscriptions = stripe.v1.subscriptions.list(params={"customer": customers[0].id, "status": "all"}).data
    assert len(subscriptions) == 1
    subscription = subscriptions[0]
    assert subscription.status == "trialing"
    assert subscription_read(subscription).base_item.lookup_key == settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY
    assert subscription.trial_settings["end_behavior"]["missing_payment_method"] == "cancel"
    assert subscription.trial_end - subscription.trial_start == settings.STRIPE_TRIAL_DAYS * 86400

    company.refresh_from_db()
    assert company.stripe_customer_id == customers[0].id
    assert company.subscription.status == "trialing" and company.subscription.plan == "basic"
    assert company.onboarding_steps.get(step="schema").method == "cloned"

    # The admin sees it through the API, with a token.
    token = (
        platform_client()
        .post(
            "/api/auth/token/",
            {"email": "admin@acme.example", "password": "a-long-enough-secret"},
            content_type="application/json",
        )
        .json()["key"]
    )
    detail = Client(HTTP_HOST="localhost").get(f"/api/companies/{company.pk}/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert detail.status_code == 200
    assert detail.json()["subscription"]["status"] == "trialing"


def test_retried_customer_step_never_creates_a_second_customer(catalog):
    company = CompanyFactory(status=Company.Status.PROVISIONING)
    MembershipFactory(company=company, role="admin")
    first = company_create_stripe_customer(company_id=company.pk)
    # The task died after Stripe answered but before the id was saved; the retry runs again.
    Company.objects.filter(pk=company.pk).update(stripe_customer_id=None)
    second = company_create_stripe_customer(company_id=company.pk)
    assert first == second
    assert len(catalog.client().v1.customers.list(params={"limit": 100}).data) == 1


def test_permanent_failure_is_visible_and_an_operator_retry_finishes_it(
    live_server, stripe_emulator, celery_worker_process
):
    # No catalog in Stripe: the trial price cannot be found, which no retry can fix.
    response = _signup(live_server.url, "broken")
    assert response.status_code == 202
    company = wait_until(
        lambda: Company.objects.filter(slug="broken", status=Company.Status.FAILED).first(),
        timeout=60,
        message="the company to fail",
    )
    assert company.failure_reason.startswith("trial:")
    assert "basic_monthly" in company.failure_reason

    from django.core.management import call_command

    call_command("sync_plans")
    call_command("retry_onboarding", company="broken")
    wait_until(lambda: _active("broken"), timeout=60, message="the retried company to become active")
    customers = stripe_emulator.client().v1.customers.list(params={"email": "admin@broken.example"}).data
    assert len(customers) == 1


# --- recovery: the onboarding lease ---------------------------------------------------------------


def _lost_onboarding(seconds_ago: float) -> Company:
    """A company still provisioning whose onboarding was last taken on `seconds_ago` (the worker that
    held its chain was killed; the message went with it)."""
    company = CompanyFactory(status=Company.Status.PROVISIONING)
    MembershipFactory(company=company, role="admin")
    Company.objects.filter(pk=company.pk).update(onboarding_leased_at=timezone.now() - timedelta(seconds=seconds_ago))
    return company


def test_onboarding_lost_with_a_killed_worker_is_published_again_when_its_lease_runs_out(
    catalog, celery_worker_process, settings
):
    from onboarding.tasks import resume_provisioning

    lease = settings.ONBOARDING_LEASE_SECONDS
    waiting = _lost_onboarding(seconds_ago=lease - 5)
    lost = _lost_onboarding(seconds_ago=lease + 1)
    assert resume_provisioning.apply().get() == 1  # beat's sweep, production lease
    wait_until(lambda: _active(lost.slug), timeout=60, message="the lost onboarding to finish")
    assert Company.objects.get(pk=waiting.pk).status == Company.Status.PROVISIONING  # its task may still come
    customers = catalog.client().v1.customers.list(params={"limit": 100}).data
    assert [c.metadata["company_slug"] for c in customers] == [lost.slug]
    assert len(catalog.client().v1.subscriptions.list(params={"customer": customers[0].id}).data) == 1


def test_onboarding_retry_holds_the_lease_until_it_is_due(settings):
    from onboarding.services import onboarding_renew_lease, onboarding_requeue_expired

    lease = settings.ONBOARDING_LEASE_SECONDS
    company = _lost_onboarding(seconds_ago=0)
    onboarding_renew_lease(company_id=company.pk, retry_in=20)  # a step failed; its retry is due in 20 s
    leased_at = Company.objects.get(pk=company.pk).onboarding_leased_at
    Company.objects.filter(pk=company.pk).update(onboarding_leased_at=leased_at - timedelta(seconds=20 + lease - 1))
    with broker_unreachable():
        assert onboarding_requeue_expired(lease_seconds=lease) == 0
        Company.objects.filter(pk=company.pk).update(onboarding_leased_at=leased_at - timedelta(seconds=20 + lease + 1))
        assert onboarding_requeue_expired(lease_seconds=lease) == 1


def test_active_and_failed_companies_are_never_swept(settings):
    from onboarding.services import onboarding_requeue_expired

    for status in (Company.Status.ACTIVE, Company.Status.FAILED):
        company = _lost_onboarding(seconds_ago=3600)
        Company.objects.filter(pk=company.pk).update(status=status)
    assert onboarding_requeue_expired(lease_seconds=settings.ONBOARDING_LEASE_SECONDS) == 0


def test_a_broker_outage_after_a_step_never_marks_the_company_failed():
    """The step's work was done; only publishing the next step failed (Redis down): the company stays
    provisioning for the lease sweep. A real error still fails it."""
    from kombu.exceptions import OperationalError as BrokerUnavailable

    from onboarding.tasks import provision

    company = _lost_onboarding(seconds_ago=0)
    refused = BrokerUnavailable("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    provision.on_failure(refused, "task-id", (company.pk,), {}, None)
    assert Company.objects.get(pk=company.pk).status == Company.Status.PROVISIONING
    provision.on_failure(ValueError("schema name clash"), "task-id", (company.pk,), {}, None)
    failed = Company.objects.get(pk=company.pk)
    assert (failed.status, failed.failure_reason) == (Company.Status.FAILED, "schema: schema name clash")


def test_the_trial_starts_on_the_price_chosen_at_signup(catalog):
    company = CompanyFactory(status=Company.Status.PROVISIONING, trial_price_lookup_key="pro_yearly")
    MembershipFactory(company=company, role="admin")
    company_create_stripe_customer(company_id=company.pk)
    company_start_trial(company_id=company.pk)
    company.refresh_from_db()
    assert (company.status, company.subscription.price_lookup_key) == ("active", "pro_yearly")
    assert company.subscription.status == "trialing" and "exports" in company.features
