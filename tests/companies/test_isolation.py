"""The tenant comes only from the host: members see their company, everyone else sees nothing."""

import pytest

from tests.factories import CompanyFactory, MembershipFactory, give_subscription
from tests.helpers import company_client, platform_client

pytestmark = pytest.mark.django_db

API_READS = ["/api/posts/", "/api/billing/subscription/", "/api/members/"]
API_WRITES = [("/api/posts/", {"title": "x", "body": "y"}), ("/api/invitations/", {"email": "new@example.com"})]
ADMIN_ONLY = ["/api/billing/portal-session/", "/api/billing/checkout-session/"]


@pytest.fixture
def two_companies():
    a, b = CompanyFactory(), CompanyFactory()
    for company in (a, b):
        give_subscription(company, status="active", lookup_key="pro_monthly")
    return {
        "a": a,
        "b": b,
        "a_admin": MembershipFactory(company=a, role="admin").user,
        "a_member": MembershipFactory(company=a, role="member").user,
        "b_admin": MembershipFactory(company=b, role="admin").user,
    }


@pytest.mark.parametrize("path", API_READS + ADMIN_ONLY + ["/api/posts/export/"])
def test_member_of_another_company_gets_404_whatever_the_path(two_companies, path):
    client = company_client(two_companies["b"], two_companies["a_admin"])
    response = client.post(path, {}, content_type="application/json") if path in ADMIN_ONLY else client.get(path)
    assert response.status_code == 404


def test_member_of_another_company_gets_404_with_a_token_too(two_companies):
    from companies.tokens import api_token_create

    _, key = api_token_create(user=two_companies["a_admin"])
    response = company_client(two_companies["b"]).get("/api/posts/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 404
    assert company_client(two_companies["a"]).get("/api/posts/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200


def test_revoked_token_stops_working(two_companies):
    from companies.tokens import api_token_create

    token, key = api_token_create(user=two_companies["a_admin"])
    client = platform_client(two_companies["a_admin"])
    assert client.delete(f"/api/auth/tokens/{token.pk}/").status_code == 204
    response = company_client(two_companies["a"]).get("/api/posts/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401


def test_tokens_are_listed_and_revoked_only_by_their_owner(two_companies):
    from companies.tokens import api_token_create

    token, _ = api_token_create(user=two_companies["a_admin"], name="ci")
    other = platform_client(two_companies["b_admin"])
    assert other.delete(f"/api/auth/tokens/{token.pk}/").status_code == 404
    assert other.get("/api/auth/tokens/").json()["results"] == []
    listed = platform_client(two_companies["a_admin"]).get("/api/auth/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["ci"]


@pytest.mark.parametrize("path", API_READS)
def test_anonymous_api_requests_get_401(two_companies, path):
    assert company_client(two_companies["a"]).get(path).status_code == 401


def test_anonymous_dashboard_goes_to_login(two_companies):
    response = company_client(two_companies["a"]).get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_dashboard_of_another_company_is_404(two_companies):
    assert company_client(two_companies["b"], two_companies["a_admin"]).get("/").status_code == 404


def test_dashboard_shows_own_company_only(two_companies):
    response = company_client(two_companies["a"], two_companies["a_member"]).get("/")
    assert response.status_code == 200
    assert two_companies["a"].name.encode() in response.content
    assert two_companies["b"].name.encode() not in response.content
    assert b"manage-billing" not in response.content  # members don't get the billing button


@pytest.mark.parametrize("path", ADMIN_ONLY)
def test_billing_actions_are_admin_only(two_companies, path):
    response = company_client(two_companies["a"], two_companies["a_member"]).post(
        path, {}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_manage_billing_form_is_admin_only(two_companies):
    client = company_client(two_companies["a"], two_companies["a_member"])
    assert client.post("/billing/portal/").status_code == 403


def test_members_cannot_log_in_on_another_company_host(two_companies):
    client = company_client(two_companies["b"])
    response = client.post("/login/", {"username": two_companies["a_admin"].email, "password": "correct-horse-battery"})
    assert response.status_code == 200  # the form again, with an error
    assert b"correct email" in response.content.lower() or b"please enter a correct" in response.content.lower()
    assert "_auth_user_id" not in client.session


def test_members_log_in_on_their_own_host(two_companies):
    client = company_client(two_companies["a"])
    response = client.post(
        "/login/", {"username": two_companies["a_member"].email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_posts_stay_in_their_company_schema(two_companies):
    a = company_client(two_companies["a"], two_companies["a_admin"])
    b = company_client(two_companies["b"], two_companies["b_admin"])
    assert a.post("/api/posts/", {"title": "secret of a"}, content_type="application/json").status_code == 201
    titles_b = [p["title"] for p in b.get("/api/posts/").json()["results"]]
    assert "secret of a" not in titles_b
    assert [p["title"] for p in a.get("/api/posts/").json()["results"]] == ["secret of a"]


def test_unknown_host_is_404():
    from django.test import Client

    assert Client(HTTP_HOST="nobody.localhost").get("/api/posts/").status_code == 404


def test_company_api_is_not_on_the_platform_host(two_companies):
    assert platform_client(two_companies["a_admin"]).get("/api/posts/").status_code == 404


def test_company_detail_only_for_members(two_companies):
    a = two_companies["a"]
    assert platform_client(two_companies["a_member"]).get(f"/api/companies/{a.pk}/").status_code == 200
    assert platform_client(two_companies["b_admin"]).get(f"/api/companies/{a.pk}/").status_code == 404
    assert platform_client().get(f"/api/companies/{a.pk}/").status_code == 401
