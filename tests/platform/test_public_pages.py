"""The platform host's pages for visitors: the pricing page from the catalog, sign-up in the browser
(the API's validation and service, idempotent on a double submit), the signed progress page, the
way to a company's login page, and friendly error pages on both hosts with DEBUG off."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import signing
from django.test import Client

from companies.models import Company, OnboardingStep
from subscriptions.plans import PLANS, amount_display
from tests.factories import CompanyFactory, DomainFactory, UserFactory
from tests.helpers import host_of, platform_client

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-enough-secret"


def _signup_form(client: Client, **fields) -> dict:
    page = client.get("/signup/").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    return {
        "name": "Acme Widgets",
        "slug": "acme-widgets",
        "admin_email": "ann@acme-widgets.example",
        "admin_password": PASSWORD,
        "price_lookup_key": "basic_monthly",
        "idempotency_key": key,
    } | fields


def _errors_of(page: str, field: str) -> list[str]:
    block = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    return [html.unescape(error) for error in re.findall(r"<li>(.*?)</li>", block.group(1))] if block else []


# --- Pricing ---------------------------------------------------------------------------------


def test_pricing_page_shows_every_catalog_price_and_links_its_trial():
    page = platform_client().get("/").content.decode()
    for plan in PLANS.values():
        assert f'id="plan-{plan.key}"' in page
        for lookup_key, amount in (
            (plan.monthly_lookup_key, plan.monthly_amount),
            (plan.yearly_lookup_key, plan.yearly_amount),
        ):
            price = re.search(rf'id="price-{lookup_key}">.*?class="amount">([^<]+)<', page, re.S).group(1)
            assert price == amount_display(amount, plan.currency)
            assert f'href="/signup/?price={lookup_key}"' in page
    assert "Up to 3 members" in page and "Unlimited posts" in page


def test_amounts_read_as_people_write_them():
    assert amount_display(1900, "usd") == "$19"
    assert amount_display(1583, "usd") == "$15.83"
    assert amount_display(490000, "eur") == "€4,900"
    assert amount_display(500, "jpy") == "500 JPY"
    assert amount_display(-3667, "usd") == "\u2212$36.67"  # a credit: the sign before the symbol


# --- Sign-up ---------------------------------------------------------------------------------


def test_the_pricing_link_preselects_its_plan_on_the_signup_form(settings):
    page = platform_client().get("/signup/?price=pro_yearly").content.decode()
    assert re.search(r'<option value="pro_yearly" selected>', page)
    unknown = platform_client().get("/signup/?price=gold_forever").content.decode()
    assert re.search(rf'<option value="{settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY}" selected>', unknown)


@pytest.mark.parametrize(
    "field, value",
    [
        ("slug", "admin"),  # reserved
        ("slug", "-bad-"),
        ("slug", "taken-co"),
        ("admin_email", "taken@example.com"),
        ("admin_password", "password"),  # common and short
        ("admin_password", "12345678901234"),  # entirely numeric
        ("admin_email", "not-an-address"),
        ("name", ""),
        ("name", "n" * 101),
        ("price_lookup_key", "gold_forever"),
    ],
)
def test_the_signup_form_refuses_what_the_api_refuses_with_its_messages(field, value):
    CompanyFactory(slug="taken-co", provisioned=False)
    UserFactory(email="taken@example.com")
    client = platform_client()
    form = _signup_form(client, **{field: value})
    page = client.post("/signup/", form)
    api = client.post("/api/companies/", {k: v for k, v in form.items() if k != "idempotency_key"}, "application/json")
    assert page.status_code == 400 and api.status_code == 400
    assert _errors_of(page.content.decode(), field) == api.json()["errors"][field]
    assert not Company.objects.filter(slug="acme-widgets").exists()


def test_signing_up_in_the_browser_starts_onboarding_on_the_chosen_plan(published, django_capture_on_commit_callbacks):
    client = platform_client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/signup/", _signup_form(client, price_lookup_key="pro_yearly"))
    assert response.status_code == 302
    assert re.fullmatch(r"/signup/progress/[^/]+/", response["Location"])
    company = Company.objects.get(slug="acme-widgets")
    assert company.trial_price_lookup_key == "pro_yearly"
    assert company.memberships.get().user.email == "ann@acme-widgets.example"
    assert published == [
        (("companies.provision", "companies.create_stripe_customer", "companies.start_trial"), (company.pk,))
    ]


def test_a_double_submit_signs_up_once_and_both_answers_show_the_same_progress(
    published, django_capture_on_commit_callbacks
):
    client = platform_client()
    form = _signup_form(client)
    with django_capture_on_commit_callbacks(execute=True):
        first, second = client.post("/signup/", form), client.post("/signup/", form)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Company.objects.filter(slug="acme-widgets").count() == 1
    assert len(published) == 1


def test_the_same_form_sent_again_with_other_details_gets_a_fresh_key(published):
    client = platform_client()
    form = _signup_form(client)
    client.post("/signup/", form)
    again = client.post("/signup/", form | {"slug": "acme-2", "name": "Acme Two"})
    assert again.status_code == 409
    page = again.content.decode()
    assert "sent before with other details" in page
    assert f'value="{form["idempotency_key"]}"' not in page
    assert not Company.objects.filter(slug="acme-2").exists()


def test_the_slug_check_suggests_a_free_address_and_says_why_one_is_refused():
    CompanyFactory(slug="acme-widgets", provisioned=False)
    client = platform_client()
    suggested = client.get("/signup/slug/", {"name": "Acme Widgets, Inc."}).json()
    assert suggested == {
        "slug": "acme-widgets-inc",
        "available": True,
        "detail": "acme-widgets-inc.localhost is available.",
    }
    assert client.get("/signup/slug/", {"name": "Acme Widgets"}).json()["slug"] == "acme-widgets-2"
    taken = client.get("/signup/slug/", {"slug": "acme-widgets"}).json()
    assert taken == {"slug": "acme-widgets", "available": False, "detail": "This name is taken."}
    assert client.get("/signup/slug/", {"slug": "www"}).json()["detail"] == "This name is reserved."
    assert client.get("/signup/slug/", {"slug": "x" * 62}).json()["available"] is False


# --- Progress --------------------------------------------------------------------------------


def _progress_url(client, published) -> str:
    return client.post("/signup/", _signup_form(client))["Location"]


def test_the_progress_page_follows_each_onboarding_step_to_the_login_page(published):
    client = platform_client()
    url = _progress_url(client, published)
    company = Company.objects.get(slug="acme-widgets")

    def states():
        body = client.get(url + "status/").json()
        return body["status"], [step["state"] for step in body["steps"]], body["next"]

    assert states() == ("provisioning", ["running", "waiting", "waiting"], None)
    page = client.get(url).content.decode()
    assert 'data-status="provisioning"' in page and "acme-widgets.localhost" in page
    for step in ("schema", "customer"):
        OnboardingStep.objects.create(
            company=company, step=step, started_at=company.created_at, finished_at=company.created_at
        )
    assert states() == ("provisioning", ["done", "done", "running"], None)
    Company.objects.filter(pk=company.pk).update(status=Company.Status.ACTIVE)
    assert states() == ("active", ["done", "done", "done"], "http://acme-widgets.localhost/login/")
    assert 'href="http://acme-widgets.localhost/login/" id="go-to-login"' in client.get(url).content.decode()


def test_a_failed_onboarding_says_what_to_do_and_try_again_restarts_it(published, django_capture_on_commit_callbacks):
    client = platform_client()
    url = _progress_url(client, published)
    company = Company.objects.get(slug="acme-widgets")
    Company.objects.filter(pk=company.pk).update(status=Company.Status.FAILED, failure_reason="customer: card_error: x")
    OnboardingStep.objects.create(
        company=company, step="schema", started_at=company.created_at, finished_at=company.created_at
    )
    body = client.get(url + "status/").json()
    assert [step["state"] for step in body["steps"]] == ["done", "failed", "waiting"]
    page = client.get(url).content.decode()
    assert 'id="failed"' in page and "card_error" not in page  # what to do, not the internals

    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url + "retry/")["Location"] == url
    company.refresh_from_db()
    assert company.status == Company.Status.PROVISIONING and company.failure_reason == ""
    assert published == [
        (("companies.provision", "companies.create_stripe_customer", "companies.start_trial"), (company.pk,))
    ]


def test_only_a_signed_unexpired_progress_link_shows_a_company(published, monkeypatch):
    client = platform_client()
    url = _progress_url(client, published)
    token = url.split("/")[3]
    other = CompanyFactory(provisioned=False)
    forged = signing.dumps(other.pk, salt="another.salt")
    assert client.get(url).status_code == 200
    assert client.get(f"/signup/progress/{token[:-2]}xx/").status_code == 404
    assert client.get(f"/signup/progress/{forged}/status/").status_code == 404
    assert client.post(f"/signup/progress/{forged}/retry/").status_code == 404
    monkeypatch.setattr("onboarding.views.PROGRESS_LINK_LIFETIME", -1)
    assert client.get(url).status_code == 404


# --- Log in, errors --------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["acme", "Acme", "acme.localhost", "http://acme.localhost:8000/login/"])
def test_the_platform_login_page_forwards_to_the_company_login_page(typed):
    CompanyFactory(slug="acme", provisioned=False)
    response = Client(HTTP_HOST="localhost:8000").post("/login/", {"slug": typed})
    assert response.status_code == 302 and response["Location"] == "http://acme.localhost:8000/login/"


def test_the_platform_login_page_says_when_no_company_has_the_address():
    response = platform_client().post("/login/", {"slug": "nobody-here"})
    assert response.status_code == 400
    assert "No company has this address" in response.content.decode()


def _assert_friendly_404(response):
    page = response.content.decode()
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert 'id="not-found"' in page and 'class="site-nav"' in page
    assert "URLconf" not in page and "urlpatterns" not in page and "api/companies/" not in page


def test_both_hosts_answer_a_friendly_404_and_the_api_a_json_one():
    company = CompanyFactory()
    _assert_friendly_404(platform_client().get("/no-such-page/"))
    _assert_friendly_404(Client(HTTP_HOST=host_of(company)).get("/no-such-page/"))
    _assert_friendly_404(Client(HTTP_HOST="nobody.localhost").get("/"))  # no company at this host
    assert Client(HTTP_HOST="nobody.localhost").get("/api/posts/").json()["code"] == "not_found"
    assert platform_client().get("/api/nothing/").json() == {"code": "not_found", "detail": "Not found."}


def test_a_crash_shows_the_friendly_500_page(monkeypatch):
    def broken():
        raise RuntimeError("the catalog is broken")

    monkeypatch.setattr("subscriptions.views.catalog", broken)
    response = Client(HTTP_HOST="localhost", raise_request_exception=False).get("/")
    assert response.status_code == 500
    assert 'id="server-error"' in response.content.decode() and "catalog is broken" not in response.content.decode()


def test_a_company_still_being_prepared_shows_a_page_that_reloads():
    company = CompanyFactory(status=Company.Status.PROVISIONING, provisioned=False)
    DomainFactory(tenant=company)
    response = Client(HTTP_HOST=host_of(company)).get("/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert '<meta http-equiv="refresh" content="5">' in response.content.decode()


def test_make_run_settings_serve_with_debug_off_and_the_friendly_404():
    """`make run` uses saas_platform.settings.local: its 404 must be ours, not Django's URL listing."""
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_SETTINGS_MODULE", "METRICS_TOKEN")}
    env["DJANGO_SETTINGS_MODULE"] = "saas_platform.settings.local"
    probe = (
        "import django, json; django.setup(); from django.conf import settings; from django.test import Client;"
        "r = Client(HTTP_HOST='localhost').get('/static/companies/base.css');"
        "print(json.dumps({'debug': settings.DEBUG, 'css': r.status_code}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"debug": False, "css": 200}


def test_the_signup_page_and_the_api_share_the_signup_rate(monkeypatch):
    from saas_platform.api.throttling import FailOpenScopedRateThrottle

    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"signup": "2/min"})
    client = platform_client()
    assert client.post("/api/companies/", {}, "application/json").status_code == 400
    assert client.post("/signup/", _signup_form(client, slug="admin")).status_code == 400
    refused = client.post("/signup/", _signup_form(client))
    assert refused.status_code == 429 and "Too many requests" in refused.content.decode()
    assert not Company.objects.filter(slug="acme-widgets").exists()
