"""Service errors raised by HTML views, answered with a page (the API's answer is in api/errors.py).

The page of an error is the template `errors/<its class name in snake_case>.html` of the first
class in its hierarchy that has one (`InvitationUnusable` → errors/invitation_unusable.html),
down to errors/service_error.html; it gets the error, the company and the upgrade URL of a 402.
"""

from __future__ import annotations

import re

from django.shortcuts import render
from saas_platform.errors import ServiceError, error_body


def _template_names(error: ServiceError) -> list[str]:
    classes = [cls for cls in type(error).__mro__ if isinstance(cls, type) and issubclass(cls, ServiceError)]
    return [f"errors/{re.sub(r'(?<!^)(?=[A-Z])', '_', cls.__name__).lower()}.html" for cls in classes]


class ServiceErrorPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ServiceError):
            return None
        context = {"error": exception, "company": getattr(request, "tenant", None), **error_body(exception, request)}
        return render(request, _template_names(exception), context, status=exception.status)
