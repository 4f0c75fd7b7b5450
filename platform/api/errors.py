"""One error body for every API failure: {"code", "detail"} plus "errors" and "error_codes" (400) or
"upgrade_url" (402). Service errors (saas_platform/errors.py) are answered here, with their own code
and status; DRF's own exceptions (authentication, permissions, validation, throttling) too."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from saas_platform.errors import FieldInvalid, ServiceError, error_body


def _code_of(exc: exceptions.APIException, data) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def exception_handler(exc, context):
    if isinstance(exc, FieldInvalid):
        exc = exceptions.ValidationError({exc.field: [ErrorDetail(exc.detail, code=exc.field_code)]})
    elif isinstance(exc, ServiceError):
        return Response(error_body(exc, context["request"]), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body = {"code": _code_of(exc, response.data)}
    if isinstance(exc, exceptions.ValidationError):
        body["detail"] = "The request has invalid fields."
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        body["errors"] = errors
        # The same keys with each message's stable code (e.g. slug: ["slug_taken"]), for clients to branch on.
        codes = exc.get_codes()
        body["error_codes"] = codes if isinstance(codes, dict) else {"non_field_errors": codes}
    else:
        body["detail"] = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else exc.detail
    if isinstance(exc, exceptions.Throttled):
        body["code"] = "throttled"
    response.data = body
    return response


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with an earlier one."
