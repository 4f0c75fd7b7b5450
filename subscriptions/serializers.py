"""Bodies of the billing and plans API."""

from rest_framework import serializers

from companies.gates import company_has_paid_access
from subscriptions.models import CompanySubscription
from subscriptions.plans import PLANS, all_lookup_keys


class SubscriptionSerializer(serializers.ModelSerializer):
    status = serializers.CharField(help_text="Stripe's subscription status; empty when there is none.")
    features = serializers.SerializerMethodField()
    limits = serializers.SerializerMethodField()
    paid_access = serializers.SerializerMethodField()

    class Meta:
        model = CompanySubscription
        fields = [
            "plan",
            "price_lookup_key",
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


class PriceSerializer(serializers.Serializer):
    lookup_key = serializers.CharField()
    interval = serializers.ChoiceField(choices=["month", "year"])
    unit_amount = serializers.IntegerField(help_text="In the currency's smallest unit.")
    currency = serializers.CharField()


class PlanSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    features = serializers.ListField(child=serializers.CharField())
    limits = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    prices = PriceSerializer(many=True)

    def to_representation(self, plan):
        return {
            "key": plan.key,
            "name": plan.name,
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


def catalog() -> list[dict]:
    """The catalog as GET /api/plans/ represents it: what the pricing page and the sign-up form show."""
    return list(PlanSerializer(plans(), many=True).data)


def is_per_seat(plan: dict) -> bool:
    """A plan of catalog() billed per member (its pricing model says so); flat otherwise."""
    return plan.get("pricing_model") == "per_seat"
