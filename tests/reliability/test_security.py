"""Security basics: CSRF on the HTML forms, HTTPS-only cookies and HSTS under production settings,
and no secret in any log line. (`manage.py check --deploy` under production settings is checked by
tests/operations/test_health_metrics_admin.py::test_production_passes_the_deploy_checklist.)"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client
from saas_platform.log_context import ContextFilter, JsonFormatter

from tests.factories import CompanyFactory, MembershipFactory, give_subscription
from tests.helpers import host_of, post_event, stripe_event
from tests.reliability import report

ROOT = Path(__file__).resolve().parents[2]
_checks: list[str] = []


def _record(check: str) -> None:
    """One row for all the security checks that ran (each test adds its own and rewrites it)."""
    _checks.append(check)
    report.record(
        "security_basics",
        "ci",
        seconds=None,
        load="login, Manage billing and logout forms; production settings; logs",
        faults="forged form posts without CSRF token, plain-HTTP requests, secrets fed to every logger",
        sent=None,
        lost=None,
        duplicated=None,
        **{"5xx": None},
        checks="; ".join(_checks),
    )


def _csrf_client(company) -> Client:
    return Client(HTTP_HOST=host_of(company), enforce_csrf_checks=True)


def _token_from(response) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    assert match, "the form carries no CSRF token"
    return match.group(1).decode()


@pytest.fixture
def company_with_admin(db):
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="pro_monthly")
    return company, MembershipFactory(company=company, role="admin").user


def test_login_form_refuses_a_post_without_its_csrf_token(company_with_admin):
    company, admin = company_with_admin
    credentials = {"username": admin.email, "password": "correct-horse-battery"}
    client = _csrf_client(company)
    assert client.post("/login/", credentials).status_code == 403
    assert "_auth_user_id" not in client.session
    token = _token_from(client.get("/login/"))
    assert client.post("/login/", credentials | {"csrfmiddlewaretoken": token}).status_code == 302
    _record("CSRF enforced on login")


def test_manage_billing_and_logout_forms_refuse_posts_without_the_csrf_token(company_with_admin):
    company, admin = company_with_admin
    client = _csrf_client(company)
    client.force_login(admin)
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert client.post("/billing/portal/").status_code == 403  # a cross-site form cannot open the portal
    assert client.post("/logout/").status_code == 403  # nor log the admin out
    assert client.get("/").status_code == 200, "the forged logout ended the session"
    token = _token_from(dashboard)
    assert client.post("/billing/portal/", {"csrfmiddlewaretoken": token}).status_code == 409  # no Stripe customer
    assert client.post("/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert client.get("/").status_code == 302  # logged out: back to the login page
    _record("CSRF enforced on Manage billing and logout")


PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "saas_platform.settings.production",
    "DJANGO_SECRET_KEY": "reliability-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "STRIPE_SECRET_KEY": "sk_test_reliabilityProductionKey",
    "STRIPE_WEBHOOK_SECRET": "whsec_reliabilityProductionSecret",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:1/unused",  # never reached: no query below
}
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
https = Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")
healthz = https.get("/healthz")
admin_login = https.get("/admin/login/")
plain = Client(HTTP_HOST="localhost").get("/healthz")
cookie = admin_login.cookies.get("csrftoken")
print(json.dumps({
    "hsts": healthz.headers.get("Strict-Transport-Security"),
    "plain_status": plain.status_code, "plain_location": plain.headers.get("Location"),
    "csrf_cookie_secure": bool(cookie and cookie["secure"]),
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "session_cookie_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "csrf_cookie_secure_setting": settings.CSRF_COOKIE_SECURE,
    "nosniff": healthz.headers.get("X-Content-Type-Options"),
}))
"""


