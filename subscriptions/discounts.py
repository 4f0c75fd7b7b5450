"""A promotion code applied to a company's live subscription (POST /api/billing/promotion-code/ and the
Billing page): checked against the local copy first, then by Stripe under the company's lock."""

from __future__ import annotations

import logging

import stripe
from django.db import transaction

from companies.locks import company_lock
from companies.models import Company
from subscriptions.models import CompanySubscription, PromotionCode
from subscriptions.promotion_codes import InvalidPromotionCode, promotion_code_redeemable, promotion_code_refresh
from subscriptions.services import subscription_apply_stripe_state, subscription_live_current
from subscriptions.stripe_api import stripe_client
from subscriptions.stripe_objects import DISCOUNT_EXPANSIONS, subscription_read

logger = logging.getLogger(__name__)


def subscription_apply_promotion_code(*, company_id: int, code: str) -> CompanySubscription:
    """Apply `code` to the company's live subscription, in place of any discount it has. The local
    copy refuses what it knows to be invalid (InvalidPromotionCode) without calling Stripe; Stripe's
    own refusal is InvalidPromotionCode too, with Stripe's reason. Applying the code the subscription
    already has changes nothing."""
    customer_id = Company.objects.values_list("stripe_customer_id", flat=True).get(pk=company_id) or ""
    found = promotion_code_redeemable(code=code, customer_id=customer_id)
    with transaction.atomic():
        record, refusal = _apply(company_lock(company_id=company_id), found)
    promotion_code_refresh(promotion_code_id=found.stripe_id)  # its redemptions, or why Stripe refused
    if refusal or record is None:
        raise InvalidPromotionCode(refusal)
    logger.info("promotion code %s applied", found.code)
    return record


def _apply(company: Company, found: PromotionCode) -> tuple[CompanySubscription | None, str]:
    """Under the company's lock: (the stored subscription, "") once applied, or (None, Stripe's reason)."""
    client = stripe_client()
    current = subscription_live_current(company=company, expand=DISCOUNT_EXPANSIONS)
    subscription = subscription_read(current)
    if subscription.discount is not None and subscription.discount.promotion_code.lower() == found.code.lower():
        return _store(company, current), ""
    try:
        updated = client.v1.subscriptions.update(
            subscription.id,
            params={"discounts": [{"promotion_code": found.stripe_id}], "expand": list(DISCOUNT_EXPANSIONS)},
            options={"idempotency_key": f"company-{company.pk}-{subscription.id}-promotion-code-{found.stripe_id}"},
        )
    except stripe.InvalidRequestError as error:
        if not (error.param or "").startswith("discounts"):
            raise
        return None, error.user_message or str(error)
    return _store(company, updated.to_dict()), ""


def _store(company: Company, stripe_subscription: dict) -> CompanySubscription:
    record = subscription_apply_stripe_state(company=company, stripe_subscription=stripe_subscription)
    record.refused_promotion_code = record.refused_promotion_code_reason = ""
    record.save(update_fields=["refused_promotion_code", "refused_promotion_code_reason"])
    return record
