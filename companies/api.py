"""The companies API: API tokens (platform host), members and invitations (company host).

Refusals of the services (MembershipRefused 409, the plan's Denied 402) are answered by the API's
one exception handler (saas_platform/api/errors.py)."""

from django.contrib.auth import authenticate
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from saas_platform.api.pagination import NewestFirstPagination
from saas_platform.api.schema import ErrorSerializer, PaymentRequiredSerializer, location_header
from saas_platform.api.throttling import FailOpenScopedRateThrottle

from companies import lockout
from companies.access import IsCompanyAdmin, IsCompanyMember
from companies.members import invitation_create, invitation_resend, invitation_revoke, member_remove, member_set_role
from companies.selectors import invitation_open, invitations_open, member_of, members_of, tokens_of
from companies.serializers import (
    ApiTokenSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    NewApiTokenSerializer,
    TokenRequestSerializer,
)
from companies.tokens import api_token_create, api_token_revoke


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
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
    @sensitive_variables()
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request, email=serializer.validated_data["email"].lower(), password=serializer.validated_data["password"]
        )
        if user is None:
            raise ValidationError({"non_field_errors": ["Wrong e-mail or password."]}, code="invalid_credentials")
        lockout.login_succeeded(request=request, email=user.email)
        token, key = api_token_create(
            user=user,
            name=serializer.validated_data["name"],
            expires_in_days=serializer.validated_data["expires_in_days"],
        )
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
        tokens = tokens_of(user=request.user)
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
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class Gone(APIException):
    status_code = status.HTTP_410_GONE
    default_code = "gone"
    default_detail = "This operation was removed."


def _error_examples(serializer, description: str, *examples: tuple[str, dict]) -> OpenApiResponse:
    return OpenApiResponse(
        serializer, description=description, examples=[OpenApiExample(name, value=value) for name, value in examples]
    )


LAST_ADMIN = _error_examples(
    ErrorSerializer,
    "The company's last admin stays an admin",
    ("Last admin", {"code": "last_admin", "detail": "A company keeps at least one admin."}),
)
NO_FREE_SEAT = _error_examples(
    PaymentRequiredSerializer,
    "Members plus pending invitations fill the plan's max_members",
    (
        "No free seat",
        {
            "code": "plan_limit_reached",
            "detail": "The plan allows 3 (max_members); 3 in use.",
            "upgrade_url": "http://acme.localhost:8000/billing/",
        },
    ),
)

USE_INVITATIONS = (
    "Members join by invitation now: POST /api/invitations/ {email, role} e-mails an accept link, "
    "and the person becomes a member when they accept it."
)


class MemberListCreateView(APIView):
    pagination_class = NewestFirstPagination
    permission_classes = [IsCompanyMember]

    @extend_schema(
        responses=MemberSerializer(many=True),
        operation_id="members_list",
        tags=["members"],
        summary="The company's members",
    )
    def get(self, request):
        memberships = members_of(company=request.tenant)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(memberships, request, view=self)
        return paginator.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={
            410: OpenApiResponse(
                ErrorSerializer,
                description="Removed: invite people with `POST /api/invitations/`",
                examples=[
                    OpenApiExample("Use invitations", value={"code": "use_invitations", "detail": USE_INVITATIONS})
                ],
            )
        },
        deprecated=True,
        operation_id="members_create",
        tags=["members"],
        summary="Removed: use POST /api/invitations/",
        description=(
            "Adding people directly created accounts without their consent. It now always answers "
            "`410` with code `use_invitations`: invite them with `POST /api/invitations/` instead."
        ),
    )
    def post(self, request):
        raise Gone(USE_INVITATIONS, code="use_invitations")


