"""A company's billing in Stripe: its customer and trial, and its subscription state kept equal to
Stripe's, with its entitlements in step.

Every write locks the company row first (`company_lock`), then reads Stripe's current state while
holding it, so two workers applying events for the same company serialize and the last write is
Stripe's latest state, whatever order the events arrived in. Creating calls carry idempotency keys
derived from the company, so a retried task never creates a second customer or trial.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from saas_platform import clock
from saas_platform.dispatch import dispatch_after_commit
from saas_platform.errors import ServiceError

from companies.gates import limits_exceeded
from companies.locks import company_lock
from companies.members import MEMBERS_CHANGED
from companies.models import Company, Membership
from companies.selectors import members_count
from notifications.services import notification_owe
from subscriptions.entitlements import LIVE_STATUSES, entitlements_for
from subscriptions.invoices import invoices_backfill
from subscriptions.models import CompanySubscription
from subscriptions.plans import plan_for_lookup_key
from subscriptions.promotion_codes import promotion_code_refresh, promotion_code_refusal_record
from subscriptions.selectors import companies_to_reconcile, promotion_code_find, seats_to_bill
from subscriptions.stripe_api import price_id_for_lookup_key, stripe_client, stripe_retrieve
from subscriptions.stripe_objects import DISCOUNT_EXPANSIONS, Subscription, subscription_read
from subscriptions.tax import automatic_tax_follow

if TYPE_CHECKING:
    from stripe.params import CustomerCreateParams, SubscriptionCreateParams

logger = logging.getLogger(__name__)

RECONCILE_TASK = "subscriptions.reconcile_company"  # subscriptions/tasks.py: reconcile_company
OVER_LIMIT_KIND = "plan_over_limit"  # subscriptions/notifications.py

ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})
# Which of a customer's subscriptions is "the" subscription when there are several.
_STATUS_RANK = {"active": 0, "trialing": 0, "past_due": 1, "unpaid": 2, "paused": 2, "incomplete": 3}


class NoLiveSubscription(ServiceError):
    """What the admin asked for acts on a live subscription, and the company has none."""

    code = "no_live_subscription"
    detail = "The company has no live subscription (trialing, active or past due)."


class SubscriptionEnded(ServiceError):
    code = "subscription_ended"
    detail = "The subscription has already ended; choose a plan to subscribe again."


def subscription_live_current(*, company: Company, expand: tuple[str, ...] = ()) -> dict:
    """Under the company lock: Stripe's current copy of the company's subscription (`expand`ed), when it
    is live; else NoLiveSubscription, or SubscriptionEnded when the current one has ended. What every
    admin action on the subscription (cancel, resume, a promotion code, a plan change) acts on."""
    if not company.stripe_customer_id:
        raise NoLiveSubscription()
    current = _current_in_stripe(company.stripe_customer_id, expand=expand)
    if current is not None and current["status"] in ENDED_STATUSES:
        raise SubscriptionEnded()
    if current is None or current["status"] not in LIVE_STATUSES:
        raise NoLiveSubscription()
    return current


def _current_in_stripe(customer_id: str, *, expand: tuple[str, ...] = ()) -> dict | None:
    """The customer's current subscription as Stripe lists it now (`current_subscription`), or None."""
    listing = stripe_client().v1.subscriptions.list(
        params={"customer": customer_id, "status": "all", "limit": 20, "expand": [f"data.{path}" for path in expand]}
    )
    return current_subscription([s.to_dict() for s in listing.data])


def current_subscription(subscriptions: list) -> dict | None:
    """The live subscription if there is one, else the most recent; ties go to the newest."""
    if not subscriptions:
        return None
    return min(subscriptions, key=lambda s: (_STATUS_RANK.get(s["status"], 9), -int(s["created"])))


def company_refresh_entitlements(*, company: Company, subscription: CompanySubscription | None) -> None:
    snapshot = entitlements_for(subscription)
    company.paid_access = snapshot.paid_access
    company.paid_access_until = snapshot.paid_access_until
    company.features = snapshot.features
    company.limits = snapshot.limits
    company.access_reason = snapshot.reason
    company.save(update_fields=["paid_access", "paid_access_until", "features", "limits", "access_reason"])


