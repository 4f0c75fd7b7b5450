"""Request and response bodies of sign-up and of a company's status."""

import re

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.text import slugify
from rest_framework import serializers

from companies.models import Company, User
from companies.selectors import company_by_slug, user_by_email
from companies.services import EMAIL_TAKEN, RESERVED_SLUGS, SLUG_MAX_LENGTH, SLUG_TAKEN, company_domain
from subscriptions.plans import all_lookup_keys
from subscriptions.promotion_codes import InvalidPromotionCode, promotion_code_redeemable
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
    price_lookup_key = serializers.ChoiceField(
        choices=all_lookup_keys(),
        required=False,
        help_text=(
            "The plan and interval whose trial starts (`GET /api/plans/` lists them); "
            "without it, the platform's default trial plan."
        ),
    )

    promotion_code = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text=(
            "A promotion code (any case), applied to the trial's subscription. Refused with "
            "`invalid_promotion_code` when unknown, inactive, expired or used up."
        ),
    )

    def validate_promotion_code(self, value: str) -> str:
        """The code as Stripe spells it, if Stripe would redeem it now (checked against the local copy)."""
        if not value.strip():
            return ""
        try:
            return promotion_code_redeemable(code=value).code
        except InvalidPromotionCode as refused:
            raise serializers.ValidationError(refused.detail, code=refused.code) from refused

    def validate_slug(self, value: str) -> str:
        if not SLUG_PATTERN.fullmatch(value):
            raise serializers.ValidationError(
                f"Use 1-{SLUG_MAX_LENGTH} lowercase letters, digits or hyphens, not starting or ending with a hyphen.",
                code="invalid_slug",
            )
        if value in RESERVED_SLUGS:
            raise serializers.ValidationError("This name is reserved.", code="reserved_slug")
        if company_by_slug(slug=value) is not None:
            raise serializers.ValidationError(SLUG_TAKEN, code="slug_taken")
        return value

    def validate_admin_email(self, value: str) -> str:
        value = value.lower()
        if user_by_email(email=value) is not None:
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


def slug_refusal(value: str) -> str | None:
    """Why sign-up would refuse `value` as a slug (the serializer's own checks), or None if it is free."""
    serializer = SignupSerializer()
    try:
        serializer.validate_slug(serializer.fields["slug"].run_validation(value))
    except serializers.ValidationError as refused:
        detail = refused.detail
        return str(detail[0] if isinstance(detail, list) else detail)
    return None


def slug_suggestion(name: str) -> str:
    """A free slug made from a company name: `Acme Widgets, Inc.` → `acme-widgets-inc` (then -2, -3...
    if that one is taken); empty when the name has nothing to make one of."""
    base = re.sub(r"-+", "-", slugify(name).replace("_", "-"))[: SLUG_MAX_LENGTH - 3].strip("-")
    if not base:
        return ""
    for candidate in [base, *(f"{base}-{n}" for n in range(2, 10))]:
        if slug_refusal(candidate) is None:
            return candidate
    return base
