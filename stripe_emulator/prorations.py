"""Prorations: what changing a subscription item's price or quantity (or
adding or removing an item) part-way through its period credits and debits.

Amounts are time-based to the second, as Stripe's: the remaining share of the
period is ``(period end - proration time) / (period end - period start)``,
where the proration time is ``proration_date`` or now.  The debit for the new
state is that share of ``unit_amount × quantity``.  The credit for the old state
depends on the subscription's billing mode
(https://docs.stripe.com/billing/subscriptions/billing-mode/compare):

* ``flexible`` (the pinned version's default for new subscriptions): the
  remaining share of what was actually debited for the item - the period's
  invoice line net of its discounts, or the last proration debit;
* ``classic``: the remaining share of the item's current price × old quantity,
  less the discounts in effect now ("the last discounts used").

With ``proration_discounts=included`` (the default) proration amounts already
include the subscription's ``percent_off`` discounts and carry
``discountable: false`` (``amount_off`` coupons are not prorated - an
approximation).  Every amount is rounded once, half away from zero (``money.py``).
Trialing subscriptions are not prorated (nothing was charged for the trial), nor
are metered items (their usage is billed in arrears).  Prorations carry their
item's ``tax_rates``."""

import datetime

from . import discounts, meters, money
from .errors import invalid
from .store import new_id

PRORATED_STATUSES = ("active", "past_due", "unpaid")


def proration_time(sub, requested, at):
    """``proration_date`` (checked to lie in the current period) or ``at``."""
    if requested is None:
        return at
    start = max(item["current_period_start"] for item in sub["_items"])
    end = min(item["current_period_end"] for item in sub["_items"])
    if not start <= requested <= end:
        raise invalid(
            "proration_date",
            "proration_date must be within the subscription's current billing period (%d to %d)." % (start, end),
            code="parameter_invalid_integer",
        )
    return requested


def prorates(sub):
    return sub["status"] in PRORATED_STATUSES


def _metered(app, item):
    """Metered items are billed in arrears for their usage: changing them prorates nothing."""
    return item is not None and meters.is_metered(app.state.get("prices", item["price"]))


def for_change(app, sub, before, after, when, discount_ids):
    """Credit for ``before`` (an item as it was, None when added) and debit for ``after`` (None
    when removed) from ``when`` to the period end.  Records the debit on ``after`` (its ``_billed``)."""
    prorations = []
    before, after = (None if _metered(app, before) else before), (None if _metered(app, after) else after)
    if before is not None:
        prorations.append(_credit(app, sub, before, when, discount_ids))
    if after is not None:
        debit = _debit(app, after, when, discount_ids)
        prorations.append(debit)
        after["_billed"] = {
            "amount": debit["amount"],
            "start": when,
            "end": after["current_period_end"],
            "credited_items": None,
        }
    return [proration for proration in prorations if proration["amount"] != 0]


def _credit(app, sub, item, when, discount_ids):
    price = app.state.get("prices", item["price"])
    end = item["current_period_end"]
    billed = item.get("_billed")
    if sub["billing_mode"]["type"] == "flexible" and billed is not None:
        amount = -money.share(billed["amount"], end - when, end - billed["start"])
        credited = billed["credited_items"]
    else:
        gross = (price.get("unit_amount") or 0) * item["quantity"]
        left = discounts.share_left_by_percent_discounts(app, discount_ids, price["product"])
        amount = -money.round_half_away(gross * left * (end - when) / (end - item["current_period_start"]))
        credited = None
    return _proration(app, item, price, amount, when, "Unused time on", discount_ids, credited)


def _debit(app, item, when, discount_ids):
    price = app.state.get("prices", item["price"])
    start, end = item["current_period_start"], item["current_period_end"]
    gross = (price.get("unit_amount") or 0) * item["quantity"]
    left = discounts.share_left_by_percent_discounts(app, discount_ids, price["product"])
    amount = money.round_half_away(gross * left * (end - when) / (end - start))
    return _proration(app, item, price, amount, when, "Remaining time on", discount_ids, None)


def _proration(app, item, price, amount, when, wording, discount_ids, credited_items):
    product = app.state.get("products", price["product"]) or {}
    day = datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%d %b %Y")
    return {
        "amount": amount,
        "credited_items": credited_items,
        "description": "%s %d × %s after %s" % (wording, item["quantity"], product.get("name", price["id"]), day),
        "discounts": list(discount_ids),
        "period": (when, item["current_period_end"]),
        "tax_rates": list(item.get("tax_rates") or []),
        "price": price,
        "quantity": item["quantity"],
        "subscription_item": item["id"],
    }


def invoice_item(app, sub, proration, at):
    """The (unstored) proration invoice item for ``proration``."""
    price = proration["price"]
    return {
        "id": new_id("ii_"),
        "object": "invoiceitem",
        "amount": proration["amount"],
        "currency": price["currency"],
        "customer": sub["customer"],
        "customer_account": None,
        "date": at,
        "description": proration["description"],
        "discountable": False,
        "discounts": proration["discounts"],
        "invoice": None,
        "livemode": False,
        "metadata": {},
        "net_amount": proration["amount"],
        "parent": {
            "subscription_details": {"subscription": sub["id"], "subscription_item": proration["subscription_item"]},
            "type": "subscription_details",
        },
        "period": {"end": proration["period"][1], "start": proration["period"][0]},
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price.get("unit_amount_decimal"),
        },
        "proration": True,
        "proration_details": {"credited_items": proration["credited_items"]},
        "quantity": proration["quantity"],
        "quantity_decimal": str(proration["quantity"]),
        "tax_rates": proration["tax_rates"],
        "test_clock": sub.get("test_clock"),
        "_sub": sub["id"],
    }
