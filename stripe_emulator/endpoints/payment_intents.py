"""PaymentIntents and SetupIntents (``/v1/payment_intents``, ``/v1/setup_intents``); the lifecycles are
``payments.py``'s and ``setup_intents.py``'s."""

from .. import payment_methods, payments, setup_intents, stored_objects
from ..errors import invalid_request
from ..resources import filter_by, filter_by_created, merge_metadata, p_str, paginate, public
from ..routing import handles
from ..search import Field, search

SEARCH_FIELDS = {
    "amount": Field("numeric", lambda i: i["amount"]),
    "created": Field("numeric", lambda i: i["created"]),
    "currency": Field("token", lambda i: i["currency"]),
    "customer": Field("string", lambda i: i.get("customer")),
    "status": Field("token", lambda i: i["status"]),
}


def _intent(app, intent_id):
    return stored_objects.get_or_404(app, "payment_intents", intent_id, "payment_intent")


def _created_at(app, params):
    """The customer's (test clock) time, else now."""
    customer = app.state.get("customers", params.get("customer") or "")
    return stored_objects.customer_now(app, customer) if customer else stored_objects.clock_now(app, None)


@handles("POST /v1/payment_intents")
def payment_intent_create(app, request, params):
    return public(payments.create_payment_intent(app, params, _created_at(app, params)))


@handles("GET /v1/payment_intents/{intent}")
def payment_intent_retrieve(app, request, params, intent_id):
    return public(_intent(app, intent_id))


@handles("POST /v1/payment_intents/{intent}")
def payment_intent_update(app, request, params, intent_id):
    return public(payments.update_payment_intent(app, _intent(app, intent_id), params))


@handles("POST /v1/payment_intents/{intent}/confirm")
def payment_intent_confirm(app, request, params, intent_id):
    intent = _intent(app, intent_id)
    payments.confirm_payment_intent(app, intent, params, payments.intent_now(app, intent))
    return public(intent)


@handles("POST /v1/payment_intents/{intent}/capture")
def payment_intent_capture(app, request, params, intent_id):
    intent = _intent(app, intent_id)
    return public(payments.capture_payment_intent(app, intent, params, payments.intent_now(app, intent)))


@handles("POST /v1/payment_intents/{intent}/cancel")
def payment_intent_cancel(app, request, params, intent_id):
    intent = _intent(app, intent_id)
    if intent.get("_invoice"):
        raise invalid_request(
            "This PaymentIntent belongs to invoice %s: void the invoice instead." % intent["_invoice"],
            code="payment_intent_unexpected_state",
        )
    reason = p_str(params, "cancellation_reason")
    return public(payments.cancel_payment_intent(app, intent, reason, payments.intent_now(app, intent)))


@handles("GET /v1/payment_intents")
def payment_intent_list(app, request, params):
    items = filter_by_created(filter_by(app.state.all("payment_intents"), params, "customer"), params)
    return paginate([public(i) for i in items], params, "/v1/payment_intents")


@handles("GET /v1/payment_intents/search")
def payment_intent_search(app, request, params):
    return search(app.state.all("payment_intents"), params, "payment_intents", SEARCH_FIELDS, public)


# ---------------------------------------------------------------------------
# SetupIntents


def _setup_intent(app, intent_id):
    return stored_objects.get_or_404(app, "setup_intents", intent_id, "setup_intent")


@handles("POST /v1/setup_intents")
def setup_intent_create(app, request, params):
    return public(setup_intents.create_setup_intent(app, params, _created_at(app, params)))


@handles("GET /v1/setup_intents/{intent}")
def setup_intent_retrieve(app, request, params, intent_id):
    return public(_setup_intent(app, intent_id))


@handles("POST /v1/setup_intents/{intent}")
def setup_intent_update(app, request, params, intent_id):
    intent = _setup_intent(app, intent_id)
    if intent["status"] not in payments.CONFIRMABLE:
        raise invalid_request(
            "This SetupIntent could not be updated because it has a status of %s." % intent["status"],
            code="setup_intent_unexpected_state",
        )
    if "description" in params:
        intent["description"] = params["description"] or None
    if "metadata" in params:
        intent["metadata"] = merge_metadata(intent["metadata"], params)
    if "customer" in params:
        intent["customer"] = stored_objects.live_customer(app, params["customer"])["id"]
    pm = payment_methods.from_params(app, params, intent["customer"])
    if pm is not None:
        intent.update(payment_method=pm["id"], status="requires_confirmation")
    app.state.dirty = True
    return public(intent)


@handles("POST /v1/setup_intents/{intent}/confirm")
def setup_intent_confirm(app, request, params, intent_id):
    intent = _setup_intent(app, intent_id)
    setup_intents.confirm_setup_intent(app, intent, params)
    return public(intent)


@handles("POST /v1/setup_intents/{intent}/cancel")
def setup_intent_cancel(app, request, params, intent_id):
    intent = _setup_intent(app, intent_id)
    return public(setup_intents.cancel_setup_intent(app, intent, p_str(params, "cancellation_reason")))


@handles("GET /v1/setup_intents")
def setup_intent_list(app, request, params):
    items = filter_by_created(filter_by(app.state.all("setup_intents"), params, "customer", "payment_method"), params)
    return paginate([public(i) for i in items], params, "/v1/setup_intents")
