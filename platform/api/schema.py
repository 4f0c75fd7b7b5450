"""The OpenAPI document: uniform error responses on every operation, one document for both hosts.

`PlatformAutoSchema` adds the error responses an operation can really return (each with the one
error body of `saas_platform.api.errors`); `CombinedSchemaGenerator` merges the platform host's
and the company host's URL confs into one document whose paths carry their own `servers`.
"""

from __future__ import annotations

import contextvars

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import permissions, serializers

# Which URL conf is being described: the AutoSchema cannot see it, the generator sets it.
_COMPANY_HOST = contextvars.ContextVar("openapi_company_host", default=False)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable error code, e.g. `not_found`.")
    detail = serializers.CharField(help_text="A human-readable explanation.")


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "Messages per field; `non_field_errors` for the request as a whole.",
    }
)
class FieldErrorsField(serializers.DictField):
    pass


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "The keys of `errors`, each message replaced by its stable code (e.g. `slug_taken`).",
    }
)
class FieldErrorCodesField(serializers.DictField):
    pass


class ValidationErrorSerializer(ErrorSerializer):
    code = serializers.CharField(help_text="`invalid` for field errors, `parse_error` for a body that is not JSON.")
    errors = FieldErrorsField(required=False)
    error_codes = FieldErrorCodesField(required=False)


class PaymentRequiredSerializer(ErrorSerializer):
    code = serializers.ChoiceField(choices=["subscription_inactive", "feature_not_in_plan", "plan_limit_reached"])
    upgrade_url = serializers.URLField(help_text="Where an admin can change the plan.")


def location_header(*codes: int) -> OpenApiParameter:
    """The `Location` header of the responses with these codes: the URL of the resource created."""
    return OpenApiParameter(
        "Location", str, OpenApiParameter.HEADER, response=list(codes), description="The URL of the new resource."
    )


def _example(name: str, value: dict) -> list[OpenApiExample]:
    return [OpenApiExample(name, value=value)]


ERROR_RESPONSES: dict[str, OpenApiResponse] = {
    "400": OpenApiResponse(
        ValidationErrorSerializer,
        description="Invalid fields",
        examples=_example(
            "Invalid fields",
            {
                "code": "invalid",
                "detail": "The request has invalid fields.",
                "errors": {"slug": ["This name is taken."]},
                "error_codes": {"slug": ["slug_taken"]},
            },
        ),
    ),
    "401": OpenApiResponse(
        ErrorSerializer,
        description="Not authenticated: no, an invalid or a revoked token",
        examples=_example(
            "Not authenticated",
            {"code": "not_authenticated", "detail": "Authentication credentials were not provided."},
        ),
    ),
    "402": OpenApiResponse(
        PaymentRequiredSerializer,
        description="Denied by the company's plan or subscription status",
        examples=_example(
            "Feature not in plan",
            {
                "code": "feature_not_in_plan",
                "detail": "The company's plan does not include 'exports'.",
                "upgrade_url": "http://acme.localhost:8000/billing/",
            },
        ),
    ),
    "403": OpenApiResponse(
        ErrorSerializer,
        description="Not allowed: a member where an admin is needed, or a session request without its CSRF token",
        examples=_example("Admins only", {"code": "permission_denied", "detail": "Only company admins can do this."}),
    ),
    "404": OpenApiResponse(
        ErrorSerializer,
        description="Not found, or not a member of this company (which looks the same on purpose)",
        examples=_example("Not found", {"code": "not_found", "detail": "Not found."}),
    ),
    "409": OpenApiResponse(
        ErrorSerializer,
        description="Conflicts with the current state or with an earlier request",
        examples=_example(
            "Idempotency-Key reused",
            {"code": "idempotency_conflict", "detail": "This Idempotency-Key was used with a different request."},
        ),
    ),
    "429": OpenApiResponse(
        ErrorSerializer,
        description="Too many requests; retry after the `Retry-After` header's seconds",
        examples=_example(
            "Throttled", {"code": "throttled", "detail": "Request was throttled. Expected available in 42 seconds."}
        ),
    ),
    "429-lockout": OpenApiResponse(
        ErrorSerializer,
        description="Too many failed sign-in attempts: refused, the right password too, until `Retry-After` seconds",
        examples=_example(
            "Locked out",
            {"code": "too_many_attempts", "detail": "Too many failed sign-in attempts. Try again in 15 minutes."},
        ),
    ),
    "503": OpenApiResponse(
        ErrorSerializer,
        description="The company's workspace is being prepared (or unavailable); retry after `Retry-After`",
        examples=_example(
            "Provisioning",
            {
                "code": "company_provisioning",
                "detail": "This company's workspace is being prepared; try again shortly.",
            },
        ),
    ),
}


