"""Service errors: a rule of a service said no.

Every refusal a service raises is a `ServiceError`: a stable `code` clients can branch on, the HTTP
`status` it is answered with, and a `detail` for people. Services raise; nothing below the views
knows about HTTP beyond that number. The answer is written in one place per kind of client: the
API's exception handler (saas_platform/api/errors.py) and, for HTML pages, the error-page middleware
(saas_platform/error_pages.py).
"""

from __future__ import annotations

from saas_platform import metrics


class ServiceError(Exception):
    status: int = 409
    code: str = "conflict"
    detail: str = "The request conflicts with the current state."

    def __init__(self, detail: str | None = None, *, code: str | None = None):
        self.detail = detail or type(self).detail
        self.code = code or type(self).code
        super().__init__(self.detail)

    def extra(self) -> dict:
        """More of the answer's body beside code and detail (what the refusal is about), if any."""
        return {}


class FieldInvalid(ServiceError):
    """A field of the request is refused by a rule only the service can check (a name taken by a
    concurrent request): answered like a validation error of that field."""

    status = 400
    code = "invalid"

    def __init__(self, field: str, field_code: str, message: str):
        super().__init__(message)
        self.field, self.field_code = field, field_code


def error_body(error: ServiceError, request) -> dict:
    """{"code", "detail"} and the error's `extra()`, plus "upgrade_url" for a plan's refusal (402): the
    body of every answer to a service error, in the API and on HTML pages alike. Counts the plan's
    refusals."""
    body = {"code": error.code, "detail": error.detail} | error.extra()
    if error.status == 402:
        metrics.GATE_DENIALS.labels(code=error.code).inc()
        body["upgrade_url"] = request.build_absolute_uri("/billing/")
    return body
