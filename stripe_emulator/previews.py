"""``POST /v1/invoices/create_preview``: the invoice a subscription (or the
customer's pending invoice items) would produce next, optionally with a change
applied (``subscription_details[items|proration_behavior|proration_date|
billing_cycle_anchor|cancel_at_period_end]``).  Nothing is stored and no
event is emitted; the change is planned by the same code an update runs
(``subscription_changes.plan_change``), so pass the preview's
``proration_date`` to the update to get the same prorations.

* ``always_invoice`` (or ``billing_cycle_anchor[type]=now``): the invoice the
  update would create now (its prorations, plus the new period when the cycle
  restarts);
* otherwise: the next renewal invoice - the next period of every item, the
  subscription's pending invoice items and the previewed prorations;
* ``subscription_details[items]`` without ``subscription``: the first invoice
  of a new subscription;
* ``customer`` alone: the next renewal among the customer's subscriptions, else
  the customer's pending invoice items.

The preview's id starts with ``upcoming_in_``; top-level ``discounts`` replace
the inherited ones for the preview only."""

import copy

from . import (
    discounts,
    invoice_drafts,
    invoicing,
    period_invoices,
    prorations,
    stored_objects,
    subscription_changes,
    subscriptions,
    taxes,
)
from .errors import StripeError, invalid_request, missing
from .resources import p_bool, p_dict, p_list, public
from .store import rand

NO_INVOICE_STATUSES = ("canceled", "incomplete_expired", "paused")


def create_preview(app, params):
    customer = stored_objects.live_customer(app, params["customer"]) if params.get("customer") else None
    details = p_dict(params, "subscription_details")
    if params.get("subscription"):
        sub = stored_objects.get_or_404(app, "subscriptions", params["subscription"], "subscription", "subscription")
        if customer is not None and sub["customer"] != customer["id"]:
            raise invalid_request("The subscription does not belong to this customer.", param="subscription")
        invoice, inherited = _for_subscription(app, sub, details)
    elif customer is None:
        raise missing("customer")
    elif details.get("items"):
        invoice, inherited = _for_new_subscription(app, customer, details, params)
    else:
        invoice, inherited = _for_customer(app, customer)
    return _finish(app, invoice, inherited, params)


def _no_upcoming_invoice(customer_id):
    return StripeError(
        404,
        "invalid_request_error",
        "No upcoming invoices for customer: %s" % customer_id,
        code="invoice_upcoming_none",
    )


def _preview_invoice(app, sub_or_none, customer, at, reason):
    invoice = invoice_drafts.new_invoice(
        app, customer, at, reason, subscription=sub_or_none, invoice_id="upcoming_in_1" + rand(23)
    )
    invoice["lines"]["url"] = "/v1/invoices/upcoming/lines"
    return invoice


def _for_subscription(app, sub, details):
    if sub["status"] in NO_INVOICE_STATUSES:
        raise _no_upcoming_invoice(sub["customer"])
    at = stored_objects.clock_now(app, sub.get("test_clock"))
    requested = subscription_changes.resolve_item_changes(
        app, sub, p_list(details, "items"), at, "subscription_details[items]"
    )
    plan = subscription_changes.plan_change(app, sub, details, requested, at)
    after = dict(sub, _items=plan.items_after)
    customer = app.state.get("customers", sub["customer"])
    proration_items = [prorations.invoice_item(app, sub, proration, at) for proration in plan.prorations]
    if plan.invoice_now:
        invoice = _preview_invoice(app, sub, customer, at, "subscription_update")
        if plan.anchor_now:
            for item in plan.items_after:
                period_invoices.add_item_line(app, after, invoice, item, at)
        when = at
    else:
        when = stored_objects.period_end(after)
        cancelling = p_bool(details, "cancel_at_period_end", sub["cancel_at_period_end"])
        if (
            cancelling
            and not proration_items
            and not invoice_drafts.pending_invoice_items(app, sub["customer"], sub["id"])
        ):
            raise _no_upcoming_invoice(sub["customer"])
        invoice = _preview_invoice(app, sub, customer, when, "subscription_cycle")
        invoice["period_start"], invoice["period_end"] = max(i["current_period_start"] for i in after["_items"]), when
        if not cancelling:
            _add_next_period(app, after, invoice, when)
    for item in invoice_drafts.pending_invoice_items(app, sub["customer"], sub["id"]) + proration_items:
        invoice_drafts.add_invoice_item_line(app, invoice, item)
    if plan.prorations:
        invoice["parent"]["subscription_details"]["subscription_proration_date"] = plan.when
    if "default_tax_rates" in details:
        param = "subscription_details[default_tax_rates]"
        invoice["default_tax_rates"] = taxes.checked_rates(app, details["default_tax_rates"], param)
    return invoice, period_invoices.subscription_discount_ids(app, after, when, prune=False)


