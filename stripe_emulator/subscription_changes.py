"""Changing a subscription: items (price, quantity, added, removed) with
``proration_behavior`` (``create_prorations`` leaves proration invoice items
for the next invoice, ``always_invoice`` invoices and charges them now,
``none`` changes nothing but the items), ``billing_cycle_anchor[type]=now``
(credit for the unused time, the new period invoiced in full now), discounts,
cancellation fields, payment settings and trials; pending updates
(``payment_behavior=pending_if_incomplete``); and cancellation with
``prorate``/``invoice_now``.  Every function expects the state lock held.

``plan_change`` works on copies, so ``POST /v1/invoices/create_preview``
shows exactly what an update would do (see ``previews.py``)."""

import copy

from . import (
    discounts,
    invoice_drafts,
    invoicing,
    payment_methods,
    pending_updates,
    period_invoices,
    prorations,
    renewals,
    stored_objects,
    subscriptions,
    taxes,
)
from .errors import invalid, invalid_request, missing
from .events import emit
from .resources import merge_metadata, p_bool, p_dict, p_list, p_str, public
from .store import new_id

ENDED = ("canceled", "incomplete_expired")


class ChangePlan:
    """What an update does to the items: the items afterwards (copies), the prorations,
    whether an invoice is due now, and whether the billing cycle restarts now."""

    def __init__(self, items_after, item_ids, prorations, when, invoice_now, anchor_now):
        self.items_after = items_after
        self.item_ids = item_ids
        self.prorations = prorations
        self.when = when
        self.invoice_now = invoice_now
        self.anchor_now = anchor_now


# ---------------------------------------------------------------------------
# planning (no state changes)


def resolve_item_changes(app, sub, items, at, param="items"):
    """Check every ``items[i]`` before changing anything: (item or None, price or None, request)."""
    changes = []
    for index, item in enumerate(items):
        name = "%s[%d]" % (param, index)
        target = None
        if item.get("id"):
            target = next((x for x in sub["_items"] if x["id"] == item["id"]), None)
            if target is None:
                raise invalid(
                    name + "[id]", "Subscription item %s is not part of subscription %s." % (item["id"], sub["id"])
                )
        price = None
        if item.get("price") or item.get("plan"):
            price = subscriptions.resolve_price(app, item.get("price") or item.get("plan"), name + "[price]")
        elif item.get("price_data"):
            price = subscriptions.inline_price(app, item["price_data"], name + "[price_data]", at)
        if target is None and price is None and not p_bool(item, "deleted", False):
            raise missing(name + "[price]")
        if "tax_rates" in item:
            item = dict(item, tax_rates=taxes.checked_rates(app, item["tax_rates"], name + "[tax_rates]"))
        changes.append((target, price, item))
    return changes


def plan_change(app, sub, params, changes, at):
    """The ChangePlan for ``params`` (``proration_behavior``, ``proration_date``,
    ``billing_cycle_anchor``) and the checked item ``changes``."""
    behavior = p_str(params, "proration_behavior", "create_prorations")
    anchor_now = p_dict(params, "billing_cycle_anchor").get("type") == "now"
    when = prorations.proration_time(sub, params.get("proration_date"), at)
    items_after, item_ids = _items_after(sub, changes, at)
    planned = []
    if behavior != "none" and prorations.prorates(sub):
        discount_ids = period_invoices.subscription_discount_ids(app, sub, when, prune=False)
        planned = _prorations(app, sub, items_after, when, discount_ids, anchor_now)
    if anchor_now:
        for item in items_after:
            price = app.state.get("prices", item["price"])
            item["current_period_start"], item["current_period_end"] = period_invoices.first_period(at, price)
    invoice_now = anchor_now or (behavior == "always_invoice" and bool(planned))
    return ChangePlan(items_after, item_ids, planned, when, invoice_now, anchor_now)


