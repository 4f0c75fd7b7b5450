"""Customers, their payment methods and sources (``/v1/customers...``)."""

from .. import balances, discounts, payment_methods, stored_objects, subscriptions, taxes
from ..errors import StripeError, card_declined, not_found
from ..events import diff_previous, emit
from ..resources import (
    CARDS,
    build_customer,
    filter_by_created,
    magic_card,
    merge_metadata,
    p_dict,
    p_list,
    p_str,
    paginate,
    public,
    render_card,
)
from ..routing import handles
from ..search import Field, search
from .discounts import legacy_discount_references, remove_discounts
from .tax import create_tax_id, includable_tax_ids

ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
SOURCE_ADDRESS_FIELDS = {
    "address_city": "city",
    "address_country": "country",
    "address_line1": "line1",
    "address_line2": "line2",
    "address_state": "state",
    "address_zip": "postal_code",
}
SEARCH_FIELDS = {
    "created": Field("numeric", lambda c: c["created"]),
    "email": Field("string", lambda c: c.get("email")),
    "name": Field("string", lambda c: c.get("name")),
    "phone": Field("string", lambda c: c.get("phone")),
}


@handles("POST /v1/customers")
def customer_create(app, request, params):
    clock = p_str(params, "test_clock")
    if clock:
        stored_objects.get_or_404(app, "test_clocks", clock, "test_clock", "test_clock")
    at = stored_objects.clock_now(app, clock)
    legacy = _checked_legacy_discount(app, params, None, at)
    tax_id_data = params.get("tax_id_data") or []
    for index, entry in enumerate(tax_id_data):
        taxes.check_tax_id(entry["type"], entry["value"], "tax_id_data[%d][value]" % index)
    customer = build_customer(params, at, clock)
    customer["shipping"] = _shipping(params.get("shipping"))
    app.state.put("customers", customer)
    try:
        source = _attach_initial_payment_methods(app, customer, params)
    except StripeError:
        app.state.delete("customers", customer["id"])
        raise
    if legacy:
        discounts.customer_discount_switch(app, customer, legacy, at)
    rendered = stored_objects.render_customer(app, customer)
    emit(app, "customer.created", rendered)
    if source is not None:
        emit(app, "customer.source.created", render_card(source))
    for entry in tax_id_data:
        create_tax_id(app, customer, entry["type"], entry["value"])
    return _with_includes(app, rendered, params)


def _with_includes(app, rendered, params):
    """``expand[]=tax_ids``: the includable list of the customer's tax IDs; ``expand[]=tax``: where
    automatic tax places the customer (``taxes.customer_tax``)."""
    expand = params.get("expand") or []
    if "tax_ids" in expand and not rendered.get("deleted"):
        rendered["tax_ids"] = includable_tax_ids(app, rendered["id"])
    if "tax" in expand and not rendered.get("deleted"):
        rendered["tax"] = taxes.customer_tax(rendered)
    return rendered


def _shipping(requested):
    if not requested:
        return None
    address = requested.get("address") or {}
    return {
        "address": {k: address.get(k) for k in ADDRESS_FIELDS},
        "carrier": None,
        "name": requested.get("name"),
        "phone": requested.get("phone"),
        "tracking_number": None,
    }


def _attach_initial_payment_methods(app, customer, params):
    resolved = {}
    if p_str(params, "payment_method"):
        payment_methods.resolve_and_attach(app, params["payment_method"], customer, "payment_method", resolved)
    invoice_settings = p_dict(params, "invoice_settings")
    if invoice_settings.get("default_payment_method"):
        pm = payment_methods.resolve_and_attach(
            app,
            invoice_settings["default_payment_method"],
            customer,
            "invoice_settings[default_payment_method]",
            resolved,
        )
        customer["invoice_settings"]["default_payment_method"] = pm["id"]
    if invoice_settings.get("footer"):
        customer["invoice_settings"]["footer"] = invoice_settings["footer"]
    if p_str(params, "source"):
        return add_source(app, customer, params["source"])
    return None


def _checked_legacy_discount(app, params, customer_id, at):
    """An older version's ``coupon``/``promotion_code`` (``""`` removes the discount): the checked
    redemption, None when the request has neither."""
    references = legacy_discount_references(params)
    if references is None:
        return None
    return discounts.check_references(
        app, references[:1], customer_id=customer_id, currency=None, amount=None, at=at, param=None
    )[0]


