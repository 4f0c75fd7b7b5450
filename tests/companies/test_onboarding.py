"""Sign-up to an active company: a schema, one Stripe customer and a trialing subscription."""

import httpx
import pytest
from django.test import Client

from companies.models import Company
from companies.services import company_create_stripe_customer
from tests.factories import CompanyFactory, MembershipFactory
from tests.helpers import platform_client
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
    assert subscription["items"]["data"][0]["price"]["lookup_key"] == settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY
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