class PlatformAutoSchema(AutoSchema):
    """Adds the uniform error responses each operation can return.

    Views say what they can add beyond authentication and validation: `gated = True` (or a set of
    methods) for plan gates (402), `may_conflict = True` for 409, `throttle_scope` for 429 (on the
    methods in `throttled` when a view throttles only some), and `locks_out = True` for a password
    check counted by the login lockout (429 `too_many_attempts`).
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                known = ERROR_RESPONSES["429-lockout" if code == "429" and self._locks_out() else code]
                responses[code] = self._get_response_for_code(known, code, direction=direction)
        return dict(sorted(responses.items()))

    def _locks_out(self) -> bool:
        return bool(getattr(self.view, "locks_out", False))

    def _is_public(self) -> bool:
        return any(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())

    @staticmethod
    def _applies(flag, method: str) -> bool:
        return method in flag if isinstance(flag, (set, frozenset, list, tuple)) else bool(flag)

    def _error_codes(self) -> list[str]:
        method = self.method.upper()
        view = self.view
        company_host = _COMPANY_HOST.get()
        codes = []
        if method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            codes.append("400")
        if not self._is_public():
            codes.append("401")
            if method not in ("GET", "HEAD", "OPTIONS"):
                codes.append("403")  # CSRF for session clients, roles on company hosts
            codes.append("404")
        elif company_host or "{" in self.path:
            codes.append("404")
        if self._applies(getattr(view, "gated", False), method):
            codes.append("402")
        if self._applies(getattr(view, "may_conflict", False), method):
            codes.append("409")
        throttled = getattr(view, "throttle_scope", None) and self._applies(getattr(view, "throttled", True), method)
        if throttled or self._locks_out():
            codes.append("429")
        if company_host:
            codes.append("503")
        return codes

    def get_auth(self):
        # A view that reads no credentials has no security requirement at all (rather than "none or
        # ...", `[{}]`): generated clients then call it with a plain, unauthenticated client.
        if not self.view.get_authenticators():
            return []
        # One entry per scheme, in a stable order (the base class may repeat them).
        unique = []
        for requirement in super().get_auth():
            if requirement not in unique:
                unique.append(requirement)
        return unique


def _server_port(settings) -> str:
    # Behind HTTPS the platform is on the standard port; PLATFORM_PORT is then the app server's.
    port = str(settings.PLATFORM_PORT or "")
    return "" if port in ("", "80", "443") or settings.PLATFORM_SCHEME == "https" else f":{port}"


def platform_server(settings) -> dict:
    return {
        "url": f"{settings.PLATFORM_SCHEME}://{settings.PLATFORM_DOMAIN}{_server_port(settings)}",
        "description": "The platform host: sign-up, API tokens, plans",
    }


def company_server(settings) -> dict:
    return {
        "url": f"{settings.PLATFORM_SCHEME}://{{company}}.{settings.PLATFORM_DOMAIN}{_server_port(settings)}",
        "description": "A company's own host: its posts, members and billing",
        "variables": {"company": {"default": "demo", "description": "The company's slug"}},
    }


class CombinedSchemaGenerator:
    """One document for both hosts: the platform's paths and the company paths, each with its servers."""

    PLATFORM_URLCONF = "saas_platform.urls_platform"
    COMPANY_URLCONF = "saas_platform.urls_company"

    def __init__(self, *args, **kwargs):
        kwargs.pop("urlconf", None)
        self.kwargs = kwargs

    def _generate(self, urlconf: str, public: bool, company_host: bool) -> dict:
        token = _COMPANY_HOST.set(company_host)
        try:
            # request=None: the document must not depend on the host or port it is fetched from.
            return SchemaGenerator(urlconf=urlconf, **self.kwargs).get_schema(request=None, public=public)
        finally:
            _COMPANY_HOST.reset(token)

    def get_schema(self, request=None, public=False):
        from django.conf import settings

        schema = self._generate(self.PLATFORM_URLCONF, public, company_host=False)
        company = self._generate(self.COMPANY_URLCONF, public, company_host=True)
        platform, tenant = platform_server(settings), company_server(settings)
        schema["servers"] = [platform, tenant]
        for item in schema.get("paths", {}).values():
            item["servers"] = [platform]
        for path, item in company.get("paths", {}).items():
            assert path not in schema["paths"], f"{path} is on both hosts"
            item["servers"] = [tenant]
            schema["paths"][path] = item
        for section, entries in company.get("components", {}).items():
            merged = schema.setdefault("components", {}).setdefault(section, {})
            merged.update(entries)
            schema["components"][section] = dict(sorted(merged.items()))
        schema["paths"] = dict(sorted(schema["paths"].items()))
        schema["tags"] = [
            {"name": "companies", "description": "Sign-up and company status (platform host)"},
            {"name": "auth", "description": "API tokens (platform host)"},
            {"name": "plans", "description": "The public plan catalog (platform host)"},
            {"name": "posts", "description": "The company's posts (company host)"},
            {"name": "members", "description": "The company's members (company host)"},
            {"name": "billing", "description": "Subscription and Stripe sessions (company host)"},
        ]
        return schema


