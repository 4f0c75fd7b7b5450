"""Billing API on a company host (the subscription, the portal, Checkout, invoices) and the public
plan list on the platform host."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
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
from subscriptions.selectors import invoices_of, subscription_of
from subscriptions.serializers import (
    CheckoutRequestSerializer,
    InvoiceSerializer,
    PaginatedPlanListSerializer,
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
