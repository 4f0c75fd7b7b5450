"""The status x plan matrix, the grace period, limits, entitlements and the cost of a gate."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from companies.features import UnknownFeature
from companies.gates import feature_denial, feature_has, limit_denial
from tests.factories import CompanyFactory, CompanySubscriptionFactory, MembershipFactory, give_subscription
from tests.helpers import company_client

pytestmark = pytest.mark.django_db

PLAN_FEATURES = {
    "basic_monthly": {"posts": True, "api_access": True, "exports": False},
    "pro_yearly": {"posts": True, "api_access": True, "exports": True},
}


@pytest.mark.parametrize("lookup_key", sorted(PLAN_FEATURES))
@pytest.mark.parametrize(
    "status, granted",
    [
        ("trialing", True),
        ("active", True),
        ("past_due", True),
        ("canceled", False),
        ("unpaid", False),
        ("incomplete", False),
        ("incomplete_expired", False),
        ("paused", False),
    ],
)
def test_status_and_plan_decide_features(status, granted, lookup_key):
    # The snapshot as a sync stores it (the real company_refresh_entitlements), read back from the row.
    company = CompanyFactory(paid_access=False, provisioned=False)
    CompanySubscriptionFactory(
        company=company, status=status, price_lookup_key=lookup_key, past_due_since=timezone.now()
    )
    company.refresh_from_db()
    for feature, in_plan in PLAN_FEATURES[lookup_key].items():
        assert feature_has(company, feature) is (granted and in_plan), (status, lookup_key, feature)
    expected = (
        None
        if granted and PLAN_FEATURES[lookup_key]["exports"]
        else ("subscription_inactive" if not granted else "feature_not_in_plan")
    )
    denial = feature_denial(company, "exports")
    assert (denial.code if denial else None) == expected


def test_no_subscription_denies_paid_features():
    company = CompanyFactory.build(paid_access=False, features=[])
    assert feature_denial(company, "posts").code == "subscription_inactive"


def test_past_due_keeps_features_until_the_grace_period_ends(settings):
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    company = CompanyFactory()
    give_subscription(company, status="past_due", past_due_since=timezone.now() - timedelta(days=6, hours=23))
    assert feature_has(company, "posts")
    give_subscription(company, status="past_due", past_due_since=timezone.now() - timedelta(days=7, minutes=1))
    assert not feature_has(company, "posts")
    assert feature_denial(company, "posts").code == "subscription_inactive"


def test_unknown_feature_is_a_programming_error():
    with pytest.raises(UnknownFeature):
        feature_has(CompanyFactory.build(), "teleportation")


def test_entitlements_from_stripe_override_the_plan():
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="basic_monthly", entitlement_features=["posts", "exports"])
    assert feature_has(company, "exports")
    assert not feature_has(company, "api_access")


@pytest.mark.parametrize("used, denied", [(9, False), (10, True), (11, True)])
def test_max_posts_limit_at_the_boundary(used, denied):
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="basic_monthly")
    denial = limit_denial(company, "max_posts", used)
    assert (denial is not None) is denied
    if denied:
        assert denial.code == "plan_limit_reached"


def test_pro_has_no_post_limit():
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="pro_monthly")
    assert limit_denial(company, "max_posts", 10_000) is None


def test_gated_request_costs_no_extra_queries():
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="pro_monthly")
    membership = MembershipFactory(company=company)
    client = company_client(company, membership.user)
    client.get("/api/posts/")  # warm up (session, content types)
    with CaptureQueriesContext(connection) as ungated:
        assert client.get("/api/billing/subscription/").status_code == 200
    with CaptureQueriesContext(connection) as gated:
        assert client.get("/api/posts/export/").status_code == 200
    # The export endpoint does its own work (one query for the posts); the gate adds none.
    assert len(gated) <= len(ungated)


def test_denial_is_a_uniform_402():
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="basic_monthly")
    membership = MembershipFactory(company=company)
    response = company_client(company, membership.user).get("/api/posts/export/")
    assert response.status_code == 402
    body = response.json()
    assert body["code"] == "feature_not_in_plan"
    assert body["upgrade_url"].endswith("/billing/")


def test_cancelled_company_keeps_read_access_but_cannot_create():
    company = CompanyFactory()
    give_subscription(company, status="canceled")
    membership = MembershipFactory(company=company)
    client = company_client(company, membership.user)
    assert client.get("/api/posts/").status_code == 200
    response = client.post("/api/posts/", {"title": "t", "body": "b"}, content_type="application/json")
    assert response.status_code == 402
    assert response.json()["code"] == "subscription_inactive"
