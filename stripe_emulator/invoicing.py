"""Invoices: lines, totals (discounts, then the customer's balance at
finalization), finalization (number, hosted page and PDF links), payment and
voiding.  Every function expects the state lock to be held.

Totals, as Stripe computes them: ``subtotal`` is the sum of the lines'
``amount``; ``total`` is the subtotal less every ``discount_amounts`` entry plus
exclusive taxes (computed after discounts, ``taxes.py``; inclusive ones are
inside the amounts); at finalization the customer's balance is applied
(``starting_balance`` → ``ending_balance``: a credit lowers ``amount_due``, a
debit raises it, a negative total becomes credit) and recorded as an
``applied_to_invoice`` customer balance transaction."""

import copy

from . import balances, billing, discounts, invoice_payments, subscription_changes, taxes
from .errors import StripeError, card_declined, invalid_request
from .events import emit
from .resources import list_object, merge_metadata, p_bool, p_str, public
from .store import new_id

RETRY_DELAY = 3 * 86400
MAX_ATTEMPTS = 4

# The fields of a new draft invoice the emulator does not derive from the request.
INVOICE_DEFAULTS = {
    "object": "invoice",
    "account_country": "US",
    "account_name": "Stripe Emulator",
    "account_tax_ids": None,
    "amount_due": 0,
    "amount_overpaid": 0,
    "amount_paid": 0,
    "amount_remaining": 0,
    "amount_shipping": 0,
    "application": None,
    "attempt_count": 0,
    "attempted": False,
    "automatic_tax": {
        "disabled_reason": None,
        "enabled": False,
        "liability": None,
        "provider": None,
        "status": None,
    },
    "automatically_finalizes_at": None,
    "custom_fields": None,
    "customer_account": None,
    "customer_tax_ids": [],
    "default_source": None,
    "default_tax_rates": [],
    "discounts": [],
    "due_date": None,
    "effective_at": None,
    "ending_balance": None,
    "footer": None,
    "from_invoice": None,
    "hosted_invoice_url": None,
    "invoice_pdf": None,
    "issuer": {"type": "self"},
    "last_finalization_error": None,
    "latest_revision": None,
    "lines": list_object([], ""),
    "livemode": False,
    "next_payment_attempt": None,
    "number": None,
    "on_behalf_of": None,
    "parent": None,
    "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
    "post_payment_credit_notes_amount": 0,
    "pre_payment_credit_notes_amount": 0,
    "receipt_number": None,
    "rendering": None,
    "shipping_cost": None,
    "shipping_details": None,
    "starting_balance": 0,
    "statement_descriptor": None,
    "status": "draft",
    "status_transitions": {
        "finalized_at": None,
        "marked_uncollectible_at": None,
        "paid_at": None,
        "voided_at": None,
    },
    "subtotal": 0,
    "subtotal_excluding_tax": 0,
    "total": 0,
    "total_discount_amounts": [],
    "total_excluding_tax": 0,
    "total_pretax_credit_amounts": [],
    "total_taxes": [],
    "webhooks_delivered_at": None,
}


# ---------------------------------------------------------------------------
# building


def new_invoice(app, customer, at, billing_reason, subscription=None, params=None, invoice_id=None):
    """A draft (not stored): the caller adds lines, discounts and stores it."""
    params = params or {}
    invoice = {"id": invoice_id or new_id("in_"), **copy.deepcopy(INVOICE_DEFAULTS)}
    invoice.update(
        {
            "created": at,
            "period_end": at,
            "period_start": at,
            "auto_advance": p_bool(params, "auto_advance", subscription is not None),
            "billing_reason": billing_reason,
            "collection_method": (subscription or {}).get("collection_method")
            or p_str(params, "collection_method", "charge_automatically"),
            "currency": (subscription or {}).get("currency") or p_str(params, "currency", "usd"),
            "customer": customer["id"],
            "customer_address": customer.get("address"),
            "customer_email": customer.get("email"),
            "customer_name": customer.get("name"),
            "customer_phone": customer.get("phone"),
            "customer_shipping": customer.get("shipping"),
            "customer_tax_exempt": customer.get("tax_exempt", "none"),
            "default_payment_method": p_str(params, "default_payment_method"),
            "description": p_str(params, "description"),
            "metadata": merge_metadata({}, params),
            "test_clock": customer.get("test_clock"),
        }
    )
    invoice["lines"]["url"] = "/v1/invoices/%s/lines" % invoice["id"]
    if subscription is not None:
        invoice["parent"] = {
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription.get("metadata") or {}),
                "subscription": subscription["id"],
            },
            "type": "subscription_details",
        }
        invoice["_sub"] = subscription["id"]
        taxes.inherit_from_subscription(invoice, subscription)
    return invoice


def add_line(invoice, *, amount, currency, description, period, quantity=1, price=None, **origin):
    """Append a line.  ``origin``: ``subscription``, ``subscription_item`` or ``invoice_item`` (ids),
    ``proration``, ``credited_items``, ``discountable``, line-level ``discounts`` and ``tax_rates`` (ids)."""
    line = {
        "id": new_id("il_"),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": origin.get("discountable", True),
        "discounts": list(origin.get("discounts") or ()),
        "invoice": invoice["id"],
        "livemode": False,
        "metadata": {},
        "parent": _line_parent(origin),
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": ({"price": price["id"], "product": price["product"]} if price else None),
            "type": "price_details",
            "unit_amount_decimal": (price or {}).get("unit_amount_decimal"),
        },
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": origin.get("subscription"),
        "subtotal": amount,
        "taxes": [],
        "_tax_rates": list(origin.get("tax_rates") or ()),
    }
    invoice["lines"]["data"].append(line)
    return line


