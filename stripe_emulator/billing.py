"""Billing logic: payment methods, subscriptions, invoices, test clocks and
entitlements.  Every function here expects the state lock to be held."""

import copy
import hashlib
import time

from .errors import StripeError, card_declined, invalid, missing, not_found
from .events import diff_previous, emit
from .resources import (
    CARD_NUMBERS,
    CARDS,
    add_interval,
    build_payment_method,
    list_object,
    magic_card,
    merge_metadata,
    p_bool,
    p_dict,
    p_int,
    p_list,
    p_str,
    plan_from_price,
    public,
)
from .store import new_id

LIVE_STATUSES = ("trialing", "active", "past_due")
TRIAL_WILL_END_LEAD = 3 * 86400
INCOMPLETE_EXPIRY = 23 * 3600


# ---------------------------------------------------------------------------
# lookups and rendering


def get_or_404(app, collection, oid, kind, param="id"):
    obj = app.state.get(collection, oid) if isinstance(oid, str) else None
    if obj is None or (obj.get("deleted") and collection != "customers"):
        raise not_found(kind, oid, param)
    return obj


def live_customer(app, cid, param="customer"):
    cus = app.state.get("customers", cid) if isinstance(cid, str) else None
    if cus is None or cus.get("deleted"):
        raise not_found("customer", cid, param)
    return cus


def clock_now(app, clock_id):
    if clock_id:
        clock = app.state.get("test_clocks", clock_id)
        if clock:
            return clock["frozen_time"]
    return int(time.time())


def customer_now(app, cus):
    return clock_now(app, cus.get("test_clock") if cus else None)


def render_price(app, pid):
    price = app.state.get("prices", pid)
    return public(price) if price else None


def render_item(app, sub, item):
    price = app.state.get("prices", item["price"])
    return {
        "id": item["id"],
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": item["created"],
        "current_period_end": item["current_period_end"],
        "current_period_start": item["current_period_start"],
        "discounts": [],
        "metadata": dict(item.get("metadata") or {}),
        "plan": plan_from_price(price),
        "price": public(price),
        "quantity": item["quantity"],
        "subscription": sub["id"],
        "tax_rates": [],
    }


def render_subscription(app, sub):
    out = public(sub)
    out["items"] = list_object(
        [render_item(app, sub, it) for it in sub["_items"]], "/v1/subscription_items?subscription=%s" % sub["id"]
    )
    return out


def render_customer(app, cus):
    if cus.get("deleted"):
        return {"id": cus["id"], "object": "customer", "deleted": True}
    return public(cus)


def render_any(app, oid):
    """Render any stored object by id (used by ``expand``)."""
    col = app.state.collection_for(oid)
    if col is None:
        return None
    obj = app.state.get(col, oid)
    if col == "subscriptions":
        return render_subscription(app, obj)
    if col == "customers":
        return render_customer(app, obj)
    if col == "webhook_endpoints":
        out = public(obj)
        out.pop("secret", None)
        return out
    if col == "checkout_sessions":
        return public(obj)
    return public(obj)


# ---------------------------------------------------------------------------
# payment methods


def card_key_from_params(params):
    card = p_dict(params, "card")
    if card.get("token"):
        key = magic_card(card["token"])
        if not key:
            raise invalid("card[token]", "No such token: '%s'" % card["token"], code="resource_missing")
        return key
    number = (card.get("number") or "").replace(" ", "")
    if number:
        if number in CARD_NUMBERS:
            return CARD_NUMBERS[number]
        raise StripeError(
            402, "card_error", "Your card number is incorrect.", code="incorrect_number", param="card[number]"
        )
    raise missing("card")


def create_payment_method(app, card_key, params=None, prefix="pm_"):
    pm = build_payment_method(card_key, int(time.time()), params, prefix)
    app.state.put("payment_methods", pm)
    return pm


