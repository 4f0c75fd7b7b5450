"""Pending updates (``payment_behavior=pending_if_incomplete``, with only the parameters Stripe
lists): when the update's invoice is not paid, the subscription keeps what it had and the change is
held - applied once the invoice is paid (``invoicing`` fires the ``pending_update_paid`` hook), or
discarded when it expires at the period end, at most 23 hours later (the invoice is voided).  Every
function expects the state lock to be held."""

import copy

from . import hooks, invoicing, stored_objects
from .errors import invalid_request
from .events import emit

PENDING_UPDATE_LIFETIME = 23 * 3600
# https://docs.stripe.com/billing/subscriptions/pending-updates-reference#supported-attributes
PENDING_UPDATE_PARAMETERS = frozenset(
    (
        "expand",
        "payment_behavior",
        "proration_behavior",
        "proration_date",
        "billing_cycle_anchor",
        "items",
        "trial_end",
        "trial_from_plan",
        "add_invoice_items",
    )
)
PENDING_STATE = ("_items", "billing_cycle_anchor")


def refuse_unsupported_pending(params):
    """A pending update may carry only the parameters Stripe lists for it."""
    unsupported = sorted(key for key in params if key not in PENDING_UPDATE_PARAMETERS)
    if unsupported:
        raise invalid_request(
            "When using payment_behavior=pending_if_incomplete you can only pass the parameters supported by "
            "pending updates; these are not: %s." % ", ".join(unsupported),
            param=unsupported[0],
        )


def hold_as_pending_update(app, sub, invoice, plan, unchanged, at):
    """Payment failed: keep the subscription as it was and hold the change until the invoice is paid.
    It expires at the period end, at most 23 hours later."""
    changed_state = {key: copy.deepcopy(sub[key]) for key in PENDING_STATE}
    sub.update(unchanged)
    expires_at = min(at + PENDING_UPDATE_LIFETIME, stored_objects.period_end(sub))
    sub["_pending"] = {"invoice": invoice["id"], "state": changed_state}
    sub["pending_update"] = {
        "billing_cycle_anchor": changed_state["billing_cycle_anchor"] if plan.anchor_now else None,
        "expires_at": expires_at,
        "subscription_items": [stored_objects.render_item(app, sub, item) for item in changed_state["_items"]],
        "trial_end": None,
        "trial_from_plan": None,
    }


@hooks.handler("pending_update_paid")
def apply_pending_update(app, sub):
    """The pending update's invoice was paid: the change takes effect."""
    before = stored_objects.render_subscription(app, sub)
    pending = sub.pop("_pending")
    sub.update(pending["state"])
    sub["pending_update"] = None
    if sub["status"] in ("past_due", "incomplete", "unpaid"):
        sub["status"] = "active"
    after = stored_objects.subscription_changed(app, sub, before)
    emit(app, "customer.subscription.pending_update_applied", after)


def expire_pending_update(app, sub, at):
    """Nobody paid in time: the invoice is voided and the change discarded."""
    before = stored_objects.render_subscription(app, sub)
    pending = sub.pop("_pending")
    sub["pending_update"] = None
    invoice = app.state.get("invoices", pending["invoice"])
    if invoice is not None and invoice["status"] == "open":
        invoicing.void_invoice(app, invoice, at)
    after = stored_objects.subscription_changed(app, sub, before)
    emit(app, "customer.subscription.pending_update_expired", after)