def add_source(app, customer, token):
    """``source=tok_visa``: a card-like payment method, the default source if none."""
    key = magic_card(token)
    if not key:
        raise not_found("token", token, "source")
    if CARDS[key][2] == "decline_attach":
        raise card_declined(CARDS[key][3], param="source")
    pm = payment_methods.create_card(app, key, prefix="card_")
    pm["customer"] = customer["id"]
    if not customer.get("default_source"):
        customer["default_source"] = pm["id"]
    return pm


@handles("GET /v1/customers/{customer}")
def customer_retrieve(app, request, params, customer_id):
    customer = app.state.get("customers", customer_id)
    if customer is None:
        raise not_found("customer", customer_id)
    return _with_includes(app, stored_objects.render_customer(app, customer), params)


@handles("POST /v1/customers/{customer}")
def customer_update(app, request, params, customer_id):
    customer = stored_objects.live_customer(app, customer_id, "id")
    at = stored_objects.customer_now(app, customer)
    legacy = _checked_legacy_discount(app, params, customer_id, at)
    before = stored_objects.render_customer(app, customer)
    if legacy is not None or params.get("coupon") == "" or params.get("promotion_code") == "":
        discounts.customer_discount_switch(app, customer, legacy, at)
    if params.get("balance") is not None and params["balance"] != customer["balance"]:
        balances.record(
            app,
            customer,
            amount=params["balance"] - customer["balance"],
            currency=customer["currency"] or "usd",
            kind="adjustment",
        )
        before = stored_objects.render_customer(app, customer)
    _update_profile(customer, params)
    _update_payment_defaults(app, customer, params)
    app.state.dirty = True
    after = stored_objects.render_customer(app, customer)
    previous = diff_previous(before, after)
    if previous:
        emit(app, "customer.updated", after, previous)
    return _with_includes(app, after, params)


def _update_profile(customer, params):
    for key in ("email", "name", "description", "phone"):
        if key in params:
            customer[key] = p_str(params, key)
    if "metadata" in params:
        customer["metadata"] = merge_metadata(customer["metadata"], params)
    if "address" in params:
        address = p_dict(params, "address")
        customer["address"] = {k: address.get(k) for k in ADDRESS_FIELDS} if address else None
    if "preferred_locales" in params:
        customer["preferred_locales"] = p_list(params, "preferred_locales")
    if "tax_exempt" in params:
        customer["tax_exempt"] = p_str(params, "tax_exempt", "none")
    if "shipping" in params:
        customer["shipping"] = _shipping(params["shipping"])


def _update_payment_defaults(app, customer, params):
    invoice_settings = params.get("invoice_settings")
    if isinstance(invoice_settings, dict) and "default_payment_method" in invoice_settings:
        reference = invoice_settings["default_payment_method"]
        default = None
        if reference:
            pm = payment_methods.resolve_and_attach(
                app, reference, customer, "invoice_settings[default_payment_method]", {}
            )
            default = pm["id"]
        customer["invoice_settings"]["default_payment_method"] = default
    if p_str(params, "source"):
        source = add_source(app, customer, params["source"])
        customer["default_source"] = source["id"]
        emit(app, "customer.source.created", render_card(source))
    if "default_source" in params:
        source = p_str(params, "default_source")
        if source and not app.state.get("payment_methods", source):
            raise not_found("source", source, "default_source")
        customer["default_source"] = source


@handles("DELETE /v1/customers/{customer}")
def customer_delete(app, request, params, customer_id):
    customer = stored_objects.live_customer(app, customer_id, "id")
    snapshot = stored_objects.render_customer(app, customer)
    for sub in app.state.all("subscriptions"):
        if sub["customer"] == customer_id and sub["status"] not in ("canceled", "incomplete_expired"):
            subscriptions.cancel_subscription(app, sub, stored_objects.customer_now(app, customer))
    for pm in app.state.all("payment_methods"):
        if pm.get("customer") == customer_id:
            pm["customer"] = None
    stub = {
        "id": customer_id,
        "object": "customer",
        "deleted": True,
        "_test_clock": customer.get("test_clock"),
        "_created": customer["created"],
    }
    app.state.put("customers", stub)
    emit(app, "customer.deleted", snapshot)
    return {"id": customer_id, "object": "customer", "deleted": True}


def _live_customers(app):
    return [c for c in app.state.all("customers") if not c.get("deleted")]


@handles("GET /v1/customers")
def customer_list(app, request, params):
    items = _live_customers(app)
    if p_str(params, "email"):
        items = [c for c in items if (c.get("email") or "") == params["email"]]
    if p_str(params, "test_clock"):
        items = [c for c in items if c.get("test_clock") == params["test_clock"]]
    items = filter_by_created(items, params)
    return paginate([stored_objects.render_customer(app, c) for c in items], params, "/v1/customers")


