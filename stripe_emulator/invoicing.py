"""An invoice after its draft (``invoice_drafts.py``): finalization (number, hosted
page and PDF links, the customer's balance applied), payment (through its
PaymentIntent, ``invoice_payments.py``), voiding, and what a paid or failed
invoice means for its subscription.  Every function expects the state lock to
be held.

At finalization the customer's balance is applied (``starting_balance`` →
``ending_balance``: a credit lowers ``amount_due``, a debit raises it, a
negative total becomes credit) and recorded as an ``applied_to_invoice``
customer balance transaction.  An invoice's PaymentIntent finishing outside an
invoice run reports here through ``hooks`` (``invoice_intent_*``); paying the
invoice that holds a subscription's pending update fires
``pending_update_paid``."""

from . import balances, discounts, hooks, invoice_drafts, invoice_payments, payment_methods, stored_objects
from .errors import StripeError, card_declined, invalid_request
from .events import emit
from .resources import public

RETRY_DELAY = 3 * 86400
MAX_ATTEMPTS = 4


# ---------------------------------------------------------------------------
# finalization, payment, voiding


def finalize_invoice(app, invoice, at):
    if invoice["status"] != "draft":
        raise StripeError(
            400,
            "invalid_request_error",
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            code="invoice_not_editable",
        )
    customer = app.state.get("customers", invoice["customer"])
    sequence = customer.get("next_invoice_sequence", 1) if customer else 1
    if customer:
        customer["next_invoice_sequence"] = sequence + 1
    invoice["status"] = "open"
    invoice["number"] = "%s-%04d" % ((customer or {}).get("invoice_prefix", "EMU"), sequence)
    invoice["status_transitions"]["finalized_at"] = at
    invoice["effective_at"] = at
    invoice["hosted_invoice_url"] = "%s/p/invoice/%s" % (app.public_base(), invoice["id"])
    invoice["invoice_pdf"] = "%s/p/invoice/%s/pdf" % (app.public_base(), invoice["id"])
    invoice["auto_advance"] = invoice["collection_method"] == "charge_automatically" and invoice["auto_advance"]
    invoice_drafts.recompute_totals(app, invoice)
    _apply_customer_balance(app, invoice, customer)
    invoice_drafts.recompute_totals(app, invoice)
    invoice_payments.open_for_invoice(app, invoice, at)
    app.state.dirty = True
    emit(app, "invoice.finalized", public(invoice))
    discounts.use_up_once_discounts(app, invoice)


def _apply_customer_balance(app, invoice, customer):
    """Credit (negative balance) lowers what is due, debit raises it; a negative total becomes credit."""
    usable = customer is not None and not customer.get("deleted")
    usable = usable and customer.get("currency") in (None, invoice["currency"])
    starting = customer.get("balance") or 0 if usable else 0
    ending = min(0, invoice["total"] + starting) if usable else 0
    invoice["starting_balance"], invoice["ending_balance"] = starting, ending
    if ending != starting:
        balances.record(
            app,
            customer,
            amount=ending - starting,
            currency=invoice["currency"],
            kind="applied_to_invoice",
            invoice_id=invoice["id"],
        )


def preview_customer_balance(app, invoice):
    """What finalization would do to a preview's ``amount_due`` (nothing is recorded)."""
    customer = app.state.get("customers", invoice["customer"])
    if customer is None or customer.get("currency") not in (None, invoice["currency"]):
        return
    starting = customer.get("balance") or 0
    invoice["starting_balance"] = starting
    invoice["ending_balance"] = min(0, invoice["total"] + starting)
    invoice_drafts.recompute_totals(app, invoice)


def mark_paid(app, invoice, at):
    invoice["status"] = "paid"
    invoice["amount_paid"] = invoice["amount_due"]
    invoice["amount_remaining"] = 0
    invoice["attempted"] = invoice["attempted"] or invoice["amount_due"] > 0
    invoice["status_transitions"]["paid_at"] = at
    invoice["next_payment_attempt"] = None
    invoice["auto_advance"] = False
    invoice_payments.record_paid(app, invoice, at)
    app.state.dirty = True
    snapshot = public(invoice)
    emit(app, "invoice.paid", snapshot)
    emit(app, "invoice.payment_succeeded", snapshot)


def attempt_payment(app, invoice, payment_method, at):
    """Charge ``payment_method`` for an open invoice (through its PaymentIntent).  Returns (ok, decline_code);
    a card that needs 3D Secure fails the attempt with ``invoice.payment_action_required`` as well."""
    if invoice["amount_due"] <= 0:
        mark_paid(app, invoice, at)
        return True, None
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    outcome = invoice_payments.charge(app, invoice, payment_method, at)
    if outcome == "succeeded":
        mark_paid(app, invoice, at)
        return True, None
    if outcome == "processing":
        return False, outcome
    retry = payment_method is not None and invoice["attempt_count"] < MAX_ATTEMPTS
    invoice["next_payment_attempt"] = at + RETRY_DELAY if retry else None
    invoice["last_finalization_error"] = None
    app.state.dirty = True
    emit(app, "invoice.payment_failed", public(invoice))
    if outcome == "requires_action":
        emit(app, "invoice.payment_action_required", public(invoice))
    return False, outcome


