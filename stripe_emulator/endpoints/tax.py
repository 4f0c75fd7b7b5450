"""Tax rates (``/v1/tax_rates``) and tax IDs (``/v1/customers/{customer}/tax_ids``
and ``/v1/tax_ids``).  What rates add to invoices and the tax ID format check
live in ``taxes.py``."""

from .. import stored_objects, taxes
from ..errors import invalid_request, not_found
from ..events import diff_previous, emit
from ..resources import filter_by_created, merge_metadata, now, paginate, public
from ..routing import handles

RATE_UPDATABLE = ("active", "country", "description", "display_name", "jurisdiction", "state", "tax_type")


# ---------------------------------------------------------------------------
# tax rates


@handles("POST /v1/tax_rates")
def tax_rate_create(app, request, params):
    rate = taxes.build_tax_rate(params, now())
    app.state.put("tax_rates", rate)
    emit(app, "tax_rate.created", public(rate))
    return public(rate)


@handles("GET /v1/tax_rates/{tax_rate}")
def tax_rate_retrieve(app, request, params, rate_id):
    return public(stored_objects.get_or_404(app, "tax_rates", rate_id, "tax rate"))


@handles("POST /v1/tax_rates/{tax_rate}")
def tax_rate_update(app, request, params, rate_id):
    """``percentage`` and ``inclusive`` cannot change (Stripe's API has no such parameters)."""
    rate = stored_objects.get_or_404(app, "tax_rates", rate_id, "tax rate")
    before = public(rate)
    for key in RATE_UPDATABLE:
        if key in params:
            rate[key] = params[key]
    if "metadata" in params:
        rate["metadata"] = merge_metadata(rate["metadata"], params)
    after = public(rate)
    previous = diff_previous(before, after)
    if previous:
        app.state.dirty = True
        emit(app, "tax_rate.updated", after, previous)
    return after


@handles("GET /v1/tax_rates")
def tax_rate_list(app, request, params):
    """Filters: ``active``, ``inclusive``, ``created``."""
    rates = filter_by_created(app.state.all("tax_rates"), params)
    for key in ("active", "inclusive"):
        if key in params:
            rates = [rate for rate in rates if rate[key] == params[key]]
    return paginate([public(rate) for rate in rates], params, "/v1/tax_rates")


# ---------------------------------------------------------------------------
# tax IDs


def create_tax_id(app, customer, type_, value, param="value"):
    """A customer's new tax ID (format checked), with ``customer.tax_id.created``."""
    tax_id = taxes.build_tax_id(type_, value, {"type": "customer", "customer": customer["id"]}, now(), param)
    app.state.put("tax_ids", tax_id)
    emit(app, "customer.tax_id.created", public(tax_id))
    return tax_id


def delete_tax_id(app, tax_id):
    app.state.delete("tax_ids", tax_id["id"])
    if tax_id["customer"]:
        emit(app, "customer.tax_id.deleted", public(tax_id))
    return {"id": tax_id["id"], "object": "tax_id", "deleted": True}


def includable_tax_ids(app, customer_id):
    """The includable ``customer.tax_ids`` list (``expand[]=tax_ids``), newest first."""
    data = [public(t) for t in taxes.customer_tax_ids(app, customer_id)][::-1]
    url = "/v1/customers/%s/tax_ids" % customer_id
    return {"object": "list", "data": data[:10], "has_more": len(data) > 10, "url": url}


def _customer_tax_id(app, customer_id, tax_id_id):
    tax_id = app.state.get("tax_ids", tax_id_id)
    if tax_id is None or tax_id["customer"] != customer_id:
        raise not_found("tax_id", tax_id_id)
    return tax_id


@handles("POST /v1/customers/{customer}/tax_ids")
def customer_tax_id_create(app, request, params, customer_id):
    customer = stored_objects.live_customer(app, customer_id, "id")
    return public(create_tax_id(app, customer, params["type"], params["value"]))


@handles("GET /v1/customers/{customer}/tax_ids")
def customer_tax_id_list_handler(app, request, params, customer_id):
    stored_objects.live_customer(app, customer_id, "id")
    data = [public(t) for t in taxes.customer_tax_ids(app, customer_id)][::-1]
    return paginate(data, params, "/v1/customers/%s/tax_ids" % customer_id)


@handles("GET /v1/customers/{customer}/tax_ids/{id}")
def customer_tax_id_retrieve(app, request, params, customer_id, tax_id_id):
    return public(_customer_tax_id(app, customer_id, tax_id_id))


@handles("DELETE /v1/customers/{customer}/tax_ids/{id}")
def customer_tax_id_delete(app, request, params, customer_id, tax_id_id):
    return delete_tax_id(app, _customer_tax_id(app, customer_id, tax_id_id))


@handles("POST /v1/tax_ids")
def tax_id_create(app, request, params):
    """``owner[type]`` ``customer`` (with ``owner[customer]``) or ``self`` (the account's own ID);
    Connect owners (``account``, ``application``) are not emulated."""
    owner = params.get("owner") or {"type": "self"}
    if owner["type"] in ("account", "application"):
        raise invalid_request("Connect accounts are not emulated.", param="owner[type]")
    if owner["type"] == "customer":
        customer = stored_objects.live_customer(app, owner.get("customer"), "owner[customer]")
        return public(create_tax_id(app, customer, params["type"], params["value"]))
    tax_id = taxes.build_tax_id(params["type"], params["value"], {"type": "self"}, now())
    app.state.put("tax_ids", tax_id)
    return public(tax_id)


def _owned_by(tax_id, owner):
    if owner.get("type") == "customer":
        return tax_id["customer"] == owner.get("customer")
    return tax_id["owner"]["type"] == owner.get("type")


@handles("GET /v1/tax_ids")
def tax_id_list(app, request, params):
    """``owner`` filters (default: the account's own IDs, ``owner[type]=self``)."""
    owner = params.get("owner") or {"type": "self"}
    tax_ids = [public(t) for t in app.state.all("tax_ids") if _owned_by(t, owner)]
    return paginate(tax_ids, params, "/v1/tax_ids")


@handles("GET /v1/tax_ids/{id}")
def tax_id_retrieve(app, request, params, tax_id_id):
    return public(stored_objects.get_or_404(app, "tax_ids", tax_id_id, "tax_id"))


@handles("DELETE /v1/tax_ids/{id}")
def tax_id_delete(app, request, params, tax_id_id):
    return delete_tax_id(app, stored_objects.get_or_404(app, "tax_ids", tax_id_id, "tax_id"))