def attach_payment_method(app, pm, cus, param="payment_method"):
    if pm["_behaviour"] == "decline_attach":
        raise card_declined(pm["_decline_code"] or "generic_decline", param=param)
    if pm.get("customer") and pm["customer"] != cus["id"]:
        raise invalid(
            param,
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state",
        )
    if pm.get("customer") == cus["id"]:
        return pm
    pm["customer"] = cus["id"]
    app.state.dirty = True
    emit(app, "payment_method.attached", public(pm))
    return pm


def resolve_payment_method(app, ref, cus, param="payment_method", cache=None):
    """Turn ``ref`` (magic test id, token or pm id) into a stored payment
    method attached to ``cus``.  ``cache`` maps magic ids already resolved in
    this request to their concrete payment method."""
    if cache is not None and ref in cache:
        return cache[ref]
    key = magic_card(ref)
    if key:
        if CARDS[key][2] == "decline_attach":
            raise card_declined(CARDS[key][3], param=param)
        pm = create_payment_method(app, key)
    else:
        pm = app.state.get("payment_methods", ref) if isinstance(ref, str) else None
        if pm is None:
            raise not_found("PaymentMethod", ref, param)
    if cus is not None:
        attach_payment_method(app, pm, cus, param)
    if cache is not None:
        cache[ref] = pm
    return pm


def set_customer_default_pm(app, cus, pm_id):
    before = render_customer(app, cus)
    cus["invoice_settings"]["default_payment_method"] = pm_id
    app.state.dirty = True
    after = render_customer(app, cus)
    if before != after:
        emit(app, "customer.updated", after, diff_previous(before, after))


def default_pm_for_sub(app, sub):
    if sub.get("default_payment_method"):
        pm = app.state.get("payment_methods", sub["default_payment_method"])
        if pm:
            return pm
    cus = app.state.get("customers", sub["customer"])
    return default_pm_for_customer(app, cus)


def default_pm_for_customer(app, cus):
    if not cus or cus.get("deleted"):
        return None
    for pid in (cus["invoice_settings"].get("default_payment_method"), cus.get("default_source")):
        if pid:
            pm = app.state.get("payment_methods", pid)
            if pm and pm.get("customer") == cus["id"]:
                return pm
    return None


# ---------------------------------------------------------------------------
# invoices


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
    "confirmation_secret": None,
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


def new_invoice(app, cus, now, billing_reason, sub=None, description=None, params=None):
    params = params or {}
    inv = {"id": new_id("in_"), **copy.deepcopy(INVOICE_DEFAULTS)}
    inv.update(
        {
            "created": now,
            "period_end": now,
            "period_start": now,
            "auto_advance": p_bool(params, "auto_advance", sub is not None),
            "billing_reason": billing_reason,
            "collection_method": (sub or {}).get("collection_method")
            or p_str(params, "collection_method", "charge_automatically"),
            "currency": (sub or {}).get("currency") or p_str(params, "currency", "usd"),
            "customer": cus["id"],
            "customer_address": cus.get("address"),
            "customer_email": cus.get("email"),
            "customer_name": cus.get("name"),
            "customer_phone": cus.get("phone"),
            "customer_shipping": cus.get("shipping"),
            "customer_tax_exempt": cus.get("tax_exempt", "none"),
            "default_payment_method": p_str(params, "default_payment_method"),
            "description": description if description is not None else p_str(params, "description"),
            "metadata": merge_metadata({}, params),
            "test_clock": cus.get("test_clock"),
        }
    )
    inv["lines"]["url"] = "/v1/invoices/%s/lines" % inv["id"]
    if sub is not None:
        inv["parent"] = {
            "quote_details": None,
            "subscription_details": {"metadata": dict(sub.get("metadata") or {}), "subscription": sub["id"]},
            "type": "subscription_details",
        }
        inv["_sub"] = sub["id"]
    return inv