def _line_parent(origin):
    """What a line bills: a subscription item, or an invoice item."""
    details = {
        "proration": origin.get("proration", False),
        "proration_details": {"credited_items": origin.get("credited_items")},
        "subscription": origin.get("subscription"),
    }
    if origin.get("subscription_item"):
        details.update({"invoice_item": None, "subscription_item": origin["subscription_item"]})
        return {"invoice_item_details": None, "subscription_item_details": details, "type": "subscription_item_details"}
    if origin.get("invoice_item"):
        details["invoice_item"] = origin["invoice_item"]
        return {"invoice_item_details": details, "subscription_item_details": None, "type": "invoice_item_details"}
    return None


def add_invoice_item_line(app, invoice, item):
    """The line billing a pending invoice item (the item is not changed)."""
    price_id = ((item.get("pricing") or {}).get("price_details") or {}).get("price")
    price = app.state.get("prices", price_id) if price_id else None
    parent = (item.get("parent") or {}).get("subscription_details") or {}
    return add_line(
        invoice,
        amount=item["amount"],
        currency=item["currency"],
        description=item.get("description"),
        period=(item["period"]["start"], item["period"]["end"]),
        quantity=item.get("quantity", 1),
        price=price,
        invoice_item=item["id"],
        subscription=parent.get("subscription"),
        proration=item["proration"],
        credited_items=(item.get("proration_details") or {}).get("credited_items"),
        discountable=item["discountable"],
        discounts=item["discounts"],
        tax_rates=[rate["id"] for rate in item.get("tax_rates") or ()],
    )


def pending_invoice_items(app, customer_id, subscription_id=None):
    """Invoice items not on an invoice yet, oldest first: the customer's own ones, or a subscription's."""
    items = []
    for item in app.state.all("invoiceitems")[::-1]:
        if item["customer"] != customer_id or item.get("invoice") is not None:
            continue
        if item.get("_sub") not in (None, subscription_id):
            continue
        items.append(item)
    return items


def pull_pending_items(app, invoice, customer, subscription=None):
    for item in pending_invoice_items(app, customer["id"], subscription["id"] if subscription else None):
        item["invoice"] = invoice["id"]
        add_invoice_item_line(app, invoice, item)
        invoice["currency"] = item["currency"]


def recompute_totals(app, invoice):
    lines = invoice["lines"]["data"]
    invoice["total_discount_amounts"] = discounts.discount_lines(app, lines, invoice["discounts"], invoice["currency"])
    exclusive_tax, inclusive_tax = taxes.apply(app, invoice)
    subtotal = sum(line["amount"] for line in lines)
    discounted = subtotal - sum(entry["amount"] for entry in invoice["total_discount_amounts"])
    invoice["subtotal"], invoice["subtotal_excluding_tax"] = subtotal, subtotal - inclusive_tax
    invoice["total"], invoice["total_excluding_tax"] = discounted + exclusive_tax, discounted - inclusive_tax
    total = invoice["total"]
    ending = invoice["ending_balance"]
    applied = 0 if ending is None else invoice["starting_balance"] - ending
    invoice["amount_due"] = max(0, total + applied - invoice["pre_payment_credit_notes_amount"])
    invoice["amount_remaining"] = max(0, invoice["amount_due"] - invoice["amount_paid"])


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
    recompute_totals(app, invoice)
    _apply_customer_balance(app, invoice, customer)
    recompute_totals(app, invoice)
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
    recompute_totals(app, invoice)


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
    at = billing.clock_now(app, invoice.get("test_clock"))
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
    payment_method = payment_method_for_invoice(app, invoice, params)
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


def payment_method_for_invoice(app, invoice, params):
    customer = app.state.get("customers", invoice["customer"])
    reference = p_str(params, "payment_method") or p_str(params, "source")
    if reference:
        param = "payment_method" if params.get("payment_method") else "source"
        return billing.resolve_payment_method(app, reference, customer, param, {})
    if invoice.get("default_payment_method"):
        return app.state.get("payment_methods", invoice["default_payment_method"])
    if invoice.get("_sub"):
        return billing.default_pm_for_sub(app, app.state.get("subscriptions", invoice["_sub"]))
    return billing.default_pm_for_customer(app, customer)


def after_invoice_paid(app, invoice):
    sub = app.state.get("subscriptions", invoice.get("_sub") or "")
    if sub is None:
        return
    if (sub.get("_pending") or {}).get("invoice") == invoice["id"]:
        subscription_changes.apply_pending_update(app, sub)
        return
    if sub["status"] in ("past_due", "incomplete", "unpaid") and sub.get("latest_invoice") == invoice["id"]:
        before = billing.render_subscription(app, sub)
        sub["status"] = "active"
        billing.changed(app, sub, before)


def after_invoice_failed(app, invoice):
    sub = app.state.get("subscriptions", invoice.get("_sub") or "")
    if sub and (sub.get("_pending") or {}).get("invoice") == invoice["id"]:
        return
    if sub and sub["status"] in ("active", "trialing") and sub.get("latest_invoice") == invoice["id"]:
        before = billing.render_subscription(app, sub)
        sub["status"] = "past_due"
        billing.changed(app, sub, before)


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