def pay_invoice(app, invoice, params):
    """``POST /v1/invoices/{id}/pay`` (and the hosted invoice page's Pay button)."""
    at = stored_objects.clock_now(app, invoice.get("test_clock"))
    if invoice["status"] == "paid":
        raise StripeError(400, "invalid_request_error", "Invoice is already paid.", code="invoice_already_paid")
    if invoice["status"] == "void":
        raise StripeError(400, "invalid_request_error", "You cannot pay a void invoice.", code="invoice_not_editable")
    if invoice["status"] == "draft":
        finalize_invoice(app, invoice, at)
    if params.get("paid_out_of_band") is True:
        mark_paid(app, invoice, at)
        after_invoice_paid(app, invoice)
        return invoice
    payment_method = invoice_payments.payment_method_for_invoice(app, invoice, params)
    if payment_method is None and invoice["amount_due"] > 0:
        raise StripeError(
            400,
            "invalid_request_error",
            "This customer has no attached payment source or default payment method. "
            "Please consider adding a default payment method.",
            code="missing",
        )
    ok, decline = attempt_payment(app, invoice, payment_method, at)
    if ok:
        after_invoice_paid(app, invoice)
        return invoice
    if decline == "processing":
        return invoice
    after_invoice_failed(app, invoice)
    if decline == "requires_action":
        raise StripeError(
            402,
            "card_error",
            "This payment requires additional user action before it can be completed successfully. Payment can be "
            "completed using the PaymentIntent associated with the invoice. For more details see: "
            "https://stripe.com/docs/billing/subscriptions/overview#requires-action",
            code="invoice_payment_intent_requires_action",
            extra={"payment_intent": public(invoice_payments.intent_of(app, invoice))},
        )
    shown = public(payment_method) if payment_method else None
    raise card_declined(decline or "generic_decline", extra={"payment_method": shown})


def after_invoice_paid(app, invoice):
    """Paid outside the subscription's own run: the pending update it held takes effect (the
    ``pending_update_paid`` hook), or a subscription behind on it is active again."""
    sub = app.state.get("subscriptions", invoice.get("_sub") or "")
    if sub is None:
        return
    if (sub.get("_pending") or {}).get("invoice") == invoice["id"]:
        hooks.fire("pending_update_paid", app, sub)
        return
    if sub["status"] in ("past_due", "incomplete", "unpaid") and sub.get("latest_invoice") == invoice["id"]:
        before = stored_objects.render_subscription(app, sub)
        sub["status"] = "active"
        stored_objects.subscription_changed(app, sub, before)


def after_invoice_failed(app, invoice):
    """Its payment failed: the subscription it was the latest invoice of is past due (a pending update's
    invoice changes nothing: the update waits)."""
    sub = app.state.get("subscriptions", invoice.get("_sub") or "")
    if sub and (sub.get("_pending") or {}).get("invoice") == invoice["id"]:
        return
    if sub and sub["status"] in ("active", "trialing") and sub.get("latest_invoice") == invoice["id"]:
        before = stored_objects.render_subscription(app, sub)
        sub["status"] = "past_due"
        stored_objects.subscription_changed(app, sub, before)


def void_invoice(app, invoice, at):
    """Void an open invoice; balance it used goes back to the customer (``unapplied_from_invoice``)."""
    if invoice["status"] != "open":
        raise invalid_request("You can only void open invoices.", code="invoice_not_editable")
    invoice["status"] = "void"
    invoice["status_transitions"]["voided_at"] = at
    invoice_payments.cancel_for_invoice(app, invoice, at)
    used = invoice["starting_balance"] - (invoice["ending_balance"] or 0)
    customer = app.state.get("customers", invoice["customer"])
    if used and customer is not None and not customer.get("deleted"):
        balances.record(
            app,
            customer,
            amount=used,
            currency=invoice["currency"],
            kind="unapplied_from_invoice",
            invoice_id=invoice["id"],
        )
    app.state.dirty = True
    emit(app, "invoice.voided", public(invoice))


# ---------------------------------------------------------------------------
# an invoice's PaymentIntent finished outside an invoice run (``payments`` fires these hooks)


@hooks.handler("invoice_intent_succeeded")
def invoice_intent_succeeded(app, intent, at):
    invoice = app.state.get("invoices", intent["_invoice"])
    if invoice is None or invoice["status"] != "open":
        return
    _save_default_payment_method(app, invoice, intent)
    mark_paid(app, invoice, at)
    after_invoice_paid(app, invoice)


def _save_default_payment_method(app, invoice, intent):
    """``payment_settings[save_default_payment_method]=on_subscription``: the card that paid becomes the default."""
    sub = app.state.get("subscriptions", invoice.get("_sub") or "")
    if sub is None or sub["payment_settings"].get("save_default_payment_method") != "on_subscription":
        return
    pm = app.state.get("payment_methods", intent["payment_method"])
    customer = app.state.get("customers", sub["customer"])
    if pm is None or customer is None or customer.get("deleted"):
        return
    if pm.get("customer") is None:
        payment_methods.attach(app, pm, customer)
    before = stored_objects.render_subscription(app, sub)
    sub["default_payment_method"] = pm["id"]
    stored_objects.subscription_changed(app, sub, before)


@hooks.handler("invoice_intent_failed")
def invoice_intent_failed(app, intent, at):
    invoice = app.state.get("invoices", intent["_invoice"])
    if invoice is None or invoice["status"] != "open":
        return
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    app.state.dirty = True
    emit(app, "invoice.payment_failed", public(invoice))
    after_invoice_failed(app, invoice)


@hooks.handler("invoice_intent_requires_action")
def invoice_intent_requires_action(app, intent):
    invoice = app.state.get("invoices", intent["_invoice"])
    if invoice is not None and invoice["status"] == "open":
        emit(app, "invoice.payment_action_required", public(invoice))
