"""Cancelling a company's subscription at the end of its period, with the customer's reason, and
resuming it before then (`cancel_at_period_end=false`: Stripe's `/resume` is for paused subscriptions).

Both lock the company, re-read its current subscription from Stripe while holding the lock, refuse
what Stripe's state does not allow, and store Stripe's answer (the reason comes back from Stripe's
`cancellation_details`, and every later sync stores it again). The update sets absolute values (a
retry sets the same ones), so it carries no idempotency key of ours: a key reused after a resume
would replay a stale answer. The library's own network retries carry one.
"""

from __future__ import annotations

import typing

from django.db import transaction
from saas_platform.errors import ServiceError
from stripe.params import SubscriptionUpdateParamsCancellationDetails

from companies.locks import company_lock
from companies.models import Company
from subscriptions.models import CompanySubscription
from subscriptions.services import subscription_apply_stripe_state, subscription_live_current
from subscriptions.stripe_api import stripe_client
from subscriptions.stripe_objects import literal_values

# Stripe's `cancellation_details.feedback` values, as the pinned library declares them ("" unsets).
FEEDBACK_VALUES = tuple(
    value
    for value in literal_values(typing.get_type_hints(SubscriptionUpdateParamsCancellationDetails)["feedback"])
    if value
)
# What people read for each value (the Billing page's reason picker); a test keeps it equal to Stripe's list.
FEEDBACK_LABELS = {
    "too_expensive": "It's too expensive",
    "missing_features": "Some features are missing",
    "switched_service": "I'm switching to another service",
    "unused": "I don't use it enough",
    "customer_service": "Customer service was less than expected",
    "too_complex": "It's too complex to use",
    "low_quality": "Quality was less than expected",
    "other": "Another reason",
}
COMMENT_MAX_LENGTH = 500


class AlreadyCancelling(ServiceError):
    code = "already_cancelling"
    detail = "The subscription is already cancelled at the end of its period."


class NotCancelling(ServiceError):
    code = "not_cancelling"
    detail = "The subscription is not cancelled, so there is nothing to resume."


def subscription_cancel(*, company: Company, feedback: str = "", comment: str = "") -> CompanySubscription:
    """Cancel the company's live subscription at the end of its period (a trial's end while trialing),
    with the customer's `feedback` (one of FEEDBACK_VALUES, or "") and `comment`. Stores Stripe's answer."""
    with transaction.atomic():
        company = company_lock(company_id=company.pk)
        current = subscription_live_current(company=company)
        if current.get("cancel_at_period_end"):
            raise AlreadyCancelling()
        updated = stripe_client().v1.subscriptions.update(
            current["id"],
            params={
                "cancel_at_period_end": True,
                "cancellation_details": {"feedback": feedback, "comment": comment},  # type: ignore[typeddict-item]
            },
        )
        return subscription_apply_stripe_state(company=company, stripe_subscription=updated.to_dict())


def subscription_resume(*, company: Company) -> CompanySubscription:
    """Undo a cancellation at the period's end, before it ends; the reason given is cleared. Resuming a
    subscription that is not cancelled is refused (NotCancelling, 409)."""
    with transaction.atomic():
        company = company_lock(company_id=company.pk)
        current = subscription_live_current(company=company)
        if not current.get("cancel_at_period_end"):
            raise NotCancelling()
        updated = stripe_client().v1.subscriptions.update(
            current["id"],
            params={"cancel_at_period_end": False, "cancellation_details": {"feedback": "", "comment": ""}},
        )
        return subscription_apply_stripe_state(company=company, stripe_subscription=updated.to_dict())