def add_line(
    inv,
    amount,
    currency,
    description,
    period,
    quantity=1,
    price=None,
    sub=None,
    item_id=None,
    invoice_item=None,
    proration=False,
):
    line = {
        "id": new_id("il_"),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": inv["id"],
        "livemode": False,
        "metadata": {},
        "parent": _line_parent(sub, item_id, invoice_item, proration),
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": ({"price": price["id"], "product": price["product"]} if price else None),
            "type": "price_details",
            "unit_amount_decimal": (price or {}).get("unit_amount_decimal"),
        },
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": sub["id"] if sub else None,
        "subtotal": amount,
        "taxes": [],
    }
    inv["lines"]["data"].append(line)
    recompute_totals(inv)
    return line


def _line_parent(sub, item_id, invoice_item, proration):
    """What a line bills: a subscription item, or an invoice item."""
    details = {"proration": proration, "proration_details": {"credited_items": None}}
    if item_id:
        details.update({"invoice_item": None, "subscription": sub["id"], "subscription_item": item_id})
        return {"invoice_item_details": None, "subscription_item_details": details, "type": "subscription_item_details"}
    if invoice_item:
        details.update({"invoice_item": invoice_item, "subscription": sub["id"] if sub else None})
        return {"invoice_item_details": details, "subscription_item_details": None, "type": "invoice_item_details"}
    return None


def recompute_totals(inv):
    total = sum(l["amount"] for l in inv["lines"]["data"])
    inv["subtotal"] = inv["subtotal_excluding_tax"] = total
    inv["total"] = inv["total_excluding_tax"] = total
    inv["amount_due"] = total
    inv["amount_remaining"] = max(0, total - inv["amount_paid"])


def pull_pending_items(app, inv, cus, sub=None):
    for ii in app.state.all("invoiceitems")[::-1]:
        if ii["customer"] == cus["id"] and ii.get("invoice") is None and not ii.get("deleted"):
            if sub is None and ii.get("_sub"):
                continue
            if sub is not None and ii.get("_sub") not in (None, sub["id"]):
                continue
            ii["invoice"] = inv["id"]
            price = (
                app.state.get("prices", (ii.get("pricing") or {}).get("price_details", {}).get("price") or "")
                if ii.get("pricing") and ii["pricing"].get("price_details")
                else None
            )
            add_line(
                inv,
                ii["amount"],
                ii["currency"],
                ii.get("description"),
                (ii["period"]["start"], ii["period"]["end"]),
                ii.get("quantity", 1),
                price=price,
                invoice_item=ii["id"],
                sub=sub,
            )
            inv["currency"] = ii["currency"]


def finalize_invoice(app, inv, now):
    if inv["status"] != "draft":
        raise StripeError(
            400,
            "invalid_request_error",
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            code="invoice_not_editable",
        )
    cus = app.state.get("customers", inv["customer"])
    inv["status"] = "open"
    seq = cus.get("next_invoice_sequence", 1) if cus else 1
    if cus:
        cus["next_invoice_sequence"] = seq + 1
    inv["number"] = "%s-%04d" % ((cus or {}).get("invoice_prefix", "EMU"), seq)
    inv["status_transitions"]["finalized_at"] = now
    inv["effective_at"] = now
    inv["hosted_invoice_url"] = "%s/p/invoice/%s" % (app.public_base(), inv["id"])
    inv["invoice_pdf"] = None
    inv["auto_advance"] = inv["collection_method"] == "charge_automatically" and inv["auto_advance"]
    inv["ending_balance"] = 0
    app.state.dirty = True
    emit(app, "invoice.finalized", public(inv))


def mark_paid(app, inv, now):
    inv["status"] = "paid"
    inv["amount_paid"] = inv["amount_due"]
    inv["amount_remaining"] = 0
    inv["attempted"] = inv["attempted"] or inv["amount_due"] > 0
    inv["status_transitions"]["paid_at"] = now
    inv["next_payment_attempt"] = None
    inv["auto_advance"] = False
    app.state.dirty = True
    snap = public(inv)
    emit(app, "invoice.paid", snap)
    emit(app, "invoice.payment_succeeded", snap)


