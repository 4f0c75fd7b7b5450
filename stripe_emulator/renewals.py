"""Time moving one subscription on: its next transition - an incomplete subscription expiring
(after 23 hours), a pending update expiring, ``cancel_at``, ``trial_will_end`` (three days before the
trial ends), the trial ending, the period renewing - and what each does: invoice the new period and
charge it, or cancel, pause or void.  Also ``trial_end=now`` and ``/resume``, which start a period at
once.  ``time_passing.py`` runs the transitions of many subscriptions and schedules in order.  Every
function expects the state lock to be held."""

from . import invoicing, payment_methods, pending_updates, period_invoices, stored_objects, subscriptions
from .errors import StripeError
from .events import emit
from .resources import public

INCOMPLETE_EXPIRY = 23 * 3600


def next_transition(sub):
    """(time, priority, kind) of the subscription's next transition, or None."""
    st = sub["status"]
    if st in ("canceled", "incomplete_expired", "paused"):
        return None
    cands = []
    if st == "incomplete":
        return (sub["created"] + INCOMPLETE_EXPIRY, 0, "expire")
    if sub.get("_pending"):
        cands.append((sub["pending_update"]["expires_at"], 0, "pending_update_expire"))
    if sub.get("cancel_at"):
        cands.append((sub["cancel_at"], 0, "cancel_at"))
    if st == "trialing":
        if not sub["_tw_sent"]:
            cands.append((sub["trial_end"] - subscriptions.TRIAL_WILL_END_LEAD, 1, "trial_will_end"))
        cands.append((sub["trial_end"], 2, "trial_end"))
    elif st in ("active", "past_due", "unpaid"):
        cands.append((stored_objects.period_end(sub), 2, "renew"))
    return min(cands) if cands else None


def _charge_new_period(app, sub, start, reason, at):
    """Invoice the period starting at ``start`` and try to pay it."""
    if sub.get("pause_collection"):
        inv = period_invoices.invoice_for_period(app, sub, reason, start, at)
        behaviour = sub["pause_collection"].get("behavior")
        if behaviour == "void":
            invoicing.void_invoice(app, inv, at)
        elif behaviour == "mark_uncollectible":
            inv["status"] = "uncollectible"
            inv["status_transitions"]["marked_uncollectible_at"] = at
            emit(app, "invoice.marked_uncollectible", public(inv))
        return True
    inv = period_invoices.invoice_for_period(app, sub, reason, start, at)
    if inv["amount_due"] == 0:
        invoicing.mark_paid(app, inv, at)
        return True
    pm = payment_methods.default_for_subscription(app, sub)
    ok, _ = invoicing.attempt_payment(app, inv, pm, at)
    return ok


def apply_transition(app, sub, at, kind):
    """Take the transition ``kind`` (``next_transition``'s) at ``at``."""
    TRANSITIONS[kind](app, sub, at, stored_objects.render_subscription(app, sub))


def _expire_incomplete(app, sub, at, before):
    sub["status"] = "incomplete_expired"
    sub["ended_at"] = at
    inv = app.state.get("invoices", sub.get("latest_invoice") or "")
    if inv and inv["status"] == "open":
        invoicing.void_invoice(app, inv, at)
    stored_objects.subscription_changed(app, sub, before)


def _cancel_at(app, sub, at, before):
    subscriptions.cancel_subscription(app, sub, at)


def _trial_will_end(app, sub, at, before):
    sub["_tw_sent"] = True
    app.state.dirty = True
    emit(app, "customer.subscription.trial_will_end", before)


def _end_trial(app, sub, at, before):
    if sub["cancel_at_period_end"]:
        subscriptions.cancel_subscription(app, sub, at)
        return
    if payment_methods.default_for_subscription(app, sub) is None:
        missing_payment_method = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
        if missing_payment_method == "cancel":
            subscriptions.cancel_subscription(app, sub, at)
            return
        if missing_payment_method == "pause":
            sub["status"] = "paused"
            stored_objects.subscription_changed(app, sub, before)
            emit(app, "customer.subscription.paused", stored_objects.render_subscription(app, sub))
            return
    ok = _charge_new_period(app, sub, sub["trial_end"], "subscription_cycle", at)
    sub["status"] = "active" if ok else "past_due"
    stored_objects.subscription_changed(app, sub, before)


def _renew(app, sub, at, before):
    end = stored_objects.period_end(sub)
    if sub["cancel_at_period_end"]:
        subscriptions.cancel_subscription(app, sub, end)
        return
    ok = _charge_new_period(app, sub, end, "subscription_cycle", at)
    if not ok:
        sub["status"] = "past_due"
    stored_objects.subscription_changed(app, sub, before)


def _expire_pending_update(app, sub, at, before):
    pending_updates.expire_pending_update(app, sub, at)


TRANSITIONS = {
    "expire": _expire_incomplete,
    "cancel_at": _cancel_at,
    "trial_will_end": _trial_will_end,
    "trial_end": _end_trial,
    "renew": _renew,
    "pending_update_expire": _expire_pending_update,
}


# ---------------------------------------------------------------------------
# starting a period now


def end_trial_now(app, sub, now):
    """``trial_end=now`` on update."""
    if sub["status"] != "trialing":
        sub["trial_end"] = now
        return
    sub["trial_end"] = now
    if not sub["_tw_sent"]:
        sub["_tw_sent"] = True
        emit(app, "customer.subscription.trial_will_end", stored_objects.render_subscription(app, sub))
    pm = payment_methods.default_for_subscription(app, sub)
    if pm is None:
        mpm = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
        if mpm == "cancel":
            subscriptions.cancel_subscription(app, sub, now)
            return
        if mpm == "pause":
            sub["status"] = "paused"
            return
    ok = _charge_new_period(app, sub, now, "subscription_update", now)
    sub["billing_cycle_anchor"] = now
    sub["status"] = "active" if ok else "past_due"


def resume_subscription(app, sub, params):
    if sub["status"] != "paused":
        raise StripeError(
            400,
            "invalid_request_error",
            "Subscription can only be resumed when paused.",
        )
    now = stored_objects.clock_now(app, sub.get("test_clock"))
    before = stored_objects.render_subscription(app, sub)
    ok = _charge_new_period(app, sub, now, "subscription_update", now)
    sub["billing_cycle_anchor"] = now
    sub["status"] = "active" if ok else "past_due"
    after = stored_objects.subscription_changed(app, sub, before)
    emit(app, "customer.subscription.resumed", after)
    return sub
