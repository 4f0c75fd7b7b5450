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
        "error_codes": {"non_field_errors": ["invalid_credentials"]},
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


def _issue(user, **fields):
    return platform_client().post(
        "/api/auth/token/",
        {"email": user.email, "password": "correct-horse-battery", **fields},
        content_type="application/json",
    )


def _days_from_now(moment: str) -> float:
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    return (parse_datetime(moment) - timezone.now()).total_seconds() / 86400


@pytest.mark.parametrize("fields, days", [({}, 90), ({"expires_in_days": 7}, 7), ({"expires_in_days": 365}, 365)])
def test_tokens_expire_in_ninety_days_unless_asked_otherwise(fields, days):
    user = UserFactory()
    response = _issue(user, **fields)
    assert response.status_code == 201
    assert days - 0.01 < _days_from_now(response.json()["expires_at"]) <= days
    listed = platform_client().get("/api/auth/tokens/", **bearer(response.json()["key"])).json()["results"]
    assert [token["expires_at"] for token in listed] == [response.json()["expires_at"]]


def test_a_token_that_never_expires_must_be_asked_for_with_null():
    user = UserFactory()
    response = _issue(user, expires_in_days=None)
    assert response.status_code == 201
    assert response.json()["expires_at"] is None
    listed = platform_client().get("/api/auth/tokens/", **bearer(response.json()["key"])).json()["results"]
    assert listed[0]["expires_at"] is None


@pytest.mark.parametrize("days", [0, -1, 366, "soon", 1.5])
def test_token_lifetime_outside_one_to_365_days_is_a_400(days):
    response = _issue(UserFactory(), expires_in_days=days)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == ["expires_in_days"]
    if days == 366:
        assert "365" in response.json()["errors"]["expires_in_days"][0]


def test_expired_token_is_401_token_expired():
    from django.utils import timezone

    from companies.models import ApiToken

    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="pro_monthly")
    user = MembershipFactory(company=company).user
    token, key = api_token_create(user=user, expires_in_days=1)
    assert company_client(company).get("/api/posts/", **bearer(key)).status_code == 200

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    for client, path in ((platform_client(), "/api/auth/tokens/"), (company_client(company), "/api/posts/")):
        response = client.get(path, **bearer(key))
        assert response.status_code == 401
        assert response.json()["code"] == "token_expired"  # not invalid_token: the client knows to rotate
        assert "expired" in response.json()["detail"]
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_blank_token_name_is_accepted_as_generated_clients_send_it():
    response = _issue(UserFactory(), name="")
    assert response.status_code == 201
    assert response.json()["name"] == ""


def test_tokens_made_before_expiry_existed_expire_ninety_days_after_the_migration():
    import importlib

    from django.apps import apps

    from companies.models import ApiToken

    migration = importlib.import_module("companies.migrations.0002_apitoken_expires_at")
    old, _ = api_token_create(user=UserFactory(), expires_in_days=None)
    dated, _ = api_token_create(user=UserFactory(), expires_in_days=3)
    migration.expire_existing_tokens(apps, schema_editor=None)
    old.refresh_from_db()
    assert 89.99 < _days_from_now(old.expires_at.isoformat()) <= 90
    assert ApiToken.objects.get(pk=dated.pk).expires_at == dated.expires_at  # untouched


def test_debug_page_of_a_failed_token_request_never_shows_the_password(settings, monkeypatch):
    """With DEBUG on, an unexpected error while checking the password shows the debug page, without it."""
    from django.contrib.auth.hashers import MD5PasswordHasher
    from django.test import Client

    def encode(self, password, salt):
        raise RuntimeError("the hasher broke")

    user = UserFactory()
    settings.DEBUG = True
    monkeypatch.setattr(MD5PasswordHasher, "encode", encode)
    client = Client(HTTP_HOST=settings.PLATFORM_DOMAIN, raise_request_exception=False)
    response = client.post(
        "/api/auth/token/",
        {"email": user.email, "password": "the-typed-password-8812"},
        content_type="application/json",
    )
    assert response.status_code == 500
    page = response.content.decode()
    assert "check_password" in page  # the debug page, with the frames below authenticate()
    assert "the-typed-password-8812" not in page
