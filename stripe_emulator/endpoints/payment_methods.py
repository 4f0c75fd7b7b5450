"""Card payment methods (``/v1/payment_methods``), including Stripe's magic
test ids (``pm_card_visa``) which name a card without creating one."""

from .. import payment_methods, stored_objects
from ..errors import invalid_request
from ..events import diff_previous, emit
from ..resources import build_payment_method, magic_card, merge_metadata, now, p_dict, p_str, paginate, public
from ..routing import handles


@handles("POST /v1/payment_methods")
def payment_method_create(app, request, params):
    """Cards (test numbers and tokens) and SEPA Direct Debit (test IBANs)."""
    pm = payment_methods.create_from_params(app, params)
    if p_str(params, "customer"):
        customer = stored_objects.live_customer(app, params["customer"])
        payment_methods.attach(app, pm, customer, "customer")
    return public(pm)


@handles("GET /v1/payment_methods/{payment_method}")
def payment_method_retrieve(app, request, params, payment_method_id):
    key = magic_card(payment_method_id)
    if key and not app.state.get("payment_methods", payment_method_id):
        pm = build_payment_method(key, now())
        pm["id"] = payment_method_id
        return public(pm)
    return public(stored_objects.get_or_404(app, "payment_methods", payment_method_id, "PaymentMethod"))


@handles("POST /v1/payment_methods/{payment_method}")
def payment_method_update(app, request, params, payment_method_id):
    pm = stored_objects.get_or_404(app, "payment_methods", payment_method_id, "PaymentMethod")
    before = public(pm)
    if "metadata" in params:
        pm["metadata"] = merge_metadata(pm["metadata"], params)
    billing_details = p_dict(params, "billing_details")
    for key in ("email", "name", "phone"):
        if key in billing_details:
            pm["billing_details"][key] = billing_details[key] or None
    card = p_dict(params, "card")
    for key in ("exp_month", "exp_year"):
        if card.get(key):
            pm["card"][key] = int(card[key])
    after = public(pm)
    previous = diff_previous(before, after)
    if previous:
        emit(app, "payment_method.updated", after, previous)
    return after


@handles("POST /v1/payment_methods/{payment_method}/attach")
def payment_method_attach(app, request, params, payment_method_id):
    customer = stored_objects.live_customer(app, p_str(params, "customer", required=True))
    return public(payment_methods.resolve_and_attach(app, payment_method_id, customer, "payment_method"))


@handles("POST /v1/payment_methods/{payment_method}/detach")
def payment_method_detach(app, request, params, payment_method_id):
    pm = stored_objects.get_or_404(app, "payment_methods", payment_method_id, "PaymentMethod")
    if not pm.get("customer"):
        raise invalid_request(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
            code="payment_method_unexpected_state",
        )
    previous_customer = pm["customer"]
    pm["customer"] = None
    _forget_as_default(app, app.state.get("customers", previous_customer), payment_method_id)
    app.state.dirty = True
    emit(app, "payment_method.detached", public(pm), {"customer": previous_customer})
    return public(pm)


def _forget_as_default(app, customer, payment_method_id):
    if not customer or customer.get("deleted"):
        return
    before = stored_objects.render_customer(app, customer)
    if customer["invoice_settings"].get("default_payment_method") == payment_method_id:
        customer["invoice_settings"]["default_payment_method"] = None
    if customer.get("default_source") == payment_method_id:
        customer["default_source"] = None
    after = stored_objects.render_customer(app, customer)
    if before != after:
        emit(app, "customer.updated", after, diff_previous(before, after))


@handles("GET /v1/payment_methods")
def payment_method_list(app, request, params):
    items = app.state.all("payment_methods")
    if p_str(params, "customer"):
        stored_objects.live_customer(app, params["customer"])
        items = [pm for pm in items if pm.get("customer") == params["customer"]]
    if p_str(params, "type"):
        items = [pm for pm in items if pm["type"] == params["type"]]
    return paginate([public(pm) for pm in items], params, "/v1/payment_methods")