def _add_next_period(app, sub, invoice, when):
    """The next period of every item; metered items bill their usage of the current period so far."""
    closed = period_invoices.closed_periods(sub)
    for item in sub["_items"]:
        upcoming = copy.deepcopy(item)
        price = app.state.get("prices", item["price"])
        upcoming["current_period_start"], upcoming["current_period_end"] = period_invoices.first_period(when, price)
        period_invoices.add_item_line(app, sub, invoice, upcoming, when, usage_period=closed.get(item["id"]))


def _for_new_subscription(app, customer, details, params):
    at = stored_objects.customer_now(app, customer)
    keys = ("items", "trial_end", "billing_mode", "default_tax_rates")
    request = {key: details[key] for key in keys if key in details}
    if "automatic_tax" in params:
        request["automatic_tax"] = params["automatic_tax"]
    sub = subscriptions.build_subscription(app, customer, request, at, {})
    sub["_items"] = [dict(item, discounts=[]) for item in sub["_items"]]
    invoice = _preview_invoice(app, None, customer, at, "subscription_create")
    taxes.inherit_from_subscription(invoice, sub)
    invoice["currency"] = sub["currency"]
    trial = sub["trial_end"] is not None
    for item in sub["_items"]:
        item["current_period_start"], item["current_period_end"] = period_invoices.first_period(
            at, app.state.get("prices", item["price"])
        )
        period_invoices.add_item_line(app, sub, invoice, item, at, trial=trial)
    inherited = (customer.get("discount") or {}).get("id")
    return invoice, discounts.in_effect(app, [inherited], at) if inherited else []


def _for_customer(app, customer):
    invoicing_subscriptions = [
        sub
        for sub in app.state.all("subscriptions")
        if sub["customer"] == customer["id"] and sub["status"] not in NO_INVOICE_STATUSES
    ]
    if invoicing_subscriptions:
        return _for_subscription(app, min(invoicing_subscriptions, key=stored_objects.period_end), {})
    pending = invoice_drafts.pending_invoice_items(app, customer["id"])
    if not pending:
        raise _no_upcoming_invoice(customer["id"])
    at = stored_objects.customer_now(app, customer)
    invoice = _preview_invoice(app, None, customer, at, "manual")
    for item in pending:
        invoice_drafts.add_invoice_item_line(app, invoice, item)
    invoice["currency"] = pending[0]["currency"]
    inherited = (customer.get("discount") or {}).get("id")
    return invoice, discounts.in_effect(app, [inherited], at) if inherited else []


def _finish(app, invoice, inherited, params):
    """Discounts (inherited, or the request's ``discounts`` redeemed for the preview only), taxes (the
    request's ``automatic_tax`` and ``customer_details`` location win), totals and the customer's balance
    as finalization would apply it."""
    if taxes.automatic_tax_requested(params) is not None:
        invoice["automatic_tax"] = taxes.invoice_automatic_tax(taxes.automatic_tax_requested(params))
    invoice["_tax_location"] = p_dict(params, "customer_details")
    if "discounts" not in params:
        invoice["discounts"] = inherited
        return _totals(app, invoice)
    common = {
        "customer_id": invoice["customer"],
        "currency": invoice["currency"],
        "amount": None,
        "at": invoice["created"],
    }
    redemptions = discounts.check_references(app, params["discounts"] or [], param="discounts", **common)
    with discounts.transient(app, redemptions, invoice["customer"], invoice["created"]) as discount_ids:
        invoice["discounts"] = discount_ids
        return _totals(app, invoice)


def _totals(app, invoice):
    invoice_drafts.recompute_totals(app, invoice)
    invoicing.preview_customer_balance(app, invoice)
    return public(invoice)
