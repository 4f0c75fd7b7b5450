"""``expand[]``: an id-valued field (or a list of ids; dotted paths, ``data.`` on lists) replaced by
the object it names, rendered as its own endpoint renders it; and Stripe's includable fields, returned
only when expanded (an invoice's ``confirmation_secret`` and ``payments``)."""

import time

from . import charges, discounts, invoice_payments, stored_objects
from .resources import public, render_card


def expand(app, obj, paths):
    for path in paths:
        _expand(app, obj, path.split("."), 0)
    return obj


def _expand(app, node, parts, depth):
    if depth > 4 or not parts:
        return
    if isinstance(node, list):
        for x in node:
            _expand(app, x, parts, depth)
        return
    if not isinstance(node, dict):
        return
    key = parts[0]
    if key not in node:
        includable, value = render_includable(app, node, key)
        if includable:
            node[key] = value
    val = node.get(key)
    if isinstance(val, str) and val:
        rendered = render_any(app, val)
        if rendered is None:
            return
        node[key] = val = rendered
    elif isinstance(val, list):  # a list of ids (``discounts``)
        node[key] = val = [render_any(app, x) or x if isinstance(x, str) else x for x in val]
    if len(parts) > 1:
        _expand(app, val, parts[1:], depth + 1)


def render_any(app, oid):
    """Render any stored object by id (used by ``expand``)."""
    col = app.state.collection_for(oid)
    if col is None:
        return None
    obj = app.state.get(col, oid)
    if col == "subscriptions":
        return stored_objects.render_subscription(app, obj)
    if col == "customers":
        return stored_objects.render_customer(app, obj)
    if col == "webhook_endpoints":
        out = public(obj)
        out.pop("secret", None)
        return out
    if col == "coupons":
        return discounts.render_coupon(obj, int(time.time()))
    if col == "promotion_codes":
        return discounts.render_promotion_code(app, obj, int(time.time()))
    if col == "payment_methods" and oid.startswith("card_"):
        return render_card(obj)
    if col == "charges":
        return charges.render_charge(app, obj)
    return public(obj)


def render_includable(app, node, key):
    """Stripe's includable fields, returned only when expanded: (True, value), or (False, None) when ``key`` is
    not one of ``node``'s."""
    if node.get("object") == "invoice" and key in ("confirmation_secret", "payments"):
        invoice = app.state.get("invoices", node.get("id") or "")
        if invoice is None:
            return True, None
        if key == "confirmation_secret":
            return True, invoice_payments.confirmation_secret(app, invoice)
        return True, invoice_payments.payments_list(app, invoice)
    return False, None
