"""Entitlements: features, the features attached to products, and the
customer's active entitlements (computed from live subscriptions in
``entitlements.py``)."""

from .. import entitlements, stored_objects
from ..errors import invalid_request, not_found
from ..resources import merge_metadata, p_bool, p_str, paginate, public
from ..routing import handles
from ..store import new_id, rand


@handles("POST /v1/entitlements/features")
def feature_create(app, request, params):
    key = p_str(params, "lookup_key", required=True)
    if any(f["lookup_key"] == key for f in app.state.all("features")):
        raise invalid_request("A feature with lookup key `%s` already exists." % key, param="lookup_key")
    feature = {
        "id": "feat_test_" + rand(32),
        "object": "entitlements.feature",
        "active": True,
        "livemode": False,
        "lookup_key": key,
        "metadata": merge_metadata({}, params),
        "name": p_str(params, "name", required=True),
    }
    app.state.put("features", feature)
    return public(feature)


@handles("GET /v1/entitlements/features/{id}")
def feature_retrieve(app, request, params, feature_id):
    return public(stored_objects.get_or_404(app, "features", feature_id, "feature"))


@handles("POST /v1/entitlements/features/{id}")
def feature_update(app, request, params, feature_id):
    feature = stored_objects.get_or_404(app, "features", feature_id, "feature")
    if "name" in params:
        feature["name"] = p_str(params, "name", required=True)
    if "active" in params:
        feature["active"] = p_bool(params, "active")
    if "metadata" in params:
        feature["metadata"] = merge_metadata(feature["metadata"], params)
    app.state.dirty = True
    return public(feature)


@handles("GET /v1/entitlements/features")
def feature_list(app, request, params):
    items = app.state.all("features")
    if "archived" in params:
        archived = p_bool(params, "archived")
        items = [f for f in items if f["active"] != archived]
    if p_str(params, "lookup_key"):
        items = [f for f in items if f["lookup_key"] == params["lookup_key"]]
    return paginate([public(f) for f in items], params, "/v1/entitlements/features")


@handles("POST /v1/products/{product}/features")
def product_feature_create(app, request, params, product_id):
    stored_objects.get_or_404(app, "products", product_id, "product")
    feature_id = p_str(params, "entitlement_feature", required=True)
    feature = stored_objects.get_or_404(app, "features", feature_id, "feature", "entitlement_feature")
    for attached in app.state.all("product_features"):
        if attached["_product"] == product_id and attached["entitlement_feature"]["id"] == feature_id:
            raise invalid_request("This feature is already attached to the product.", param="entitlement_feature")
    product_feature = {
        "id": new_id("prodft_"),
        "object": "product_feature",
        "entitlement_feature": public(feature),
        "livemode": False,
        "_product": product_id,
    }
    app.state.put("product_features", product_feature)
    return public(product_feature)


def _render_product_feature(app, product_feature):
    out = public(product_feature)
    feature = app.state.get("features", product_feature["entitlement_feature"]["id"])
    if feature:
        out["entitlement_feature"] = public(feature)
    return out


def _product_feature_or_404(app, product_id, product_feature_id):
    product_feature = app.state.get("product_features", product_feature_id)
    if product_feature is None or product_feature["_product"] != product_id:
        raise not_found("product_feature", product_feature_id)
    return product_feature


@handles("GET /v1/products/{product}/features")
def product_feature_list(app, request, params, product_id):
    stored_objects.get_or_404(app, "products", product_id, "product")
    items = [
        _render_product_feature(app, pf) for pf in app.state.all("product_features") if pf["_product"] == product_id
    ]
    return paginate(items, params, "/v1/products/%s/features" % product_id)


@handles("GET /v1/products/{product}/features/{id}")
def product_feature_retrieve(app, request, params, product_id, product_feature_id):
    return _render_product_feature(app, _product_feature_or_404(app, product_id, product_feature_id))


@handles("DELETE /v1/products/{product}/features/{id}")
def product_feature_delete(app, request, params, product_id, product_feature_id):
    _product_feature_or_404(app, product_id, product_feature_id)
    app.state.delete("product_features", product_feature_id)
    return {"id": product_feature_id, "object": "product_feature", "deleted": True}


@handles("GET /v1/entitlements/active_entitlements")
def active_entitlement_list(app, request, params):
    customer_id = p_str(params, "customer", required=True)
    stored_objects.live_customer(app, customer_id)
    items = [entitlements.active_entitlement(customer_id, f) for f in entitlements.active_features(app, customer_id)]
    return paginate(items, params, "/v1/entitlements/active_entitlements")


@handles("GET /v1/entitlements/active_entitlements/{id}")
def active_entitlement_retrieve(app, request, params, entitlement_id):
    for customer in app.state.all("customers"):
        if customer.get("deleted"):
            continue
        for feature in entitlements.active_features(app, customer["id"]):
            entitlement = entitlements.active_entitlement(customer["id"], feature)
            if entitlement["id"] == entitlement_id:
                return entitlement
    raise not_found("active_entitlement", entitlement_id)
