"""The local copy of Stripe's promotion codes (subscriptions.models.PromotionCode) and the check of a
typed code against it, so sign-up makes no Stripe call; and the record of a code Stripe refused when
it was applied, reported to the company's admins.

The copy is written only from what Stripe returns when asked: by sync_plans (every code), and by the
handlers of promotion_code.*, coupon.* and customer.discount.* events, which name a code or coupon to
re-read, never to believe."""

from __future__ import annotations

import logging

from django.utils import timezone
from saas_platform import clock
from saas_platform.errors import FieldInvalid

from companies.models import Company
from notifications.services import notification_owe
from subscriptions.models import CompanySubscription, PromotionCode
from subscriptions.selectors import promotion_code_find
from subscriptions.stripe_api import stripe_client, stripe_retrieve
from subscriptions.stripe_objects import promotion_code_read

logger = logging.getLogger(__name__)

REFUSED_KIND = "promotion_code_refused"  # subscriptions/notifications.py


class InvalidPromotionCode(FieldInvalid):
    """The code is unknown, inactive, expired, used up, or its coupon is no longer valid: the request's
    `code` field is answered invalid with the stable code `invalid_promotion_code`."""

    code = "invalid_promotion_code"
    detail = "This promotion code is not valid."

    def __init__(self, message: str | None = None, *, field: str = "code"):
        super().__init__(field, self.code, message or self.detail)


def promotion_code_redeemable(*, code: str, customer_id: str = "") -> PromotionCode:
    """The local copy of a code Stripe would redeem now (the platform's clock), else InvalidPromotionCode
    saying why. Reads only the local copy: no Stripe call."""
    found = promotion_code_find(code=code)
    if found is None:
        raise InvalidPromotionCode("This promotion code does not exist.")
    reason = found.refusal(at=clock.now(), customer_id=customer_id)
    if reason is not None:
        raise InvalidPromotionCode(f"This promotion code cannot be redeemed because {reason}.")
    return found


def _coupon(coupon_id: str, coupons: dict[str, dict | None] | None = None) -> dict | None:
    if coupons is not None and coupon_id in coupons:
        return coupons[coupon_id]
    coupon = stripe_retrieve("coupon", coupon_id) if coupon_id else None
    if coupons is not None:
        coupons[coupon_id] = coupon
    return coupon


def promotion_code_store(*, stripe_code: dict, coupons: dict[str, dict | None] | None = None) -> PromotionCode:
    """Store Stripe's copy of a promotion code, with its coupon re-read from Stripe (`coupons`: a cache
    for a run storing many)."""
    coupon_id = promotion_code_read(stripe_code, None).fields["coupon_id"]
    state = promotion_code_read(stripe_code, _coupon(coupon_id, coupons))
    record, _ = PromotionCode.objects.update_or_create(
        stripe_id=state.stripe_id, defaults={**state.fields, "synced_at": timezone.now()}
    )
    return record


def promotion_code_refresh(*, promotion_code_id: str) -> PromotionCode | None:
    """Re-read one promotion code from Stripe and store it; None when Stripe does not know it."""
    stripe_code = stripe_retrieve("promotion_code", promotion_code_id)
    return promotion_code_store(stripe_code=stripe_code) if stripe_code else None


def promotion_codes_refresh_coupon(*, coupon_id: str) -> int:
    """Re-read a coupon's promotion codes (those Stripe lists for it, and those stored with it, whose
    coupon may be deleted now) and store them. Returns how many were stored."""
    if not isinstance(coupon_id, str) or not coupon_id:
        return 0
    coupons: dict[str, dict | None] = {}
    listing = stripe_client().v1.promotion_codes.list(params={"coupon": coupon_id, "limit": 100})
    listed = {code.id for code in listing.auto_paging_iter()}
    stored = set(PromotionCode.objects.filter(coupon_id=coupon_id).values_list("stripe_id", flat=True))
    count = 0
    for code_id in sorted(listed | stored):
        stripe_code = stripe_retrieve("promotion_code", code_id)
        if stripe_code is not None:
            promotion_code_store(stripe_code=stripe_code, coupons=coupons)
            count += 1
    return count


def promotion_codes_sync_all() -> int:
    """Store every promotion code Stripe has (sync_plans). Returns how many."""
    coupons: dict[str, dict | None] = {}
    listing = stripe_client().v1.promotion_codes.list(params={"limit": 100})
    count = 0
    for stripe_code in listing.auto_paging_iter():
        promotion_code_store(stripe_code=stripe_code.to_dict(), coupons=coupons)
        count += 1
    return count


def promotion_code_refusal_record(*, company: Company, code: str, reason: str) -> None:
    """Under the company's lock: Stripe (or the local copy) refused `code` when it was applied at the
    trial's start. Shown on the subscription until a code is applied, and e-mailed to the admins once."""
    record, _ = CompanySubscription.objects.get_or_create(company=company)
    record.refused_promotion_code = code[:255]
    record.refused_promotion_code_reason = reason[:500]
    record.save(update_fields=["refused_promotion_code", "refused_promotion_code_reason"])
    notification_owe(
        subject=f"company:{company.pk}:promotion_code_refused:{code.lower()}",
        kind=REFUSED_KIND,
        company=company,
        context={"code": code, "reason": reason},
    )
    logger.warning("promotion code %s refused for %s: %s", code, company.slug, reason)