def subscription_apply_stripe_state(
    *, company: Company, stripe_subscription: dict | None, acknowledged: bool = False
) -> CompanySubscription:
    """Store Stripe's copy of the company's subscription (None: it has none) and recompute the
    entitlements. The caller holds the company's lock. A quantity that is not the one the plan bills
    (a plan switched between flat and per seat, members changed meanwhile) asks for a seat sync.
    A plan changed elsewhere (the portal) onto limits the company is over owes its admins an e-mail;
    `acknowledged`: the change is our plan change's, whose admin accepted the conflicts."""
    record, _ = CompanySubscription.objects.get_or_create(company=company)
    previous_lookup_key = record.price_lookup_key
    now = timezone.now()
    if stripe_subscription is None:
        record.stripe_subscription_id = ""
        record.status = ""
        record.plan = record.price_lookup_key = record.currency = ""
        record.quantity = record.unit_amount = None
        record.trial_end = record.current_period_end = record.past_due_since = None
        record.cancel_at_period_end = False
        record.discount = None
        record.cancellation_feedback = record.cancellation_comment = record.cancellation_reason = ""
        record.automatic_tax = False
        record.pending_update = None
    else:
        subscription = subscription_read(stripe_subscription)
        base = subscription.base_item
        record.stripe_subscription_id = subscription.id
        record.price_lookup_key = base.lookup_key if base else ""
        record.plan = subscription.plan.key if subscription.plan else ""
        record.quantity = base.quantity if base else None
        record.unit_amount = base.unit_amount if base else None
        record.currency = base.currency if base else ""
        record.trial_end = subscription.trial_end
        record.current_period_end = base.current_period_end if base else None
        record.cancel_at_period_end = subscription.cancel_at_period_end
        record.canceled_at = subscription.canceled_at
        record.discount = _discount_of(subscription, record)
        record.cancellation_feedback = subscription.cancellation_feedback
        record.cancellation_comment = subscription.cancellation_comment
        record.cancellation_reason = subscription.cancellation_reason
        record.automatic_tax = subscription.automatic_tax
        record.pending_update = _pending_update(subscription)
        if subscription.status == "past_due":
            # The platform clock (not the wall clock): tests move it with Stripe's test clocks.
            record.past_due_since = record.past_due_since or clock.now()
        else:
            record.past_due_since = None
        record.status = subscription.status
    plan_changed = bool(previous_lookup_key and record.price_lookup_key) and (
        previous_lookup_key != record.price_lookup_key
    )
    record.plan_changes += int(plan_changed)
    record.synced_at = now
    record.save()
    company_refresh_entitlements(company=company, subscription=record)
    if plan_changed and not acknowledged:
        _owe_over_limit_notice(company, record)
    wanted = seats_to_bill(record=record)
    if wanted is not None and wanted != record.quantity:
        MEMBERS_CHANGED.request(company.pk)
    return record


def _discount_of(subscription: Subscription, record: CompanySubscription) -> dict | None:
    """The subscription's discount as stored: read from its expanded discounts; a caller that did not
    expand them (ids only) gets the one stored if it is still there, else Stripe's copy re-read."""
    if not subscription.discount_ids:
        return None
    if not subscription.discounts_expanded:
        stored = record.discount or {}
        if stored.get("id") == subscription.discount_ids[0]:
            return stored
        expanded = stripe_retrieve("subscription", subscription.id, expand=list(DISCOUNT_EXPANSIONS))
        subscription = subscription_read(expanded) if expanded else subscription
    return subscription.discount.as_dict() if subscription.discount else None


def _pending_update(subscription: Subscription) -> dict | None:
    """Stripe's pending update as stored: the plan price and quantity it would bring, and its expiry."""
    pending = subscription.pending_update
    if pending is None:
        return None
    base = pending.base_item
    return {
        "price_lookup_key": base.lookup_key if base else "",
        "plan": base.plan.key if base and base.plan else "",
        "quantity": base.quantity if base else None,
        "expires_at": pending.expires_at.isoformat() if pending.expires_at else None,
    }


