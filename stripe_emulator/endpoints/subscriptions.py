"""Subscriptions and subscription items.  The lifecycle (trials, renewals,
invoices) lives in ``billing.py``; these handlers parse requests into it."""

from .. import billing as B
from ..errors import invalid, invalid_request, missing, not_found
from ..resources import filter_by_created, merge_metadata, p_bool, p_dict, p_list, p_str, paginate
from ..routing import handles
from ..search import Field, search
from ..store import new_id
from .discounts import reject_discount_references

ENDED = ("canceled", "incomplete_expired")
SEARCH_FIELDS = {
    "created": Field("numeric", lambda s: s["created"]),
    "canceled_at": Field("numeric", lambda s: s.get("canceled_at")),
    "status": Field("string", lambda s: s["status"]),
}


@handles("POST /v1/subscriptions")
def subscription_create(app, request, params):
    reject_discount_references(params)
    return B.render_subscription(app, B.create_subscription(app, params))


@handles("GET /v1/subscriptions/{subscription_exposed_id}")
def subscription_retrieve(app, request, params, subscription_id):
    return B.render_subscription(app, B.get_or_404(app, "subscriptions", subscription_id, "subscription"))


@handles("POST /v1/subscriptions/{subscription_exposed_id}")
def subscription_update(app, request, params, subscription_id):
    reject_discount_references(params)
    sub = B.get_or_404(app, "subscriptions", subscription_id, "subscription")
    update_subscription(app, sub, params)
    return B.render_subscription(app, sub)


def update_subscription(app, sub, params):
    """Apply an update (from the API or the portal page) and emit ``customer.subscription.updated``."""
    if sub["status"] in ENDED:
        raise invalid_request("A canceled subscription can only update its cancellation_details and metadata.")
    at = B.clock_now(app, sub.get("test_clock"))
    before = B.render_subscription(app, sub)
    changes = _resolve_item_changes(app, sub, p_list(params, "items"), at)
    _apply_item_changes(sub, changes, at)
    _update_description(sub, params)
    _update_cancellation(sub, params, at)
    _update_payment(app, sub, params)
    _update_trial(app, sub, params, at)
    if sub["status"] != "canceled":
        B.changed(app, sub, before)
    return sub


def _resolve_item_changes(app, sub, items, at):
    """Check every ``items[i]`` before changing anything: (item or None, price or None, request)."""
    changes = []
    for index, item in enumerate(items):
        target = None
        if item.get("id"):
            target = next((x for x in sub["_items"] if x["id"] == item["id"]), None)
            if target is None:
                raise invalid(
                    "items[%d][id]" % index,
                    "Subscription item %s is not part of subscription %s." % (item["id"], sub["id"]),
                )
        price = None
        if item.get("price") or item.get("plan"):
            price = B.resolve_price(app, item.get("price") or item.get("plan"), "items[%d][price]" % index)
        elif item.get("price_data"):
            price = B.inline_price(app, item["price_data"], "items[%d][price_data]" % index, at)
        if target is None and price is None and not p_bool(item, "deleted", False):
            raise missing("items[%d][price]" % index)
        changes.append((target, price, item))
    return changes


def _apply_item_changes(sub, changes, at):
    for target, price, item in changes:
        if target is not None and p_bool(item, "deleted", False):
            sub["_items"].remove(target)
            continue
        if target is None:
            target = _new_item(sub, price, at)
            sub["_items"].append(target)
        if price is not None:
            target["price"] = price["id"]
        if item.get("quantity") not in (None, ""):
            target["quantity"] = int(item["quantity"])
        if "metadata" in item:
            target["metadata"] = merge_metadata(target.get("metadata") or {}, item)


def _new_item(sub, price, at):
    """A new item joins the current period of the existing ones."""
    reference = sub["_items"][0] if sub["_items"] else None
    return {
        "id": new_id("si_", 0),
        "price": price["id"],
        "quantity": 1,
        "created": at,
        "metadata": {},
        "current_period_start": reference["current_period_start"] if reference else at,
        "current_period_end": reference["current_period_end"] if reference else at,
    }


def _update_description(sub, params):
    if "metadata" in params:
        sub["metadata"] = merge_metadata(sub["metadata"], params)
    if "description" in params:
        sub["description"] = p_str(params, "description")


def _update_cancellation(sub, params, at):
    if "cancel_at_period_end" in params:
        sub["cancel_at_period_end"] = p_bool(params, "cancel_at_period_end")
        sub["cancel_at"] = B.period_end(sub) if sub["cancel_at_period_end"] else None
        sub["canceled_at"] = at if sub["cancel_at_period_end"] else None
    if "cancel_at" in params:
        cancel_at = params["cancel_at"]
        if cancel_at in ("", None):
            sub["cancel_at"] = sub["canceled_at"] = None
        elif cancel_at == "min_period_end":
            sub["cancel_at"] = B.period_end(sub)
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
        pm = B.resolve_payment_method(app, reference, customer, "default_payment_method", {}) if reference else None
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
        B.end_trial_now(app, sub, at)
        return
    trial_end = int(trial_end)
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


@handles("DELETE /v1/subscriptions/{subscription_exposed_id}")
def subscription_cancel(app, request, params, subscription_id):
    sub = B.get_or_404(app, "subscriptions", subscription_id, "subscription")
    if sub["status"] in ENDED:
        raise invalid_request(
            "No such subscription: '%s'. This subscription has already been canceled." % subscription_id,
            code="resource_missing",
        )
    details = p_dict(params, "cancellation_details")
    B.cancel_subscription(
        app,
        sub,
        B.clock_now(app, sub.get("test_clock")),
        comment=details.get("comment") or None,
        feedback=details.get("feedback") or None,
    )
    return B.render_subscription(app, sub)


@handles("POST /v1/subscriptions/{subscription}/resume")
def subscription_resume(app, request, params, subscription_id):
    sub = B.get_or_404(app, "subscriptions", subscription_id, "subscription")
    B.resume_subscription(app, sub, params)
    return B.render_subscription(app, sub)


@handles("GET /v1/subscriptions")
def subscription_list(app, request, params):
    items = app.state.all("subscriptions")
    status = p_str(params, "status")
    if status and status != "all":
        items = [s for s in items if s["status"] == status]
    elif not status:
        items = [s for s in items if s["status"] not in ENDED]
    for key in ("customer", "test_clock"):
        if p_str(params, key):
            items = [s for s in items if s.get(key) == params[key]]
    if p_str(params, "price"):
        items = [s for s in items if any(i["price"] == params["price"] for i in s["_items"])]
    items = filter_by_created(items, params)
    return paginate([B.render_subscription(app, s) for s in items], params, "/v1/subscriptions")


@handles("GET /v1/subscriptions/search")
def subscription_search(app, request, params):
    subscriptions = app.state.all("subscriptions")
    return search(subscriptions, params, "subscriptions", SEARCH_FIELDS, lambda s: B.render_subscription(app, s))


@handles("GET /v1/subscription_items")
def subscription_item_list(app, request, params):
    subscription_id = p_str(params, "subscription", required=True)
    sub = B.get_or_404(app, "subscriptions", subscription_id, "subscription", "subscription")
    items = [B.render_item(app, sub, item) for item in sub["_items"]]
    return paginate(items, params, "/v1/subscription_items")


@handles("GET /v1/subscription_items/{item}")
def subscription_item_retrieve(app, request, params, item_id):
    for sub in app.state.all("subscriptions"):
        for item in sub["_items"]:
            if item["id"] == item_id:
                return B.render_item(app, sub, item)
    raise not_found("subscription_item", item_id)