def attempt_payment(app, inv, pm, now):
    """Charge ``pm`` for an open invoice.  Returns (ok, decline_code)."""
    if inv["amount_due"] <= 0:
        mark_paid(app, inv, now)
        return True, None
    inv["attempt_count"] += 1
    inv["attempted"] = True
    if pm is not None and pm["_behaviour"] == "ok":
        mark_paid(app, inv, now)
        return True, None
    decline = None
    if pm is not None:
        decline = pm.get("_decline_code") or "generic_decline"
    inv["next_payment_attempt"] = (now + 3 * 86400) if pm is not None and inv["attempt_count"] < 4 else None
    inv["last_finalization_error"] = None
    app.state.dirty = True
    emit(app, "invoice.payment_failed", public(inv))
    return False, decline


def pay_invoice(app, inv, params):
    """``POST /v1/invoices/{id}/pay``."""
    now = clock_now(app, inv.get("test_clock"))
    if inv["status"] == "paid":
        raise StripeError(400, "invalid_request_error", "Invoice is already paid.", code="invoice_already_paid")
    if inv["status"] == "void":
        raise StripeError(400, "invalid_request_error", "You cannot pay a void invoice.", code="invoice_not_editable")
    if inv["status"] == "draft":
        finalize_invoice(app, inv, now)
    cus = app.state.get("customers", inv["customer"])
    pm = None
    cache = {}
    if params.get("paid_out_of_band") in ("true", True):
        mark_paid(app, inv, now)
        after_invoice_paid(app, inv, now)
        return inv
    ref = p_str(params, "payment_method") or p_str(params, "source")
    if ref:
        pm = resolve_payment_method(
            app, ref, cus, "payment_method" if params.get("payment_method") else "source", cache
        )
    elif inv.get("default_payment_method"):
        pm = app.state.get("payment_methods", inv["default_payment_method"])
    elif inv.get("_sub"):
        pm = default_pm_for_sub(app, app.state.get("subscriptions", inv["_sub"]))
    else:
        pm = default_pm_for_customer(app, cus)
    if pm is None and inv["amount_due"] > 0:
        raise StripeError(
            400,
            "invalid_request_error",
            "This customer has no attached payment source or default payment method. "
            "Please consider adding a default payment method.",
            code="missing",
        )
    ok, decline = attempt_payment(app, inv, pm, now)
    if ok:
        after_invoice_paid(app, inv, now)
        return inv
    after_invoice_failed(app, inv, now)
    raise card_declined(decline or "generic_decline", extra={"payment_method": public(pm) if pm else None})


def after_invoice_paid(app, inv, now):
    sub = app.state.get("subscriptions", inv.get("_sub") or "")
    if sub and sub["status"] in ("past_due", "incomplete", "unpaid") and sub.get("latest_invoice") == inv["id"]:
        before = render_subscription(app, sub)
        sub["status"] = "active"
        changed(app, sub, before)


def after_invoice_failed(app, inv, now):
    sub = app.state.get("subscriptions", inv.get("_sub") or "")
    if sub and sub["status"] in ("active", "trialing") and sub.get("latest_invoice") == inv["id"]:
        before = render_subscription(app, sub)
        sub["status"] = "past_due"
        changed(app, sub, before)


def changed(app, sub, before, event_type="customer.subscription.updated"):
    app.state.dirty = True
    after = render_subscription(app, sub)
    prev = diff_previous(before, after)
    if prev:
        emit(app, event_type, after, prev)
    return after


# ---------------------------------------------------------------------------
# subscriptions


def resolve_price(app, ref, param):
    price = app.state.get("prices", ref) if isinstance(ref, str) else None
    if price is None:
        raise not_found("price", ref, param)
    if price.get("recurring") is None:
        raise invalid(
            param,
            "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
        )
    return price


