"""A draft invoice: its fields (``new_invoice``), its lines (a subscription item's, an invoice
item's), the pending invoice items it pulls in, and its totals.  Nothing here finalizes, pays or emits:
``invoicing.py`` does.  Every function expects the state lock to be held.

Totals, as Stripe computes them: ``subtotal`` is the sum of the lines' ``amount``; ``total`` is the
subtotal less every ``discount_amounts`` entry plus exclusive taxes (computed after discounts,
``taxes.py``; inclusive ones are inside the amounts); at finalization the customer's balance is applied
(``invoicing.py``: ``starting_balance`` → ``ending_balance``)."""

import copy

from . import discounts, taxes
from .resources import list_object, merge_metadata, p_bool, p_str
from .store import new_id

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
