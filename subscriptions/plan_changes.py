"""Changing the plan of a live subscription: a preview of what Stripe will charge, then the change
itself with the preview's `proration_date`, so what is charged is what was previewed.

Upgrades (a dearer plan, or another billing interval) are invoiced at once
(`proration_behavior=always_invoice`) with `payment_behavior=pending_if_incomplete`: they take effect
only once that invoice is paid, and until then Stripe holds them as the subscription's
`pending_update` (applied or expired later: webhooks/handlers.py). Downgrades credit the unused time
on the next invoice (`create_prorations`). A trialing subscription changes without any charge
(`none`: nothing is billed until the trial ends).

A change onto limits the company already exceeds is refused (`plan_limit_conflict`, listing them)
unless the admin accepts them: the company is then over limit (companies/gates.py `limits_exceeded`),
its data stays readable and nothing more of it can be made until the usage is back within the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from django.db import transaction
from saas_platform.errors import FieldInvalid, ServiceError

from companies.gates import limits_exceeded
from companies.locks import company_lock
from companies.models import Company
from companies.selectors import members_count
from subscriptions.invoices import invoice_amounts, invoice_line, invoice_sync
from subscriptions.models import CompanySubscription, Invoice
from subscriptions.plans import Plan, plan_for_lookup_key
from subscriptions.services import NoLiveSubscription, subscription_apply_stripe_state, subscription_live_current
from subscriptions.stripe_api import price_id_for_lookup_key, stripe_client
from subscriptions.stripe_objects import Subscription, SubscriptionItem, subscription_read

if TYPE_CHECKING:
    from stripe.params import InvoiceCreatePreviewParams, SubscriptionUpdateParams

Kind = Literal["upgrade", "downgrade", "trial"]
_BEHAVIOUR: dict[Kind, str] = {"upgrade": "always_invoice", "downgrade": "create_prorations", "trial": "none"}
_PER_YEAR = {"month": 12, "year": 1, "week": 52, "day": 365}
QUANTITY_NOT_ALLOWED = "quantity_not_allowed"
QUANTITY_NOT_ALLOWED_MESSAGE = "A per-seat plan bills one seat per member: leave quantity out."


class PlanChangeRefused(ServiceError):
    """The subscription cannot change to this plan now (409)."""

    code = "plan_change_refused"


class PlanLimitConflict(ServiceError):
    """The company already uses more than the new plan allows, and the admin did not accept it."""

    code = "plan_limit_conflict"
    detail = "The company uses more than the new plan allows; accept the conflicts to change anyway."

    def __init__(self, conflicts: list[dict]):
        super().__init__()
        self.conflicts = conflicts

    def extra(self) -> dict:
        return {"limit_conflicts": self.conflicts}


class PlanChanged(NamedTuple):
    subscription: CompanySubscription
    invoice: Invoice | None


@dataclass(frozen=True)
class PlanChange:
    """What the change is: the subscription as Stripe has it now, its plan item, and the new price."""

    subscription: Subscription
    item: SubscriptionItem
    plan: Plan
    lookup_key: str
    quantity: int
    kind: Kind

    def item_params(self) -> list:
        price = price_id_for_lookup_key(self.lookup_key)
        return [{"id": self.item.id, "price": price, "quantity": self.quantity}]


def _yearly(amount: int | None, quantity: int | None, interval: str) -> int:
    return (amount or 0) * (quantity or 1) * _PER_YEAR.get(interval, 1)


def _kind(subscription: Subscription, item: SubscriptionItem, plan: Plan, lookup_key: str, quantity: int) -> Kind:
    if subscription.status == "trialing":
        return "trial"
    interval = "year" if lookup_key == plan.yearly_lookup_key else "month"
    if interval != item.interval:
        return "upgrade"  # the billing cycle restarts: the new period is invoiced now
    amount = plan.yearly_amount if interval == "year" else plan.monthly_amount
    more = _yearly(amount, quantity, interval) > _yearly(item.unit_amount, item.quantity, item.interval)
    return "upgrade" if more else "downgrade"


def _live_subscription(company: Company) -> Subscription:
    """The company's live subscription as Stripe has it now (under the company's lock), with a plan of
    the catalog and no change waiting for its payment."""
    subscription = subscription_read(subscription_live_current(company=company))
    if subscription.base_item is None:
        raise NoLiveSubscription()
    if subscription.cancel_at_period_end:
        # Stripe has no next invoice to preview for it; its portal, too, offers only to renew it.
        raise PlanChangeRefused(
            "The subscription ends with its period; resume it before changing plan.", code="subscription_cancelling"
        )
    if subscription.pending_update is not None:
        raise PlanChangeRefused(
            "An earlier plan change waits for its payment; pay its invoice or wait until it expires.",
            code="plan_change_pending",
        )
    return subscription


def _plan_change(company: Company, lookup_key: str, quantity: int | None) -> PlanChange:
    plan = plan_for_lookup_key(lookup_key)
    if plan is None:
        raise FieldInvalid("price_lookup_key", "unknown_price", f"No plan has the price {lookup_key!r}.")
    if plan.per_seat and quantity is not None:
        raise FieldInvalid("quantity", QUANTITY_NOT_ALLOWED, QUANTITY_NOT_ALLOWED_MESSAGE)
    if quantity is not None and quantity < 1:
        raise FieldInvalid("quantity", "min_value", "Ensure this value is greater than or equal to 1.")
    subscription = _live_subscription(company)
    item = subscription.base_item
    assert item is not None  # _live_subscription refuses a subscription without one
    wanted = plan.quantity_for(members=members_count(company=company)) if plan.per_seat else (quantity or 1)
    if item.lookup_key == lookup_key and item.quantity == wanted:
        raise PlanChangeRefused("The subscription is on this plan already.", code="same_plan")
    kind = _kind(subscription, item, plan, lookup_key, wanted)
    return PlanChange(subscription, item, plan, lookup_key, wanted, kind)


def _preview(company: Company, change: PlanChange, behaviour: str) -> dict:
    params: InvoiceCreatePreviewParams = {
        "customer": company.stripe_customer_id or "",
        "subscription": change.subscription.id,
        "subscription_details": {"items": change.item_params(), "proration_behavior": behaviour},  # type: ignore[typeddict-item]
    }
    return stripe_client().v1.invoices.create_preview(params=params).to_dict()


def _features(current: Plan | None, new: Plan) -> tuple[list[str], list[str]]:
    before = current.features if current else frozenset()
    return sorted(new.features - before), sorted(before - new.features)


def plan_change_preview(*, company: Company, price_lookup_key: str, quantity: int | None = None) -> dict:
    """What changing to `price_lookup_key` would charge now and on the next invoice (Stripe's previews,
    with the behaviour the change will use), the features gained and lost, and every limit the company
    already exceeds under the new plan. Pass `proration_date` on to `plan_change_apply`."""
    change = _plan_change(company, price_lookup_key, quantity)
    behaviour = _BEHAVIOUR[change.kind]
    first = _preview(company, change, behaviour)
    details = (first.get("parent") or {}).get("subscription_details") or {}
    proration_date = details.get("subscription_proration_date")
    # An upgrade's preview is the invoice made now; the next one bills the new plan's next period.
    following = _preview(company, change, "none") if change.kind == "upgrade" else first
    now = invoice_amounts(first) if change.kind == "upgrade" else {}
    next_invoice = invoice_amounts(following)
    lines = (first.get("lines") or {}).get("data") or []
    gained, lost = _features(change.item.plan, change.plan)
    return {
        "price_lookup_key": change.lookup_key,
        "plan": change.plan.key,
        "quantity": change.quantity,
        "change": change.kind,
        "proration_behavior": behaviour,
        "proration_date": proration_date,
        "currency": first.get("currency") or change.plan.currency,
        "amount_due": now.get("amount_due", 0),
        "total": now.get("total", 0),
        "next_invoice_total": next_invoice["total"],
        "next_invoice_amount_due": next_invoice["amount_due"],
        "next_invoice_period_start": next_invoice["period_start"],
        "lines": [invoice_line(line) for line in lines],
        "features_gained": gained,
        "features_lost": lost,
        "limit_conflicts": limits_exceeded(company, change.plan.limits),
    }


def plan_change_apply(
    *,
    company_id: int,
    price_lookup_key: str,
    quantity: int | None = None,
    proration_date: int | None = None,
    accept_limit_conflicts: bool = False,
) -> PlanChanged:
    """Change the plan as previewed (same `proration_date`, same behaviour), under the company's lock
    and against Stripe's current subscription. An upgrade whose payment fails leaves the plan as it
    was, with the change pending in Stripe (stored as `pending_update`). Returns the stored
    subscription and, for an upgrade, the invoice it made (stored as Stripe has it)."""
    with transaction.atomic():
        company = company_lock(company_id=company_id)
        change = _plan_change(company, price_lookup_key, quantity)
        conflicts = limits_exceeded(company, change.plan.limits)
        if conflicts and not accept_limit_conflicts:
            raise PlanLimitConflict(conflicts)
        params: SubscriptionUpdateParams = {
            "items": change.item_params(),
            "proration_behavior": _BEHAVIOUR[change.kind],  # type: ignore[typeddict-item]
        }
        if proration_date and change.kind != "trial":
            params["proration_date"] = proration_date
        if change.kind == "upgrade":
            params["payment_behavior"] = "pending_if_incomplete"
        record = CompanySubscription.objects.get(company=company)
        updated = stripe_client().v1.subscriptions.update(
            change.subscription.id,
            params=params,
            options={
                "idempotency_key": f"company-{company.pk}-plan-change-{record.plan_changes}-"
                f"{change.lookup_key}-{change.quantity}-{proration_date or 'now'}"
            },
        )
        record = subscription_apply_stripe_state(
            company=company, stripe_subscription=updated.to_dict(), acknowledged=True
        )
        invoice = None
        if change.kind == "upgrade" and updated.latest_invoice:
            # Stored now, not when its events arrive: the admin sees what was charged at once.
            invoice = invoice_sync(company_id=company.pk, invoice_id=_id(updated.latest_invoice))
    return PlanChanged(record, invoice)


def _id(value) -> str:
    return value if isinstance(value, str) else value.id
