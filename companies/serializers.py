"""Request and response bodies of the companies API."""

import re
from typing import Literal

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from companies.models import ApiToken, Company, Invitation, Membership, User
from companies.services import EMAIL_TAKEN, RESERVED_SLUGS, SLUG_MAX_LENGTH, SLUG_TAKEN, company_domain
from companies.tokens import TOKEN_DEFAULT_LIFETIME_DAYS, TOKEN_MAX_LIFETIME_DAYS
from subscriptions.serializers import SubscriptionSerializer

# A DNS label short enough to name the company's schema too (companies.services.SLUG_MAX_LENGTH).
SLUG_PATTERN = re.compile(rf"^[a-z0-9](?:[a-z0-9-]{{0,{SLUG_MAX_LENGTH - 2}}}[a-z0-9])?$")


class SignupSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.CharField(
        max_length=SLUG_MAX_LENGTH,
        help_text=(
            f"Becomes the company's subdomain and names its database schema: 1-{SLUG_MAX_LENGTH} lowercase "
            "letters, digits or hyphens, not starting or ending with a hyphen."
        ),
        error_messages={
            "max_length": f"At most {SLUG_MAX_LENGTH} characters (the slug also names the company's database schema)."
        },
    )
    admin_email = serializers.EmailField()
    admin_password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate_slug(self, value: str) -> str:
        if not SLUG_PATTERN.fullmatch(value):
            raise serializers.ValidationError(
                f"Use 1-{SLUG_MAX_LENGTH} lowercase letters, digits or hyphens, not starting or ending with a hyphen.",
                code="invalid_slug",
            )
        if value in RESERVED_SLUGS:
            raise serializers.ValidationError("This name is reserved.", code="reserved_slug")
        if Company.objects.filter(slug=value).exists():
            raise serializers.ValidationError(SLUG_TAKEN, code="slug_taken")
        return value

    def validate_admin_email(self, value: str) -> str:
        value = value.lower()
        if User.objects.filter(email=value).exists():
            raise serializers.ValidationError(EMAIL_TAKEN, code="email_taken")
        return value

    def validate(self, attrs):
        try:
            password_validation.validate_password(attrs["admin_password"], User(email=attrs["admin_email"]))
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"admin_password": list(exc.messages)}, code="weak_password") from exc
        return attrs


class CompanySerializer(serializers.ModelSerializer):
    domain = serializers.SerializerMethodField()
    subscription = serializers.SerializerMethodField()

    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "slug",
            "domain",
            "status",
            "failure_reason",
            "created_at",
            "activated_at",
            "subscription",
        ]

    def get_domain(self, company: Company) -> str:
        return company_domain(company.slug)

    def get_subscription(self, company: Company) -> SubscriptionSerializer(allow_null=True):  # type: ignore[valid-type]
        record = getattr(company, "subscription", None) if company.pk else None
        return SubscriptionSerializer(record, context={"company": company}).data if record else None


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    # Blank allowed: the label is optional, and clients generated from the document send its default.
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="A label for the token list."
    )
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=TOKEN_MAX_LIFETIME_DAYS,
        required=False,
        allow_null=True,
        default=TOKEN_DEFAULT_LIFETIME_DAYS,
        help_text=(
            f"Days until the token expires: {TOKEN_DEFAULT_LIFETIME_DAYS} if omitted, at most "
            f"{TOKEN_MAX_LIFETIME_DAYS}; `null` for a token that never expires."
        ),
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at"]
        extra_kwargs = {
            "expires_at": {"help_text": "From then on the token is refused (401 `token_expired`); null: never."}
        }


class NewApiTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)

    def validate_email(self, value: str) -> str:
        return value.lower()


class InvitationSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField(help_text="`pending` until `expires_at`, then `expired` (resend it).")
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "state", "invited_by", "created_at", "sent_at", "expires_at"]
        read_only_fields = fields
        extra_kwargs = {
            "sent_at": {"help_text": "When the latest link was handed to the mail server; null until then."}
        }

    def get_state(self, invitation: Invitation) -> Literal["pending", "expired"]:
        return "pending" if invitation.expires_at > timezone.now() else "expired"