def _items_after(sub, changes, at):
    """The items once ``changes`` are made (copies), and each change's item id (None: deleted)."""
    items = copy.deepcopy(sub["_items"])
    by_id = {item["id"]: item for item in items}
    item_ids = []
    for target, price, request in changes:
        if target is not None and p_bool(request, "deleted", False):
            items.remove(by_id[target["id"]])
            item_ids.append(None)
            continue
        item = by_id.get(target["id"]) if target is not None else None
        if item is None:
            item = _new_item(items, price, at)
            items.append(item)
        if price is not None:
            item["price"] = price["id"]
        if request.get("quantity") is not None:
            item["quantity"] = request["quantity"]
        if "metadata" in request:
            item["metadata"] = merge_metadata(item.get("metadata") or {}, request)
        if "tax_rates" in request:
            item["tax_rates"] = request["tax_rates"]
        item_ids.append(item["id"])
    return items, item_ids


def _new_item(items, price, at):
    """A new item joins the current period of the existing ones."""
    reference = items[0] if items else None
    return {
        "id": new_id("si_", 0),
        "price": price["id"],
        "quantity": 1,
        "created": at,
        "metadata": {},
        "current_period_start": reference["current_period_start"] if reference else at,
        "current_period_end": reference["current_period_end"] if reference else at,
        "discounts": [],
        "tax_rates": [],
    }


def _prorations(app, sub, items_after, when, discount_ids, anchor_now):
    """Credits and debits for every item whose price or quantity changes (all items are
    credited when the billing cycle restarts: the new period is invoiced in full)."""
    before = {item["id"]: item for item in sub["_items"]}
    after = {item["id"]: item for item in items_after}
    planned = []
    for item_id in list(before) + [i for i in after if i not in before]:
        old, new = before.get(item_id), after.get(item_id)
        if anchor_now:
            new = None
        elif old is not None and new is not None and (old["price"], old["quantity"]) == (new["price"], new["quantity"]):
            continue
        item_discounts = discount_ids + ((new or old).get("discounts") or [])
        planned += prorations.for_change(app, sub, old, new, when, item_discounts)
    return planned


# ---------------------------------------------------------------------------
# updating


def update_subscription(app, sub, params, legacy_discounts=None):
    """Apply an update (from the API or the portal page) and emit ``customer.subscription.updated``."""
    if sub["status"] in ENDED:
        raise invalid_request("A canceled subscription can only update its cancellation_details and metadata.")
    behaviour = p_str(params, "payment_behavior", "allow_incomplete")
    if behaviour == "pending_if_incomplete":
        pending_updates.refuse_unsupported_pending(params)
    at = stored_objects.clock_now(app, sub.get("test_clock"))
    before = stored_objects.render_subscription(app, sub)
    changes = resolve_item_changes(app, sub, p_list(params, "items"), at)
    plan = plan_change(app, sub, params, changes, at)
    redemptions = _check_discounts(app, sub, params, at, legacy_discounts)
    item_redemptions = _check_item_discounts(app, sub, changes, at)
    tax_settings = _check_tax_settings(app, sub, params, plan.items_after)
    charges_now = plan.anchor_now or sum(proration["amount"] for proration in plan.prorations) > 0
    if plan.invoice_now and charges_now and behaviour == "error_if_incomplete":
        subscriptions.refuse_unpayable(payment_methods.default_for_subscription(app, sub))
    unchanged = {key: copy.deepcopy(sub[key]) for key in pending_updates.PENDING_STATE}
    sub["_items"] = plan.items_after
    per_item = {plan.item_ids[index]: checked for index, checked in item_redemptions.items()}
    subscriptions.redeem_subscription_discounts(app, sub, redemptions, per_item, at)
    invoice = _apply_plan(app, sub, plan, at, behaviour)
    sub.update(tax_settings)
    _update_description(sub, params)
    _update_cancellation(sub, params, at)
    _update_payment(app, sub, params)
    _update_trial(app, sub, params, at)
    if behaviour == "pending_if_incomplete" and invoice is not None and invoice["status"] != "paid":
        pending_updates.hold_as_pending_update(app, sub, invoice, plan, unchanged, at)
    if sub["status"] != "canceled":
        after = stored_objects.subscription_changed(app, sub, before)
        if sub["status"] == "paused" and before["status"] != "paused":
            emit(app, "customer.subscription.paused", after)
    return sub


