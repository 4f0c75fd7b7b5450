"""Test clocks: frozen time for customers, advanced on request."""

from .. import stored_objects, time_passing
from ..errors import invalid
from ..events import emit
from ..resources import now, p_int, p_str, paginate, public
from ..routing import handles
from ..store import new_id

CLOCK_LIFETIME = 30 * 86400
CUSTOMER_OWNED = (
    "subscriptions",
    "subscription_schedules",
    "invoices",
    "invoiceitems",
    "discounts",
    "customer_balance_transactions",
    "payment_intents",
    "setup_intents",
    "charges",
    "credit_notes",
)


@handles("POST /v1/test_helpers/test_clocks")
def test_clock_create(app, request, params):
    created = now()
    clock = {
        "id": new_id("clock_"),
        "object": "test_helpers.test_clock",
        "created": created,
        "deletes_after": created + CLOCK_LIFETIME,
        "frozen_time": p_int(params, "frozen_time", required=True),
        "livemode": False,
        "name": p_str(params, "name"),
        "status": "ready",
        "status_details": {},
    }
    app.state.put("test_clocks", clock)
    emit(app, "test_helpers.test_clock.created", public(clock))
    return public(clock)


@handles("GET /v1/test_helpers/test_clocks/{test_clock}")
def test_clock_retrieve(app, request, params, clock_id):
    return public(stored_objects.get_or_404(app, "test_clocks", clock_id, "test_clock"))


@handles("GET /v1/test_helpers/test_clocks")
def test_clock_list(app, request, params):
    return paginate([public(c) for c in app.state.all("test_clocks")], params, "/v1/test_helpers/test_clocks")


@handles("DELETE /v1/test_helpers/test_clocks/{test_clock}")
def test_clock_delete(app, request, params, clock_id):
    """Deletes the clock's customers and everything they own, without events (as Stripe)."""
    clock = stored_objects.get_or_404(app, "test_clocks", clock_id, "test_clock")
    state = app.state
    for customer in state.all("customers"):
        if clock_id in (customer.get("test_clock"), customer.get("_test_clock")):
            _delete_customer_objects(state, customer["id"])
    state.delete("test_clocks", clock_id)
    emit(app, "test_helpers.test_clock.deleted", public(clock))
    return {"id": clock_id, "object": "test_helpers.test_clock", "deleted": True}


def _delete_customer_objects(state, customer_id):
    for collection in CUSTOMER_OWNED:
        for obj in state.all(collection):
            if obj.get("customer") == customer_id:
                state.delete(collection, obj["id"])
    state.delete("customers", customer_id)
    state.ent_summary.pop(customer_id, None)


@handles("POST /v1/test_helpers/test_clocks/{test_clock}/advance")
def test_clock_advance(app, request, params, clock_id):
    clock = stored_objects.get_or_404(app, "test_clocks", clock_id, "test_clock")
    target = p_int(params, "frozen_time", required=True)
    if target < clock["frozen_time"]:
        raise invalid(
            "frozen_time",
            "The frozen_time must be after the current frozen_time of the test clock.",
            code="parameter_invalid_integer",
        )
    clock["status"] = "advancing"
    emit(app, "test_helpers.test_clock.advancing", public(clock))
    customer_ids = {c["id"] for c in app.state.all("customers") if c.get("test_clock") == clock_id}
    subscriptions = [s for s in app.state.all("subscriptions")[::-1] if s["customer"] in customer_ids]
    schedules = [s for s in app.state.all("subscription_schedules")[::-1] if s["customer"] in customer_ids]
    # objects created while advancing take the time of the transition
    time_passing.advance(app, subscriptions, target, schedules)
    clock["frozen_time"] = target
    clock["status"] = "ready"
    app.state.dirty = True
    emit(app, "test_helpers.test_clock.ready", public(clock))
    return public(clock)
