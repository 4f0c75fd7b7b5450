"""The Billing page's promotion-code form (admins): applies a code to the subscription through the
service the API calls (POST /api/billing/promotion-code/); a refusal is shown next to the field, with
its status."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from saas_platform.errors import ServiceError

from companies.access import member_required
from dashboard.views import billing_page
from subscriptions.discounts import subscription_apply_promotion_code


@require_POST
@member_required(admin=True)
def promotion_code_apply(request):
    code = request.POST.get("code", "").strip()[:255]
    if not code:
        return billing_page(request, sections={"promotion_error": "Type a promotion code."}, status=400)
    try:
        record = subscription_apply_promotion_code(company_id=request.tenant.pk, code=code)
    except ServiceError as refusal:
        return billing_page(
            request, sections={"promotion_code": code, "promotion_error": refusal.detail}, status=refusal.status
        )
    discount = record.discount or {}
    messages.success(request, f"Promotion code {discount.get('promotion_code') or code} applied.")
    return redirect("billing")
