"""Billing logic: payment methods, the subscription lifecycle (creation,
period invoices, trials, renewals, test clocks) and entitlements.  Invoices
live in ``invoicing.py``, subscription changes in ``subscription_changes.py``.
Every function here expects the state lock to be held."""

import hashlib
import time

from . import (
    charges,
    discounts,
    invoice_payments,
    invoicing,
    meters,
    payments,
    schedules,
    setup_intents,
    subscription_changes,
    taxes,
)
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
    render_card,
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


def render_item(app, sub, item):
    price = app.state.get("prices", item["price"])
    return {
        "id": item["id"],
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": item["created"],
        "current_period_end": item["current_period_end"],
        "current_period_start": item["current_period_start"],
        "discounts": list(item.get("discounts") or []),
        "metadata": dict(item.get("metadata") or {}),
        "plan": plan_from_price(price),
        "price": public(price),
        "quantity": item["quantity"],
        "subscription": sub["id"],
        "tax_rates": taxes.current(app, item.get("tax_rates")),
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
    """What the subscription's licensed items cost per period (metered ones are billed in arrears)."""
    total = 0
    for it in sub["_items"]:
        price = app.state.get("prices", it["price"])
        if not meters.is_metered(price):
            total += (price.get("unit_amount") or 0) * it["quantity"]
    return total


def item_description(app, item, price, quantity=None):
    product = app.state.get("products", price["product"]) or {}
    return "%d × %s (at $%.2f / %s)" % (
        item["quantity"] if quantity is None else quantity,
        product.get("name", price["id"]),
        (price.get("unit_amount") or 0) / 100,
        price["recurring"]["interval"],
    )


def add_item_line(app, sub, invoice, item, at, trial=False, usage_period=None):
    """The line billing ``item`` for its current period (0 in a trial).  A metered item is billed in
    arrears: its usage over ``usage_period`` (the period just ended), else quantity 0."""
    price = app.state.get("prices", item["price"])
    quantity, period = item["quantity"], (item["current_period_start"], item["current_period_end"])
    if meters.is_metered(price):
        period = usage_period or period
        quantity = meters.usage_quantity(app, price, sub["customer"], *period) if usage_period and not trial else 0
    description = item_description(app, item, price, quantity)
    if trial:
        product = app.state.get("products", price["product"]) or {}
        description = "Trial period for %s" % product.get("name", "")
    return invoicing.add_line(
        invoice,
        amount=0 if trial else (price.get("unit_amount") or 0) * quantity,
        currency=price["currency"],
        description=description,
        period=period,
        quantity=quantity,
        price=price,
        subscription=sub["id"],
        subscription_item=item["id"],
        discounts=discounts.in_effect(app, item.get("discounts") or [], at),
        tax_rates=[rate["id"] for rate in item.get("tax_rates") or ()],
    )


def subscription_discount_ids(app, sub, at, prune=True):
    """The subscription's discounts in effect at ``at`` (ended ones are removed when ``prune``),
    else the customer's discount: Stripe's inheritance."""
    choose = discounts.prune if prune else discounts.in_effect
    own = choose(app, sub["discounts"], at)
    for item in sub["_items"]:
        if prune:
            item["discounts"] = discounts.prune(app, item.get("discounts") or [], at)
    if prune:
        sub["discounts"] = own
    if own:
        return own
    customer = app.state.get("customers", sub["customer"]) or {}
    inherited = (customer.get("discount") or {}).get("id")
    return discounts.in_effect(app, [inherited], at) if inherited else []


def invoice_for_period(app, sub, reason, start, now):
    """Create and finalize the invoice for the period beginning at ``start``
    (items are moved to that period first)."""
    cus = app.state.get("customers", sub["customer"])
    closed = {} if reason == "subscription_create" else closed_periods(sub)
    for it in sub["_items"]:
        price = app.state.get("prices", it["price"])
        it["current_period_start"], it["current_period_end"] = first_period(start, price)
    inv = invoicing.new_invoice(app, cus, now, reason, subscription=sub)
    inv["discounts"] = subscription_discount_ids(app, sub, now)
    trial = reason == "subscription_create" and sub.get("_pending_trial")
    for it in sub["_items"]:
        add_item_line(app, sub, inv, it, now, trial=trial, usage_period=closed.get(it["id"]))
    invoicing.pull_pending_items(app, inv, cus, sub)
    invoicing.recompute_totals(app, inv)
    app.state.put("invoices", inv)
    sub["latest_invoice"] = inv["id"]
    emit(app, "invoice.created", public(inv))
    invoicing.finalize_invoice(app, inv, now)
    record_billed(sub, inv)
    return inv


def closed_periods(sub):
    """{item id: the period ending now} for the items whose usage is billed now (none after a trial)."""
    if sub["status"] == "trialing":
        return {}
    return {it["id"]: (it["current_period_start"], it["current_period_end"]) for it in sub["_items"]}


def record_billed(sub, invoice):
    """Remember what each item's period line debited (flexible billing mode credits that back)."""
    items = {item["id"]: item for item in sub["_items"]}
    for line in invoice["lines"]["data"]:
        details = (line.get("parent") or {}).get("subscription_item_details") or {}
        item = items.get(details.get("subscription_item"))
        if item is None or details.get("proration"):
            continue
        item["_billed"] = {
            "amount": line["amount"] - sum(entry["amount"] for entry in line["discount_amounts"]),
            "start": line["period"]["start"],
            "end": line["period"]["end"],
            "credited_items": {"invoice": invoice["id"], "invoice_line_items": [line["id"]]},
        }


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
                "discounts": [],
                "tax_rates": taxes.checked_rates(app, item.get("tax_rates"), "items[%d][tax_rates]" % index),
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
    sub["billing_mode"] = _billing_mode(p_dict(params, "billing_mode"), now)
    _tax_settings(app, sub, params)
    save_default = p_dict(params, "payment_settings").get("save_default_payment_method")
    if save_default:
        sub["payment_settings"]["save_default_payment_method"] = save_default
    return sub


def _tax_settings(app, sub, params):
    automatic = bool(taxes.automatic_tax_requested(params))
    sub["automatic_tax"] = taxes.subscription_automatic_tax(automatic)
    sub["default_tax_rates"] = taxes.checked_rates(app, params.get("default_tax_rates"), "default_tax_rates")
    per_item = [rate for item in sub["_items"] for rate in item["tax_rates"]]
    taxes.refuse_rates_with_automatic_tax(automatic, default_tax_rates=sub["default_tax_rates"], items=per_item)


def _billing_mode(requested, now):
    """``flexible`` unless ``billing_mode[type]=classic``: the pinned version's default for new subscriptions."""
    if requested.get("type") == "classic":
        return {"flexible": None, "type": "classic", "updated_at": now}
    proration_discounts = p_dict(requested, "flexible").get("proration_discounts") or "included"
    return {"flexible": {"proration_discounts": proration_discounts}, "type": "flexible", "updated_at": now}


def _subscription_defaults(now):
    """The fields of a new subscription the emulator does not derive from the request."""
    return {
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor_config": None,
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


def create_subscription(app, params, pm_cache=None, cus=None, legacy_discounts=None, now=None, schedule_id=None):
    """``legacy_discounts``: an older version's ``coupon``/``promotion_code`` as discount references;
    ``now``: the time it starts (a schedule starting while a test clock advances); ``schedule_id``: the
    subscription schedule that creates it."""
    pm_cache = {} if pm_cache is None else pm_cache
    if cus is None:
        cus = live_customer(app, p_str(params, "customer", required=True))
    now = customer_now(app, cus) if now is None else now
    sub = build_subscription(app, cus, params, now, pm_cache)
    sub["schedule"] = schedule_id
    own, per_item = check_subscription_discounts(app, sub, params, now, legacy_discounts)
    behaviour = p_str(params, "payment_behavior", "allow_incomplete")
    trialing = sub["trial_end"] is not None
    pm = default_pm_for_sub(app, sub)
    if not trialing and behaviour == "error_if_incomplete" and first_amount(app, sub, own, per_item) > 0:
        refuse_unpayable(pm)
    sub["_pending_trial"] = trialing
    app.state.put("subscriptions", sub)
    redeem_subscription_discounts(app, sub, own, per_item, now)
    inv = invoice_for_period(app, sub, "subscription_create", now, now)
    if trialing:
        for it in sub["_items"]:
            it["current_period_end"] = sub["trial_end"]
    del sub["_pending_trial"]
    _apply_cancel_at_rule(sub)
    _settle_first_invoice(app, sub, inv, behaviour, pm, now)
    emit(app, "customer.subscription.created", render_subscription(app, sub))
    if trialing and sub["trial_end"] - now <= TRIAL_WILL_END_LEAD:
        sub["_tw_sent"] = True
        emit(app, "customer.subscription.trial_will_end", render_subscription(app, sub))
    app.state.dirty = True
    return sub


def _settle_first_invoice(app, sub, invoice, behaviour, pm, now):
    """Nothing to pay (a trial, a zero total), or pay now; ``default_incomplete`` leaves the invoice's
    PaymentIntent for the customer to confirm - and, with nothing to pay and no card, a SetupIntent
    (``pending_setup_intent``) to collect one."""
    trialing = sub["trial_end"] is not None
    if trialing or invoice["amount_due"] == 0:
        invoicing.mark_paid(app, invoice, now)
        sub["status"] = "trialing" if trialing else "active"
        if behaviour == "default_incomplete" and pm is None:
            intent = setup_intents.create_setup_intent(
                app, {"customer": sub["customer"]}, now, subscription_id=sub["id"]
            )
            sub["pending_setup_intent"] = intent["id"]
    elif behaviour == "default_incomplete":
        sub["status"] = "incomplete"
    else:
        ok, _ = invoicing.attempt_payment(app, invoice, pm, now)
        sub["status"] = "active" if ok else "incomplete"


def refuse_unpayable(pm):
    """``payment_behavior=error_if_incomplete``: nothing is created when the first invoice cannot be paid."""
    if pm is None:
        raise StripeError(
            400,
            "invalid_request_error",
            "This customer has no attached payment source or default payment method.",
            code="resource_missing",
        )
    if payments.refuses_payment(pm):
        raise card_declined(pm.get("_decline_code") or "generic_decline")
    if pm["type"] == "card" and payments.card_outcome(pm, off_session=True) == "requires_action":
        raise StripeError(
            402,
            "card_error",
            "Payment for this subscription requires additional user action before it can be completed successfully.",
            code="subscription_payment_intent_requires_action",
        )


def check_subscription_discounts(app, sub, params, at, legacy_discounts=None):
    """The subscription's and each item's discount references, checked: (own, {item id: item's})."""
    common = {"customer_id": sub["customer"], "currency": sub["currency"], "amount": sub_amount(app, sub), "at": at}
    if legacy_discounts:
        own = discounts.check_references(app, legacy_discounts, param=None, **common)
    else:
        own = discounts.check_references(app, params.get("discounts") or [], param="discounts", **common)
    per_item = {}
    for index, (item, request) in enumerate(zip(sub["_items"], p_list(params, "items"), strict=False)):
        references = request.get("discounts") or []
        per_item[item["id"]] = discounts.check_references(
            app, references, param="items[%d][discounts]" % index, **common
        )
    return own, per_item


def first_amount(app, sub, own, per_item):
    """What the first invoice would ask for, discounts included (checked before anything is created)."""
    lines = []
    for item in sub["_items"]:
        price = app.state.get("prices", item["price"])
        amount = 0 if meters.is_metered(price) else (price.get("unit_amount") or 0) * item["quantity"]
        lines.append(
            {"amount": amount, "discountable": True, "pricing": {"price_details": {"product": price["product"]}}}
        )
    line_redemptions = [per_item.get(item["id"], []) for item in sub["_items"]]
    taken = discounts.estimate(lines, line_redemptions, own, sub["currency"])
    return sum(line["amount"] for line in lines) - taken


def redeem_subscription_discounts(app, sub, own, per_item, at):
    """Replace the subscription's discounts with ``own`` (None: keep them) and each item's
    with ``per_item[item id]``."""
    if own is not None:
        attached = {"subscription": sub["id"]}
        sub["discounts"] = discounts.replace_discounts(
            app, sub["discounts"], own, customer_id=sub["customer"], at=at, attached_to=attached
        )
    for item in sub["_items"]:
        if item["id"] not in per_item:
            continue
        attached_to_item = {"subscription": sub["id"], "subscription_item": item["id"]}
        item["discounts"] = discounts.replace_discounts(
            app,
            item["discounts"],
            per_item[item["id"]],
            customer_id=sub["customer"],
            at=at,
            attached_to=attached_to_item,
        )


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
    schedules.subscription_canceled(app, sub, at)
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
    if sub.get("_pending"):
        cands.append((sub["pending_update"]["expires_at"], 0, "pending_update_expire"))
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
            invoicing.void_invoice(app, inv, at)
        elif behaviour == "mark_uncollectible":
            inv["status"] = "uncollectible"
            inv["status_transitions"]["marked_uncollectible_at"] = at
            emit(app, "invoice.marked_uncollectible", public(inv))
        return True
    inv = invoice_for_period(app, sub, reason, start, at)
    if inv["amount_due"] == 0:
        invoicing.mark_paid(app, inv, at)
        return True
    pm = default_pm_for_sub(app, sub)
    ok, _ = invoicing.attempt_payment(app, inv, pm, at)
    return ok


def apply_transition(app, sub, at, kind):
    TRANSITIONS[kind](app, sub, at, render_subscription(app, sub))


def _expire_incomplete(app, sub, at, before):
    sub["status"] = "incomplete_expired"
    sub["ended_at"] = at
    inv = app.state.get("invoices", sub.get("latest_invoice") or "")
    if inv and inv["status"] == "open":
        invoicing.void_invoice(app, inv, at)
    changed(app, sub, before)


def _cancel_at(app, sub, at, before):
    cancel_subscription(app, sub, at)


def _trial_will_end(app, sub, at, before):
    sub["_tw_sent"] = True
    app.state.dirty = True
    emit(app, "customer.subscription.trial_will_end", before)


def _end_trial(app, sub, at, before):
    if sub["cancel_at_period_end"]:
        cancel_subscription(app, sub, at)
        return
    if default_pm_for_sub(app, sub) is None:
        missing_payment_method = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
        if missing_payment_method == "cancel":
            cancel_subscription(app, sub, at)
            return
        if missing_payment_method == "pause":
            sub["status"] = "paused"
            changed(app, sub, before)
            emit(app, "customer.subscription.paused", render_subscription(app, sub))
            return
    ok = _charge_new_period(app, sub, sub["trial_end"], "subscription_cycle", at)
    sub["status"] = "active" if ok else "past_due"
    changed(app, sub, before)


def _renew(app, sub, at, before):
    end = period_end(sub)
    if sub["cancel_at_period_end"]:
        cancel_subscription(app, sub, end)
        return
    ok = _charge_new_period(app, sub, end, "subscription_cycle", at)
    if not ok:
        sub["status"] = "past_due"
    changed(app, sub, before)


def _expire_pending_update(app, sub, at, before):
    subscription_changes.expire_pending_update(app, sub, at)


TRANSITIONS = {
    "expire": _expire_incomplete,
    "cancel_at": _cancel_at,
    "trial_will_end": _trial_will_end,
    "trial_end": _end_trial,
    "renew": _renew,
    "pending_update_expire": _expire_pending_update,
}


def advance(app, subs, target, subscription_schedules=()):
    """Move ``subs`` and ``subscription_schedules`` forward to time ``target``, processing every transition
    across all of them in chronological order (a subscription a schedule starts joins in)."""
    subs = list(subs)
    for _ in range(100000):
        best = None
        for owner in subs + list(subscription_schedules):
            is_schedule = owner["object"] == "subscription_schedule"
            t = schedules.next_transition(owner) if is_schedule else next_transition(owner)
            if t and t[0] <= target and (best is None or t[:2] < best[0][:2]):
                best = (t, owner, is_schedule)
        if best is None:
            return
        (at, _prio, kind), owner, is_schedule = best
        if is_schedule:
            started = schedules.apply_transition(app, owner, at, kind)
            if started is not None:
                subs.append(started)
        else:
            apply_transition(app, owner, at, kind)


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
