"""The companies API: sign-up and company status (platform host), members (company host)."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from saas_platform.api.errors import Conflict
from saas_platform.api.pagination import NewestFirstPagination
from saas_platform.api.throttling import FailOpenScopedRateThrottle

from companies import lockout
from companies.access import IsCompanyAdmin, IsCompanyMember
from companies.models import ApiToken, Company, Membership
from companies.serializers import (
    ApiTokenSerializer,
    CompanySerializer,
    MemberCreateSerializer,
    MemberSerializer,
    NewApiTokenSerializer,
    SignupSerializer,
    TokenRequestSerializer,
)
from companies.services import (
    IdempotencyConflict,
    company_signup,
    company_signup_replay,
    member_add,
    member_remove,
)
from companies.tokens import api_token_create, api_token_revoke
from subscriptions.gates import limit_denial, raise_if_denied

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key returns the first response instead of creating another company.",
)


def location_header(*codes: int) -> OpenApiParameter:
    return OpenApiParameter(
        "Location", str, OpenApiParameter.HEADER, response=list(codes), description="The URL of the new resource."
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
    def post(self, request):
        key = request.headers.get("Idempotency-Key") or None
        if key and len(key) > 255:
            raise Conflict("Idempotency-Key is too long (255 characters at most).", code="invalid_idempotency_key")
        serializer = SignupSerializer(data=request.data)
        try:
            if key:
                # A retry of a request that succeeded must not fail validation on its own slug.
                company = company_signup_replay(idempotency_key=key, **_signup_identity(request.data))
                if company is not None:
                    return self._accepted(request, company)
            serializer.is_valid(raise_exception=True)
            company, _ = company_signup(idempotency_key=key, **serializer.validated_data)
        except IdempotencyConflict as exc:
            raise Conflict(
                "This Idempotency-Key was used with a different request.", code="idempotency_conflict"
            ) from exc
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
        # Only members see a company; to anyone else it does not exist.
        company = get_object_or_404(
            Company.objects.select_related("subscription"), pk=company_id, memberships__user=request.user
        )
        return Response(CompanySerializer(company).data)


class TokenCreateView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    # Failures are counted by the login lockout (companies/lockout.py), not throttled per address.
    locks_out = True

    @extend_schema(
        request=TokenRequestSerializer,
        responses={201: NewApiTokenSerializer},
        parameters=[location_header(201)],
        operation_id="auth_token_create",
        tags=["auth"],
        summary="Exchange an e-mail and password for an API token (the key is shown once)",
        description=(
            "The token works on the company host of every company the user is a member of. "
            "A wrong e-mail or password is a 400 with `non_field_errors`. After 5 failures for one account "
            "from one address (50 for an account from anywhere, 100 from one address, per hour) attempts "
            "are refused, the right password too, with 429 `too_many_attempts` and `Retry-After`."
        ),
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request, email=serializer.validated_data["email"].lower(), password=serializer.validated_data["password"]
        )
        if user is None:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"non_field_errors": ["Wrong e-mail or password."]}, code="invalid_credentials")
        lockout.login_succeeded(request=request, email=user.email)
        token, key = api_token_create(user=user, name=serializer.validated_data["name"])
        body = NewApiTokenSerializer(token).data | {"key": key}
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"/api/auth/tokens/{token.pk}/")
        return response


class TokenListView(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirstPagination

    @extend_schema(
        responses=ApiTokenSerializer(many=True),
        operation_id="auth_tokens_list",
        tags=["auth"],
        summary="Your API tokens",
    )
    def get(self, request):
        tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(tokens, request, view=self)
        return paginator.get_paginated_response(ApiTokenSerializer(page, many=True).data)


class TokenDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={204: None}, operation_id="auth_tokens_destroy", tags=["auth"], summary="Revoke one of your tokens"
    )
    def delete(self, request, token_id: int):
        if not api_token_revoke(user=request.user, token_id=token_id):
            from rest_framework.exceptions import NotFound

            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListCreateView(APIView):
    pagination_class = NewestFirstPagination
    gated = {"POST"}  # the plan's max_members

    def get_permissions(self):
        return [IsCompanyAdmin()] if self.request.method == "POST" else [IsCompanyMember()]

    @extend_schema(responses=MemberSerializer(many=True), operation_id="members_list", tags=["members"])
    def get(self, request):
        memberships = (
            Membership.objects.filter(company=request.tenant).select_related("user").order_by("-created_at", "-id")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(memberships, request, view=self)
        return paginator.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(
        request=MemberCreateSerializer,
        responses={
            201: MemberSerializer,
            200: OpenApiResponse(MemberSerializer, description="Already a member: the existing membership"),
        },
        parameters=[location_header(200, 201)],
        operation_id="members_create",
        tags=["members"],
        summary="Add a person (admins only); counts against the plan's max_members",
    )
    def post(self, request):
        serializer = MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        used = Membership.objects.filter(company=request.tenant).count()
        if not Membership.objects.filter(
            company=request.tenant, user__email=serializer.validated_data["email"].lower()
        ).exists():
            raise_if_denied(limit_denial(request.tenant, "max_members", used), request)
        membership, created = member_add(company=request.tenant, **serializer.validated_data)
        response = Response(
            MemberSerializer(membership).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
        response["Location"] = request.build_absolute_uri(f"/api/members/{membership.pk}/")
        return response


class MemberDetailView(APIView):
    may_conflict = {"DELETE"}  # the last admin

    def get_permissions(self):
        return [IsCompanyAdmin()] if self.request.method == "DELETE" else [IsCompanyMember()]

    def _membership(self, request, member_id: int) -> Membership:
        return get_object_or_404(Membership.objects.select_related("user"), company=request.tenant, pk=member_id)

    @extend_schema(responses=MemberSerializer, operation_id="members_retrieve", tags=["members"], summary="One member")
    def get(self, request, member_id: int):
        return Response(MemberSerializer(self._membership(request, member_id)).data)

    @extend_schema(
        responses={204: None},
        operation_id="members_destroy",
        tags=["members"],
        summary="Remove a person from the company (admins only; the last admin stays)",
    )
    def delete(self, request, member_id: int):
        membership = self._membership(request, member_id)
        if not member_remove(membership=membership):
            raise Conflict("A company keeps at least one admin.", code="last_admin")
        return Response(status=status.HTTP_204_NO_CONTENT)
