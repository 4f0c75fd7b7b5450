"""Every HTML page either host serves carries a Content-Security-Policy that allows no inline script
or style (and no eval, plugins, <base> rewriting or framing), and none of our pages needs any: no
inline <script>, <style>, style="" or on*="" handler in their markup. The real-browser side (no
violation while the pages work) is tests/browser/test_csp.py."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from onboarding.views import progress_path
from tests.factories import CompanyFactory, MembershipFactory, UserFactory, give_subscription
from tests.helpers import host_of, platform_client, send_owed_emails

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=\"|\son[a-z]+=\"", re.I)


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *values = part.split()
        directives[name] = values
    return directives


def check_page(where: str, response, problems: list[str]) -> None:
    if response.status_code >= 500 and response.status_code != 503:  # 503: a company being prepared
        problems.append(f"{where}: {response.status_code}")
        return
    if not response.get("Content-Type", "").startswith("text/html"):
        problems.append(f"{where}: not HTML ({response.get('Content-Type')})")
        return
    policy = policy_of(response)
    values = [value for directive in policy.values() for value in directive]
    for expected, allowed in {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }.items():
        if policy.get(expected) != allowed:
            problems.append(f"{where}: {expected} is {policy.get(expected)}")
    if "'unsafe-inline'" in values or "'unsafe-eval'" in values or "'unsafe-hashes'" in values:
        problems.append(f"{where}: unsafe source in {policy}")
    html = response.content.decode()
    for pattern in (INLINE_SCRIPT, INLINE_STYLE):
        if found := pattern.findall(html):
            problems.append(f"{where}: inline {found[:3]}")


def test_every_html_page_sends_a_csp_without_unsafe_inline(settings):
    company = CompanyFactory()
    give_subscription(company, status="active", lookup_key="pro_monthly")
    admin_user = MembershipFactory(company=company, role="admin").user
    operator = UserFactory(operator=True, email="operator-csp-pages@example.com")
    problems: list[str] = []
    pages = 0

    def check(where, response):
        nonlocal pages
        pages += 1
        check_page(where, response, problems)

    # Company host.
    anonymous = Client(HTTP_HOST=host_of(company))
    check("company /login/", anonymous.get("/login/"))
    check("company /login/ (wrong password)", anonymous.post("/login/", {"username": "x@y.z", "password": "bad"}))
    check("company 404", anonymous.get("/no-such-page/"))
    site = Client(HTTP_HOST=host_of(company))
    site.force_login(admin_user)
    check("company dashboard", site.get("/"))
    check("company billing unavailable (409)", site.post("/billing/portal/"))
    check("company billing page", site.get("/billing/"))
    check("company members page", site.get("/members/"))
    check("company members: invite refused", site.post("/members/invite/", {"email": "bad", "role": "member"}))
    admin_membership = company.memberships.get(user=admin_user)
    check("company members: last admin (409)", site.post(f"/members/{admin_membership.pk}/remove/"))
    check("company tokens page", site.get("/tokens/"))
    check("company tokens: new key", site.post("/tokens/", {"name": "csp", "expires_in_days": "30"}))
    member = Client(HTTP_HOST=host_of(company))
    member.force_login(MembershipFactory(company=company, role="member").user)
    check("company 403 page", member.post("/members/invite/", {"email": "x@example.com", "role": "member"}))
    check("company 404 (member)", member.get("/no-such-page/"))
    check("unknown company host 404", Client(HTTP_HOST="nobody.localhost").get("/"))
    forms = Client(HTTP_HOST=host_of(company), enforce_csrf_checks=True)
    check("company CSRF refusal", forms.post("/login/", {"username": "x@y.z", "password": "bad"}))
    connection.set_schema_to_public()  # the requests left the connection on the company's schema
    preparing = CompanyFactory(status="provisioning")
    check("company being prepared (503)", Client(HTTP_HOST=host_of(preparing)).get("/"))
    for _ in range(5):
        locked = anonymous.post("/login/", {"username": admin_user.email, "password": "bad"})
    assert locked.status_code == 429
    check("company lockout (429)", locked)

    # Platform host: docs, password reset, 404.
    platform = platform_client()
    for path in ("/api/docs/", "/api/redoc/", "/password-reset/", "/password-reset/sent/", "/password-reset/done/"):
        check(f"platform {path}", platform.get(path))
    check("platform 404", platform.get("/no-such-page/"))
    for path in ("/", "/signup/", "/signup/?price=pro_yearly", "/login/"):
        check(f"platform {path}", platform.get(path))
    check("platform login: unknown company", platform.post("/login/", {"slug": "nobody"}))
    check("platform sign-up with errors", platform.post("/signup/", {"name": "", "slug": "www"}))
    check("platform sign-up progress", platform.get(progress_path(preparing)))
    platform.post("/password-reset/", {"email": admin_user.email})
    send_owed_emails()
    link = re.search(r"/password-reset/\S+/\S+/", mail.outbox[-1].body).group(0)
    check("platform reset link", platform.get(link, follow=True))
    check("platform used/invalid link", Client(HTTP_HOST=settings.PLATFORM_DOMAIN).get("/password-reset/MQ/bad-token/"))

    # The Django admin: login, index, and every registered model's list and add form.
    check("admin login", platform_client().get("/admin/login/"))
    staff = platform_client(operator)
    index = staff.get("/admin/")
    check("admin index", index)

    def admin_url(opts, view, *args):
        name = f"admin:{opts.app_label}_{opts.model_name}_{view}"
        return reverse(name, args=args, urlconf=settings.PUBLIC_SCHEMA_URLCONF)

    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        check(f"admin {opts.label} list", staff.get(admin_url(opts, "changelist")))
        if model_admin.has_add_permission(index.wsgi_request):
            check(f"admin {opts.label} add", staff.get(admin_url(opts, "add")))
    check("admin company change", staff.get(admin_url(company._meta, "change", company.pk)))

    assert pages > 45
    assert not problems, "\n".join(problems)


def test_the_api_docs_load_everything_from_the_platform_itself():
    """Swagger UI's init script is a separate URL (drf-spectacular's split view), so it needs no inline script."""
    client = platform_client()
    page = client.get("/api/docs/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert any("?script=" in src for src in scripts)
    init = client.get(next(src for src in scripts if "?script=" in src))
    assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in init.content.decode()


def test_json_answers_carry_the_policy_too():
    response = platform_client().get("/api/plans/")
    assert response.status_code == 200
    assert policy_of(response).get("default-src") == ["'self'"]
