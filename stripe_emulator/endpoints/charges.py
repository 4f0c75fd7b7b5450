"""Charges, refunds, disputes (``/v1/charges``, ``/v1/refunds``,
``/v1/disputes``) and invoice payments (``/v1/invoice_payments``).  Charges
are made by PaymentIntents (``payments.py``); the logic is ``charges.py``."""

from .. import charges, payments, stored_objects
from ..errors import invalid_request
from ..events import diff_previous, emit
from ..resources import filter_by, filter_by_created, merge_metadata, p_bool, p_dict, p_int, p_str, paginate, public
from ..routing import handles
from ..search import Field, search

SEARCH_FIELDS = {
    "amount": Field("numeric", lambda c: c["amount"]),
    "created": Field("numeric", lambda c: c["created"]),
    "currency": Field("token", lambda c: c["currency"]),
    "customer": Field("string", lambda c: c.get("customer")),
    "payment_intent": Field("string", lambda c: c.get("payment_intent")),
    "status": Field("token", lambda c: c["status"]),
}


def _charge(app, charge_id, param="id"):
    return stored_objects.get_or_404(app, "charges", charge_id, "charge", param)


@handles("GET /v1/charges/{charge}")
def charge_retrieve(app, request, params, charge_id):
    return charges.render_charge(app, _charge(app, charge_id))


@handles("POST /v1/charges/{charge}")
def charge_update(app, request, params, charge_id):
    charge = _charge(app, charge_id)
    before = charges.render_charge(app, charge)
    if "metadata" in params:
        charge["metadata"] = merge_metadata(charge["metadata"], params)
    for key in ("description", "receipt_email"):
        if key in params:
            charge[key] = params[key] or None
    after = charges.render_charge(app, charge)
    previous = diff_previous(before, after)
    if previous:
        app.state.dirty = True
        emit(app, "charge.updated", after, previous)
    return after


@handles("POST /v1/charges/{charge}/capture")
def charge_capture(app, request, params, charge_id):
    """Captures the charge's PaymentIntent (``capture_method=manual``)."""
    charge = _charge(app, charge_id)
    intent = app.state.get("payment_intents", charge["payment_intent"])
    amount = p_int(params, "amount")
    payments.capture_payment_intent(
        app, intent, {"amount_to_capture": amount} if amount else {}, payments.intent_now(app, intent)
    )
    return charges.render_charge(app, charge)


@handles("GET /v1/charges")
def charge_list(app, request, params):
    items = filter_by_created(filter_by(app.state.all("charges"), params, "customer", "payment_intent"), params)
    return paginate([charges.render_charge(app, c) for c in items], params, "/v1/charges")


@handles("GET /v1/charges/search")
def charge_search(app, request, params):
    return search(app.state.all("charges"), params, "charges", SEARCH_FIELDS, lambda c: charges.render_charge(app, c))


# ---------------------------------------------------------------------------
# refunds


@handles("POST /v1/refunds")
def refund_create(app, request, params):
    if p_str(params, "charge"):
        charge = _charge(app, params["charge"], "charge")
    elif p_str(params, "payment_intent"):
        intent = stored_objects.get_or_404(
            app, "payment_intents", params["payment_intent"], "payment_intent", "payment_intent"
        )
        if intent["status"] != "succeeded":
            raise invalid_request(
                "This PaymentIntent (%s) does not have a successful charge to refund." % intent["id"],
                param="payment_intent",
            )
        charge = app.state.get("charges", intent["latest_charge"])
    else:
        raise invalid_request(
            "One of the following params should be provided for this request: payment_intent or charge."
        )
    intent = app.state.get("payment_intents", charge["payment_intent"] or "")
    at = payments.intent_now(app, intent) if intent else stored_objects.clock_now(app, None)
    metadata = merge_metadata({}, params)
    created = charges.refund(
        app, charge, amount=p_int(params, "amount"), reason=p_str(params, "reason"), metadata=metadata, at=at
    )
    return public(created)


@handles("GET /v1/refunds/{refund}")
def refund_retrieve(app, request, params, refund_id):
    return public(stored_objects.get_or_404(app, "refunds", refund_id, "refund"))


@handles("POST /v1/refunds/{refund}")
def refund_update(app, request, params, refund_id):
    refund = stored_objects.get_or_404(app, "refunds", refund_id, "refund")
    return charges.update_refund(app, refund, merge_metadata(refund["metadata"], params))


@handles("POST /v1/refunds/{refund}/cancel")
def refund_cancel(app, request, params, refund_id):
    refund = stored_objects.get_or_404(app, "refunds", refund_id, "refund")
    raise invalid_request(
        "Refund %s cannot be canceled because it has a status of %s. Only a refund with a status of "
        "requires_action can be canceled." % (refund["id"], refund["status"]),
        code="refund_invalid_state",
    )


@handles("GET /v1/refunds")
def refund_list(app, request, params):
    items = filter_by_created(filter_by(app.state.all("refunds"), params, "charge", "payment_intent"), params)
    return paginate([public(r) for r in items], params, "/v1/refunds")


# ---------------------------------------------------------------------------
# disputes


@handles("GET /v1/disputes/{dispute}")
def dispute_retrieve(app, request, params, dispute_id):
    return public(stored_objects.get_or_404(app, "disputes", dispute_id, "dispute"))


@handles("POST /v1/disputes/{dispute}")
def dispute_update(app, request, params, dispute_id):
    dispute = stored_objects.get_or_404(app, "disputes", dispute_id, "dispute")
    metadata = merge_metadata(dispute["metadata"], params) if "metadata" in params else None
    evidence = p_dict(params, "evidence")
    return charges.update_dispute(
        app, dispute, evidence=evidence, metadata=metadata, submit=p_bool(params, "submit", False)
    )


@handles("POST /v1/disputes/{dispute}/close")
def dispute_close(app, request, params, dispute_id):
    return charges.close_dispute(app, stored_objects.get_or_404(app, "disputes", dispute_id, "dispute"))


@handles("GET /v1/disputes")
def dispute_list(app, request, params):
    items = filter_by_created(filter_by(app.state.all("disputes"), params, "charge", "payment_intent"), params)
    return paginate([public(d) for d in items], params, "/v1/disputes")


# ---------------------------------------------------------------------------
# invoice payments


@handles("GET /v1/invoice_payments/{invoice_payment}")
def invoice_payment_retrieve(app, request, params, payment_id):
    return public(stored_objects.get_or_404(app, "invoice_payments", payment_id, "invoice_payment"))


@handles("GET /v1/invoice_payments")
def invoice_payment_list(app, request, params):
    items = filter_by(app.state.all("invoice_payments"), params, "invoice", "status")
    payment = p_dict(params, "payment")
    if payment.get("payment_intent"):
        items = [p for p in items if p["payment"].get("payment_intent") == payment["payment_intent"]]
    return paginate([public(p) for p in items], params, "/v1/invoice_payments")
