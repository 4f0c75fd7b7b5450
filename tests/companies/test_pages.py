"""A company host's pages for its people: Members (invite, resend, revoke, roles, removal), API tokens
and Billing. Each action calls the service the API calls, so its refusals (the last admin, a full
plan) are the API's, shown next to what they refuse."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from companies.members import invitation_create
from companies.models import ApiToken, Company, Invitation, Membership
from companies.tokens import api_token_create
from notifications.models import Notification
from subscriptions.banners import banners_for
from tests.factories import CompanyFactory, MembershipFactory, give_subscription
from tests.helpers import company_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    company = CompanyFactory(name="Acme Team")
    give_subscription(company, status="active", lookup_key="basic_monthly")  # 3 members at most
    admin = MembershipFactory(company=company, role="admin")
    member = MembershipFactory(company=company, role="member")
    return company, admin, member


def _row(page: str, element_id: str) -> str:
    match = re.search(rf'<li class="row" id="{element_id}".*?</li>', page, re.S)
    assert match, f"no row {element_id}"
    return match.group(0)


def test_members_see_the_team_and_the_seats_but_no_admin_forms(team):
    company, admin, member = team
    invitation_create(company_id=company.pk, email="newcomer@example.com", role="member", invited_by=admin.user)
    page = company_client(company, member.user).get("/members/").content.decode()
    assert admin.user.email in page and member.user.email in page
    assert re.search(r'id="seats">\s*3 of 3 seats used', page)  # two members and one invitation
    assert "newcomer@example.com" not in page and 'id="invite-form"' not in page and "/remove/" not in page


def test_an_admin_invites_from_the_members_page_and_the_email_is_owed(team):
    company, admin, _ = team
    client = company_client(company, admin.user)
    response = client.post("/members/invite/", {"email": "Newcomer@Example.com", "role": "admin"}, follow=True)
    page = response.content.decode()
    invitation = Invitation.objects.get(company=company, email="newcomer@example.com")
    assert invitation.role == "admin" and invitation.invited_by == admin.user
    assert Notification.objects.filter(subject__startswith=f"invitation:{invitation.pk}:").exists()
    assert "Invitation e-mailed to newcomer@example.com." in page
    assert "newcomer@example.com" in _row(page, f"invitation-{invitation.pk}")


def test_inviting_into_a_full_plan_shows_the_refusal_next_to_the_email(team):
    company, admin, _ = team
    client = company_client(company, admin.user)
    assert client.post("/members/invite/", {"email": "third@example.com", "role": "member"}).status_code == 302
    refused = client.post("/members/invite/", {"email": "fourth@example.com", "role": "member"})
    assert refused.status_code == 402
    errors = re.search(r'id="id_email_error">(.*?)</ul>', refused.content.decode(), re.S).group(1)
    assert "Every seat of your plan is taken" in errors
    assert 'aria-invalid="true"' in refused.content.decode()
    assert not Invitation.objects.filter(email="fourth@example.com").exists()
    invalid = client.post("/members/invite/", {"email": "not-an-address", "role": "member"})
    assert invalid.status_code == 400 and "Enter a valid email address." in invalid.content.decode()


def test_the_last_admin_can_be_neither_demoted_nor_removed_from_the_page(team):
    company, admin, _ = team
    client = company_client(company, admin.user)
    for refused in (
        client.post(f"/members/{admin.pk}/role/", {"role": "member"}),
        client.post(f"/members/{admin.pk}/remove/"),
    ):
        assert refused.status_code == 409
        assert "A company keeps at least one admin." in _row(refused.content.decode(), f"member-{admin.pk}")
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_an_admin_promotes_demotes_and_removes_a_member(team):
    company, admin, member = team
    client = company_client(company, admin.user)
    promoted = client.post(f"/members/{member.pk}/role/", {"role": "admin"}, follow=True)
    assert f"{member.user.email} is now admin." in promoted.content.decode()
    member.refresh_from_db()
    assert member.role == "admin"
    assert client.post(f"/members/{member.pk}/role/", {"role": "owner"}).status_code == 400
    assert client.post(f"/members/{member.pk}/role/", {"role": "member"}).status_code == 302
    assert client.post(f"/members/{member.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert client.post(f"/members/{member.pk}/remove/").status_code == 404


def test_an_admin_who_removes_themselves_is_logged_out(team):
    company, admin, member = team
    Membership.objects.filter(pk=member.pk).update(role="admin")
    client = company_client(company, admin.user)
    response = client.post(f"/members/{admin.pk}/remove/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302  # logged out


def test_an_admin_resends_and_revokes_an_invitation(team):
    company, admin, _ = team
    invitation = invitation_create(
        company_id=company.pk, email="late@example.com", role="member", invited_by=admin.user
    )
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    client = company_client(company, admin.user)
    assert "Expired" in _row(client.get("/members/").content.decode(), f"invitation-{invitation.pk}")
    old_nonce = invitation.nonce
    assert client.post(f"/members/invitations/{invitation.pk}/resend/").status_code == 302
    invitation.refresh_from_db()
    assert invitation.nonce != old_nonce and invitation.expires_at > timezone.now()
    assert client.post(f"/members/invitations/{invitation.pk}/revoke/").status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert client.post(f"/members/invitations/{invitation.pk}/revoke/").status_code == 404
    assert client.post(f"/members/invitations/{invitation.pk}/resend/").status_code == 404


def test_members_may_not_use_the_admin_forms(team):
    company, admin, member = team
    client = company_client(company, member.user)
    assert client.post("/members/invite/", {"email": "x@example.com", "role": "member"}).status_code == 403
    assert client.post(f"/members/{admin.pk}/remove/").status_code == 403
    page = client.post(f"/members/{admin.pk}/role/", {"role": "member"}).content.decode()
    assert 'id="permission-denied"' in page  # the friendly 403 page, in the layout


# --- API tokens --------------------------------------------------------------------------------


def test_a_new_token_key_is_shown_once_and_works_on_the_api(team):
    company, admin, _ = team
    client = company_client(company, admin.user)
    created = client.post("/tokens/", {"name": "CI", "expires_in_days": "30"})
    assert created.status_code == 201 and "no-store" in created["Cache-Control"]
    key = re.search(r'id="new-key">([^<]+)<', created.content.decode()).group(1)
    token = ApiToken.objects.get(user=admin.user, name="CI")
    assert key.startswith(token.prefix) and (token.expires_at - token.created_at).days == 30
    assert company_client(company).get("/api/posts/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    listed = client.get("/tokens/").content.decode()
    assert key not in listed and token.prefix in _row(listed, f"token-{token.pk}")
    assert "last used" in _row(listed, f"token-{token.pk}")

    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    assert company_client(company).get("/api/posts/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_a_token_that_never_expires_is_an_explicit_choice_and_other_people_s_tokens_are_not_found(team):
    company, admin, member = team
    client = company_client(company, member.user)
    assert client.post("/tokens/", {"name": "forever", "expires_in_days": "never"}).status_code == 201
    assert ApiToken.objects.get(user=member.user, name="forever").expires_at is None
    assert client.post("/tokens/", {"name": "x", "expires_in_days": "1000"}).status_code == 400
    admins_token, _ = api_token_create(user=admin.user, name="admin's")
    assert "admin&#x27;s" not in client.get("/tokens/").content.decode()
    assert client.post(f"/tokens/{admins_token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=admins_token.pk).exists()


# --- Billing and banners -----------------------------------------------------------------------


def test_members_see_the_plan_and_its_limits_and_admins_also_manage_billing(team):
    company, admin, member = team
    as_member = company_client(company, member.user).get("/billing/").content.decode()
    assert 'id="plan">Basic<' in as_member and 'id="plan-interval">monthly<' in as_member
    assert re.search(r'id="limit-max_members"><span class="usage">2</span> of 3<', as_member)
    assert 'id="feature-exports" class="excluded"' in as_member
    assert "manage-billing" not in as_member and "subscription-status" not in as_member
    as_admin = company_client(company, admin.user).get("/billing/").content.decode()
    assert 'id="manage-billing"' in as_admin and 'id="subscription-status">active<' in as_admin


@pytest.mark.parametrize(
    "state, expected",
    [
        ({"status": "trialing", "trial_end": timedelta(days=2)}, ["trial-ending"]),
        ({"status": "trialing", "trial_end": timedelta(days=6)}, []),
        ({"status": "past_due", "past_due_since": timedelta(days=-1)}, ["past-due"]),
        ({"status": "active", "cancel_at_period_end": True, "current_period_end": timedelta(days=9)}, ["cancelling"]),
        ({"status": "canceled"}, ["subscription-ended"]),
        ({"status": "active"}, []),
    ],
)
def test_billing_states_show_their_banner(state, expected):
    company = CompanyFactory(provisioned=False)
    now = timezone.now()
    fields = {key: now + value if isinstance(value, timedelta) else value for key, value in state.items()}
    subscription = give_subscription(company, **fields)
    company.refresh_from_db()
    assert [banner.code for banner in banners_for(company=company, subscription=subscription, now=now)] == expected


def test_the_dashboard_shows_the_banner_of_a_trial_ending_soon(team):
    company, admin, _ = team
    give_subscription(company, status="trialing", trial_end=timezone.now() + timedelta(days=1))
    company = Company.objects.get(pk=company.pk)
    page = company_client(company, admin.user).get("/").content.decode()
    assert 'id="banner-trial-ending"' in page and 'href="/billing/"' in page


def test_navigation_marks_the_current_page_and_offers_log_out_to_members(team):
    company, _, member = team
    page = company_client(company, member.user).get("/members/").content.decode()
    assert '<a href="/members/" aria-current="page">Members</a>' in page
    assert '<a href="/billing/">Billing</a>' in page and 'id="logout"' in page
    visitor = company_client(company).get("/login/").content.decode()
    assert '<a href="/login/" aria-current="page">Log in</a>' in visitor and "/members/" not in visitor


def test_the_members_page_and_the_api_share_the_invitation_email_rate(team, monkeypatch):
    from saas_platform.api.throttling import FailOpenScopedRateThrottle

    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"invitations": "3/hour"})
    company, admin, _ = team
    client = company_client(company, admin.user)
    invitation = invitation_create(
        company_id=company.pk, email="inbox@example.com", role="member", invited_by=admin.user
    )
    assert client.post(f"/api/invitations/{invitation.pk}/resend/").status_code == 200
    assert client.post(f"/api/invitations/{invitation.pk}/resend/").status_code == 200
    assert client.post(f"/members/invitations/{invitation.pk}/resend/").status_code == 302
    flooded = client.post(f"/members/invitations/{invitation.pk}/resend/")
    assert flooded.status_code == 429 and "Too many requests" in flooded.content.decode()
    assert client.post(f"/api/invitations/{invitation.pk}/resend/").status_code == 429
