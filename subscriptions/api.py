"""Billing API on a company host, and the public plan list on the platform host."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from saas_platform.api.pagination import NewestFirstPagination
from saas_platform.api.schema import ERROR_RESPONSES, ErrorSerializer

from companies.access import IsCompanyAdmin, IsCompanyMember
from subscriptions.billing import billing_portal_session_create, checkout_session_create
from subscriptions.invoices import invoice_upcoming
from subscriptions.models import CompanySubscription
from subscriptions.plan_changes import plan_change_apply, plan_change_preview
from subscriptions.selectors import invoices_of, subscription_of
from subscriptions.serializers import (
    CheckoutRequestSerializer,
    InvoiceSerializer,
    PaginatedPlanListSerializer,
    PlanChangeApplySerializer,
    PlanChangePreviewSerializer,
    PlanChangeRequestSerializer,
    PlanLimitConflictSerializer,
    PlanSerializer,
    SubscriptionSerializer,
    UpcomingInvoiceSerializer,
    UrlSerializer,
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