def inline_price(app, data, param, now):
    """items[0][price_data] -> a new (inactive-in-listing) price."""
    from .resources import build_price

    prod = data.get("product")
    if not prod or not app.state.get("products", prod):
        raise missing(param + "[product]")
    price = build_price(data, now, prod)
    app.state.put("prices", price)
    return price


def first_period(item_start, price):
    rec = price["recurring"]
    return item_start, add_interval(item_start, rec["interval"], rec["interval_count"])


def sub_amount(app, sub):
    total = 0
    for it in sub["_items"]:
        price = app.state.get("prices", it["price"])
        total += (price.get("unit_amount") or 0) * it["quantity"]
    return total


def invoice_for_period(app, sub, reason, start, now):
    """Create and finalize the invoice for the period beginning at ``start``
    (items are moved to that period first)."""
    cus = app.state.get("customers", sub["customer"])
    for it in sub["_items"]:
        price = app.state.get("prices", it["price"])
        s, e = first_period(start, price)
        it["current_period_start"], it["current_period_end"] = s, e
    inv = new_invoice(app, cus, now, reason, sub=sub)
    inv["period_start"] = inv["period_end"] = now
    for it in sub["_items"]:
        price = app.state.get("prices", it["price"])
        product = app.state.get("products", price["product"]) or {}
        amount = (price.get("unit_amount") or 0) * it["quantity"]
        if reason == "subscription_create" and sub.get("_pending_trial"):
            amount = 0
            desc = "Trial period for %s" % product.get("name", "")
        else:
            desc = "%d × %s (at $%.2f / %s)" % (
                it["quantity"],
                product.get("name", price["id"]),
                (price.get("unit_amount") or 0) / 100,
                price["recurring"]["interval"],
            )
        add_line(
            inv,
            amount,
            price["currency"],
            desc,
            (it["current_period_start"], it["current_period_end"]),
            it["quantity"],
            price=price,
            sub=sub,
            item_id=it["id"],
        )
    pull_pending_items(app, inv, cus, sub)
    app.state.put("invoices", inv)
    sub["latest_invoice"] = inv["id"]
    emit(app, "invoice.created", public(inv))
    finalize_invoice(app, inv, now)
    return inv


def _subscription_items(app, params, now):
    items = []
    for index, item in enumerate(p_list(params, "items")):
        if item.get("price_data"):
            price = inline_price(app, item["price_data"], "items[%d][price_data]" % index, now)
        elif item.get("price") or item.get("plan"):
            param = "items[%d][%s]" % (index, "price" if item.get("price") else "plan")
            price = resolve_price(app, item.get("price") or item.get("plan"), param)
        else:
            raise missing("items[%d][price]" % index)
        items.append(
            {
                "id": new_id("si_", 0),
                "price": price["id"],
                "quantity": int(item.get("quantity") or 1),
                "created": now,
                "metadata": merge_metadata({}, item),
                "current_period_start": now,
                "current_period_end": now,
            }
        )
    if not items:
        raise missing("items")
    return items


def _trial_end(app, params, items, now):
    """When the trial ends (None: no trial): ``trial_end``, ``trial_period_days`` or the plan's trial."""
    requested = params.get("trial_end")
    if requested not in (None, ""):
        if requested == "now":
            return None
        trial_end = p_int(params, "trial_end")
        if trial_end <= now:
            raise invalid(
                "trial_end",
                "Invalid timestamp: must be an integer Unix timestamp in the future.",
                code="parameter_invalid_integer",
            )
        return trial_end
    if params.get("trial_period_days") not in (None, ""):
        days = p_int(params, "trial_period_days")
        return now + days * 86400 if days > 0 else None
    if p_bool(params, "trial_from_plan", False):
        days = app.state.get("prices", items[0]["price"])["recurring"].get("trial_period_days")
        return now + days * 86400 if days else None
    return None


