"""Sign-up requests: validation, idempotency and the 503 while a company is provisioned."""

import pytest
from django.test import Client

from companies.models import Company
from companies.services import SLUG_MAX_LENGTH, company_domain, schema_name_for
from tests.factories import CompanyFactory, DomainFactory, UserFactory
from tests.helpers import company_client, platform_client

pytestmark = pytest.mark.django_db


def test_company_host_answers_503_while_provisioning():
    company = CompanyFactory(slug="soon", status=Company.Status.PROVISIONING, provisioned=False)
    DomainFactory(tenant=company)
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
    assert [error.code for error in response.data["errors"][field]] == [code]
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


SIGNUP = {"name": "Long", "admin_email": "a@long.example", "admin_password": "a-long-enough-secret"}


@pytest.mark.parametrize("length", [62, 63])
def test_sixty_two_character_slug_is_a_400_not_a_500(length):
    """`c_` + a 62- or 63-character slug is longer than PostgreSQL's 63-character schema names."""
    response = platform_client().post(
        "/api/companies/", SIGNUP | {"slug": "a" * length}, content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == {
        "slug": [f"At most {SLUG_MAX_LENGTH} characters (the slug also names the company's database schema)."]
    }
    assert [error.code for error in response.data["errors"]["slug"]] == ["max_length"]
    assert SLUG_MAX_LENGTH == 61
    assert Company.objects.count() == 0


def test_sixty_one_character_slug_fits_its_schema_name(django_capture_on_commit_callbacks):
    slug = "a-" * 30 + "b"  # 61 characters, hyphens included
    with django_capture_on_commit_callbacks(execute=False):
        response = platform_client().post("/api/companies/", SIGNUP | {"slug": slug}, content_type="application/json")
    assert response.status_code == 202, response.json()
    company = Company.objects.get(slug=slug)
    assert len(company.schema_name) == 63
    from django.db import connection

    # PostgreSQL accepts the name as it is (identifiers longer than 63 characters are cut, not refused).
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{company.schema_name}"')
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [company.schema_name])
        assert cursor.fetchone() == (1,)
        cursor.execute(f'DROP SCHEMA "{company.schema_name}"')


def _holds_slug(slug):
    """A committed row that holds the slug itself (another schema name, as if made by a racing request)."""
    CompanyFactory(slug=slug, schema_name="c_holder", provisioned=False)


def _holds_schema_name(slug):
    CompanyFactory(slug="holder", schema_name=schema_name_for(slug).upper(), provisioned=False)


def _holds_domain(slug):
    holder = CompanyFactory(slug="holder", provisioned=False)
    DomainFactory(tenant=holder, domain=company_domain(slug))


def _holds_email(slug):
    UserFactory(email="admin@raced.example")


@pytest.mark.parametrize(
    "holder, field, code",
    [
        (_holds_slug, "slug", "slug_taken"),
        (_holds_schema_name, "slug", "slug_taken"),
        (_holds_domain, "slug", "slug_taken"),
        (_holds_email, "admin_email", "email_taken"),
    ],
)
def test_signup_that_loses_the_race_after_validation_is_a_field_error(holder, field, code):
    """The slower of two sign-ups passed validation before the faster one committed: its unique
    violation (or django-tenants' schema-name check) names the field instead of raising a 500."""
    from companies.services import SignupTaken, company_signup

    holder("raced")
    before = Company.objects.count()
    with pytest.raises(SignupTaken) as raised:
        company_signup(name="Raced", slug="raced", admin_email="Admin@raced.example", admin_password="x" * 12)
    assert (raised.value.field, raised.value.field_code) == (field, code)
    assert Company.objects.count() == before


def test_debug_page_of_a_failed_signup_never_shows_the_password(settings, monkeypatch):
    """With local settings (DEBUG) an unexpected error shows Django's debug page: no password on it,
    neither from the view's parsed JSON nor from the frames below it that hold it."""
    settings.DEBUG = True
    password = "the-submitted-passphrase-0451"
    _fail_while_hashing(monkeypatch)
    client = Client(HTTP_HOST=settings.PLATFORM_DOMAIN, raise_request_exception=False)
    response = client.post(
        "/api/companies/",
        SIGNUP | {"slug": "debug-page", "admin_password": password},
        content_type="application/json",
    )
    assert response.status_code == 500
    page = response.content.decode()
    assert "company_signup" in page and "set_password" in page  # the debug page, with the frames
    assert password not in page
    assert "admin_password" in page  # named, with its value hidden


def _fail_while_hashing(monkeypatch) -> None:
    """An unexpected failure as deep as the password goes (there is no real input that still fails)."""
    from django.contrib.auth.hashers import MD5PasswordHasher

    def encode(self, password, salt):
        raise RuntimeError("the hasher broke")

    monkeypatch.setattr(MD5PasswordHasher, "encode", encode)


def test_signup_names_the_plan_whose_trial_starts_and_refuses_an_unknown_one(django_capture_on_commit_callbacks):
    body = SIGNUP | {"slug": "chosen", "price_lookup_key": "pro_yearly"}
    with django_capture_on_commit_callbacks(execute=False):
        accepted = platform_client().post("/api/companies/", body, content_type="application/json")
    assert accepted.status_code == 202
    assert Company.objects.get(slug="chosen").trial_price_lookup_key == "pro_yearly"
    refused = platform_client().post(
        "/api/companies/",
        body | {"slug": "other", "admin_email": "b@long.example", "price_lookup_key": "gold"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["error_codes"] == {"price_lookup_key": ["invalid_choice"]}
