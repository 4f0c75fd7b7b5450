"""Plan change through the API: the preview and its downgrade guard (limit conflicts refused unless
accepted, then over limit until usage is back within the plan), who may, and what is refused.
Stripe is the emulator; the subscriptions are made by the onboarding services."""

from __future__ import annotations

import pytest

from companies.members import invitation_create, invitation_revoke, member_remove
from companies.models import Invitation, Membership
from subscriptions.stripe_objects import subscription_read
from tests.factories import CompanyFactory, MembershipFactory
from tests.helpers import company_client

pytestmark = pytest.mark.django_db

PREVIEW = "/api/billing/plan-change/preview/"
CHANGE = "/api/billing/plan-change/"


def _post(client, url: str, body: dict):
    return client.post(url, body, content_type="application/json")


@pytest.fixture
def pro_company(onboarded_company, settings):
    """A company trialing Pro, its admin its one member."""
    settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY = "pro_monthly"
    company, admin = onboarded_company()
    assert company.subscription.plan == "pro"
    return company, admin


def test_downgrade_onto_twelve_members_is_refused_then_accepted_over_limit_until_back_to_three(pro_company, catalog):
    company, admin = pro_company
    for _ in range(9):
        MembershipFactory(company=company)
    for n in range(2):  # pending invitations hold seats too
        invitation_create(company_id=company.pk, email=f"pending{n}@example.com", role="member", invited_by=admin)
    client = company_client(company, admin)

    preview = _post(client, PREVIEW, {"price_lookup_key": "basic_monthly"})
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["limit_conflicts"] == [{"limit": "max_members", "used": 12, "allowed": 3}]
    assert (body["features_gained"], body["features_lost"]) == ([], ["exports"])
    assert (body["change"], body["amount_due"]) == ("trial", 0)  # no charge during the trial

    refused = _post(client, CHANGE, {"price_lookup_key": "basic_monthly"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "plan_limit_conflict"
    assert refused.json()["limit_conflicts"] == [{"limit": "max_members", "used": 12, "allowed": 3}]
    assert client.get("/api/billing/subscription/").json()["plan"] == "pro"

    accepted = _post(client, CHANGE, {"price_lookup_key": "basic_monthly", "accept_limit_conflicts": True})
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["plan"] == "basic"
    assert accepted.json()["over_limit"] == [{"limit": "max_members", "used": 12, "allowed": 3}]
    assert 'id="banner-over-limit"' in client.get("/").content.decode()
    # Everyone stays; nobody more joins.
    assert client.get("/api/members/").status_code == 200
    invited = _post(client, "/api/invitations/", {"email": "thirteenth@example.com"})
    assert invited.status_code == 402 and invited.json()["code"] == "plan_limit_reached"

    for invitation in Invitation.objects.filter(company=company, accepted_at__isnull=True):
        invitation_revoke(company_id=company.pk, invitation_id=invitation.pk)
    members = Membership.objects.filter(company=company, role="member").order_by("pk")
    for membership in members[:7]:
        assert member_remove(company_id=company.pk, membership_id=membership.pk)
    still_over = client.get("/api/billing/subscription/").json()["over_limit"]
    assert still_over == [], still_over  # 3 of 3: full, not over
    assert 'id="banner-over-limit"' not in client.get("/").content.decode()
    again = _post(client, "/api/invitations/", {"email": "fourth@example.com"})
    assert again.status_code == 402  # still full


def test_preview_and_change_are_for_admins_only(pro_company, catalog):
    company, _ = pro_company
    member = MembershipFactory(company=company).user
    client = company_client(company, member)
    for url in (PREVIEW, CHANGE):
        answer = _post(client, url, {"price_lookup_key": "basic_monthly"})
        assert answer.status_code == 403, url
        assert answer.json()["code"] == "permission_denied"
    assert company_client(company).post(PREVIEW, {}).status_code in (401, 403)


def test_invalid_requests_are_400_and_impossible_changes_409(pro_company, catalog):
    company, admin = pro_company
    bare = CompanyFactory()  # no Stripe customer, no subscription
    bare_admin = MembershipFactory(company=bare, role="admin").user
    client = company_client(company, admin)

    unknown = _post(client, PREVIEW, {"price_lookup_key": "gold_monthly"})
    assert unknown.status_code == 400 and "price_lookup_key" in unknown.json()["errors"]
    per_seat = _post(client, CHANGE, {"price_lookup_key": "team_monthly", "quantity": 4})
    assert per_seat.status_code == 400
    assert per_seat.json()["error_codes"] == {"quantity": ["quantity_not_allowed"]}
    zero = _post(client, PREVIEW, {"price_lookup_key": "basic_monthly", "quantity": 0})
    assert zero.status_code == 400 and "quantity" in zero.json()["errors"]

    same = _post(client, CHANGE, {"price_lookup_key": "pro_monthly"})
    assert same.status_code == 409 and same.json()["code"] == "same_plan"

    none = _post(company_client(bare, bare_admin), PREVIEW, {"price_lookup_key": "pro_monthly"})
    assert none.status_code == 409 and none.json()["code"] == "no_live_subscription"

    # A subscription cancelled at its period's end has no next invoice to preview: resume it first.
    assert client.post("/api/billing/cancel/", {}, content_type="application/json").status_code == 200
    for path in (PREVIEW, CHANGE):
        cancelling = _post(client, path, {"price_lookup_key": "basic_monthly"})
        assert (cancelling.status_code, cancelling.json()["code"]) == (409, "subscription_cancelling"), path
    assert client.post("/api/billing/resume/").status_code == 200
    assert _post(client, PREVIEW, {"price_lookup_key": "basic_monthly"}).status_code == 200


def test_a_trialing_subscription_moves_to_team_with_a_seat_per_member_and_no_charge(pro_company, catalog):
    company, admin = pro_company
    MembershipFactory(company=company)
    client = company_client(company, admin)
    preview = _post(client, PREVIEW, {"price_lookup_key": "team_monthly"}).json()
    assert (preview["change"], preview["quantity"], preview["amount_due"]) == ("trial", 2, 0)
    assert preview["next_invoice_total"] == 2 * 1200  # billed when the trial ends
    assert (preview["features_gained"], preview["features_lost"]) == ([], [])  # Team has all Pro has

    changed = _post(client, CHANGE, {"price_lookup_key": "team_monthly"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["plan"], changed.json()["quantity"], changed.json()["status"]) == ("team", 2, "trialing")
    stripe = catalog.client().v1.subscriptions.retrieve(company.subscription.stripe_subscription_id)
    assert subscription_read(stripe).base_item.lookup_key == "team_monthly"
    invoices = catalog.client().v1.invoices.list(params={"customer": company.stripe_customer_id}).data
    assert all(invoice.amount_due == 0 for invoice in invoices)


def test_the_billing_pages_preview_refuse_then_accept_a_downgrade_onto_conflicts(pro_company, catalog):
    company, admin = pro_company
    for _ in range(4):
        MembershipFactory(company=company)
    client = company_client(company, admin)
    billing = client.get("/billing/").content.decode()
    assert 'id="plan-change"' in billing and 'id="plan-change-plan"' in billing
    member_page = company_client(company, Membership.objects.filter(company=company, role="member").first().user)
    assert 'id="plan-change"' not in member_page.get("/billing/").content.decode()

    preview = client.get("/billing/plan-change/", {"plan": "basic", "interval": "monthly"})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert 'id="conflict-max_members"' in page and "5 members, Basic allows 3" in page
    assert 'id="amount-due-now">$0<' in page  # the trial: nothing charged

    refused = client.post("/billing/plan-change/confirm/", {"price_lookup_key": "basic_monthly"})
    assert refused.status_code == 409
    assert 'data-code="plan_limit_conflict"' in refused.content.decode()
    assert 'id="accept-limit-conflicts"' in refused.content.decode()

    accepted = client.post(
        "/billing/plan-change/confirm/", {"price_lookup_key": "basic_monthly", "accept_limit_conflicts": "on"}
    )
    assert (accepted.status_code, accepted["Location"]) == (302, "/billing/")
    after = client.get("/billing/").content.decode()
    assert 'id="plan">Basic<' in after and "Your plan is now Basic." in after
    assert 'id="banner-over-limit"' in after
