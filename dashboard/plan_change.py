"""The Billing page's "Change plan": a preview page (Stripe's amounts now and next, the features
gained and lost, the limits the company would be over) and its confirmation, which changes the plan
with the preview's proration date and goes back to Billing. Both call the services the API calls
(subscriptions/plan_changes.py), validated by the API's serializers; a refusal is shown on the
preview page with the status the API would answer."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe
from saas_platform.errors import FieldInvalid, ServiceError

from companies.access import member_required
from companies.features import FEATURES, LIMIT_NOUNS
from subscriptions.plan_changes import PlanLimitConflict, plan_change_apply, plan_change_preview
from subscriptions.plans import PLANS, amount_display
from subscriptions.serializers import PlanChangeApplySerializer, PlanChangeRequestSerializer


def _lookup_key(data) -> str:
    """The price a plan and an interval name (the Billing form), or a price named as the API does."""
    plan = PLANS.get(data.get("plan") or "")
    if plan is None:
        return data.get("price_lookup_key") or ""
    return plan.yearly_lookup_key if data.get("interval") == "yearly" else plan.monthly_lookup_key


def _request(serializer_class, data, **more):
    fields = {"price_lookup_key": _lookup_key(data)} | more
    if data.get("quantity"):
        fields["quantity"] = data["quantity"]
    serializer = serializer_class(data=fields)
    if not serializer.is_valid():
        field, problems = next(iter(serializer.errors.items()))
        raise FieldInvalid(field, problems[0].code, f"{field.replace('_', ' ').capitalize()}: {problems[0]}")
    return serializer.validated_data


def _page(request, *, preview: dict | None, error: ServiceError | None = None, lookup_key: str = ""):
    preview = preview or {}
    currency = preview.get("currency") or "usd"
    context = {
        "company": request.tenant,
        "preview": preview,
        "price_lookup_key": preview.get("price_lookup_key") or lookup_key,
        "plan": PLANS.get(preview.get("plan") or ""),
        "amount_due": amount_display(preview.get("amount_due") or 0, currency),
        "next_total": amount_display(preview.get("next_invoice_total") or 0, currency),
        "lines": [line | {"shown": amount_display(line["amount"], currency)} for line in preview.get("lines", [])],
        "gained": [FEATURES[name] for name in preview.get("features_gained", [])],
        "lost": [FEATURES[name] for name in preview.get("features_lost", [])],
        "conflicts": [
            c | {"noun": LIMIT_NOUNS.get(c["limit"], c["limit"])} for c in preview.get("limit_conflicts", [])
        ],
        "error": error,
    }
    return render(request, "dashboard/plan_change_preview.html", context, status=error.status if error else 200)


@require_safe
@member_required(admin=True)
def plan_change_preview_page(request):
    try:
        preview = plan_change_preview(company=request.tenant, **_request(PlanChangeRequestSerializer, request.GET))
    except ServiceError as error:
        return _page(request, preview=None, error=error, lookup_key=_lookup_key(request.GET))
    return _page(request, preview=preview)


@require_POST
@member_required(admin=True)
def plan_change_confirm(request):
    data = request.POST
    try:
        fields = _request(
            PlanChangeApplySerializer,
            data,
            proration_date=data.get("proration_date") or None,
            accept_limit_conflicts=data.get("accept_limit_conflicts") == "on",
        )
        changed = plan_change_apply(company_id=request.tenant.pk, **fields)
    except PlanLimitConflict as error:
        # Shown with the conflicts again, to accept them this time.
        preview = plan_change_preview(company=request.tenant, **_request(PlanChangeRequestSerializer, data))
        return _page(request, preview=preview, error=error)
    except ServiceError as error:
        return _page(request, preview=None, error=error, lookup_key=_lookup_key(data))
    messages.success(request, _outcome(changed))
    return redirect("billing")


def _outcome(changed) -> str:
    record, invoice = changed
    plan = PLANS.get((record.pending_update or {}).get("plan") or record.plan)
    name = plan.name if plan else record.plan
    if record.pending_update:
        where = f" Pay it on the invoice's page: {invoice.hosted_invoice_url}" if invoice else ""
        return f"The payment failed: {name} starts once its invoice is paid.{where}"
    if invoice is None:
        return f"Your plan is now {name}."
    charged = amount_display(invoice.amount_paid, invoice.currency)
    return f"Your plan is now {name}. Invoice {invoice.number}: {charged} paid."
