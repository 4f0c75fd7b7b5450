"""OpenAPI generation: uniform error responses on every operation, one document for both hosts."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    detail = serializers.CharField()


class ValidationErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class PaymentRequiredSerializer(ErrorSerializer):
    code = serializers.ChoiceField(choices=["subscription_inactive", "feature_not_in_plan", "plan_limit_reached"])
    upgrade_url = serializers.URLField()


_ERRORS = {
    "400": OpenApiResponse(ValidationErrorSerializer, description="Invalid fields"),
    "401": OpenApiResponse(ErrorSerializer, description="Not authenticated"),
    "402": OpenApiResponse(PaymentRequiredSerializer, description="Denied by the company's plan or status"),
    "403": OpenApiResponse(ErrorSerializer, description="Not allowed for this role"),
    "404": OpenApiResponse(ErrorSerializer, description="Not found (or not a member of this company)"),
    "409": OpenApiResponse(ErrorSerializer, description="Conflict"),
    "429": OpenApiResponse(ErrorSerializer, description="Too many requests"),
    "503": OpenApiResponse(ErrorSerializer, description="The company's workspace is being prepared"),
}


class PlatformAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(_ERRORS[code].response, code, _ERRORS[code].description)
        return responses

    def _error_codes(self) -> list[str]:
        method = self.method.upper()
        view = self.view
        public = getattr(view, "authentication_classes", None) == []
        codes = [] if public else ["401", "404"]
        if method in ("POST", "PUT", "PATCH"):
            codes.append("400")
        path = self.path
        if not path.startswith(("/api/companies", "/api/auth", "/api/plans")):
            codes.append("503")
            if not public:
                codes.append("403")
        if getattr(view, "gated", False):
            codes.append("402")
        if getattr(view, "throttle_scope", None):
            codes.append("429")
        if method == "POST" and path.startswith(("/api/companies", "/api/billing")):
            codes.append("409")
        return codes


class CombinedSchemaGenerator:
    """One document for both hosts: the platform's paths and the company paths, each with its servers."""

    PLATFORM_URLCONF = "saas_platform.urls_platform"
    COMPANY_URLCONF = "saas_platform.urls_company"

    def __init__(self, *args, **kwargs):
        kwargs.pop("urlconf", None)
        self.kwargs = kwargs

    def _generate(self, urlconf: str, request, public: bool) -> dict:
        from drf_spectacular.generators import SchemaGenerator

        return SchemaGenerator(urlconf=urlconf, **self.kwargs).get_schema(request=None, public=public)

    def get_schema(self, request=None, public=False):
        from django.conf import settings

        platform = self._generate(self.PLATFORM_URLCONF, request, public)
        company = self._generate(self.COMPANY_URLCONF, request, public)
        scheme = settings.PLATFORM_SCHEME
        port = "" if settings.PLATFORM_PORT in ("", "80", "443") or scheme == "https" else f":{settings.PLATFORM_PORT}"
        platform_server = {
            "url": f"{scheme}://{settings.PLATFORM_DOMAIN}{port}",
            "description": "The platform: sign-up, API tokens, plans",
        }
        company_server = {
            "url": f"{scheme}://{{company}}.{settings.PLATFORM_DOMAIN}{port}",
            "description": "A company's own host",
            "variables": {"company": {"default": "demo", "description": "The company's slug"}},
        }
        schema = platform
        schema["servers"] = [platform_server, company_server]
        for item in schema.get("paths", {}).values():
            item["servers"] = [platform_server]
        for path, item in company.get("paths", {}).items():
            item["servers"] = [company_server]
            schema["paths"][path] = item
        for section, entries in company.get("components", {}).items():
            schema.setdefault("components", {}).setdefault(section, {}).update(entries)
        schema["paths"] = dict(sorted(schema["paths"].items()))
        return schema


class CombinedSchemaView:
    """GET /api/schema/: the combined document (YAML, or JSON with ?format=json)."""

    @classmethod
    def as_view(cls):
        from drf_spectacular.views import SpectacularAPIView

        return SpectacularAPIView.as_view(generator_class=CombinedSchemaGenerator)


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
