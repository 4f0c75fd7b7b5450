"""Bodies of the billing and plans API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from companies.gates import company_has_paid_access, limits_exceeded
from subscriptions.cancel_resume import COMMENT_MAX_LENGTH, FEEDBACK_LABELS, FEEDBACK_VALUES
from subscriptions.models import CompanySubscription, Invoice
from subscriptions.plan_changes import QUANTITY_NOT_ALLOWED, QUANTITY_NOT_ALLOWED_MESSAGE
from subscriptions.plans import FLAT, PER_SEAT, PLANS, all_lookup_keys, plan_for_lookup_key
from subscriptions.tax import TAX_ID_TYPES, TAX_LOCATION_STATUSES

PRICING_MODEL_HELP = (
    "`flat`: the price is the whole plan's (quantity 1); `per_seat`: the price is one seat's and the "
    "quantity is the company's members (at least 1; pending invitations are not billed)."
)


class DiscountSerializer(serializers.Serializer):
    """The subscription's active discount, as Stripe has it."""

    name = serializers.CharField(help_text="The coupon's name.")
    percent_off = serializers.FloatField(allow_null=True, help_text="Percent off, or null for an amount off.")
    amount_off = serializers.IntegerField(
        allow_null=True, help_text="Amount off in the currency's smallest unit, or null for a percent off."
    )
    currency = serializers.CharField(help_text="The currency of `amount_off`; empty for a percent off.")
    promotion_code = serializers.CharField(help_text="The code that was redeemed; empty for a coupon without one.")
    ends_at = serializers.DateTimeField(allow_null=True, help_text="When the discount ends; null: it does not.")


class RefusedPromotionCodeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The code typed at sign-up.")
    reason = serializers.CharField(help_text="Why Stripe refused it when the trial started.")


