"""The companies API: sign-up and company status (platform host), members (company host)."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

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
from companies.services import IdempotencyConflict, company_signup, member_add
from companies.tokens import api_token_create, api_token_revoke
from saas_platform.api.errors import Conflict
from saas_platform.api.pagination import NewestFirstPagination
from subscriptions.gates import limit_denial, raise_if_denied

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Retrying with the same key returns the first response instead of creating another company.",
)


class CompanyListCreateView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "signup"

    @extend_schema(
        request=SignupSerializer,
        responses={202: CompanySerializer},
        parameters=[IDEMPOTENCY_KEY],
        operation_id="companies_create",
        tags=["companies"],
        summary="Sign up a company; onboarding continues in the background",
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key") or None
        if key and len(key) > 255:
            raise Conflict("Idempotency-Key is too long (255 characters at most).", code="invalid_idempotency_key")
        serializer = SignupSerializer(data=request.data)
        try:
            if key:
                # A retry of a request that succeeded must not fail validation on its own slug.
                from companies.models import SignupRequest

                earlier = SignupRequest.objects.select_related("company").filter(key=key).first()
                if earlier is not None:
                    company, _ = company_signup(idempotency_key=key, **_signup_fields(request.data, earlier))
                    return self._accepted(request, company)
            serializer.is_valid(raise_exception=True)
            company, _ = company_signup(idempotency_key=key, **serializer.validated_data)
        except IdempotencyConflict as exc:
            raise Conflict("This Idempotency-Key was used with a different request.", code="idempotency_conflict") from exc
        return self._accepted(request, company)

    def _accepted(self, request, company):
        response = Response(CompanySerializer(company).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = request.build_absolute_uri(f"/api/companies/{company.pk}/")
        return response


def _signup_fields(data, earlier) -> dict:
    """The fields of a retried sign-up, compared with the first request's by the service."""
    if not hasattr(data, "get"):
        data = {}
    return {
        "name": str(data.get("name", "")),
        "slug": str(data.get("slug", "")),
        "admin_email": str(data.get("admin_email", "")).lower(),
        "admin_password": "",
    }


class CompanyDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=CompanySerializer, operation_id="companies_retrieve", tags=["companies"])
    def get(self, request, company_id: int):
        # Only members see a company; to anyone else it does not exist.
        company = get_object_or_404(
            Company.objects.select_related("subscription"), pk=company_id, memberships__user=request.user
        )
        return Response(CompanySerializer(company).data)


class TokenCreateView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={201: NewApiTokenSerializer, 400: OpenApiResponse(description="Wrong e-mail or password")},
        operation_id="auth_token_create",
        tags=["auth"],
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
        token, key = api_token_create(user=user, name=serializer.validated_data["name"])
        body = NewApiTokenSerializer(token).data | {"key": key}
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"/api/auth/tokens/{token.pk}/")
        return response


class TokenListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ApiTokenSerializer(many=True), operation_id="auth_tokens_list", tags=["auth"])
    def get(self, request):
        tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")
        paginator = NewestFirstPagination()
        page = paginator.paginate_queryset(tokens, request, view=self)
        return paginator.get_paginated_response(ApiTokenSerializer(page, many=True).data)


class TokenDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None}, operation_id="auth_tokens_destroy", tags=["auth"])
    def delete(self, request, token_id: int):
        if not api_token_revoke(user=request.user, token_id=token_id):
            from rest_framework.exceptions import NotFound

            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberListCreateView(APIView):
    def get_permissions(self):
        return [IsCompanyAdmin()] if self.request.method == "POST" else [IsCompanyMember()]

    @extend_schema(responses=MemberSerializer(many=True), operation_id="members_list", tags=["members"])
    def get(self, request):
        memberships = Membership.objects.filter(company=request.tenant).select_related("user").order_by("-created_at", "-id")
        paginator = NewestFirstPagination()
        page = paginator.paginate_queryset(memberships, request, view=self)
        return paginator.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer}, operation_id="members_create", tags=["members"])
    def post(self, request):
        serializer = MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        used = Membership.objects.filter(company=request.tenant).count()
        if not Membership.objects.filter(company=request.tenant, user__email=serializer.validated_data["email"].lower()).exists():
            raise_if_denied(limit_denial(request.tenant, "max_members", used), request)
        membership, created = member_add(company=request.tenant, **serializer.validated_data)
        response = Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        response["Location"] = request.build_absolute_uri(f"/api/members/{membership.pk}/")
        return response