class CombinedSchemaView:
    """GET /api/schema/: the combined document (YAML, or JSON with ?format=json)."""

    @classmethod
    def as_view(cls):
        from drf_spectacular.views import SpectacularAPIView

        return SpectacularAPIView.as_view(generator_class=CombinedSchemaGenerator)


class SwaggerView:
    """GET /api/docs/: Swagger UI as drf-spectacular's split view (its init script is a separate URL,
    so the page needs no inline script) with our page template (no inline style)."""

    @classmethod
    def as_view(cls, **initkwargs):
        from drf_spectacular.views import SpectacularSwaggerSplitView

        return SpectacularSwaggerSplitView.as_view(template_name="api_docs/swagger_ui.html", **initkwargs)


# What ReDoc's page adds to the policy, and only there. Its bundle adds <style> elements as it loads,
# before any option (a nonce) can reach it, so they are allowed by hash: empty ones (styled-components
# creates them empty and fills them through the CSSOM, which CSP does not govern) and the
# perfect-scrollbar CSS compiled into the pinned drf-spectacular-sidecar's redoc.standalone.js
# (upgrading the sidecar may change it: tests/browser/test_csp.py then reports the violation). Its
# search index runs in a worker made from a blob of its own code, and its "API docs by Redocly"
# footer always shows a logo from its CDN (offline the logo is simply left out).
REDOC_POLICY = {
    "style-src": [
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # the empty string
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar's CSS
    ],
    "worker-src": ["'self'", "blob:"],
    "img-src": ["https://cdn.redoc.ly"],
}


class OfflineRedocView:
    """GET /api/redoc/: ReDoc from the local static files, without the stock page's web fonts and
    inline style, under a policy that admits only ReDoc's own known styles."""

    @classmethod
    def as_view(cls, **initkwargs):
        from csp.decorators import csp_update
        from drf_spectacular.views import SpectacularRedocView

        view = SpectacularRedocView.as_view(template_name="api_docs/redoc.html", **initkwargs)
        return csp_update(REDOC_POLICY)(view)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Bearer <token>` (companies.tokens.ApiTokenAuthentication)."""

    target_class = "companies.tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from POST /api/auth/token/ (also accepted as `Token <key>`).",
        }
