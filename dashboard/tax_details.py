"""The Billing page's billing details section (admins, with STRIPE_AUTOMATIC_TAX): the billing
address and tax IDs Stripe Tax uses. The form posts here and calls the service the API's
`PATCH /api/billing/details/` calls, its serializer validating; a refusal (a tax ID Stripe does not
accept) is shown in the section with the API's status."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from saas_platform.errors import FieldInvalid, ServiceError

from companies.access import member_required
from dashboard.views import billing_page
from subscriptions.billing_details import ADDRESS_FIELDS, billing_details_of, billing_details_update
from subscriptions.serializers import BillingDetailsRequestSerializer


def _request_body(request) -> dict:
    """The form as the API's body: the address, and the tax IDs kept plus the one added."""
    current = billing_details_of(company=request.tenant)["tax_ids"]
    removed = set(request.POST.getlist("remove_tax_id"))
    tax_ids = [{"type": t["type"], "value": t["value"]} for t in current if t["id"] not in removed]
    if request.POST.get("tax_id_value", "").strip():
        tax_ids.append({"type": request.POST.get("tax_id_type", ""), "value": request.POST["tax_id_value"]})
    return {"address": {field: request.POST.get(field, "") for field in ADDRESS_FIELDS}, "tax_ids": tax_ids}


def _refused(request, error: str, status: int):
    return billing_page(request, sections={"tax_error": error}, status=status)


@require_POST
@member_required(admin=True)
def tax_details_page(request):
    serializer = BillingDetailsRequestSerializer(data=_request_body(request))
    if not serializer.is_valid():
        return _refused(request, "Check the address (a two-letter country code is needed) and the tax ID.", 400)
    try:
        details = billing_details_update(company=request.tenant, **serializer.validated_data)
    except FieldInvalid as refusal:
        return _refused(request, f"Stripe refused it: {refusal.detail}", refusal.status)
    except ServiceError as refusal:
        return _refused(request, refusal.detail, refusal.status)
    taxed = " Your invoices are now taxed by this address." if details["automatic_tax"] else ""
    messages.success(request, "Billing details saved." + taxed)
    return redirect("billing")
