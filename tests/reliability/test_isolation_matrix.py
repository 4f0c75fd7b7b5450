"""Every tenant endpoint × every method × (anonymous, member of another company, member, admin) ×
(the company's host, the other company's host, the platform host): the expected status, and never a
byte of another company's data.

The endpoints come from saas_platform.urls_company itself, so a new one cannot escape the matrix:
it fails `test_every_company_endpoint_has_expectations` until EXPECTED says what members and admins get.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, get_resolver
from django_tenants.utils import schema_context

from companies.members import invitation_create, invitation_token
from companies.models import Company, Invitation
from companies.tokens import api_token_create
from tests.factories import CompanyFactory, MembershipFactory, PostFactory, give_subscription
from tests.helpers import host_of
from tests.reliability import report

pytestmark = pytest.mark.django_db

# Per route name and method: the statuses a member and an admin of the host's company get.
# Everyone else is derived: anonymous → 401 (API) or the login page; another company's member → 404.
EXPECTED = {
    ("dashboard", "GET"): ({200}, {200}),
    ("login", "GET"): ({200}, {200}),
    ("login", "POST"): ({200}, {200}),  # an empty form: shown again with errors
    ("logout", "POST"): ({302}, {302}),
    ("billing-portal", "POST"): ({403}, {409}),  # admins only; no Stripe customer here: 409 page
    ("healthz", "GET"): ({200}, {200}),
    ("billing-subscription", "GET"): ({200}, {200}),
    ("billing-portal-session", "POST"): ({403}, {409}),
    ("billing-checkout-session", "POST"): ({403}, {409}),  # already subscribed
    ("billing-invoices", "GET"): ({403}, {200}),
    ("billing-cancel", "POST"): ({403}, {409}),  # no Stripe customer here: no live subscription
    ("billing-resume", "POST"): ({403}, {409}),
    ("billing-details", "GET"): ({403}, {409}),  # no Stripe customer here
    ("billing-details", "PATCH"): ({403}, {409}),
    ("billing-cancel-page", "POST"): ({403}, {409}),
    ("billing-resume-page", "POST"): ({403}, {409}),
    ("billing-tax-details-page", "POST"): ({403}, {409}),  # no Stripe customer here
    ("billing-upcoming-invoice", "GET"): ({403}, {404}),  # no Stripe customer here: no upcoming invoice
    ("billing-promotion-code", "POST"): ({403}, {400}),  # admins only; no such code here
    ("billing-plan-change-preview", "POST"): ({403}, {409}),  # no Stripe customer here: no live subscription
    ("billing-plan-change", "POST"): ({403}, {409}),
    ("invitation-accept", "GET"): ({200}, {200}),  # logged in as someone else: asked to log out
    ("invitation-accept", "POST"): ({200}, {200}),  # an empty form, or the log-out request: nothing joins
    ("members", "GET"): ({200}, {200}),
    ("members", "POST"): ({410}, {410}),  # replaced by invitations
    ("posts", "GET"): ({200}, {200}),
    ("posts", "POST"): ({201}, {201}),
    ("posts-export", "GET"): ({200}, {200}),
    ("post-detail", "GET"): ({200}, {200}),
    # The post is the admin's: a member who did not write it may not change it (403 not_author).
    ("post-detail", "PUT"): ({403}, {200}),
    ("post-detail", "PATCH"): ({403}, {200}),
    ("post-detail", "DELETE"): ({403}, {204}),
    ("member-detail", "GET"): ({200}, {200}),
    ("member-detail", "PATCH"): ({403}, {200}),
    ("member-detail", "DELETE"): ({403}, {204}),
    ("invitations", "GET"): ({403}, {200}),
    ("invitations", "POST"): ({403}, {201}),
    ("invitation-detail", "GET"): ({403}, {200}),
    ("invitation-detail", "DELETE"): ({403}, {204}),
    ("invitation-resend", "POST"): ({403}, {200}),
    # The pages. Their forms are sent form-encoded (BODIES); an action that succeeds redirects (302).
    ("billing", "GET"): ({200}, {200}),
    ("billing-promotion-code-page", "POST"): ({403}, {400}),  # admins only; no such code: the page, 400
    ("billing-plan-change-page", "GET"): ({403}, {400}),  # no plan named: the preview page says so
    ("billing-plan-change-confirm", "POST"): ({403}, {409}),  # no Stripe customer here: refused on the page
    ("members-page", "GET"): ({200}, {200}),
    ("members-invite", "POST"): ({403}, {302}),
    ("members-role", "POST"): ({403}, {302}),
    ("members-remove", "POST"): ({403}, {302}),
    ("members-invitation-resend", "POST"): ({403}, {302}),
    ("members-invitation-revoke", "POST"): ({403}, {302}),
    ("tokens-page", "GET"): ({200}, {200}),
    ("tokens-page", "POST"): ({201}, {201}),  # the new key, shown once
    # The token is the admin's: a member revoking it finds no such token of theirs.
    ("tokens-revoke", "POST"): ({404}, {302}),
}
# Open to anyone on a company host, members or not.
PUBLIC = {"login", "healthz", "invitation-accept"}
# What the platform host serves at a company route's path, with its own page (any other path there
# is 404): the pricing page at /, the way to a company's login page at /login/ (an empty form: 400).
PLATFORM_PAGES = {("dashboard", "GET"): 200, ("login", "GET"): 200, ("login", "POST"): 400}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
FORM = "application/x-www-form-urlencoded"
BODIES = {
    "posts": {"title": "new post", "body": "text"},
    "post-detail": {"title": "edited", "body": "text"},
    "billing-checkout-session": {"price_lookup_key": "pro_monthly"},
    "billing-promotion-code": {"code": "NO-SUCH-CODE"},
    "billing-promotion-code-page": {"code": "NO-SUCH-CODE"},
    "billing-plan-change-preview": {"price_lookup_key": "basic_monthly"},
    "billing-plan-change": {"price_lookup_key": "basic_monthly"},
    "billing-plan-change-confirm": {"price_lookup_key": "basic_monthly"},
    "member-detail": {"role": "member"},
    "members-role": {"role": "member"},
    "tokens-page": {"name": "matrix", "expires_in_days": "30"},
}


def company_routes() -> list[tuple[str, str]]:
    """(name, route) of every URL pattern a company host serves."""
    resolver = get_resolver(settings.ROOT_URLCONF)
    routes = []
    for pattern in resolver.url_patterns:
        assert isinstance(pattern, URLPattern), f"includes are not expected in the company URLs: {pattern}"
        routes.append((pattern.name or str(pattern.pattern), str(pattern.pattern)))
    return routes


def test_every_company_endpoint_has_expectations():
    names = {name for name, _ in company_routes()}
    missing = names - {name for name, _ in EXPECTED}
    assert not missing, f"add these company endpoints to EXPECTED: {sorted(missing)}"


@pytest.fixture
def world():
    companies = {}
    for key in ("a", "b"):
        company = CompanyFactory()
        give_subscription(company, status="active", lookup_key="pro_monthly")
        # The matrix makes a member or an invitation for every request to their paths: no seat limit
        # here (tests/companies/test_invitations.py covers max_members).
        Company.objects.filter(pk=company.pk).update(limits={**company.limits, "max_members": None})
        admin = MembershipFactory(company=company, role="admin").user
        member = MembershipFactory(company=company, role="member").user
        secret = f"secret-post-of-{company.slug}"
        with schema_context(company.schema_name):
            PostFactory(title=secret, body=f"body of {company.slug}", author=admin)
        companies[key] = {
            "company": company,
            "admin": admin,
            "member": member,
            "markers": [secret, f"body of {company.slug}", admin.email, member.email],
        }
    return companies


def _fresh_post(company, author) -> int:
    with schema_context(company.schema_name):
        return PostFactory(title=f"secret-post-of-{company.slug}", body="x", author=author).pk


def _fresh_member(company, author) -> int:
    return MembershipFactory(company=company, role="member").pk


def _fresh_invitation(company, author) -> int:
    return invitation_create(
        company_id=company.pk, email=f"invitee-{time.time_ns()}@example.com", role="member", invited_by=author
    ).pk


def _fresh_invitation_token(company, author) -> str:
    return invitation_token(Invitation.objects.get(pk=_fresh_invitation(company, author)))


def _fresh_api_token(company, author) -> int:
    return api_token_create(user=author, name=f"token of {company.slug}")[0].pk


# Path parameters: a new object of the given company for each request (DELETE may remove it), and
# whether ids are global (public schema) so another company's id can be tried on this host. Posts
# live in each company's schema, where ids repeat: there only the content markers can tell a leak.
OBJECTS = {
    "<int:pk>": (_fresh_post, False),
    "<int:member_id>": (_fresh_member, True),
    "<int:invitation_id>": (_fresh_invitation, True),
    "<str:token>": (_fresh_invitation_token, True),
    "<int:token_id>": (_fresh_api_token, True),
}


def _paths(pattern: str, host_company, a, b) -> list[tuple[str, bool]]:
    """(path, foreign): the host company's object, and, for global ids, the other company's object
    (which must not be reachable from this host)."""
    params = re.findall(r"<[^>]+>", pattern)
    if not params:
        return [("/" + pattern, False)]
    assert len(params) == 1 and params[0] in OBJECTS, f"add the path parameter of {pattern} to OBJECTS"
    make, global_ids = OBJECTS[params[0]]
    owner = host_company or a
    other = b if owner is a else a
    return [
        ("/" + pattern.replace(params[0], str(make(c["company"], c["admin"]))), c is other)
        for c in ((owner, other) if global_ids else (owner,))
    ]


def _expected(route: str, method: str, principal: str, host_kind: str, is_api: bool) -> set[int]:
    if host_kind == "platform":  # the platform host has its own /healthz and pages at / and /login/
        if route == "healthz":
            return {200}
        if (route, method) in PLATFORM_PAGES:
            return {PLATFORM_PAGES[(route, method)]}
        return {405} if any(r == route for r, _ in PLATFORM_PAGES) else {404}
    known = EXPECTED.get((route, method))
    if known is None:
        # A method the route does not serve: 405, or whatever the access check answers first
        # (DRF checks permissions before the method; the dashboard and /healthz take any method).
        served = next(m for r, m in EXPECTED if r == route)
        return {405} | _expected(route, served, principal, host_kind, is_api)
    if route in PUBLIC:
        return known[0]
    if route == "logout":
        return {302}
    if principal == "anonymous":
        return {401} if is_api else {302}
    if principal == "outsider":
        return {404}
    return known[0] if principal == "member" else known[1]


@pytest.mark.parametrize("size", [pytest.param("ci", id="ci")])
def test_isolation_matrix(world, size):
    started = time.monotonic()
    a, b = world["a"], world["b"]
    principals = {"anonymous": None, "outsider": b["admin"], "member": a["member"], "admin": a["admin"]}
    hosts = {"own": host_of(a["company"]), "other": host_of(b["company"]), "platform": settings.PLATFORM_DOMAIN}
    failures, leaks, sent = [], [], 0
    clients: dict[tuple[str, str], Client] = {}

    def check(route, pattern, method, who, user, host_kind, host, host_company, path, foreign):
        client = clients.get((who, host_kind))
        if client is None:
            client = clients[(who, host_kind)] = Client(HTTP_HOST=host, raise_request_exception=False)
            if user is not None:
                client.force_login(user)
        if route == "logout":
            clients.pop((who, host_kind))  # logged out: the next request logs in afresh
        body = BODIES.get(route, {})
        if route in ("invitations", "members-invite"):
            body = {"email": f"new-{sent}@example.com", "role": "member"}
        if pattern.startswith("api/"):
            response = client.generic(method, path, data=json.dumps(body), content_type="application/json")
        else:  # the pages' forms
            response = client.generic(method, path, data=urlencode(body), content_type=FORM)
        # On the other company's host, A's admin is the outsider and B's admin is the member.
        role = who
        if host_kind == "other":
            role = {"outsider": "admin", "member": "outsider", "admin": "outsider"}.get(who, who)
        expected = _expected(route, method, role, host_kind, pattern.startswith("api/"))
        if foreign:  # another company's object: whatever would have succeeded is not found instead
            # (a page's action redirects when it succeeds; an anonymous visitor's 302 goes to login).
            succeeded = (302, 409) if role in ("member", "admin") else (409,)
            expected = {404 if 200 <= code < 300 or code in succeeded else code for code in expected}
        if response.status_code not in expected:
            failures.append(
                f"{method} {path} as {who} on {host_kind} host: {response.status_code}, expected {expected}"
            )
        content = response.content.decode("utf-8", "replace")
        for owner_key, owner in (("a", a), ("b", b)):
            may_see = host_company is owner and role in ("member", "admin")
            for marker in owner["markers"]:
                if marker in content and not may_see:
                    leaks.append(f"{method} {path} as {who} on {host_kind} host shows {owner_key}'s {marker!r}")

    for (route, pattern), method, (who, user), (host_kind, host) in itertools.product(
        company_routes(), METHODS, principals.items(), hosts.items()
    ):
        # Whose data may this answer show? Only the host company's, and only to its members.
        host_company = {"own": a, "other": b}.get(host_kind)
        for path, foreign in _paths(pattern, host_company, a, b):
            sent += 1
            check(route, pattern, method, who, user, host_kind, host, host_company, path, foreign)
    report.record(
        "isolation_matrix",
        size,
        seconds=time.monotonic() - started,
        load=f"{len(company_routes())} endpoints × {len(METHODS)} methods × 4 principals × 3 hosts",
        faults="anonymous, another company's admin, member, admin on own/other/platform host",
        sent=sent,
        lost=None,
        duplicated=None,
        **{"5xx": sum(1 for f in failures if ": 5" in f)},
        checks=f"{len(failures)} unexpected statuses, {len(leaks)} responses leaking another company's data",
    )
    assert not leaks, leaks[:20]
    assert not failures, "\n".join(failures)
