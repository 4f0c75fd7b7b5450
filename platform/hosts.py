"""Links from one host of the platform to another (a company's login page from the sign-up's progress
page, the platform's password reset from a company's login page), reached the way the current
request reached its own host: same scheme, same port."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def url_as_reached(request: HttpRequest, host: str, path: str) -> str:
    port = request.get_host().rpartition(":")[2] if ":" in request.get_host() else ""
    return f"{request.scheme}://{host}{':' + port if port else ''}{path}"


def platform_url_as_reached(request: HttpRequest, path: str) -> str:
    return url_as_reached(request, settings.PLATFORM_DOMAIN, path)


def company_url_as_reached(request: HttpRequest, slug: str, path: str) -> str:
    return url_as_reached(request, f"{slug}.{settings.PLATFORM_DOMAIN}", path)
