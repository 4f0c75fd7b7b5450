"""Subscriptions: creation (items and inline prices, the trial, discounts, tax and billing mode
settings, then the first invoice - paid at once, left for the customer to confirm with
``payment_behavior=default_incomplete``, or with ``error_if_incomplete`` refused before anything is
created) and cancellation.  Time moving a subscription on is ``renewals.py``; changing one is
``subscription_changes.py``.  Every function expects the state lock to be held."""

from . import (
    discounts,
    hooks,
    invoicing,
    meters,
    payment_methods,
    period_invoices,
    setup_intents,
    stored_objects,
    taxes,
)
from .errors import StripeError, card_declined, invalid, missing, not_found
from .events import emit
from .resources import merge_metadata, p_bool, p_dict, p_int, p_list, p_str
from .store import new_id

TRIAL_WILL_END_LEAD = 3 * 86400


# ---------------------------------------------------------------------------
# prices and items


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


def licensed_amount(app, sub):
    """What the subscription's licensed items cost per period (metered ones are billed in arrears)."""
    total = 0
    for it in sub["_items"]:
        price = app.state.get("prices", it["price"])
        if not meters.is_metered(price):
            total += (price.get("unit_amount") or 0) * it["quantity"]
    return total


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


# ---------------------------------------------------------------------------
# creating


def build_subscription(app, cus, params, now, pm_cache):
    items = _subscription_items(app, params, now)
    currencies = {app.state.get("prices", it["price"])["currency"] for it in items}
    if len(currencies) > 1:
        raise invalid("items", "All prices on a subscription must have the same currency.")
    trial_end = _trial_end(app, params, items, now)
    end_behavior = p_dict(p_dict(params, "trial_settings"), "end_behavior")
    default_payment_method = None
    if p_str(params, "default_payment_method"):
        pm = payment_methods.resolve_and_attach(
            app, params["default_payment_method"], cus, "default_payment_method", pm_cache
        )
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
        cus = stored_objects.live_customer(app, p_str(params, "customer", required=True))
    now = stored_objects.customer_now(app, cus) if now is None else now
    sub = build_subscription(app, cus, params, now, pm_cache)
    sub["schedule"] = schedule_id
    own, per_item = check_subscription_discounts(app, sub, params, now, legacy_discounts)
    behaviour = p_str(params, "payment_behavior", "allow_incomplete")
    trialing = sub["trial_end"] is not None
    pm = payment_methods.default_for_subscription(app, sub)
    if not trialing and behaviour == "error_if_incomplete" and first_amount(app, sub, own, per_item) > 0:
        refuse_unpayable(pm)
    sub["_pending_trial"] = trialing
    app.state.put("subscriptions", sub)
    redeem_subscription_discounts(app, sub, own, per_item, now)
    inv = period_invoices.invoice_for_period(app, sub, "subscription_create", now, now)
    if trialing:
        for it in sub["_items"]:
            it["current_period_end"] = sub["trial_end"]
    del sub["_pending_trial"]
    _apply_cancel_at_rule(sub)
    _settle_first_invoice(app, sub, inv, behaviour, pm, now)
    emit(app, "customer.subscription.created", stored_objects.render_subscription(app, sub))
    if trialing and sub["trial_end"] - now <= TRIAL_WILL_END_LEAD:
        sub["_tw_sent"] = True
        emit(app, "customer.subscription.trial_will_end", stored_objects.render_subscription(app, sub))
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
    if payment_methods.refuses_payment(pm):
        raise card_declined(pm.get("_decline_code") or "generic_decline")
    if pm["type"] == "card" and payment_methods.card_outcome(pm, off_session=True) == "requires_action":
        raise StripeError(
            402,
            "card_error",
            "Payment for this subscription requires additional user action before it can be completed successfully.",
            code="subscription_payment_intent_requires_action",
        )


def check_subscription_discounts(app, sub, params, at, legacy_discounts=None):
    """The subscription's and each item's discount references, checked: (own, {item id: item's})."""
    common = {
        "customer_id": sub["customer"],
        "currency": sub["currency"],
        "amount": licensed_amount(app, sub),
        "at": at,
    }
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


# ---------------------------------------------------------------------------
# cancelling


def cancel_subscription(app, sub, at, reason="cancellation_requested", **details):
    """End the subscription now. ``comment``/``feedback`` given replace the subscription's; absent, the
    ones set earlier (``cancellation_details`` with ``cancel_at_period_end``) stay, as at Stripe."""
    if sub["status"] in ("canceled", "incomplete_expired"):
        return sub
    sub["status"] = "canceled"
    sub["canceled_at"] = sub["canceled_at"] or at
    sub["ended_at"] = at
    kept = sub.get("cancellation_details") or {}
    sub["cancellation_details"] = {
        "comment": details.get("comment", kept.get("comment")),
        "feedback": details.get("feedback", kept.get("feedback")),
        "reason": reason,
    }
    app.state.dirty = True
    emit(app, "customer.subscription.deleted", stored_objects.render_subscription(app, sub))
    hooks.fire("subscription_canceled", app, sub, at)
    return sub