def test_production_sends_hsts_redirects_to_https_and_marks_cookies_secure():
    env = {k: v for k, v in os.environ.items() if k.upper() != "PROMETHEUS_MULTIPROC_DIR"} | PRODUCTION_ENV
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    hsts = found["hsts"] or ""
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1)) if "max-age" in hsts else 0
    assert max_age >= 31536000 and "includeSubDomains" in hsts and "preload" in hsts, hsts
    assert found["plain_status"] == 301 and found["plain_location"].startswith("https://"), found
    assert found["csrf_cookie_secure"], "the CSRF cookie is sent over plain HTTP too"
    assert found["session_cookie_secure"] and found["session_cookie_httponly"] and found["csrf_cookie_secure_setting"]
    assert found["nosniff"] == "nosniff"
    _record("production: HSTS 1 year + subdomains + preload, HTTPS redirect, Secure cookies")


SECRET_PASSWORD = "Sup3r-secret-passphrase-42"


@pytest.mark.django_db
def test_passwords_tokens_keys_and_signing_secrets_never_reach_a_log_line(company_with_admin, settings):
    """Everything the platform logs (any logger, DEBUG and up, in the production JSON format) while
    people sign up, log in with right and wrong passwords, create tokens, and webhooks arrive
    signed with a wrong secret or with a payload carrying a key."""
    settings.STRIPE_SECRET_KEY = "sk_test_reliabilityLogProbe"
    company, admin = company_with_admin
    from django.core.cache import cache

    cache.clear()  # rate limits left by earlier tests would turn the logins below into 429s
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    token_key = None
    try:
        platform = Client(HTTP_HOST=settings.PLATFORM_DOMAIN, raise_request_exception=False)
        platform.post(
            "/api/companies/",
            {
                "name": "Logs Inc",
                "slug": f"logs{int(time.time() * 1000) % 10**8}",
                "admin_email": "logs@example.com",
                "admin_password": SECRET_PASSWORD,
            },
            content_type="application/json",
        )
        platform.post(
            "/api/auth/token/", {"email": admin.email, "password": SECRET_PASSWORD}, content_type="application/json"
        )
        issued = platform.post(
            "/api/auth/token/",
            {"email": admin.email, "password": "correct-horse-battery"},
            content_type="application/json",
        )
        token_key = issued.json().get("key") if issued.status_code == 201 else None
        site = Client(HTTP_HOST=host_of(company), raise_request_exception=False)
        site.post("/login/", {"username": admin.email, "password": SECRET_PASSWORD})
        if token_key:
            site.get("/api/posts/", HTTP_AUTHORIZATION=f"Bearer {token_key}")
        post_event(
            platform,
            stripe_event("charge.succeeded", {"id": "ch_log", "object": "charge", "note": settings.STRIPE_SECRET_KEY}),
            secret="whsec_attackerGuessedSecret",
        )
        post_event(platform, stripe_event("charge.succeeded", {"id": "ch_log2", "object": "charge"}))
        logging.getLogger("saas_platform").warning("calling Stripe with %s", settings.STRIPE_SECRET_KEY)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    output = stream.getvalue()
    # The probe heard the request path and direct logging, or it could not find a leak there.
    assert "company signed up" in output and "calling Stripe with" in output, output[-2000:]
    secrets = [
        SECRET_PASSWORD,
        "correct-horse-battery",
        settings.STRIPE_SECRET_KEY,
        "whsec_attackerGuessedSecret",
        settings.STRIPE_WEBHOOK_SECRETS[0],
    ]
    if token_key:
        secrets.append(token_key)
    leaked = [s for s in secrets if s in output]
    _record(f"{len(secrets)} secrets over {output.count(chr(10))} log lines: {len(leaked)} leaked")
    assert not leaked, leaked


def test_the_security_table_names_only_real_tests():
    """docs/reliability.md's Security table names the test behind each answer; a renamed or deleted
    test must not leave the table pointing at nothing."""
    named = [proof for _attack, _answer, proofs in report.SECURITY_ROWS for proof in proofs]
    assert len(named) >= 25, named
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.MULTILINE)
    ]
    assert not missing, missing
