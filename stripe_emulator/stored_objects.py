"""The stored objects every lifecycle module reads: a live object or Stripe's 404 (``get_or_404``,
``live_customer``), the time on a customer's test clock (``clock_now``, ``customer_now``), customers and
subscriptions as the API renders them, a subscription's period end, and ``subscription_changed``
(``customer.subscription.updated`` with what changed).  The lowest layer of the billing lifecycle: it
imports none of it (stripe_emulator/README.md, *Layout*).  Every function expects the state lock held."""

import time

from . import taxes
from .errors import not_found
from .events import diff_previous, emit
from .resources import list_object, plan_from_price, public

# ---------------------------------------------------------------------------
# lookups and the clock


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


# ---------------------------------------------------------------------------
# rendering


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


def period_end(sub):
    return min(it["current_period_end"] for it in sub["_items"])


def subscription_changed(app, sub, before, event_type="customer.subscription.updated"):
    app.state.dirty = True
    after = render_subscription(app, sub)
    prev = diff_previous(before, after)
    if prev:
        emit(app, event_type, after, prev)
    return after
