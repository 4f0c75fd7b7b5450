"""The catalog: products, prices and legacy plans (a plan is also a price)."""

from .. import stored_objects
from ..errors import invalid_request, missing
from ..events import diff_previous, emit
from ..resources import (
    build_price,
    build_product,
    filter_by_created,
    merge_metadata,
    now,
    p_bool,
    p_dict,
    p_int,
    p_list,
    p_str,
    paginate,
    plan_from_price,
    public,
)
from ..routing import handles
from ..search import Field, search

PRODUCT_SEARCH_FIELDS = {
    "active": Field("boolean", lambda p: p["active"]),
    "description": Field("string", lambda p: p.get("description")),
    "name": Field("string", lambda p: p.get("name")),
    "shippable": Field("boolean", lambda p: p.get("shippable")),
    "url": Field("string", lambda p: p.get("url")),
}
PRICE_SEARCH_FIELDS = {
    "active": Field("boolean", lambda p: p["active"]),
    "currency": Field("token", lambda p: p["currency"]),
    "lookup_key": Field("string", lambda p: p.get("lookup_key")),
    "product": Field("string", lambda p: p["product"]),
    "type": Field("token", lambda p: p["type"]),
}
PRODUCT_TEXT_FIELDS = ("name", "description", "statement_descriptor", "unit_label", "url", "tax_code")


def filter_active(items, params):
    if "active" in params:
        return [o for o in items if o["active"] == p_bool(params, "active")]
    return items


# ---------------------------------------------------------------------------
# products


@handles("POST /v1/products")
def product_create(app, request, params):
    product = build_product(params, now())
    if app.state.get("products", product["id"]):
        raise invalid_request("Product already exists.", code="resource_already_exists", param="id")
    app.state.put("products", product)
    emit(app, "product.created", public(product))
    default_price = p_dict(params, "default_price_data")
    if default_price:
        price = build_price(default_price, now(), product["id"])
        app.state.put("prices", price)
        emit(app, "price.created", public(price))
        product["default_price"] = price["id"]
    return public(product)


@handles("GET /v1/products/{id}")
def product_retrieve(app, request, params, product_id):
    return public(stored_objects.get_or_404(app, "products", product_id, "product"))


@handles("POST /v1/products/{id}")
def product_update(app, request, params, product_id):
    product = stored_objects.get_or_404(app, "products", product_id, "product")
    before = public(product)
    for key in PRODUCT_TEXT_FIELDS:
        if key in params:
            product[key] = p_str(params, key)
    if "active" in params:
        product["active"] = p_bool(params, "active")
    if "default_price" in params:
        default_price = p_str(params, "default_price")
        if default_price:
            stored_objects.get_or_404(app, "prices", default_price, "price", "default_price")
        product["default_price"] = default_price
    if "metadata" in params:
        product["metadata"] = merge_metadata(product["metadata"], params)
    if "marketing_features" in params:
        features = p_list(params, "marketing_features")
        product["marketing_features"] = [{"name": f.get("name")} for f in features if isinstance(f, dict)]
    after = public(product)
    previous = diff_previous(before, after)
    if previous:
        product["updated"] = now()
        after = public(product)
        emit(app, "product.updated", after, previous)
    return after


@handles("DELETE /v1/products/{id}")
def product_delete(app, request, params, product_id):
    product = stored_objects.get_or_404(app, "products", product_id, "product")
    if any(p["product"] == product_id for p in app.state.all("prices")):
        raise invalid_request("This product cannot be deleted because it has one or more user-created prices.")
    app.state.delete("products", product_id)
    emit(app, "product.deleted", public(product))
    return {"id": product_id, "object": "product", "deleted": True}


@handles("GET /v1/products")
def product_list(app, request, params):
    items = filter_active(app.state.all("products"), params)
    ids = p_list(params, "ids")
    if ids:
        items = [p for p in items if p["id"] in ids]
    items = filter_by_created(items, params)
    return paginate([public(p) for p in items], params, "/v1/products")


@handles("GET /v1/products/search")
def product_search(app, request, params):
    return search(app.state.all("products"), params, "products", PRODUCT_SEARCH_FIELDS, public)


# ---------------------------------------------------------------------------
# prices


def _release_lookup_key(app, key, new_owner_id):
    """``transfer_lookup_key``: the key moves to the new price."""
    for other in app.state.all("prices"):
        if other.get("lookup_key") == key and other["id"] != new_owner_id:
            before = public(other)
            other["lookup_key"] = None
            emit(app, "price.updated", public(other), diff_previous(before, public(other)))


def _check_lookup_key(app, params, own_id=None):
    key = p_str(params, "lookup_key")
    if not key:
        return
    holders = [p for p in app.state.all("prices") if p.get("lookup_key") == key and p["id"] != own_id]
    if holders and not p_bool(params, "transfer_lookup_key", False):
        raise invalid_request("A price (`%s`) already uses that lookup key." % holders[0]["id"], param="lookup_key")


def _check_meter(app, recurring):
    """Since 2025-03-31.basil a metered price needs an active meter (legacy usage records are gone)."""
    if recurring.get("usage_type") != "metered":
        return
    if not recurring.get("meter"):
        raise missing("recurring[meter]")
    meter = stored_objects.get_or_404(app, "billing_meters", recurring["meter"], "billing.meter", "recurring[meter]")
    if meter["status"] != "active":
        raise invalid_request("You can't attach a deactivated meter to a price.", param="recurring[meter]")