class MemberDetailView(APIView):
    may_conflict = {"PATCH", "DELETE"}  # the last admin

    def get_permissions(self):
        return [IsCompanyAdmin()] if self.request.method in ("PATCH", "DELETE") else [IsCompanyMember()]

    @extend_schema(responses=MemberSerializer, operation_id="members_retrieve", tags=["members"], summary="One member")
    def get(self, request, member_id: int):
        membership = member_of(company=request.tenant, membership_id=member_id)
        if membership is None:
            raise NotFound()
        return Response(MemberSerializer(membership).data)

    @extend_schema(
        request=MemberRoleSerializer,
        responses={200: MemberSerializer, 409: LAST_ADMIN},
        operation_id="members_partial_update",
        tags=["members"],
        summary="Change a member's role (admins only; the last admin is never demoted: 409 `last_admin`)",
    )
    def patch(self, request, member_id: int):
        serializer = MemberRoleSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        role = serializer.validated_data.get("role")
        if role is None:  # nothing to change
            membership = member_of(company=request.tenant, membership_id=member_id)
        else:
            membership = member_set_role(company_id=request.tenant.pk, membership_id=member_id, role=role)
        if membership is None:
            raise NotFound()
        return Response(MemberSerializer(membership).data)

    @extend_schema(
        responses={204: None, 409: LAST_ADMIN},
        operation_id="members_destroy",
        tags=["members"],
        summary="Remove a person from the company (admins only; the last admin stays: 409 `last_admin`)",
    )
    def delete(self, request, member_id: int):
        if not member_remove(company_id=request.tenant.pk, membership_id=member_id):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class _InvitationThrottle(FailOpenScopedRateThrottle):
    """Each admin may send so many invitation e-mails an hour (invites and resends together), so a
    company cannot be used to flood someone's inbox; listing is not limited."""

    def get_cache_key(self, request, view):
        return super().get_cache_key(request, view) if request.method == "POST" else None


class InvitationListCreateView(APIView):
    # Admins only, listing too: the addresses invited are not members' business until they join.
    permission_classes = [IsCompanyAdmin]
    pagination_class = NewestFirstPagination
    throttle_classes = [_InvitationThrottle]
    throttle_scope = "invitations"
    throttled = {"POST"}
    gated = {"POST"}  # the plan's max_members
    may_conflict = {"POST"}  # already a member, or already invited

    @extend_schema(
        responses=InvitationSerializer(many=True),
        operation_id="invitations_list",
        tags=["invitations"],
        summary="Open invitations: pending, and expired ones an admin may resend (admins only)",
        description="Accepted and revoked invitations are not listed. `state` is `pending` or `expired`.",
    )
    def get(self, request):
        invitations = invitations_open(company=request.tenant)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(invitations, request, view=self)
        return paginator.get_paginated_response(InvitationSerializer(page, many=True).data)

    @extend_schema(
        request=InvitationCreateSerializer,
        responses={
            201: InvitationSerializer,
            402: NO_FREE_SEAT,
            409: _error_examples(
                ErrorSerializer,
                "Already a member, or already invited",
                (
                    "Already a member",
                    {"code": "already_member", "detail": "ann@acme.example is a member of this company already."},
                ),
                (
                    "Already invited",
                    {
                        "code": "already_invited",
                        "detail": "ann@acme.example has a pending invitation (id 7); resend it instead.",
                    },
                ),
            ),
        },
        parameters=[location_header(201)],
        operation_id="invitations_create",
        tags=["invitations"],
        summary="Invite a person by e-mail (admins only); takes a seat under the plan's max_members",
        description=(
            "Records a pending invitation and e-mails its accept link (`/invitations/<token>/` on the "
            "company host; single use, valid 7 days). No account and no membership exist until the "
            "person accepts. `409 already_member`, `409 already_invited` (resend that one instead), "
            "`402 plan_limit_reached` when members plus pending invitations fill `max_members`."
        ),
    )
    def post(self, request):
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = invitation_create(
            company_id=request.tenant.pk, invited_by=request.user, **serializer.validated_data
        )
        response = Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"/api/invitations/{invitation.pk}/")
        return response


class InvitationDetailView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        responses=InvitationSerializer,
        operation_id="invitations_retrieve",
        tags=["invitations"],
        summary="One open invitation (admins only)",
    )
    def get(self, request, invitation_id: int):
        invitation = invitation_open(company=request.tenant, invitation_id=invitation_id)
        if invitation is None:
            raise NotFound()
        return Response(InvitationSerializer(invitation).data)

    @extend_schema(
        responses={204: None},
        operation_id="invitations_destroy",
        tags=["invitations"],
        summary="Revoke an open invitation: its link stops working (admins only)",
    )
    def delete(self, request, invitation_id: int):
        if not invitation_revoke(company_id=request.tenant.pk, invitation_id=invitation_id):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationResendView(APIView):
    permission_classes = [IsCompanyAdmin]
    throttle_classes = [_InvitationThrottle]
    throttle_scope = "invitations"
    gated = True  # reviving an expired invitation takes a seat again

    @extend_schema(
        request=None,
        responses={200: InvitationSerializer, 402: NO_FREE_SEAT},
        operation_id="invitations_resend",
        tags=["invitations"],
        summary="E-mail a new link, valid 7 more days; older links stop working (admins only)",
    )
    def post(self, request, invitation_id: int):
        invitation = invitation_resend(company_id=request.tenant.pk, invitation_id=invitation_id)
        if invitation is None:
            raise NotFound()
        return Response(InvitationSerializer(invitation).data)
