"""Cancelling at the period's end with a reason, and resuming before then: the API and the Billing
page, through the real stripe library to the emulator (and, end to end, Stripe's own events handled
by a real worker while a test clock moves)."""

import pytest

from subscriptions.cancel_resume import FEEDBACK_LABELS, FEEDBACK_VALUES
from tests.factories import CompanyFactory, MembershipFactory, give_subscription
from tests.helpers import company_client
from tests.plugins.services import advance_clocks, company_on_a_test_clock, wait_for_webhooks

pytestmark = pytest.mark.django_db(transaction=True)


def post(client, path, body=None):
    return client.post(path, body or {}, content_type="application/json")


def stripe_subscription(emulator, company):
    return emulator.client().v1.subscriptions.list(params={"customer": company.stripe_customer_id}).data[0]


def test_feedback_values_are_stripes_and_each_has_a_label():
    assert set(FEEDBACK_VALUES) == {
        "customer_service",
        "low_quality",
        "missing_features",
        "other",
        "switched_service",
        "too_complex",
        "too_expensive",
        "unused",
    }
    assert set(FEEDBACK_LABELS) == set(FEEDBACK_VALUES)


def test_cancel_resume_cancel_then_the_period_ends_canceled_with_the_reason(
    webhook_delivery, catalog, celery_worker_process
):
    company, admin, clock = company_on_a_test_clock(webhook_delivery, card="pm_card_visa")
    advance_clocks(webhook_delivery, clock, 8)  # the trial ends: active, first period paid
    wait_for_webhooks(webhook_delivery)
    client = company_client(company, admin)
    assert client.get("/api/billing/subscription/").json()["status"] == "active"

    cancelled = post(client, "/api/billing/cancel/", {"feedback": "missing_features", "comment": "No exports"})
    assert cancelled.status_code == 200, cancelled.content
    body = cancelled.json()
    assert (body["cancel_at_period_end"], body["cancellation_feedback"], body["cancellation_comment"]) == (
        True,
        "missing_features",
        "No exports",
    )
    assert stripe_subscription(webhook_delivery, company).cancellation_details.feedback == "missing_features"

    resumed = post(client, "/api/billing/resume/")
    assert resumed.status_code == 200, resumed.content
    assert (resumed.json()["cancel_at_period_end"], resumed.json()["cancellation_feedback"]) == (False, "")
    assert stripe_subscription(webhook_delivery, company).cancel_at_period_end is False

    again = post(client, "/api/billing/cancel/", {"feedback": "too_expensive", "comment": "Over budget"})
    assert again.status_code == 200 and again.json()["cancel_at_period_end"] is True
    wait_for_webhooks(webhook_delivery)
    advance_clocks(webhook_delivery, clock, 32)  # past the period's end
    wait_for_webhooks(webhook_delivery)

    ended = client.get("/api/billing/subscription/").json()
    assert ended["status"] == "canceled" and ended["paid_access"] is False
    assert (ended["cancellation_feedback"], ended["cancellation_comment"], ended["cancellation_reason"]) == (
        "too_expensive",
        "Over budget",
        "cancellation_requested",
    )
    assert stripe_subscription_status(webhook_delivery, company) == "canceled"
    refused = post(client, "/api/billing/resume/")
    assert (refused.status_code, refused.json()["code"]) == (409, "subscription_ended")


def stripe_subscription_status(emulator, company):
    listing = emulator.client().v1.subscriptions.list(params={"customer": company.stripe_customer_id, "status": "all"})
    return listing.data[0].status


def test_members_may_neither_cancel_nor_resume(onboarded_company):
    company, _ = onboarded_company()
    member = MembershipFactory(company=company, role="member").user
    client = company_client(company, member)
    for path in ("/api/billing/cancel/", "/api/billing/resume/"):
        refused = post(client, path)
        assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert client.post("/billing/cancel/", {"feedback": "other"}).status_code == 403
    assert client.post("/billing/resume/").status_code == 403
    company.subscription.refresh_from_db()
    assert company.subscription.cancel_at_period_end is False