def _owe_over_limit_notice(company: Company, record: CompanySubscription) -> None:
    """Under the company lock, after a plan change made outside our preview: if the company now uses
    more than the new plan allows, its admins are told, once per change (keyed by the change's count)."""
    if record.status not in LIVE_STATUSES:
        return
    exceeded = limits_exceeded(company, company.limits or {})
    if exceeded:
        notification_owe(
            subject=f"subscription:{record.stripe_subscription_id}:plan_change:{record.plan_changes}",
            kind=OVER_LIMIT_KIND,
            company=company,
            context={"plan": record.plan, "over_limit": exceeded},
        )


def subscription_sync_company(*, company_id: int, entitlements: bool = False) -> CompanySubscription | None:
    """Read the company's subscriptions from Stripe and store the current one. With `entitlements`,
    also re-read the customer's active entitlements if Stripe Entitlements has reported any for it,
    and every invoice (a full resync: what `resync_billing` and the reconciliation run)."""
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        if not company.stripe_customer_id:
            return None
        tax_status, current = automatic_tax_follow(
            company=company,
            stripe_subscription=_current_in_stripe(company.stripe_customer_id, expand=DISCOUNT_EXPANSIONS),
        )
        record = subscription_apply_stripe_state(company=company, stripe_subscription=current)
        if tax_status and tax_status != record.customer_tax_status:
            record.customer_tax_status = tax_status
            record.save(update_fields=["customer_tax_status"])
        if entitlements and record.entitlement_features is not None:
            _store_entitlements(company, record)
        if entitlements:
            invoices_backfill(company=company)
    logger.info("subscription synced: %s %s %s", company.slug, record.plan or "-", record.status or "none")
    return record


def companies_reconcile_later(*, company_ids: list[int] | None = None) -> int:
    """Queue a full resync (`subscription_sync_company` with entitlements) of the companies the
    reconciliation rule selects: all of them (beat), or those an operator named (the admin). The
    `resync_billing` command runs the same sync in place. Returns how many were queued."""
    ids = list(companies_to_reconcile(company_ids=company_ids).values_list("pk", flat=True))
    for company_id in ids:
        dispatch_after_commit(RECONCILE_TASK, company_id, waits_for="the next reconciliation")
    return len(ids)


def subscription_forget_customer(*, company_id: int, customer_id: str) -> bool:
    """Stripe says the customer `customer_id` is deleted: if it is still the company's, the company
    has no customer and no subscription any more. False when the company has another customer."""
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        if company.stripe_customer_id != customer_id:
            return False
        company.stripe_customer_id = None
        company.save(update_fields=["stripe_customer_id"])
        subscription_apply_stripe_state(company=company, stripe_subscription=None)
    return True


def entitlements_sync_company(*, company_id: int) -> list[str] | None:
    """Store the features Stripe says the company's customer is entitled to right now.

    Read from `GET /v1/entitlements/active_entitlements` while holding the company's row lock, never
    from an event's summary: whatever order summaries arrive in, and whoever signed them, the last
    reader stores Stripe's latest list. None when the company has no Stripe customer.
    """
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        if not company.stripe_customer_id:
            return None
        record, _ = CompanySubscription.objects.get_or_create(company=company)
        return _store_entitlements(company, record)


def _store_entitlements(company: Company, record: CompanySubscription) -> list[str]:
    """Under the company lock: read the active entitlements and store them ("as of" = read at)."""
    record.entitlement_features = sorted(set(_active_entitlement_keys(company.stripe_customer_id)))
    record.entitlements_as_of = timezone.now()
    record.save(update_fields=["entitlement_features", "entitlements_as_of"])
    company_refresh_entitlements(company=company, subscription=record)
    return record.entitlement_features


def _active_entitlement_keys(customer_id: str) -> list[str]:
    listing = stripe_client().v1.entitlements.active_entitlements.list(params={"customer": customer_id, "limit": 100})
    return [e["lookup_key"] for e in listing.auto_paging_iter()]