@handles("POST /v1/prices")
def price_create(app, request, params):
    created = now()
    product_id = p_str(params, "product")
    product_data = p_dict(params, "product_data")
    if product_id:
        stored_objects.get_or_404(app, "products", product_id, "product", "product")
    elif product_data:
        product = build_product(product_data, created)
        app.state.put("products", product)
        emit(app, "product.created", public(product))
        product_id = product["id"]
    else:
        raise missing("product")
    _check_lookup_key(app, params)
    _check_meter(app, p_dict(params, "recurring"))
    price = build_price(params, created, product_id)
    if price["lookup_key"]:
        _release_lookup_key(app, price["lookup_key"], price["id"])
    app.state.put("prices", price)
    emit(app, "price.created", public(price))
    return public(price)


@handles("GET /v1/prices/{price}")
def price_retrieve(app, request, params, price_id):
    return public(stored_objects.get_or_404(app, "prices", price_id, "price"))


@handles("POST /v1/prices/{price}")
def price_update(app, request, params, price_id):
    price = stored_objects.get_or_404(app, "prices", price_id, "price")
    before = public(price)
    if "active" in params:
        price["active"] = p_bool(params, "active")
    for key in ("nickname", "tax_behavior"):
        if key in params:
            price[key] = p_str(params, key)
    if "metadata" in params:
        price["metadata"] = merge_metadata(price["metadata"], params)
    if "lookup_key" in params:
        _check_lookup_key(app, params, price_id)
        key = p_str(params, "lookup_key")
        if key:
            _release_lookup_key(app, key, price_id)
        price["lookup_key"] = key
    after = public(price)
    previous = diff_previous(before, after)
    if previous:
        emit(app, "price.updated", after, previous)
        if app.state.get("plans", price_id):
            app.state.put("plans", plan_from_price(price))
    return after


@handles("GET /v1/prices")
def price_list(app, request, params):
    items = filter_active(app.state.all("prices"), params)
    for key in ("product", "type"):
        if p_str(params, key):
            items = [p for p in items if p[key] == params[key]]
    if p_str(params, "currency"):
        items = [p for p in items if p["currency"] == params["currency"].lower()]
    keys = p_list(params, "lookup_keys")
    if keys:
        items = [p for p in items if p.get("lookup_key") in keys]
    interval = p_dict(params, "recurring").get("interval")
    if interval:
        items = [p for p in items if (p.get("recurring") or {}).get("interval") == interval]
    items = filter_by_created(items, params)
    return paginate([public(p) for p in items], params, "/v1/prices")


@handles("GET /v1/prices/search")
def price_search(app, request, params):
    return search(app.state.all("prices"), params, "prices", PRICE_SEARCH_FIELDS, public)


# ---------------------------------------------------------------------------
# legacy plans


def _plan_product(app, params, created):
    reference = params.get("product")
    if isinstance(reference, dict):
        product = build_product(reference, created)
        app.state.put("products", product)
        emit(app, "product.created", public(product))
        return product["id"]
    if reference:
        stored_objects.get_or_404(app, "products", reference, "product", "product")
        return reference
    raise missing("product")


def _plan_amount(params):
    amount = p_int(params, "amount")
    if amount is None and params.get("amount_decimal"):
        amount = int(float(params["amount_decimal"]))
    if amount is None:
        raise missing("amount")
    return amount


@handles("POST /v1/plans")
def plan_create(app, request, params):
    created = now()
    product_id = _plan_product(app, params, created)
    price_params = {
        "unit_amount": _plan_amount(params),
        "currency": p_str(params, "currency", required=True),
        "recurring": {
            "interval": p_str(params, "interval", required=True),
            "interval_count": params.get("interval_count") or 1,
            "trial_period_days": params.get("trial_period_days"),
            "usage_type": params.get("usage_type") or "licensed",
        },
        "nickname": params.get("nickname"),
        "metadata": params.get("metadata"),
        "active": params.get("active", True),
    }
    plan_id = p_str(params, "id")
    if plan_id and app.state.get("prices", plan_id):
        raise invalid_request("Plan already exists.", code="resource_already_exists", param="id")
    price = build_price(price_params, created, product_id, pid=plan_id)
    app.state.put("prices", price)
    plan = plan_from_price(price)
    app.state.put("plans", plan)
    emit(app, "plan.created", plan)
    emit(app, "price.created", public(price))
    return plan


@handles("GET /v1/plans/{plan}")
def plan_retrieve(app, request, params, plan_id):
    return plan_from_price(stored_objects.get_or_404(app, "prices", plan_id, "plan"))


@handles("POST /v1/plans/{plan}")
def plan_update(app, request, params, plan_id):
    """A plan is also a price: ``plan.updated`` and ``price.updated``."""
    before = plan_from_price(stored_objects.get_or_404(app, "prices", plan_id, "plan"))
    price_params = {k: v for k, v in params.items() if k in ("active", "nickname", "metadata")}
    price_update(app, request, price_params, plan_id)
    after = plan_from_price(app.state.get("prices", plan_id))
    previous = diff_previous(before, after)
    if previous:
        emit(app, "plan.updated", after, previous)
    return after


@handles("DELETE /v1/plans/{plan}")
def plan_delete(app, request, params, plan_id):
    price = stored_objects.get_or_404(app, "prices", plan_id, "plan")
    plan = plan_from_price(price)
    app.state.delete("plans", plan_id)
    price["active"] = False
    emit(app, "plan.deleted", plan)
    return {"id": plan_id, "object": "plan", "deleted": True}


@handles("GET /v1/plans")
def plan_list(app, request, params):
    prices = [app.state.get("prices", p["id"]) for p in app.state.all("plans")]
    items = filter_active([plan_from_price(p) for p in prices if p], params)
    if p_str(params, "product"):
        items = [p for p in items if p["product"] == params["product"]]
    return paginate(items, params, "/v1/plans")