def test_a_bad_feedback_value_or_a_long_comment_is_400_and_changes_nothing(onboarded_company):
    company, admin = onboarded_company()
    client = company_client(company, admin)
    bad = post(client, "/api/billing/cancel/", {"feedback": "bored"})
    assert (bad.status_code, bad.json()["code"], bad.json()["error_codes"]) == (
        400,
        "invalid",
        {"feedback": ["invalid_choice"]},
    )
    long = post(client, "/api/billing/cancel/", {"comment": "x" * 501})
    assert (long.status_code, long.json()["error_codes"]) == (400, {"comment": ["max_length"]})
    page = client.post("/billing/cancel/", {"feedback": "bored"})
    assert page.status_code == 400 and 'id="cancel-error"' in page.content.decode()
    company.subscription.refresh_from_db()
    assert company.subscription.cancel_at_period_end is False


def test_cancel_without_a_reason_during_the_trial_ends_with_the_trial(onboarded_company, stripe_emulator):
    company, admin = onboarded_company()
    client = company_client(company, admin)
    cancelled = post(client, "/api/billing/cancel/")
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert (body["status"], body["cancel_at_period_end"], body["cancellation_feedback"]) == ("trialing", True, "")
    assert stripe_subscription(stripe_emulator, company).cancel_at == int(company.subscription.trial_end.timestamp())


def test_conflicts_of_the_subscriptions_state_are_409_with_stable_codes(onboarded_company, stripe_emulator):
    company, admin = onboarded_company()
    client = company_client(company, admin)
    not_cancelling = post(client, "/api/billing/resume/")
    assert (not_cancelling.status_code, not_cancelling.json()["code"]) == (409, "not_cancelling")
    assert post(client, "/api/billing/cancel/", {"feedback": "unused"}).status_code == 200
    twice = post(client, "/api/billing/cancel/", {"feedback": "other"})
    assert (twice.status_code, twice.json()["code"]) == (409, "already_cancelling")
    assert stripe_subscription(stripe_emulator, company).cancellation_details.feedback == "unused"

    stripe_emulator.client().v1.subscriptions.cancel(stripe_subscription(stripe_emulator, company).id)
    for path in ("/api/billing/cancel/", "/api/billing/resume/"):
        ended = post(client, path)
        assert (ended.status_code, ended.json()["code"]) == (409, "subscription_ended")


def test_a_company_without_a_stripe_customer_has_no_live_subscription_to_cancel(stripe_emulator):
    newcomer = CompanyFactory()
    newcomer_admin = MembershipFactory(company=newcomer, role="admin").user
    give_subscription(newcomer, status="trialing")  # stored, but no Stripe customer yet
    for path in ("/api/billing/cancel/", "/api/billing/resume/"):
        none = post(company_client(newcomer, newcomer_admin), path)
        assert (none.status_code, none.json()["code"]) == (409, "no_live_subscription")


def test_the_billing_page_cancels_with_a_reason_and_resumes(onboarded_company, stripe_emulator):
    company, admin = onboarded_company()
    client = company_client(company, admin)
    page = client.get("/billing/").content.decode()
    assert 'id="cancel-feedback"' in page and '<option value="too_complex">' in page
    done = client.post("/billing/cancel/", {"feedback": "too_complex", "comment": "Too many screens"})
    assert (done.status_code, done["Location"]) == (302, "/billing/")
    page = client.get("/billing/").content.decode()
    assert 'id="resume-subscription"' in page and FEEDBACK_LABELS["too_complex"].replace("'", "&#x27;") in page
    assert "Too many screens" in page
    assert client.post("/billing/resume/").status_code == 302
    assert 'id="cancel-subscription"' in client.get("/billing/").content.decode()
    again = client.post("/billing/resume/")
    assert again.status_code == 409 and "nothing to resume" in again.content.decode()
