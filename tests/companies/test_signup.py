"""Sign-up requests: validation, idempotency and the 503 while a company is provisioned."""

import pytest

from companies.models import Company
from tests.helpers import company_client, platform_client

pytestmark = pytest.mark.django_db


def test_company_host_answers_503_while_provisioning():
    from companies.models import Domain

    company = Company.objects.create(name="Soon", slug="soon", schema_name="c_soon")
    Domain.objects.create(domain="soon.localhost", tenant=company)
    response = company_client(company).get("/api/posts/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "company_provisioning"


@pytest.mark.parametrize(
    "field, value, code",
    [
        ("slug", "www", "reserved_slug"),
        ("slug", "admin", "reserved_slug"),
        ("slug", "-bad-", "invalid_slug"),
        ("slug", "Has_Upper", "invalid_slug"),
        ("slug", "a" * 64, "max_length"),
        ("admin_password", "short", "weak_password"),
        ("admin_password", "password123", "weak_password"),
        ("admin_email", "not-an-email", "invalid"),
    ],
)
def test_invalid_signup_gets_field_errors_and_creates_nothing(field, value, code):
    body = {
        "name": "Valid",
        "slug": "valid-co",
        "admin_email": "a@valid.example",
        "admin_password": "a-long-enough-secret",
    }
    body[field] = value
    response = platform_client().post("/api/companies/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert Company.objects.count() == 0


def test_taken_slug_and_email_are_rejected(django_capture_on_commit_callbacks):
    body = {
        "name": "One",
        "slug": "taken",
        "admin_email": "one@taken.example",
        "admin_password": "a-long-enough-secret",
    }
    with django_capture_on_commit_callbacks(execute=False):
        assert platform_client().post("/api/companies/", body, content_type="application/json").status_code == 202
        again = platform_client().post("/api/companies/", body, content_type="application/json")
    assert again.status_code == 400
    assert set(again.json()["errors"]) == {"slug", "admin_email"}
    assert Company.objects.count() == 1


def test_signup_is_idempotent_with_an_idempotency_key(django_capture_on_commit_callbacks):
    body = {"name": "Idem", "slug": "idem", "admin_email": "a@idem.example", "admin_password": "a-long-enough-secret"}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = platform_client().post(
            "/api/companies/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
        )
        second = platform_client().post(
            "/api/companies/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
        )
        other = platform_client().post(
            "/api/companies/", body | {"slug": "idem-two"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
        )
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["id"] == second.json()["id"]
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert Company.objects.count() == 1
    assert len(callbacks) == 1  # onboarding started once
