"""Bodies of the billing and plans API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from companies.gates import company_has_paid_access
from subscriptions.models import CompanySubscription
from subscriptions.plans import FLAT, PER_SEAT, PLANS, all_lookup_keys, plan_for_lookup_key

PRICING_MODEL_HELP = (
    "`flat`: the price is the whole plan's (quantity 1); `per_seat`: the price is one seat's and the "
    "quantity is the company's members (at least 1; pending invitations are not billed)."
)


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
            "past_due_since",
            "paid_access",
            "features",
            "limits",
        ]

    def _company(self, record):
        return self.context.get("company") or record.company

    def get_features(self, record) -> list[str]:
        return list(self._company(record).features)

    def get_limits(self, record) -> dict[str, int | None]:
        return dict(self._company(record).limits)

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


def plans() -> list:
    return list(PLANS.values())
