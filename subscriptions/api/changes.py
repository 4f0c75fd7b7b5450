"""The admin's changes to the company's subscription through the API: a promotion code, cancel and
resume, the billing address and tax IDs, and a plan change with its preview."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView
from saas_platform.api.schema import ErrorSerializer, ValidationErrorSerializer

from companies.access import IsCompanyAdmin
from subscriptions.billing_details import billing_details_of, billing_details_update
from subscriptions.cancel_resume import subscription_cancel, subscription_resume
from subscriptions.discounts import subscription_apply_promotion_code
from subscriptions.plan_changes import plan_change_apply, plan_change_preview
from subscriptions.serializers import (
    BillingDetailsRequestSerializer,
    BillingDetailsSerializer,
    CancelRequestSerializer,
    PlanChangeApplySerializer,
    PlanChangePreviewSerializer,
    PlanChangeRequestSerializer,
    PlanLimitConflictSerializer,
    PromotionCodeRequestSerializer,
    SubscriptionSerializer,
    flat_errors,
)


def _conflicts(*examples: tuple[str, str, str]) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description="Refused by the subscription's state: " + ", ".join(f"`{code}`" for _, code, _ in examples),
        examples=[OpenApiExample(name, value={"code": code, "detail": detail}) for name, code, detail in examples],
    )


_NO_LIVE = (
    "No live subscription",
    "no_live_subscription",
    "The company has no live subscription (trialing, active or past due).",
)
_ENDED = ("Ended", "subscription_ended", "The subscription has already ended; choose a plan to subscribe again.")


class PromotionCodeView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        request=PromotionCodeRequestSerializer,
        responses={
            200: SubscriptionSerializer,
            400: OpenApiResponse(
                ValidationErrorSerializer,
                description='The code cannot be redeemed: `error_codes` is `{"code": ["invalid_promotion_code"]}`',
                examples=[
                    OpenApiExample(
                        "Expired",
                        value={
                            "code": "invalid",
                            "detail": "The request has invalid fields.",
                            "errors": {"code": ["This promotion code cannot be redeemed because it has expired."]},
                            "error_codes": {"code": ["invalid_promotion_code"]},
                        },
                    )
                ],
            ),
            409: _conflicts(_NO_LIVE, _ENDED),
        },
        operation_id="billing_promotion_code_apply",
        tags=["billing"],
        summary="Apply a promotion code to the company's subscription (admins only)",
        description=(
            "Checks the code (any case) against the platform's copy of Stripe's promotion codes, then applies it "
            "to the live subscription in place of any discount it has; answers the subscription with its "
            '`discount`. `400` with `error_codes.code` `["invalid_promotion_code"]` for an unknown, inactive, '
            "expired or used-up code, or one Stripe refuses; `409 no_live_subscription` without a live "
            "(trialing, active, past due) subscription."
        ),
    )
    def post(self, request):
        serializer = PromotionCodeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = subscription_apply_promotion_code(company_id=request.tenant.pk, code=serializer.validated_data["code"])
        return Response(SubscriptionSerializer(record, context={"company": record.company}).data)


class CancelView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        request=CancelRequestSerializer,
        responses={
            200: SubscriptionSerializer,
            409: _conflicts(
                _NO_LIVE,
                _ENDED,
                (
                    "Already cancelled",
                    "already_cancelling",
                    "The subscription is already cancelled at the end of its period.",
                ),
            ),
        },
        operation_id="billing_cancel",
        tags=["billing"],
        summary="Cancel the subscription at the end of its period, with a reason (admins only)",
        description=(
            "Sets Stripe's `cancel_at_period_end`: paid features stay until the period (or the trial) ends, then the "
            "subscription is `canceled`. `feedback` and `comment` go to Stripe's `cancellation_details` and come back "
            "in the subscription (`cancellation_feedback`, `cancellation_comment`). Until the end, "
            "`POST /api/billing/resume/` undoes it."
        ),
    )
    def post(self, request):
        serializer = CancelRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = subscription_cancel(company=request.tenant, **serializer.validated_data)
        return Response(SubscriptionSerializer(record, context={"company": request.tenant}).data)


class ResumeView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        request=None,
        responses={
            200: SubscriptionSerializer,
            409: _conflicts(
                _NO_LIVE,
                _ENDED,
                (
                    "Not cancelled",
                    "not_cancelling",
                    "The subscription is not cancelled, so there is nothing to resume.",
                ),
            ),
        },
        operation_id="billing_resume",
        tags=["billing"],
        summary="Undo a cancellation before the period ends (admins only)",
        description=(
            "Sets Stripe's `cancel_at_period_end` back to false and clears the reason: the subscription renews as "
            "before. A subscription that is not cancelled is `409 not_cancelling` (not a silent success, so a client "
            "acting on a stale page learns it)."
        ),
    )
    def post(self, request):
        record = subscription_resume(company=request.tenant)
        return Response(SubscriptionSerializer(record, context={"company": request.tenant}).data)


class BillingDetailsView(APIView):
    permission_classes = [IsCompanyAdmin]
    may_conflict = True  # no Stripe customer yet

    @extend_schema(
        responses=BillingDetailsSerializer,
        operation_id="billing_details_retrieve",
        tags=["billing"],
        summary="The billing address and tax IDs, as Stripe has them (admins only)",
    )
    def get(self, request):
        return Response(BillingDetailsSerializer(billing_details_of(company=request.tenant)).data)

    @extend_schema(
        request=BillingDetailsRequestSerializer,
        responses={
            200: BillingDetailsSerializer,
            400: OpenApiResponse(
                ValidationErrorSerializer,
                description="Invalid fields, or a value Stripe refused (its code in `error_codes`)",
                examples=[
                    OpenApiExample(
                        "Tax ID refused by Stripe",
                        value={
                            "code": "invalid",
                            "detail": "The request has invalid fields.",
                            "errors": {"tax_ids": ["Invalid value for eu_vat."]},
                            "error_codes": {"tax_ids": ["tax_id_invalid"]},
                        },
                    )
                ],
            ),
        },
        operation_id="billing_details_update",
        tags=["billing"],
        summary="Set the billing address and tax IDs (admins only)",
        description=(
            "Updates the Stripe customer: `address` replaces the billing address, `tax_ids` is the whole list (missing "
            "ones are added, others removed). Stripe Tax places the customer by the address; once it can "
            "(`tax_location` `supported` or `not_collecting`) the subscription gets automatic tax, when the platform "
            "runs with STRIPE_AUTOMATIC_TAX. A value Stripe refuses is a 400 with Stripe's code (`tax_id_invalid`); "
            "a nested field's errors are named by its path (`address.country`, `tax_ids.0.type`)."
        ),
    )
    def patch(self, request):
        serializer = BillingDetailsRequestSerializer(data=request.data)
        if not serializer.is_valid():
            raise ValidationError(flat_errors(serializer.errors))
        details = billing_details_update(company=request.tenant, **serializer.validated_data)
        return Response(BillingDetailsSerializer(details).data)


_CHANGE_409 = _conflicts(
    _NO_LIVE,
    _ENDED,
    ("Same plan", "same_plan", "The subscription is on this price already."),
    (
        "Pending",
        "plan_change_pending",
        "An earlier plan change waits for its payment; pay its invoice or wait until it expires.",
    ),
)


class PlanChangePreviewView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        request=PlanChangeRequestSerializer,
        responses={200: PlanChangePreviewSerializer, 409: _CHANGE_409},
        operation_id="billing_plan_change_preview",
        tags=["billing"],
        summary="Preview a plan change: what it charges, the features it adds and removes, the limits it breaks",
        description=(
            "Stripe's previews (`invoices.create_preview`) with the behaviour the change will use: an upgrade is "
            "invoiced now (`amount_due`), a downgrade credits the unused time on the next invoice, a trial is not "
            "charged. `limit_conflicts` lists every limit the company already exceeds under the new plan (members "
            "count pending invitations). Pass `proration_date` to the change to be charged what was previewed."
        ),
    )
    def post(self, request):
        serializer = PlanChangeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preview = plan_change_preview(company=request.tenant, **serializer.validated_data)
        return Response(PlanChangePreviewSerializer(preview).data)


class PlanChangeView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        request=PlanChangeApplySerializer,
        responses={
            200: SubscriptionSerializer,
            409: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="PlanChangeConflict",
                    serializers=[PlanLimitConflictSerializer, ErrorSerializer],
                    resource_type_field_name=None,
                ),
                description=(
                    "`plan_limit_conflict` with the `limit_conflicts` (send `accept_limit_conflicts` to change "
                    "anyway), or one of the preview's conflicts"
                ),
                examples=[
                    OpenApiExample(
                        "Limit conflict",
                        value={
                            "code": "plan_limit_conflict",
                            "detail": "The company uses more than the new plan allows; accept the conflicts to "
                            "change anyway.",
                            "limit_conflicts": [{"limit": "max_members", "used": 12, "allowed": 3}],
                        },
                    ),
                    OpenApiExample("No live subscription", value={"code": _NO_LIVE[1], "detail": _NO_LIVE[2]}),
                ],
            ),
        },
        operation_id="billing_plan_change_create",
        tags=["billing"],
        summary="Change the plan as previewed (admins only)",
        description=(
            "An upgrade is charged at once and takes effect only if the payment succeeds: otherwise the plan "
            "stays and the subscription shows the change as `pending_update` until its invoice is paid or it "
            "expires. A downgrade credits the unused time on the next invoice. With accepted limit conflicts the "
            "company is over limit (`over_limit`): its data stays, creating more is `402 plan_limit_reached`."
        ),
    )
    def post(self, request):
        serializer = PlanChangeApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = plan_change_apply(company_id=request.tenant.pk, **serializer.validated_data).subscription
        request.tenant.refresh_from_db()
        return Response(SubscriptionSerializer(record, context={"company": request.tenant}).data)