def company_for_stripe_customer(customer_id: str) -> Company | None:
    """The company owning a Stripe customer: by stored id, else by the customer's metadata as Stripe
    returns it, then with the customer's id stored on it (the onboarding step that stores it may lag
    behind Stripe's events)."""
    company = Company.objects.filter(stripe_customer_id=customer_id).first()
    if company is not None:
        return company
    try:
        customer = stripe_client().v1.customers.retrieve(customer_id).to_dict()
    except stripe.InvalidRequestError:
        return None
    metadata = customer.get("metadata") or {}
    company_id = metadata.get("company_id")
    if not company_id or not str(company_id).isdigit():
        return None
    Company.objects.filter(pk=int(company_id), stripe_customer_id=None).update(stripe_customer_id=customer_id)
    return Company.objects.filter(pk=int(company_id)).first()


def stripe_customer_create(*, company_id: int) -> str:
    """The company's Stripe customer (its first admin's e-mail on it), created once: the idempotency
    key is derived from the company, and a customer already stored is returned as it is."""
    company = Company.objects.get(pk=company_id)
    if company.stripe_customer_id:
        return company.stripe_customer_id
    admin = company.memberships.filter(role=Membership.Role.ADMIN).select_related("user").first()
    params: CustomerCreateParams = {
        "name": company.name,
        "metadata": {"company_id": str(company.pk), "company_slug": company.slug},
    }
    if admin:
        params["email"] = admin.user.email
    customer = stripe_client().v1.customers.create(
        params=params, options={"idempotency_key": f"company-{company.pk}-customer"}
    )
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        if not company.stripe_customer_id:
            company.stripe_customer_id = customer.id
            company.save(update_fields=["stripe_customer_id"])
    logger.info("stripe customer %s created", customer.id)
    return company.stripe_customer_id


def subscription_start_trial(*, company_id: int) -> CompanySubscription | None:
    """Start the trial of the price chosen at sign-up (else STRIPE_TRIAL_PRICE_LOOKUP_KEY), cancelled at
    its end if no card was added, unless the customer has a subscription already; then store Stripe's
    state. The promotion code typed at sign-up is applied; one Stripe refuses (used up meanwhile) is
    reported to the admins and the trial starts without it."""
    company = Company.objects.get(pk=company_id)
    client = stripe_client()
    existing = client.v1.subscriptions.list(
        params={"customer": company.stripe_customer_id, "status": "all", "limit": 1}
    )
    trial_price = company.trial_price_lookup_key or settings.STRIPE_TRIAL_PRICE_LOOKUP_KEY
    refusal = ""
    if not existing.data:
        plan = plan_for_lookup_key(trial_price)
        quantity = plan.quantity_for(members=members_count(company=company)) if plan else 1
        params: SubscriptionCreateParams = {
            "customer": company.stripe_customer_id,
            "items": [{"price": price_id_for_lookup_key(trial_price), "quantity": quantity}],
            "trial_period_days": settings.STRIPE_TRIAL_DAYS,
            "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
            "metadata": {"company_id": str(company.pk), "company_slug": company.slug},
        }
        refusal = _create_trial(company, params)
        if refusal:
            with transaction.atomic():
                promotion_code_refusal_record(
                    company=company_lock(company_id=company.pk), code=company.signup_promotion_code, reason=refusal
                )
    return subscription_sync_company(company_id=company.pk)


def _create_trial(company: Company, params: SubscriptionCreateParams) -> str:
    """Create the trial subscription, with the sign-up's promotion code if it has one; returns why the
    code was refused ("" if none was, or none was typed), the trial then created without it."""
    client = stripe_client()
    code = company.signup_promotion_code
    found = promotion_code_find(code=code) if code else None
    if code and found is None:
        refusal = "This promotion code does not exist."
    elif found is not None:
        try:
            client.v1.subscriptions.create(
                params={**params, "discounts": [{"promotion_code": found.stripe_id}]},
                options={"idempotency_key": f"company-{company.pk}-trial"},
            )
            promotion_code_refresh(promotion_code_id=found.stripe_id)  # one more redemption
            return ""
        except stripe.InvalidRequestError as error:
            if not (error.param or "").startswith("discounts"):
                raise
            refusal = error.user_message or str(error)
            promotion_code_refresh(promotion_code_id=found.stripe_id)  # Stripe knows better than the copy
    else:
        refusal = ""
    # Another key: Stripe answers a key reused with other parameters with an error.
    key = f"company-{company.pk}-trial" + ("-without-promotion-code" if refusal else "")
    client.v1.subscriptions.create(params=params, options={"idempotency_key": key})
    return refusal