def pause_subscription(app, sub):
    """``POST /v1/subscriptions/{id}/pause``: no invoices until ``/resume``."""
    if sub["status"] not in ("active", "trialing", "past_due", "unpaid"):
        raise invalid_request(
            "You cannot pause a subscription with a status of %s." % sub["status"], code="resource_invalid_state"
        )
    before = stored_objects.render_subscription(app, sub)
    sub["status"] = "paused"
    after = stored_objects.subscription_changed(app, sub, before)
    emit(app, "customer.subscription.paused", after)
    return sub


def _check_tax_settings(app, sub, params, items_after):
    """``default_tax_rates`` and ``automatic_tax`` as they will be (checked before anything changes)."""
    settings = {}
    if "default_tax_rates" in params:
        settings["default_tax_rates"] = taxes.checked_rates(app, params["default_tax_rates"], "default_tax_rates")
    requested = taxes.automatic_tax_requested(params)
    if requested is not None:
        settings["automatic_tax"] = taxes.subscription_automatic_tax(requested)
    automatic = settings.get("automatic_tax", sub["automatic_tax"])["enabled"]
    rates = settings.get("default_tax_rates", sub["default_tax_rates"])
    per_item = [rate for item in items_after for rate in item.get("tax_rates") or ()]
    taxes.refuse_rates_with_automatic_tax(automatic, default_tax_rates=rates, items=per_item)
    return settings


def _check_discounts(app, sub, params, at, legacy_discounts):
    """Checked references replacing the subscription's discounts, or None when unchanged."""
    common = {
        "customer_id": sub["customer"],
        "currency": sub["currency"],
        "amount": subscriptions.licensed_amount(app, sub),
        "at": at,
    }
    if legacy_discounts is not None:
        return discounts.check_references(app, legacy_discounts, param=None, **common)
    if "discounts" not in params:
        return None
    return discounts.check_references(app, params["discounts"] or [], param="discounts", **common)


def _check_item_discounts(app, sub, changes, at):
    """{index of the change: checked references} for every ``items[i][discounts]`` sent."""
    common = {
        "customer_id": sub["customer"],
        "currency": sub["currency"],
        "amount": subscriptions.licensed_amount(app, sub),
        "at": at,
    }
    checked = {}
    for index, (_target, _price, request) in enumerate(changes):
        if "discounts" in request and not p_bool(request, "deleted", False):
            references = request["discounts"] or []
            checked[index] = discounts.check_references(app, references, param="items[%d][discounts]" % index, **common)
    return checked


def _apply_plan(app, sub, plan, at, behaviour):
    """Store the prorations, and invoice now when the plan says so (the items are already changed)."""
    for proration in plan.prorations:
        item = prorations.invoice_item(app, sub, proration, at)
        app.state.put("invoiceitems", item)
        emit(app, "invoiceitem.created", public(item))
    if not plan.invoice_now:
        return None
    if plan.anchor_now:
        sub["billing_cycle_anchor"] = at
        invoice = period_invoices.invoice_for_period(app, sub, "subscription_update", at, at)
    else:
        invoice = period_invoices.invoice_pending_items(app, sub, at)
    if invoice["amount_due"] == 0:
        invoicing.mark_paid(app, invoice, at)
    elif behaviour != "default_incomplete":
        ok, _ = invoicing.attempt_payment(app, invoice, payment_methods.default_for_subscription(app, sub), at)
        if not ok and behaviour != "pending_if_incomplete":
            sub["status"] = "past_due"
    return invoice


def _update_description(sub, params):
    if "metadata" in params:
        sub["metadata"] = merge_metadata(sub["metadata"], params)
    if "description" in params:
        sub["description"] = p_str(params, "description")