def build_subscription(app, cus, params, now, pm_cache):
    items = _subscription_items(app, params, now)
    currencies = {app.state.get("prices", it["price"])["currency"] for it in items}
    if len(currencies) > 1:
        raise invalid("items", "All prices on a subscription must have the same currency.")
    trial_end = _trial_end(app, params, items, now)
    end_behavior = p_dict(p_dict(params, "trial_settings"), "end_behavior")
    default_payment_method = None
    if p_str(params, "default_payment_method"):
        pm = resolve_payment_method(app, params["default_payment_method"], cus, "default_payment_method", pm_cache)
        default_payment_method = pm["id"]
    cancel_at = params.get("cancel_at")
    sub = {"id": new_id("sub_"), **_subscription_defaults(now)}
    sub.update(
        {
            "billing_cycle_anchor": trial_end or now,
            "cancel_at": cancel_at if isinstance(cancel_at, int) else None,
            "cancel_at_period_end": bool(p_bool(params, "cancel_at_period_end", False)),
            "collection_method": p_str(params, "collection_method", "charge_automatically"),
            "currency": currencies.pop(),
            "customer": cus["id"],
            "days_until_due": p_int(params, "days_until_due"),
            "default_payment_method": default_payment_method,
            "description": p_str(params, "description"),
            "metadata": merge_metadata({}, params),
            "test_clock": cus.get("test_clock"),
            "trial_end": trial_end,
            "trial_settings": {
                "end_behavior": {
                    "missing_payment_method": end_behavior.get("missing_payment_method") or "create_invoice"
                }
            },
            "trial_start": now if trial_end else None,
            "_cancel_at_rule": cancel_at if isinstance(cancel_at, str) and cancel_at else None,
            "_items": items,
        }
    )
    return sub


def _subscription_defaults(now):
    """The fields of a new subscription the emulator does not derive from the request."""
    return {
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": {"proration_discounts": "included"}, "type": "flexible", "updated_at": now},
        "billing_thresholds": None,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "created": now,
        "customer_account": None,
        "default_source": None,
        "default_tax_rates": [],
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "latest_invoice": None,
        "livemode": False,
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "incomplete",
        "transfer_data": None,
        "_tw_sent": False,
    }


def create_subscription(app, params, pm_cache=None, cus=None):
    pm_cache = {} if pm_cache is None else pm_cache
    if cus is None:
        cid = p_str(params, "customer", required=True)
        cus = live_customer(app, cid)
    now = customer_now(app, cus)
    sub = build_subscription(app, cus, params, now, pm_cache)
    behaviour = p_str(params, "payment_behavior", "allow_incomplete")
    trialing = sub["trial_end"] is not None
    amount = sub_amount(app, sub)
    pm = None
    if not trialing and amount > 0:
        pm = default_pm_for_sub(app, sub)
        if behaviour == "error_if_incomplete":
            if pm is None:
                raise StripeError(
                    400,
                    "invalid_request_error",
                    "This customer has no attached payment source or default payment method.",
                    code="resource_missing",
                )
            if pm["_behaviour"] != "ok":
                raise card_declined(pm.get("_decline_code") or "generic_decline")
    sub["_pending_trial"] = trialing
    app.state.put("subscriptions", sub)
    inv = invoice_for_period(app, sub, "subscription_create", now, now)
    if trialing:
        for it in sub["_items"]:
            it["current_period_end"] = sub["trial_end"]
    del sub["_pending_trial"]
    _apply_cancel_at_rule(sub)
    if trialing:
        mark_paid(app, inv, now)
        sub["status"] = "trialing"
    elif inv["amount_due"] == 0:
        mark_paid(app, inv, now)
        sub["status"] = "active"
    elif behaviour == "default_incomplete":
        sub["status"] = "incomplete"
    else:
        ok, _ = attempt_payment(app, inv, pm, now)
        sub["status"] = "active" if ok else "incomplete"
    emit(app, "customer.subscription.created", render_subscription(app, sub))
    if trialing and sub["trial_end"] - now <= TRIAL_WILL_END_LEAD:
        sub["_tw_sent"] = True
        emit(app, "customer.subscription.trial_will_end", render_subscription(app, sub))
    app.state.dirty = True
    return sub


