"""The answers to requests that go nowhere: JSON for API paths, a page in the site's layout for
people (404, 403, 500, a refused CSRF check, an unknown company host, a company still being
prepared). Django's own pages never reach a browser, and the settings serve with DEBUG off locally
too, since DEBUG's 404 page lists every URL pattern."""

from __future__ import annotations

import logging

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

logger = logging.getLogger(__name__)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return render(request, "pages/not_found.html", status=404)


def permission_denied(request, exception=None):
    if _is_api(request):
        return JsonResponse({"code": "permission_denied", "detail": "Only company admins can do this."}, status=403)
    return render(request, "pages/permission_denied.html", status=403)


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a form sent from an old page, or without the cookie."""
    return render(request, "pages/csrf_failure.html", status=403)


def server_error(request):
    if _is_api(request):
        return JsonResponse({"code": "server_error", "detail": "Internal error."}, status=500)
    # Without the request: whatever failed (the database, a template tag) must not fail this page too.
    try:
        return HttpResponse(loader.get_template("pages/server_error.html").render(), status=500)
    except Exception:
        logger.exception("the 500 page could not be rendered")
        return HttpResponse("Internal error.", content_type="text/plain", status=500)


def company_unavailable(request, *, provisioning: bool):
    """A company host whose company is not active: 503 with Retry-After, JSON or a page that reloads."""
    retry_after = "5" if provisioning else "300"
    if _is_api(request):
        body = {
            "code": "company_provisioning" if provisioning else "company_unavailable",
            "detail": "This company's workspace is being prepared; try again shortly."
            if provisioning
            else "This company's workspace is unavailable.",
        }
        response = JsonResponse(body, status=503)
    else:
        context = {"provisioning": provisioning, "retry_after": retry_after}
        response = render(request, "pages/company_unavailable.html", context, status=503)
    response["Retry-After"] = retry_after
    return response
