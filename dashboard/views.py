"""The company host's home page and billing page: the subscription, the plan's features and limits
with what is used of them, the billing notices, and the latest posts, each read through its own
app's selectors."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_safe

from companies.access import member_required, request_membership
from companies.features import FEATURES, LIMIT_NOUNS, LIMITS
from companies.gates import feature_has, limit_of
from companies.models import Membership
from companies.selectors import invitations_pending, members_of, seats_taken
from dashboard.sections import cancel_section, tax_section
from posts.selectors import posts_count, posts_newest_first
from subscriptions.banners import banners_for
from subscriptions.invoices import invoice_upcoming_for_page
from subscriptions.plans import PLANS, plan_for_lookup_key
from subscriptions.selectors import invoices_of, subscription_of

# How many of the newest invoices the Billing page lists (the API pages through all of them).
INVOICES_SHOWN = 12

# What each plan limit counts, for "3 of 10 used".
USAGE = {
    "max_posts": lambda company: posts_count(),
    "max_members": lambda company: seats_taken(company=company),
}


def _billing_context(request) -> dict:
    company = request.tenant
    subscription = subscription_of(company=company)
    return {
        "company": company,
        "is_admin": request_membership(request).role == Membership.Role.ADMIN,
        "subscription": subscription,
        "banners": banners_for(company=company, subscription=subscription),
    }


@require_safe
@member_required
def dashboard(request):
    context = _billing_context(request)
    company = context["company"]
    context |= {
        "posts": list(posts_newest_first()[:5]),
        "post_count": posts_count(),
        "member_count": members_of(company=company).count(),
        "invited_count": invitations_pending(company=company).count(),
    }
    return render(request, "dashboard/home.html", context)


@require_safe
@member_required
def billing(request):
    """Every member sees the plan with its features and limits; admins also the subscription's state
    and Manage billing."""
    return billing_page(request)


def billing_page(request, *, sections: dict | None = None, status: int = 200):
    """The Billing page; `sections`: a section's own context (its form's errors), from its POST view."""
    context = _billing_context(request)
    company, subscription = context["company"], context["subscription"]
    plan = plan_for_lookup_key(subscription.price_lookup_key) if subscription else None
    context |= {
        "plan": plan,
        "interval": _interval(plan, subscription.price_lookup_key) if plan else "",
        "catalog_plans": list(PLANS.values()),  # Change plan (billing/_plan_change.html)
        "features": [
            {"name": name, "description": text, "included": feature_has(company, name)}
            for name, text in FEATURES.items()
        ],
        "limits": [
            {
                "name": name,
                "label": LIMIT_NOUNS.get(name, text).capitalize(),
                "description": text,
                "allowed": limit_of(company, name),
                "used": USAGE[name](company),
            }
            for name, text in LIMITS.items()
        ],
    }
    if context["is_admin"]:
        context |= _invoices_context(company)
    context |= cancel_section(request, context["subscription"])
    context |= tax_section(request, context["is_admin"])
    return render(request, "dashboard/billing.html", context | (sections or {}), status=status)


def _invoices_context(company) -> dict:
    """For admins: the upcoming invoice (Stripe's preview; the page still renders without it) and the
    newest stored invoices (no Stripe call)."""
    upcoming, upcoming_missing = invoice_upcoming_for_page(company=company)
    return {
        "upcoming": upcoming,
        "upcoming_missing": upcoming_missing,
        "invoices": list(invoices_of(company=company)[:INVOICES_SHOWN]),
        "invoices_shown": INVOICES_SHOWN,
    }


def _interval(plan, lookup_key: str) -> str:
    return "yearly" if lookup_key == plan.yearly_lookup_key else "monthly"