def _apply_cancel_at_rule(sub):
    """``cancel_at=min_period_end|max_period_end|max_billed_until`` once the first period is known."""
    rule = sub.pop("_cancel_at_rule", None)
    if rule:
        ends = [item["current_period_end"] for item in sub["_items"]]
        sub["cancel_at"] = min(ends) if rule == "min_period_end" else max(ends)


def cancel_subscription(app, sub, at, reason="cancellation_requested", comment=None, feedback=None):
    if sub["status"] in ("canceled", "incomplete_expired"):
        return sub
    sub["status"] = "canceled"
    sub["canceled_at"] = sub["canceled_at"] or at
    sub["ended_at"] = at
    sub["cancellation_details"] = {"comment": comment, "feedback": feedback, "reason": reason}
    app.state.dirty = True
    emit(app, "customer.subscription.deleted", render_subscription(app, sub))
    return sub


def period_end(sub):
    return min(it["current_period_end"] for it in sub["_items"])


def next_transition(sub):
    st = sub["status"]
    if st in ("canceled", "incomplete_expired", "paused"):
        return None
    cands = []
    if st == "incomplete":
        return (sub["created"] + INCOMPLETE_EXPIRY, 0, "expire")
    if sub.get("cancel_at"):
        cands.append((sub["cancel_at"], 0, "cancel_at"))
    if st == "trialing":
        if not sub["_tw_sent"]:
            cands.append((sub["trial_end"] - TRIAL_WILL_END_LEAD, 1, "trial_will_end"))
        cands.append((sub["trial_end"], 2, "trial_end"))
    elif st in ("active", "past_due", "unpaid"):
        cands.append((period_end(sub), 2, "renew"))
    return min(cands) if cands else None


def _charge_new_period(app, sub, start, reason, at):
    """Invoice the period starting at ``start`` and try to pay it."""
    if sub.get("pause_collection"):
        inv = invoice_for_period(app, sub, reason, start, at)
        behaviour = sub["pause_collection"].get("behavior")
        if behaviour == "void":
            inv["status"] = "void"
            inv["status_transitions"]["voided_at"] = at
            emit(app, "invoice.voided", public(inv))
        elif behaviour == "mark_uncollectible":
            inv["status"] = "uncollectible"
            inv["status_transitions"]["marked_uncollectible_at"] = at
            emit(app, "invoice.marked_uncollectible", public(inv))
        return True
    inv = invoice_for_period(app, sub, reason, start, at)
    if inv["amount_due"] == 0:
        mark_paid(app, inv, at)
        return True
    pm = default_pm_for_sub(app, sub)
    ok, _ = attempt_payment(app, inv, pm, at)
    return ok


def apply_transition(app, sub, at, kind):
    before = render_subscription(app, sub)
    if kind == "expire":
        sub["status"] = "incomplete_expired"
        sub["ended_at"] = at
        inv = app.state.get("invoices", sub.get("latest_invoice") or "")
        if inv and inv["status"] == "open":
            inv["status"] = "void"
            inv["status_transitions"]["voided_at"] = at
            emit(app, "invoice.voided", public(inv))
        changed(app, sub, before)
        return
    if kind == "cancel_at":
        cancel_subscription(app, sub, at)
        return
    if kind == "trial_will_end":
        sub["_tw_sent"] = True
        app.state.dirty = True
        emit(app, "customer.subscription.trial_will_end", before)
        return
    if kind == "trial_end":
        if sub["cancel_at_period_end"]:
            cancel_subscription(app, sub, at)
            return
        pm = default_pm_for_sub(app, sub)
        if pm is None:
            mpm = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
            if mpm == "cancel":
                cancel_subscription(app, sub, at)
                return
            if mpm == "pause":
                sub["status"] = "paused"
                changed(app, sub, before)
                emit(app, "customer.subscription.paused", render_subscription(app, sub))
                return
        ok = _charge_new_period(app, sub, sub["trial_end"], "subscription_cycle", at)
        sub["status"] = "active" if ok else "past_due"
        changed(app, sub, before)
        return
    if kind == "renew":
        end = period_end(sub)
        if sub["cancel_at_period_end"]:
            cancel_subscription(app, sub, end)
            return
        ok = _charge_new_period(app, sub, end, "subscription_cycle", at)
        if not ok:
            sub["status"] = "past_due"
        changed(app, sub, before)
        return