def _update_cancellation(sub, params, at):
    """``cancel_at_period_end=false`` (or ``cancel_at=""``) undoes a scheduled cancellation."""
    if "cancel_at_period_end" in params:
        sub["cancel_at_period_end"] = p_bool(params, "cancel_at_period_end")
        sub["cancel_at"] = stored_objects.period_end(sub) if sub["cancel_at_period_end"] else None
        sub["canceled_at"] = at if sub["cancel_at_period_end"] else None
    if "cancel_at" in params:
        cancel_at = params["cancel_at"]
        if cancel_at in ("", None):
            sub["cancel_at"] = sub["canceled_at"] = None
        elif cancel_at == "min_period_end":
            sub["cancel_at"] = stored_objects.period_end(sub)
        elif cancel_at in ("max_period_end", "max_billed_until"):
            sub["cancel_at"] = max(item["current_period_end"] for item in sub["_items"])
        else:
            sub["cancel_at"] = int(cancel_at)
            sub["canceled_at"] = at
    details = p_dict(params, "cancellation_details")
    for key in ("comment", "feedback"):
        if key in details:
            sub["cancellation_details"][key] = details[key] or None


def _update_payment(app, sub, params):
    if "default_payment_method" in params:
        reference = params["default_payment_method"]
        customer = app.state.get("customers", sub["customer"])
        pm = (
            payment_methods.resolve_and_attach(app, reference, customer, "default_payment_method", {})
            if reference
            else None
        )
        sub["default_payment_method"] = pm["id"] if pm else None
    if "pause_collection" in params:
        pause = params["pause_collection"]
        sub["pause_collection"] = (
            None if pause in ("", None) else {"behavior": pause["behavior"], "resumes_at": pause.get("resumes_at")}
        )


def _update_trial(app, sub, params, at):
    end_behavior = p_dict(p_dict(params, "trial_settings"), "end_behavior")
    if end_behavior.get("missing_payment_method"):
        sub["trial_settings"]["end_behavior"]["missing_payment_method"] = end_behavior["missing_payment_method"]
    trial_end = params.get("trial_end")
    if trial_end in ("", None):
        return
    if trial_end == "now":
        renewals.end_trial_now(app, sub, at)
        return
    if trial_end <= at:
        raise invalid(
            "trial_end",
            "Invalid timestamp: must be an integer Unix timestamp in the future.",
            code="parameter_invalid_integer",
        )
    sub["trial_end"] = trial_end
    if sub["status"] in ("active", "trialing"):
        sub["status"] = "trialing"
        sub["trial_start"] = sub["trial_start"] or at
        sub["_tw_sent"] = False
        for item in sub["_items"]:
            item["current_period_end"] = trial_end


# ---------------------------------------------------------------------------
# pending updates


# ---------------------------------------------------------------------------
# cancelling


def cancel_now(app, sub, params):
    """``DELETE /v1/subscriptions/{id}``: ``prorate`` credits the unused time as proration
    invoice items; ``invoice_now`` invoices what is pending for the subscription at once."""
    at = stored_objects.clock_now(app, sub.get("test_clock"))
    if p_bool(params, "prorate", False) and prorations.prorates(sub):
        discount_ids = period_invoices.subscription_discount_ids(app, sub, at, prune=False)
        for item in sub["_items"]:
            for proration in prorations.for_change(
                app, sub, item, None, at, discount_ids + (item.get("discounts") or [])
            ):
                invoice_item = prorations.invoice_item(app, sub, proration, at)
                app.state.put("invoiceitems", invoice_item)
                emit(app, "invoiceitem.created", public(invoice_item))
    details = p_dict(params, "cancellation_details")
    given = {key: details[key] or None for key in ("comment", "feedback") if key in details}
    subscriptions.cancel_subscription(app, sub, at, **given)
    if p_bool(params, "invoice_now", False) and invoice_drafts.pending_invoice_items(app, sub["customer"], sub["id"]):
        invoice = period_invoices.invoice_pending_items(app, sub, at)
        if invoice["amount_due"] == 0:
            invoicing.mark_paid(app, invoice, at)
        else:
            invoicing.attempt_payment(app, invoice, payment_methods.default_for_subscription(app, sub), at)
    return sub