@handles("GET /v1/customers/search")
def customer_search(app, request, params):
    return search(
        _live_customers(app), params, "customers", SEARCH_FIELDS, lambda c: stored_objects.render_customer(app, c)
    )


@handles("DELETE /v1/customers/{customer}/discount")
def customer_discount_delete(app, request, params, customer_id):
    customer = stored_objects.live_customer(app, customer_id, "id")
    before = stored_objects.render_customer(app, customer)
    current = (customer.get("discount") or {}).get("id")
    deleted = remove_discounts(app, customer, [current] if current else [], "customer")
    after = stored_objects.render_customer(app, customer)
    emit(app, "customer.updated", after, diff_previous(before, after))
    return deleted


@handles("GET /v1/customers/{customer}/payment_methods")
def customer_payment_method_list(app, request, params, customer_id):
    stored_objects.live_customer(app, customer_id, "customer")
    items = [pm for pm in app.state.all("payment_methods") if pm.get("customer") == customer_id]
    if p_str(params, "type"):
        items = [pm for pm in items if pm["type"] == params["type"]]
    return paginate([public(pm) for pm in items], params, "/v1/customers/%s/payment_methods" % customer_id)


@handles("GET /v1/customers/{customer}/payment_methods/{payment_method}")
def customer_payment_method_retrieve(app, request, params, customer_id, payment_method_id):
    pm = app.state.get("payment_methods", payment_method_id)
    if pm is None or pm.get("customer") != customer_id:
        raise not_found("payment_method", payment_method_id)
    return public(pm)


@handles("POST /v1/customers/{customer}/sources")
def customer_source_create(app, request, params, customer_id):
    customer = stored_objects.live_customer(app, customer_id, "id")
    before = stored_objects.render_customer(app, customer)
    pm = add_source(app, customer, p_str(params, "source", required=True))
    if "metadata" in params:
        pm["metadata"] = merge_metadata({}, params)
    card = render_card(pm)
    emit(app, "customer.source.created", card)
    after = stored_objects.render_customer(app, customer)
    if before != after:
        emit(app, "customer.updated", after, diff_previous(before, after))
    return card


def _source(app, customer_id, source_id):
    stored_objects.live_customer(app, customer_id, "customer")
    pm = app.state.get("payment_methods", source_id)
    if pm is None or pm.get("customer") != customer_id or not source_id.startswith("card_"):
        raise not_found("source", source_id)
    return pm


@handles("GET /v1/customers/{customer}/sources")
def customer_source_list(app, request, params, customer_id):
    stored_objects.live_customer(app, customer_id, "customer")
    cards = [
        render_card(pm)
        for pm in app.state.all("payment_methods")
        if pm.get("customer") == customer_id and pm["id"].startswith("card_")
    ]
    if p_str(params, "object") not in (None, "card"):
        cards = []
    return paginate(cards, params, "/v1/customers/%s/sources" % customer_id)


@handles("GET /v1/customers/{customer}/sources/{id}")
def customer_source_retrieve(app, request, params, customer_id, source_id):
    return render_card(_source(app, customer_id, source_id))


@handles("POST /v1/customers/{customer}/sources/{id}")
def customer_source_update(app, request, params, customer_id, source_id):
    """Card details a customer can change: name, expiry, address, metadata."""
    pm = _source(app, customer_id, source_id)
    before = render_card(pm)
    if "metadata" in params:
        pm["metadata"] = merge_metadata(pm["metadata"], params)
    if "name" in params:
        pm["billing_details"]["name"] = params["name"] or None
    for key in ("exp_month", "exp_year"):
        if params.get(key):
            pm["card"][key] = int(params[key])
    for param, field in SOURCE_ADDRESS_FIELDS.items():
        if param in params:
            pm["billing_details"]["address"][field] = params[param] or None
    after = render_card(pm)
    previous = diff_previous(before, after)
    if previous:
        app.state.dirty = True
        emit(app, "customer.source.updated", after, previous)
    return after


@handles("DELETE /v1/customers/{customer}/sources/{id}")
def customer_source_delete(app, request, params, customer_id, source_id):
    pm = _source(app, customer_id, source_id)
    customer = app.state.get("customers", customer_id)
    before = stored_objects.render_customer(app, customer)
    card = render_card(pm)
    pm["customer"] = None
    if customer.get("default_source") == source_id:
        customer["default_source"] = None
    app.state.dirty = True
    emit(app, "customer.source.deleted", card)
    after = stored_objects.render_customer(app, customer)
    if before != after:
        emit(app, "customer.updated", after, diff_previous(before, after))
    return {"id": source_id, "object": "card", "deleted": True}
