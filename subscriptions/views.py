"""The HTML side of billing: the platform host's pricing page (the landing page, built from the
catalog), and Manage billing on a company host, which opens Stripe's portal."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from companies.access import member_required
from companies.features import FEATURES, LIMIT_NOUNS, LIMITS
from subscriptions.api import dashboard_url
from subscriptions.billing import billing_portal_session_create
from subscriptions.serializers import catalog, is_per_seat


@require_safe
def pricing(request):
    """One card per catalog plan, from the same representation GET /api/plans/ answers, so the page
    and the API never disagree about a price."""
    cards = [_card(plan) for plan in catalog()]
    return render(request, "subscriptions/pricing.html", {"plans": cards, "trial_days": settings.STRIPE_TRIAL_DAYS})


def _card(plan: dict) -> dict:
    prices = {price["interval"]: price for price in plan["prices"]}
    monthly, yearly = prices.get("month"), prices.get("year")
    saving = monthly["unit_amount"] * 12 - yearly["unit_amount"] if monthly and yearly else 0
    return {
        "key": plan["key"],
        "name": plan["name"],
        "prices": [price for price in (monthly, yearly) if price],
        "yearly_saving": max(saving, 0),
        "currency": (monthly or yearly or {}).get("currency", "usd"),
        "per_seat": is_per_seat(plan),
        "features": [
            {"name": name, "text": text, "included": name in plan["features"]} for name, text in FEATURES.items()
        ],
        "limits": [_limit_text(name, plan["limits"][name]) for name in LIMITS if name in plan["limits"]],
    }


def _limit_text(name: str, allowed: int | None) -> str:
    """How a limit reads on a plan card ("Up to 10 posts", "Unlimited members")."""
    noun = LIMIT_NOUNS.get(name)
    if noun is None:
        return f"{LIMITS[name]}: {'unlimited' if allowed is None else allowed}"
    return f"Unlimited {noun}" if allowed is None else f"Up to {allowed} {noun}"


@require_POST
@member_required(admin=True)
def billing_portal(request):
    """Manage billing: a portal session for the company's customer, then 303 to Stripe (without a
    customer yet, NoStripeCustomer's page: errors/no_stripe_customer.html, 409)."""
    url = billing_portal_session_create(company=request.tenant, return_url=dashboard_url(request))
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response
