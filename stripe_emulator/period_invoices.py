"""The invoices a subscription makes: the invoice for a period - each item's line (a metered
item's usage over the period just ended, billed in arrears; nothing during a trial), the subscription's
discounts (else the customer's), its pending invoice items, finalized at once - and one for its pending
invoice items alone (prorations invoiced now).  ``record_billed`` remembers what each period line debited
(flexible billing mode credits that back).  Every function expects the state lock to be held."""

from . import discounts, invoice_drafts, invoicing, meters
from .events import emit
from .resources import add_interval, public


def first_period(item_start, price):
    rec = price["recurring"]
    return item_start, add_interval(item_start, rec["interval"], rec["interval_count"])


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
    return invoice_drafts.add_line(
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
    inv = _draft(app, sub, cus, reason, now)
    trial = reason == "subscription_create" and sub.get("_pending_trial")
    for it in sub["_items"]:
        add_item_line(app, sub, inv, it, now, trial=trial, usage_period=closed.get(it["id"]))
    _issue(app, sub, inv, cus, now)
    record_billed(sub, inv)
    return inv


def invoice_pending_items(app, sub, at, reason="subscription_update"):
    """An invoice, finalized now, for the subscription's pending invoice items (prorations)."""
    customer = app.state.get("customers", sub["customer"])
    invoice = _draft(app, sub, customer, reason, at)
    _issue(app, sub, invoice, customer, at)
    return invoice


def _draft(app, sub, customer, reason, at):
    """A draft of the subscription's, with its discounts in effect at ``at``."""
    invoice = invoice_drafts.new_invoice(app, customer, at, reason, subscription=sub)
    invoice["discounts"] = subscription_discount_ids(app, sub, at)
    return invoice


def _issue(app, sub, invoice, customer, at):
    """Add the subscription's pending invoice items, store the invoice as its latest and finalize it."""
    invoice_drafts.pull_pending_items(app, invoice, customer, sub)
    invoice_drafts.recompute_totals(app, invoice)
    app.state.put("invoices", invoice)
    sub["latest_invoice"] = invoice["id"]
    emit(app, "invoice.created", public(invoice))
    invoicing.finalize_invoice(app, invoice, at)


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
