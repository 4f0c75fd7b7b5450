"""Subscriptions and subscription items.  Creation and cancellation live in
``subscriptions.py``, the lifecycle (trials, renewals, ``/resume``) in
``renewals.py``, changes (prorations, pending updates, cancellation) in
``subscription_changes.py``; these handlers parse requests into them."""

from .. import renewals, stored_objects, subscription_changes, subscriptions
from ..errors import invalid_request, not_found
from ..resources import filter_by_created, p_str, paginate
from ..routing import handles
from ..search import Field, search
from .discounts import legacy_discount_references, remove_discounts

ENDED = subscription_changes.ENDED
ITEM_FIELDS = ("price", "plan", "price_data", "quantity", "metadata", "discounts", "tax_rates")
CHANGE_OPTIONS = ("payment_behavior", "proration_behavior", "proration_date")
SEARCH_FIELDS = {
    "created": Field("numeric", lambda s: s["created"]),
    "canceled_at": Field("numeric", lambda s: s.get("canceled_at")),
    "status": Field("string", lambda s: s["status"]),
}


@handles("POST /v1/subscriptions")
def subscription_create(app, request, params):
    legacy = legacy_discount_references(params)
    return stored_objects.render_subscription(
        app, subscriptions.create_subscription(app, params, legacy_discounts=legacy)
    )


@handles("GET /v1/subscriptions/{subscription_exposed_id}")
def subscription_retrieve(app, request, params, subscription_id):
    return stored_objects.render_subscription(
        app, stored_objects.get_or_404(app, "subscriptions", subscription_id, "subscription")
    )


@handles("POST /v1/subscriptions/{subscription_exposed_id}")
def subscription_update(app, request, params, subscription_id):
    sub = stored_objects.get_or_404(app, "subscriptions", subscription_id, "subscription")
    subscription_changes.update_subscription(app, sub, params, legacy_discounts=legacy_discount_references(params))
    return stored_objects.render_subscription(app, sub)


@handles("DELETE /v1/subscriptions/{subscription_exposed_id}")
def subscription_cancel(app, request, params, subscription_id):
    sub = stored_objects.get_or_404(app, "subscriptions", subscription_id, "subscription")
    if sub["status"] in subscription_changes.ENDED:
        raise invalid_request(
            "No such subscription: '%s'. This subscription has already been canceled." % subscription_id,
            code="resource_missing",
        )
    subscription_changes.cancel_now(app, sub, params)
    return stored_objects.render_subscription(app, sub)


@handles("POST /v1/subscriptions/{subscription}/resume")
def subscription_resume(app, request, params, subscription_id):
    """Only for ``paused`` subscriptions; a scheduled cancellation is undone with ``cancel_at_period_end=false``."""
    sub = stored_objects.get_or_404(app, "subscriptions", subscription_id, "subscription")
    renewals.resume_subscription(app, sub, params)
    return stored_objects.render_subscription(app, sub)


@handles("POST /v1/subscriptions/{subscription}/pause")
def subscription_pause(app, request, params, subscription_id):
    """``status: paused`` until ``/resume`` (``bill_for`` and ``invoicing_behavior`` are not modelled)."""
    sub = stored_objects.get_or_404(app, "subscriptions", subscription_id, "subscription")
    subscription_changes.pause_subscription(app, sub)
    return stored_objects.render_subscription(app, sub)


@handles("DELETE /v1/subscriptions/{subscription_exposed_id}/discount")
def subscription_discount_delete(app, request, params, subscription_id):
    sub = stored_objects.get_or_404(app, "subscriptions", subscription_id, "subscription")
    return remove_discounts(app, sub, sub["discounts"], "subscription")


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
    return paginate([stored_objects.render_subscription(app, s) for s in items], params, "/v1/subscriptions")


@handles("GET /v1/subscriptions/search")
def subscription_search(app, request, params):
    stored = app.state.all("subscriptions")
    return search(stored, params, "subscriptions", SEARCH_FIELDS, lambda s: stored_objects.render_subscription(app, s))


@handles("GET /v1/subscription_items")
def subscription_item_list(app, request, params):
    subscription_id = p_str(params, "subscription", required=True)
    sub = stored_objects.get_or_404(app, "subscriptions", subscription_id, "subscription", "subscription")
    items = [stored_objects.render_item(app, sub, item) for item in sub["_items"]]
    return paginate(items, params, "/v1/subscription_items")


def _find_item(app, item_id):
    for sub in app.state.all("subscriptions"):
        for item in sub["_items"]:
            if item["id"] == item_id:
                return sub, item
    raise not_found("subscription_item", item_id)


@handles("GET /v1/subscription_items/{item}")
def subscription_item_retrieve(app, request, params, item_id):
    sub, item = _find_item(app, item_id)
    return stored_objects.render_item(app, sub, item)


@handles("POST /v1/subscription_items")
def subscription_item_create(app, request, params):
    """The same change as ``items[]`` on a subscription update (prorations included)."""
    sub = stored_objects.get_or_404(app, "subscriptions", params["subscription"], "subscription", "subscription")
    before_ids = {item["id"] for item in sub["_items"]}
    item_request = {key: params[key] for key in ITEM_FIELDS if key in params}
    subscription_changes.update_subscription(app, sub, {**_change_options(params), "items": [item_request]})
    created = next(item for item in sub["_items"] if item["id"] not in before_ids)
    return stored_objects.render_item(app, sub, created)


@handles("POST /v1/subscription_items/{item}")
def subscription_item_update(app, request, params, item_id):
    sub, item = _find_item(app, item_id)
    item_request = {key: params[key] for key in ITEM_FIELDS if key in params}
    subscription_changes.update_subscription(
        app, sub, {**_change_options(params), "items": [{"id": item_id, **item_request}]}
    )
    return stored_objects.render_item(app, sub, next(i for i in sub["_items"] if i["id"] == item_id))


@handles("DELETE /v1/subscription_items/{item}")
def subscription_item_delete(app, request, params, item_id):
    sub, item = _find_item(app, item_id)
    if len(sub["_items"]) == 1:
        raise invalid_request(
            "A subscription must have at least one active plan. To cancel a subscription, please use the "
            "cancel API endpoint on /v1/subscriptions."
        )
    subscription_changes.update_subscription(
        app, sub, {**_change_options(params), "items": [{"id": item_id, "deleted": True}]}
    )
    return {"id": item_id, "object": "subscription_item", "deleted": True}


def _change_options(params):
    return {key: params[key] for key in CHANGE_OPTIONS if key in params}
