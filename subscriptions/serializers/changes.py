"""Bodies of an admin's changes to the subscription: a promotion code, cancel, the billing address
and tax IDs, a plan change and its preview."""

from rest_framework import serializers

from subscriptions.cancel_resume import COMMENT_MAX_LENGTH, FEEDBACK_LABELS, FEEDBACK_VALUES
from subscriptions.plan_changes import QUANTITY_NOT_ALLOWED, QUANTITY_NOT_ALLOWED_MESSAGE
from subscriptions.plans import all_lookup_keys, plan_for_lookup_key
from subscriptions.serializers.billing import InvoiceLineSerializer, LimitUsageSerializer
from subscriptions.tax import TAX_ID_TYPES, TAX_LOCATION_STATUSES


def utf8_text(value: str) -> None:
    """Refuse what JSON allows but no request to Stripe can carry (lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise serializers.ValidationError("Not valid text.", code="invalid") from None


class PromotionCodeRequestSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=255, help_text="The promotion code, in any case.")


class CancelRequestSerializer(serializers.Serializer):
    feedback = serializers.ChoiceField(
        choices=list(FEEDBACK_VALUES),
        required=False,
        allow_blank=True,
        default="",
        help_text="Why: one of Stripe's `cancellation_details.feedback` values ("
        + ", ".join(f"`{value}` {FEEDBACK_LABELS[value]!r}" for value in FEEDBACK_VALUES)
        + "); optional.",
    )
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=COMMENT_MAX_LENGTH,
        validators=[utf8_text],
        help_text="Anything to add.",
    )


class AddressSerializer(serializers.Serializer):
    line1 = serializers.CharField(max_length=200, allow_blank=True, required=False, default="", validators=[utf8_text])
    line2 = serializers.CharField(max_length=200, allow_blank=True, required=False, default="", validators=[utf8_text])
    city = serializers.CharField(max_length=200, allow_blank=True, required=False, default="", validators=[utf8_text])
    postal_code = serializers.CharField(
        max_length=20, allow_blank=True, required=False, default="", validators=[utf8_text]
    )
    state = serializers.CharField(
        max_length=100,
        allow_blank=True,
        required=False,
        default="",
        validators=[utf8_text],
        help_text="State, county or province.",
    )
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$",
        help_text="Two-letter ISO 3166-1 code (`DE`, `US`...): what Stripe Tax places the customer by.",
    )

    def validate_country(self, value: str) -> str:
        return value.upper()


class TaxIdSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=list(TAX_ID_TYPES), help_text="Stripe's tax ID type: `eu_vat`, `gb_vat`, `us_ein`, `au_abn`..."
    )
    value = serializers.RegexField(
        r"^[0-9A-Za-z .\-/]+$",
        max_length=100,
        help_text="The number as Stripe expects it (`DE123456789`): letters, digits, `.`, `-`, `/`; "
        "spaces are dropped.",
    )

    def validate_value(self, value: str) -> str:
        return "".join(value.split())


class BillingDetailsRequestSerializer(serializers.Serializer):
    address = AddressSerializer(required=False, help_text="The billing address; left as it is when absent.")
    tax_ids = TaxIdSerializer(
        many=True,
        required=False,
        max_length=5,
        help_text="The customer's tax IDs, all of them: those missing are added, the others removed; "
        "absent: left as they are.",
    )


def flat_errors(errors, prefix: str = "") -> dict:
    """A nested serializer's errors as the API's flat `{field: [messages]}`, nested fields named by
    their path (`address.country`, `tax_ids.0.value`); the messages keep their codes."""
    if isinstance(errors, dict):
        flat: dict = {}
        for key, value in errors.items():
            flat |= flat_errors(value, f"{prefix}.{key}" if prefix else str(key))
        return flat
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        return {prefix: list(errors)} if errors else {}
    return flat_errors({str(i): e for i, e in enumerate(errors) if e}, prefix)


class StoredTaxIdSerializer(TaxIdSerializer):
    id = serializers.CharField(help_text="Stripe's id (`txi_...`).")
    country = serializers.CharField(help_text="The country Stripe derived from the type or number.")
    verification = serializers.CharField(help_text="Stripe's check: `pending`, `verified`, `unverified`, or empty.")


class BillingDetailsSerializer(serializers.Serializer):
    address = AddressSerializer(allow_null=True)
    tax_ids = StoredTaxIdSerializer(many=True)
    tax_location = serializers.ChoiceField(
        choices=[*TAX_LOCATION_STATUSES, ""],
        help_text="Where Stripe places the customer for tax (its `tax.automatic_tax`): `supported`, `not_collecting` "
        "(placed, no tax collected there), `unrecognized_location` (no usable address), `failed`.",
    )
    automatic_tax = serializers.BooleanField(help_text="The subscription has automatic tax (Stripe Tax) on.")


class PlanChangeRequestSerializer(serializers.Serializer):
    price_lookup_key = serializers.ChoiceField(choices=all_lookup_keys(), help_text="The new plan's price.")
    quantity = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Flat plans only (default 1); a per-seat plan bills one seat per member, so a quantity is refused.",
    )

    def validate(self, data):
        plan = plan_for_lookup_key(data["price_lookup_key"])
        if plan is not None and plan.per_seat and "quantity" in data:
            raise serializers.ValidationError(
                {"quantity": [serializers.ErrorDetail(QUANTITY_NOT_ALLOWED_MESSAGE, code=QUANTITY_NOT_ALLOWED)]}
            )
        return data


class PlanChangeApplySerializer(PlanChangeRequestSerializer):
    proration_date = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The preview's `proration_date` (Unix seconds), so the change charges what was previewed.",
    )
    accept_limit_conflicts = serializers.BooleanField(
        default=False, help_text="Change even though the company uses more than the new plan allows."
    )


class PlanChangePreviewSerializer(serializers.Serializer):
    """What a plan change would charge (Stripe's previews) and what it changes; amounts in the smallest unit."""

    price_lookup_key = serializers.CharField()
    plan = serializers.CharField()
    quantity = serializers.IntegerField()
    change = serializers.ChoiceField(
        choices=["upgrade", "downgrade", "trial"],
        help_text="`upgrade`: charged now, applied once paid; `downgrade`: the unused time is credited on the "
        "next invoice; `trial`: no charge until the trial ends.",
    )
    proration_behavior = serializers.CharField(help_text="Stripe's proration behaviour the change uses.")
    proration_date = serializers.IntegerField(
        allow_null=True, help_text="The proration time used (Unix seconds): pass it to the change."
    )
    currency = serializers.CharField()
    amount_due = serializers.IntegerField(help_text="Charged now (0 for a downgrade or during a trial).")
    total = serializers.IntegerField(help_text="The total of the invoice made now (negative: a credit).")
    next_invoice_total = serializers.IntegerField(help_text="The total of the next regular invoice.")
    next_invoice_amount_due = serializers.IntegerField(help_text="The next invoice less any customer credit.")
    next_invoice_period_start = serializers.DateTimeField(allow_null=True)
    lines = InvoiceLineSerializer(
        many=True, help_text="The lines of the invoice made now (upgrade), else of the next invoice."
    )
    features_gained = serializers.ListField(child=serializers.CharField())
    features_lost = serializers.ListField(child=serializers.CharField())
    limit_conflicts = LimitUsageSerializer(
        many=True, help_text="Every limit the company already exceeds under the new plan."
    )


class PlanLimitConflictSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["plan_limit_conflict"])
    detail = serializers.CharField()
    limit_conflicts = LimitUsageSerializer(many=True)
