"""The Billing page's cancellation section (admins): cancel at the period's end with a reason, and
resume before then. Each action posts here, calls the service the API calls (its serializer
validates the form), and redirects; a refusal is shown in the section with the API's status."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from saas_platform.errors import ServiceError

from companies.access import member_required
from dashboard.views import billing_page
from subscriptions.cancel_resume import (
    subscription_cancel,
    subscription_resume,
)
from subscriptions.serializers import CancelRequestSerializer


def _refused(request, error: str, status: int):
    return billing_page(request, sections={"cancel_error": error}, status=status)


@require_POST
@member_required(admin=True)
def cancel_subscription_page(request):
    serializer = CancelRequestSerializer(data=request.POST)
    if not serializer.is_valid():
        return _refused(request, "Choose one of the reasons offered, and keep the comment short.", 400)
    try:
        subscription_cancel(company=request.tenant, **serializer.validated_data)
    except ServiceError as refusal:
        return _refused(request, refusal.detail, refusal.status)
    # The notice at the top of every page says when it ends (subscriptions/banners.py).
    messages.success(request, "Cancelled, and your reason noted. Resume subscription below undoes it.")
    return redirect("billing")


@require_POST
@member_required(admin=True)
def resume_subscription_page(request):
    try:
        subscription_resume(company=request.tenant)
    except ServiceError as refusal:
        return _refused(request, refusal.detail, refusal.status)
    messages.success(request, "Your subscription is resumed: it renews as before.")
    return redirect("billing")
