"""Billing API on a company host, and the public plan list on the platform host."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from saas_platform.api.pagination import NewestFirstPagination
from saas_platform.api.schema import ERROR_RESPONSES, ErrorSerializer, ValidationErrorSerializer

from companies.access import IsCompanyAdmin, IsCompanyMember
from subscriptions.billing import billing_portal_session_create, checkout_session_create
from subscriptions.billing_details import billing_details_of, billing_details_update
from subscriptions.cancel_resume import subscription_cancel, subscription_resume
from subscriptions.discounts import subscription_apply_promotion_code
from subscriptions.invoices import invoice_upcoming
from subscriptions.models import CompanySubscription
from subscriptions.plan_changes import plan_change_apply, plan_change_preview
from subscriptions.selectors import invoices_of, subscription_of
from subscriptions.serializers import (
    BillingDetailsRequestSerializer,
    BillingDetailsSerializer,
    CancelRequestSerializer,
    CheckoutRequestSerializer,
    InvoiceSerializer,
    PaginatedPlanListSerializer,
    PlanChangeApplySerializer,
    PlanChangePreviewSerializer,
    PlanChangeRequestSerializer,
    PlanLimitConflictSerializer,
    PlanSerializer,
    PromotionCodeRequestSerializer,
    SubscriptionSerializer,
    UpcomingInvoiceSerializer,
    UrlSerializer,
    flat_errors,
    plans,
)


class PlanListView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        responses=PaginatedPlanListSerializer,
        operation_id="plans_list",
        tags=["plans"],
        summary="The plans and their prices",
        description="The whole catalog fits one page: `next` and `previous` are always null.",
    )
    def get(self, request):
        # The same envelope as every other list, so clients page through all lists alike.
        return Response({"next": None, "previous": None, "results": PlanSerializer(plans(), many=True).data})


def dashboard_url(request) -> str:
    return request.build_absolute_uri("/")


class SubscriptionView(APIView):
    permission_classes = [IsCompanyMember]

    @extend_schema(
        responses=SubscriptionSerializer,
        operation_id="billing_subscription_retrieve",
        tags=["billing"],
        summary="The company's subscription, features and limits",
    )
    def get(self, request):
        record = subscription_of(company=request.tenant) or CompanySubscription(company=request.tenant)
        return Response(SubscriptionSerializer(record, context={"company": request.tenant}).data)


class PortalSessionView(APIView):
    permission_classes = [IsCompanyAdmin]
    may_conflict = True  # no Stripe customer yet

    @extend_schema(
        request=None,
        responses={201: UrlSerializer},
        operation_id="billing_portal_session_create",
        tags=["billing"],
        summary="A Stripe billing portal session for an admin: redirect the person to `url`",
    )
    def post(self, request):
        url = billing_portal_session_create(company=request.tenant, return_url=dashboard_url(request))
        return Response({"url": url}, status=status.HTTP_201_CREATED)


class CheckoutSessionView(APIView):
    permission_classes = [IsCompanyAdmin]
    may_conflict = True  # already subscribed, or no Stripe customer yet

    @extend_schema(
        request=CheckoutRequestSerializer,
        responses={201: UrlSerializer},
        operation_id="billing_checkout_session_create",
        tags=["billing"],
        summary="A Stripe Checkout session to subscribe (only without a live subscription)",
    )
    def post(self, request):
        serializer = CheckoutRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = checkout_session_create(
            company=request.tenant,
            price_lookup_key=serializer.validated_data["price_lookup_key"],
            success_url=dashboard_url(request) + "?checkout=success",
            cancel_url=dashboard_url(request) + "?checkout=cancelled",
        )
        return Response({"url": url}, status=status.HTTP_201_CREATED)


class InvoiceListView(APIView):
    permission_classes = [IsCompanyAdmin]
    pagination_class = NewestFirstPagination

    @extend_schema(
        responses={200: InvoiceSerializer(many=True), 403: ERROR_RESPONSES["403"]},
        operation_id="billing_invoices_list",
        tags=["billing"],
        summary="The company's invoices, newest first (admins only)",
        description=(
            "Stored from Stripe's invoice events and reconciliation, so listing calls no Stripe API. Drafts are "
            "left out. `hosted_invoice_url` is Stripe's page to view, pay or confirm it; `invoice_pdf` the PDF."
        ),
    )
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(invoices_of(company=request.tenant), request, view=self)
        return paginator.get_paginated_response(InvoiceSerializer(page, many=True).data)


class UpcomingInvoiceView(APIView):
    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        responses={
            200: UpcomingInvoiceSerializer,
            403: ERROR_RESPONSES["403"],
            404: OpenApiResponse(
                ErrorSerializer,
                description="No upcoming invoice (`no_upcoming_invoice`), or not a member of this company",
                examples=[
                    OpenApiExample(
                        "None",
                        value={"code": "no_upcoming_invoice", "detail": "The company has no upcoming invoice."},
                    )
                ],
            ),
        },
        operation_id="billing_upcoming_invoice_retrieve",
        tags=["billing"],
        summary="A preview of the company's next invoice (admins only)",
        description=(
            "Stripe's preview (`invoices.create_preview`) of the subscription's next invoice: amounts, when it is "
            "charged, and its lines (prorations of changes included). `404 no_upcoming_invoice` when there is "
            "none: no Stripe customer, no live subscription, or one that ends with its period."
        ),
    )
    def get(self, request):
        return Response(UpcomingInvoiceSerializer(invoice_upcoming(company=request.tenant)).data)


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
            409: OpenApiResponse(
                ErrorSerializer,
                description="No live subscription to discount (`no_subscription`)",
                examples=[
                    OpenApiExample(
                        "No subscription",
                        value={
                            "code": "no_subscription",
                            "detail": "The company has no live subscription to apply a promotion code to.",
                        },
                    )
                ],
            ),
        },
        operation_id="billing_promotion_code_apply",
        tags=["billing"],
        summary="Apply a promotion code to the company's subscription (admins only)",
        description=(
            "Checks the code (any case) against the platform's copy of Stripe's promotion codes, then applies it "
            "to the live subscription in place of any discount it has; answers the subscription with its "
            '`discount`. `400` with `error_codes.code` `["invalid_promotion_code"]` for an unknown, inactive, '
            "expired or used-up code, or one Stripe refuses; `409 no_subscription` without a live "
            "(trialing, active, past due) subscription."
        ),
    )
    def post(self, request):
        serializer = PromotionCodeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = subscription_apply_promotion_code(company_id=request.tenant.pk, code=serializer.validated_data["code"])
        return Response(SubscriptionSerializer(record, context={"company": record.company}).data)


def _conflicts(*examples: tuple[str, str, str]) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description="Refused by the subscription's state: " + ", ".join(f"`{code}`" for _, code, _ in examples),
        examples=[OpenApiExample(name, value={"code": code, "detail": detail}) for name, code, detail in examples],
    )


_NO_LIVE = ("No live subscription", "no_live_subscription", "The company has no live subscription to cancel or resume.")
_ENDED = ("Ended", "subscription_ended", "The subscription has already ended; choose a plan to subscribe again.")


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


_NO_CHANGE = OpenApiExample(
    "No live subscription",
    value={"code": "no_live_subscription", "detail": "The company has no live subscription to change."},
)
_CHANGE_409 = OpenApiResponse(
    ErrorSerializer,
    description=(
        "`no_live_subscription`, `same_plan` or `plan_change_pending` (an earlier upgrade waits for its payment)"
    ),
    examples=[_NO_CHANGE],
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
                    _NO_CHANGE,
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
