"""API tokens for clients: issued once on the platform host, valid on every company host of their
user's memberships (and only there), on the platform's own endpoints too; failed logins lock out
(tests/companies/test_lockout.py covers the lockout on every entry point)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from companies.tokens import api_token_create
from tests.factories import CompanyFactory, MembershipFactory, UserFactory, give_subscription
from tests.helpers import company_client, platform_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """Throttle counters live in the cache (Redis): start and leave each test with none."""
    cache.clear()
    yield
    cache.clear()


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_token_is_issued_for_email_and_password_and_shown_once():
    user = UserFactory()
    response = platform_client().post(
        "/api/auth/token/",
        {"email": user.email.upper(), "password": "correct-horse-battery", "name": "ci"},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("sbp_") and body["name"] == "ci"
    assert response["Location"].endswith(f"/api/auth/tokens/{body['id']}/")

    listed = platform_client().get("/api/auth/tokens/", **bearer(body["key"])).json()
    assert [token["id"] for token in listed["results"]] == [body["id"]]
    assert "key" not in listed["results"][0]  # never shown again
    assert listed["results"][0]["last_used_at"] is not None


def test_wrong_password_is_a_field_error_in_the_uniform_shape():
    user = UserFactory()
    response = platform_client().post(
        "/api/auth/token/", {"email": user.email, "password": "wrong"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": "The request has invalid fields.",
        "errors": {"non_field_errors": ["Wrong e-mail or password."]},
    }


def test_failed_logins_lock_out_with_429():
    user = UserFactory()
    attempt = {"email": user.email, "password": "wrong"}
    codes = [
        platform_client().post("/api/auth/token/", attempt, content_type="application/json").status_code
        for _ in range(5)
    ]
    assert codes == [400] * 4 + [429]  # the fifth failure for this account from this address locks
    response = platform_client().post("/api/auth/token/", attempt, content_type="application/json")
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert int(response["Retry-After"]) > 0
    # Even the right password waits until the cool-down ends.
    right = platform_client().post(
        "/api/auth/token/", {"email": user.email, "password": "correct-horse-battery"}, content_type="application/json"
    )
    assert right.status_code == 429


def test_many_token_requests_from_one_address_are_fine_while_they_succeed():
    """The old per-address throttle refused everyone behind a NAT after 10 logins a minute."""
    users = [UserFactory() for _ in range(12)]
    for user in users:
        response = platform_client().post(
            "/api/auth/token/",
            {"email": user.email, "password": "correct-horse-battery"},
            content_type="application/json",
        )
        assert response.status_code == 201


def test_token_works_on_platform_endpoints():
    company = CompanyFactory()
    member = MembershipFactory(company=company, role="member").user
    token, key = api_token_create(user=member)
    client = platform_client()
    assert client.get(f"/api/companies/{company.pk}/", **bearer(key)).json()["slug"] == company.slug
    assert client.get("/api/auth/tokens/", **bearer(key)).status_code == 200
    # Tokens are not session clients: no CSRF token needed to revoke.
    assert client.delete(f"/api/auth/tokens/{token.pk}/", **bearer(key)).status_code == 204
    assert client.get("/api/auth/tokens/", **bearer(key)).status_code == 401


def test_token_works_on_every_company_host_of_its_user_and_only_there():
    mine = [CompanyFactory(), CompanyFactory()]
    other = CompanyFactory()
    user = UserFactory()
    for company in (*mine, other):
        give_subscription(company, status="active", lookup_key="pro_monthly")
    for company in mine:
        MembershipFactory(company=company, user=user)
    _, key = api_token_create(user=user)

    for company in mine:
        assert company_client(company).get("/api/posts/", **bearer(key)).status_code == 200
    response = company_client(other).get("/api/posts/", **bearer(key))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("header", ["Bearer sbp_not-a-real-token", "Bearer not-even-the-prefix", "Token", "Bearer a b"])
def test_bad_tokens_are_401_with_a_challenge(header):
    response = platform_client().get("/api/auth/tokens/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] in ("invalid_token", "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_deactivated_users_tokens_stop_working():
    user = UserFactory()
    _, key = api_token_create(user=user)
    user.is_active = False
    user.save()
    assert platform_client().get("/api/auth/tokens/", **bearer(key)).status_code == 401


@pytest.mark.django_db
def test_login_lockout_cannot_be_dodged_with_forged_forwarded_for(settings):
    """Each failed login with a different invented X-Forwarded-For still counts against the caller."""
    from django.core.cache import cache

    cache.clear()
    client = platform_client()
    codes = [
        client.post(
            "/api/auth/token/",
            {"email": "nobody@example.com", "password": "wrong-password"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        ).status_code
        for attempt in range(8)
    ]
    assert 429 in codes
