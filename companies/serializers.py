"""Request and response bodies of the companies API."""

from typing import Literal

from django.utils import timezone
from rest_framework import serializers

from companies.models import ApiToken, Invitation, Membership
from companies.tokens import TOKEN_DEFAULT_LIFETIME_DAYS, TOKEN_MAX_LIFETIME_DAYS


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