def utf8_text(value: str) -> None:
    """Refuse what JSON allows but no request to Stripe can carry (lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise serializers.ValidationError("Not valid text.", code="invalid") from None


class LimitUsageSerializer(serializers.Serializer):
    limit = serializers.CharField(help_text="The limit's name: `max_posts`, `max_members`.")
    used = serializers.IntegerField(help_text="What the company uses now (members count pending invitations).")
    allowed = serializers.IntegerField(help_text="What the plan allows.")


class PendingUpdateSerializer(serializers.Serializer):
    price_lookup_key = serializers.CharField(help_text="The price the subscription changes to once paid.")
    plan = serializers.CharField()
    quantity = serializers.IntegerField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="Discarded then if still unpaid.")


class SubscriptionSerializer(serializers.ModelSerializer):
    status = serializers.CharField(help_text="Stripe's subscription status; empty when there is none.")
    features = serializers.SerializerMethodField()
    limits = serializers.SerializerMethodField()
    paid_access = serializers.SerializerMethodField()
    pricing_model = serializers.SerializerMethodField(help_text=PRICING_MODEL_HELP)
    quantity = serializers.IntegerField(
        allow_null=True, help_text="Seats billed on a per-seat plan, 1 on a flat one; null without a subscription."
    )
    unit_amount = serializers.IntegerField(
        allow_null=True,
        help_text="The price per unit in the currency's smallest unit: per seat on a per-seat plan.",
    )
    currency = serializers.CharField(help_text="Three-letter ISO code, lowercase; empty without a subscription.")
    discount = serializers.SerializerMethodField(help_text="The active discount; null without one.")
    refused_promotion_code = serializers.SerializerMethodField(
        help_text=(
            "The promotion code typed at sign-up that Stripe refused when the trial started (the trial started "
            "without it), until a code is applied; null otherwise."
        )
    )
    cancel_at_period_end = serializers.BooleanField(
        help_text="Cancelled: the subscription ends with its period (`current_period_end`, or `trial_end` while "
        "trialing) unless resumed before then."
    )
    canceled_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was cancelled (a cancellation at the period's end included)."
    )
    cancellation_feedback = serializers.CharField(
        help_text="Stripe's `cancellation_details.feedback`: the reason picked when cancelling; empty when none."
    )
    cancellation_comment = serializers.CharField(help_text="The comment given when cancelling; empty when none.")
    cancellation_reason = serializers.CharField(
        help_text="Stripe's `cancellation_details.reason` (`cancellation_requested`, `payment_failed`, "
        "`payment_disputed`) once Stripe sets it; empty otherwise."
    )
    pending_update = PendingUpdateSerializer(
        allow_null=True,
        help_text="A plan change Stripe holds until its invoice is paid (an upgrade whose payment failed); "
        "null without one.",
    )
    over_limit = serializers.SerializerMethodField(
        help_text="Every limit the company uses more of than its plan allows (after a downgrade it accepted): "
        "nothing more of it can be made until usage is back within the limit. Empty otherwise."
    )

    class Meta:
        model = CompanySubscription
        fields = [
            "plan",
            "price_lookup_key",
            "pricing_model",
            "quantity",
            "unit_amount",
            "currency",
            "status",
            "trial_end",
            "current_period_end",
            "cancel_at_period_end",
            "canceled_at",
            "cancellation_feedback",
            "cancellation_comment",
            "cancellation_reason",
            "past_due_since",
            "discount",
            "refused_promotion_code",
            "automatic_tax",
            "paid_access",
            "features",
            "limits",
            "pending_update",
            "over_limit",
        ]

    @extend_schema_field(DiscountSerializer(allow_null=True))
    def get_discount(self, record) -> dict | None:
        if not record.discount:
            return None
        return {key: record.discount.get(key) for key in DiscountSerializer().fields}

    @extend_schema_field(RefusedPromotionCodeSerializer(allow_null=True))
    def get_refused_promotion_code(self, record) -> dict | None:
        if not record.refused_promotion_code:
            return None
        return {"code": record.refused_promotion_code, "reason": record.refused_promotion_code_reason}

    def _company(self, record):
        return self.context.get("company") or record.company

    def get_features(self, record) -> list[str]:
        return list(self._company(record).features)

    def get_limits(self, record) -> dict[str, int | None]:
        return dict(self._company(record).limits)

    @extend_schema_field(LimitUsageSerializer(many=True))
    def get_over_limit(self, record) -> list[dict]:
        company = self._company(record)
        return limits_exceeded(company, company.limits or {})

    def get_paid_access(self, record) -> bool:
        return company_has_paid_access(self._company(record))

    @extend_schema_field(serializers.ChoiceField(choices=[FLAT, PER_SEAT], allow_null=True))
    def get_pricing_model(self, record) -> str | None:
        plan = plan_for_lookup_key(record.price_lookup_key)
        return plan.pricing if plan else None


class PriceSerializer(serializers.Serializer):
    lookup_key = serializers.CharField()
    interval = serializers.ChoiceField(choices=["month", "year"])
    unit_amount = serializers.IntegerField(
        help_text="In the currency's smallest unit: the whole plan when flat, one seat when per seat."
    )
    currency = serializers.CharField()


class PlanSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    pricing_model = serializers.ChoiceField(choices=[FLAT, PER_SEAT], help_text=PRICING_MODEL_HELP)
    features = serializers.ListField(child=serializers.CharField())
    limits = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    prices = PriceSerializer(many=True)

    def to_representation(self, plan):
        return {
            "key": plan.key,
            "name": plan.name,
            "pricing_model": plan.pricing,
            "features": sorted(plan.features),
            "limits": plan.limits,
            "prices": [
                {
                    "lookup_key": plan.monthly_lookup_key,
                    "interval": "month",
                    "unit_amount": plan.monthly_amount,
                    "currency": plan.currency,
                },
                {
                    "lookup_key": plan.yearly_lookup_key,
                    "interval": "year",
                    "unit_amount": plan.yearly_amount,
                    "currency": plan.currency,
                },
            ],
        }


class PaginatedPlanListSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PlanSerializer(many=True)


class CheckoutRequestSerializer(serializers.Serializer):
    price_lookup_key = serializers.ChoiceField(choices=all_lookup_keys())


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


class UrlSerializer(serializers.Serializer):
    url = serializers.URLField()


class InvoiceSerializer(serializers.ModelSerializer):
    """An invoice as last read from Stripe (amounts in the currency's smallest unit)."""

    id = serializers.CharField(source="stripe_invoice_id", help_text="Stripe's invoice id (`in_...`).")
    created = serializers.DateTimeField(source="created_at", help_text="When Stripe created the invoice.")
    status = serializers.CharField(help_text="Stripe's status: `open`, `paid`, `void` or `uncollectible`.")
    period_start = serializers.DateTimeField(allow_null=True, help_text="The start of the period its lines bill.")
    period_end = serializers.DateTimeField(allow_null=True, help_text="The end of the period its lines bill.")
    discount = serializers.IntegerField(help_text="What discounts took off the subtotal.")
    tax = serializers.IntegerField(help_text="The tax on the invoice (inclusive and exclusive).")
    hosted_invoice_url = serializers.CharField(help_text="Stripe's page of the invoice: view, pay, confirm.")
    invoice_pdf = serializers.CharField(help_text="The invoice as a PDF, from Stripe.")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "billing_reason",
            "created",
            "period_start",
            "period_end",
            "currency",
            "subtotal",
            "discount",
            "tax",
            "total",
            "amount_paid",
            "amount_due",
            "amount_remaining",
            "hosted_invoice_url",
            "invoice_pdf",
        ]


class InvoiceLineSerializer(serializers.Serializer):
    description = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    quantity = serializers.IntegerField(allow_null=True)
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    proration = serializers.BooleanField(help_text="A proration of a plan or quantity change.")


class UpcomingInvoiceSerializer(serializers.Serializer):
    """Stripe's preview of the next invoice (`invoices.create_preview`); amounts in the smallest unit."""

    currency = serializers.CharField()
    subtotal = serializers.IntegerField()
    discount = serializers.IntegerField()
    tax = serializers.IntegerField()
    total = serializers.IntegerField()
    amount_due = serializers.IntegerField(help_text="What will be charged: the total less any customer credit.")
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    next_payment_attempt = serializers.DateTimeField(allow_null=True, help_text="When Stripe will charge it.")
    lines = InvoiceLineSerializer(many=True)


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


def plans() -> list:
    return list(PLANS.values())


def catalog() -> list[dict]:
    """The catalog as GET /api/plans/ represents it: what the pricing page and the sign-up form show."""
    return list(PlanSerializer(plans(), many=True).data)


def is_per_seat(plan: dict) -> bool:
    """A plan of catalog() billed per member (its pricing model says so); flat otherwise."""
    return plan.get("pricing_model") == "per_seat"
