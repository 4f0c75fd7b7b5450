"""Sign-up and a company's onboarding status, on the platform host."""

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from saas_platform.api.errors import Conflict
from saas_platform.api.schema import location_header
from saas_platform.api.throttling import FailOpenScopedRateThrottle

from companies.services import company_signup, company_signup_replay
from onboarding.selectors import company_of_member
from onboarding.serializers import CompanySerializer, SignupSerializer

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key returns the first response instead of creating another company.",
)


SIGNUP_EXAMPLES = [
    OpenApiExample(
        "Sign-up",
        request_only=True,
        value={
            "name": "Acme",
            "slug": "acme",
            "admin_email": "admin@acme.example",
            "admin_password": "a-long-passphrase",
        },
    ),
    OpenApiExample(
        "Accepted, onboarding in progress",
        response_only=True,
        status_codes=["202"],
        value={
            "id": 42,
            "name": "Acme",
            "slug": "acme",
            "domain": "acme.localhost",
            "status": "provisioning",
            "failure_reason": "",
            "created_at": "2026-12-02T10:00:00Z",
            "activated_at": None,
            "subscription": None,
        },
    ),
]


# Error reports (the DEBUG page, the admins' e-mails) must never show the submitted password.
@method_decorator(sensitive_post_parameters("admin_password"), name="dispatch")
class CompanyListCreateView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "signup"
    may_conflict = True  # an Idempotency-Key reused with another body

    @extend_schema(
        request=SignupSerializer,
        responses={202: CompanySerializer},
        parameters=[IDEMPOTENCY_KEY, location_header(202)],
        examples=SIGNUP_EXAMPLES,
        operation_id="companies_create",
        tags=["companies"],
        summary="Sign up a company; onboarding continues in the background",
        description=(
            "Creates the company and its first admin, then provisions its workspace and starts a trial "
            "in the background: poll `GET /api/companies/{id}/` until `status` is `active`. "
            "Send an `Idempotency-Key` to retry safely."
        ),
    )
    @sensitive_variables()
    def post(self, request):
        key = request.headers.get("Idempotency-Key") or None
        if key and len(key) > 255:
            raise Conflict("Idempotency-Key is too long (255 characters at most).", code="invalid_idempotency_key")
        serializer = SignupSerializer(data=request.data)
        valid = serializer.is_valid()
        if key:
            # A retry of a request that succeeded must not fail validation on its own slug. Looked up
            # after validating, so a twin request that committed meanwhile is found here.
            company = company_signup_replay(idempotency_key=key, **_signup_identity(request.data))
            if company is not None:
                return self._accepted(request, company)
        if not valid:
            raise ValidationError(serializer.errors)
        company, _ = company_signup(idempotency_key=key, **serializer.validated_data)
        return self._accepted(request, company)

    def _accepted(self, request, company):
        response = Response(CompanySerializer(company).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = request.build_absolute_uri(f"/api/companies/{company.pk}/")
        return response


def _signup_identity(data) -> dict:
    """The fields a retried sign-up must repeat to be the same request (unvalidated input)."""
    if not hasattr(data, "get"):
        data = {}
    return {field: str(data.get(field, "")) for field in ("name", "slug", "admin_email")}


class CompanyDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=CompanySerializer,
        operation_id="companies_retrieve",
        tags=["companies"],
        summary="A company you are a member of, with its onboarding status and subscription",
    )
    def get(self, request, company_id: int):
        company = company_of_member(company_id=company_id, user=request.user)
        if company is None:  # only members see a company; to anyone else it does not exist
            raise NotFound()
        return Response(CompanySerializer(company).data)
