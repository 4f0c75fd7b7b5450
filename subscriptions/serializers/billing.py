"""Bodies of the billing and plans API: the subscription, plans, invoices."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from companies.gates import company_has_paid_access, limits_exceeded
from subscriptions.models import CompanySubscription, Invoice
from subscriptions.plans import FLAT, PER_SEAT, PLANS, all_lookup_keys, plan_for_lookup_key

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


def plans() -> list:
    return list(PLANS.values())


def catalog() -> list[dict]:
    """The catalog as GET /api/plans/ represents it: what the pricing page and the sign-up form show."""
    return list(PlanSerializer(plans(), many=True).data)


def is_per_seat(plan: dict) -> bool:
    """A plan of catalog() billed per member (its pricing model says so); flat otherwise."""
    return plan.get("pricing_model") == "per_seat"
