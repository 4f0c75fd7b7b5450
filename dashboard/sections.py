"""The Billing page's sections that need more than the subscription row: what each one's template
(dashboard/templates/dashboard/billing/_*.html) shows. The page (dashboard/views.py) builds them; the
sections' POST views (cancellation.py, tax_details.py, ...) show the page again with their errors."""

from __future__ import annotations

from django.conf import settings

from subscriptions.billing_details import billing_details_of
from subscriptions.cancel_resume import COMMENT_MAX_LENGTH, FEEDBACK_LABELS, FEEDBACK_VALUES
from subscriptions.entitlements import LIVE_STATUSES
from subscriptions.stripe_api import unless_stripe_fails
from subscriptions.tax import TAX_ID_TYPES


def cancel_section(request, subscription) -> dict:
    """What _cancel.html shows: whether there is a live subscription to cancel or resume, the reasons."""
    live = subscription is not None and subscription.status in LIVE_STATUSES
    ends = None
    if live:
        ends = subscription.trial_end if subscription.status == "trialing" else subscription.current_period_end
    return {
        "cancellable": live,
        "cancel_ends": ends,
        "feedback_choices": [(value, FEEDBACK_LABELS[value]) for value in FEEDBACK_VALUES],
        "feedback_label": FEEDBACK_LABELS.get(subscription.cancellation_feedback, "") if subscription else "",
        "comment_max_length": COMMENT_MAX_LENGTH,
    }


def tax_section(request, is_admin: bool) -> dict:
    """What _tax.html shows: the details as Stripe has them (one Stripe read, admins only)."""
    if not (settings.STRIPE_AUTOMATIC_TAX and is_admin and request.tenant.stripe_customer_id):
        return {"tax_details": None}
    details = unless_stripe_fails(lambda: billing_details_of(company=request.tenant), what="billing details")
    return {"tax_details": details, "tax_unavailable": details is None, "tax_id_types": TAX_ID_TYPES}