def advance(app, subs, target):
    """Move ``subs`` forward to time ``target``, processing every transition
    across all of them in chronological order."""
    for _ in range(100000):
        best = None
        for sub in subs:
            t = next_transition(sub)
            if t and t[0] <= target and (best is None or t[:2] < best[0][:2]):
                best = (t, sub)
        if best is None:
            return
        (at, _prio, kind), sub = best
        apply_transition(app, sub, at, kind)


def end_trial_now(app, sub, now):
    """``trial_end=now`` on update."""
    if sub["status"] != "trialing":
        sub["trial_end"] = now
        return
    sub["trial_end"] = now
    if not sub["_tw_sent"]:
        sub["_tw_sent"] = True
        emit(app, "customer.subscription.trial_will_end", render_subscription(app, sub))
    pm = default_pm_for_sub(app, sub)
    if pm is None:
        mpm = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
        if mpm == "cancel":
            cancel_subscription(app, sub, now)
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
    now = clock_now(app, sub.get("test_clock"))
    before = render_subscription(app, sub)
    ok = _charge_new_period(app, sub, now, "subscription_update", now)
    sub["billing_cycle_anchor"] = now
    sub["status"] = "active" if ok else "past_due"
    after = changed(app, sub, before)
    emit(app, "customer.subscription.resumed", after)
    return sub


# ---------------------------------------------------------------------------
# entitlements


def active_features(app, cid):
    feats = []
    seen = set()
    for sub in app.state.all("subscriptions")[::-1]:
        if sub["customer"] != cid or sub["status"] not in LIVE_STATUSES:
            continue
        for it in sub["_items"]:
            price = app.state.get("prices", it["price"])
            for pf in app.state.all("product_features")[::-1]:
                if pf["_product"] == price["product"] and pf["entitlement_feature"]["id"] not in seen:
                    feat = app.state.get("features", pf["entitlement_feature"]["id"])
                    if feat and feat.get("active"):
                        seen.add(feat["id"])
                        feats.append(feat)
    return feats


def active_entitlement(cid, feat, expand_feature=False):
    ent_id = "ent_test_" + hashlib.sha1(("%s:%s" % (cid, feat["id"])).encode()).hexdigest()[:28]
    return {
        "id": ent_id,
        "object": "entitlements.active_entitlement",
        "feature": public(feat) if expand_feature else feat["id"],
        "livemode": False,
        "lookup_key": feat["lookup_key"],
    }


def sync_entitlements(app):
    """Emit ``entitlements.active_entitlement_summary.updated`` for every
    customer whose set of active features changed."""
    st = app.state
    cids = {s["customer"] for s in st.all("subscriptions")} | set(st.ent_summary)
    for cid in sorted(cids):
        feats = active_features(app, cid)
        key = sorted(f["id"] + "|" + (f.get("lookup_key") or "") for f in feats)
        if st.ent_summary.get(cid, []) == key:
            continue
        st.ent_summary[cid] = key
        st.dirty = True
        cus = st.get("customers", cid)
        if cus is None or cus.get("deleted"):
            continue
        ents = [active_entitlement(cid, f, expand_feature=True) for f in feats]
        summary = {
            "object": "entitlements.active_entitlement_summary",
            "customer": cid,
            "entitlements": list_object(ents[:10], "/v1/customer/%s/entitlements" % cid, has_more=len(ents) > 10),
            "livemode": False,
        }
        emit(app, "entitlements.active_entitlement_summary.updated", summary)
