"""`{% site_header %}`: the one navigation of every page. A company host shows its members the
company's pages and Log out (anyone else: Log in); the platform host shows pricing, sign-up and the
way to a company's login page. The link to the page being shown carries aria-current="page"."""

from __future__ import annotations

from django import template
from django_tenants.utils import get_public_schema_name
from saas_platform.hosts import platform_url_as_reached

from companies.access import request_membership

register = template.Library()

PLATFORM_LINKS = (("Pricing", "/#pricing"), ("Sign up", "/signup/"), ("Log in", "/login/"))
MEMBER_LINKS = (("Dashboard", "/"), ("Billing", "/billing/"), ("Members", "/members/"), ("API tokens", "/tokens/"))
VISITOR_LINKS = (("Log in", "/login/"),)


def on_platform_host(request) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.schema_name == get_public_schema_name()


def _is_current(href: str, path: str) -> bool:
    href = href.split("#")[0]
    return path == href if href == "/" else path.startswith(href)


@register.inclusion_tag("companies/site_header.html", takes_context=True)
def site_header(context) -> dict:
    request = context.get("request")
    path, home = getattr(request, "path", ""), ""
    if on_platform_host(request):
        brand, links, member = "Billing platform", PLATFORM_LINKS, None
        if request is not None and getattr(request, "tenant", None) is None:  # a host nobody has
            home = platform_url_as_reached(request, "")
    else:
        user = getattr(request, "user", None)
        member = request_membership(request) if user is not None else None
        brand, links = request.tenant.name, MEMBER_LINKS if member else VISITOR_LINKS
        if not request.tenant.is_ready:  # its pages answer 503 until onboarding is done
            links = ()
    return {
        "brand": brand,
        "home": home + "/",
        "links": [
            {"label": label, "href": home + href, "current": not home and _is_current(href, path)}
            for label, href in links
        ],
        "signed_in": member is not None,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def platform_url(context, path: str) -> str:
    """`path` on the platform host (relative there; absolute from a company host)."""
    request = context.get("request")
    if request is None or on_platform_host(request):
        return path
    return platform_url_as_reached(request, path)
