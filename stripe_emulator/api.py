"""Route handlers for the Stripe REST API subset.  Each handler runs with
the state lock held and returns a rendered object (or (status, object))."""

import re
import time

from . import billing as B
from .errors import StripeError, invalid, missing, not_found
from .events import diff_previous, emit
from .resources import (
    build_customer,
    build_price,
    build_product,
    build_webhook_endpoint,
    magic_card,
    merge_metadata,
    p_bool,
    p_dict,
    p_int,
    p_list,
    p_str,
    paginate,
    plan_from_price,
    public,
    render_webhook_endpoint,
)
from .store import new_id, rand

ROUTES = []


def route(method, pattern):
    rx = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def deco(fn):
        ROUTES.append((method, rx, fn))
        return fn

    return deco


def match(method, path):
    """Return (handler, groups) or raise 404 / 405-ish Stripe errors."""
    path_found = False
    for m, rx, fn in ROUTES:
        mm = rx.match(path)
        if mm:
            path_found = True
            if m == method:
                return fn, mm.groupdict()
    if path_found:
        raise StripeError(405, "invalid_request_error", "Unrecognized request URL (%s: %s)." % (method, path))
    raise StripeError(
        404,
        "invalid_request_error",
        "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/." % (method, path),
    )


def now():
    return int(time.time())


def _created_filter(items, params, field="created"):
    c = params.get(field)
    if c in (None, ""):
        return items
    if not isinstance(c, dict):
        v = int(c)
        return [o for o in items if o.get(field) == v]
    out = items
    for op, fn in (
        ("gt", lambda a, b: a > b),
        ("gte", lambda a, b: a >= b),
        ("lt", lambda a, b: a < b),
        ("lte", lambda a, b: a <= b),
    ):
        if c.get(op) not in (None, ""):
            v = int(c[op])
            out = [o for o in out if fn(o.get(field) or 0, v)]
    return out


# ===========================================================================
# customers


@route("POST", "/v1/customers")
def customer_create(app, req, params):
    st = app.state
    clock = p_str(params, "test_clock")
    if clock:
        B.get_or_404(app, "test_clocks", clock, "test_clock", "test_clock")
    cus = build_customer(params, B.clock_now(app, clock), clock)
    st.put("customers", cus)
    cache = {}
    try:
        if p_str(params, "payment_method"):
            B.resolve_payment_method(app, params["payment_method"], cus, "payment_method", cache)
        isets = p_dict(params, "invoice_settings")
        if isets.get("default_payment_method"):
            pm = B.resolve_payment_method(
                app, isets["default_payment_method"], cus, "invoice_settings[default_payment_method]", cache
            )
            cus["invoice_settings"]["default_payment_method"] = pm["id"]
        for k in ("footer",):
            if isets.get(k):
                cus["invoice_settings"][k] = isets[k]
        if p_str(params, "source"):
            _add_source(app, cus, params["source"])
    except StripeError:
        st.delete("customers", cus["id"])
        raise
    out = B.render_customer(app, cus)
    emit(app, "customer.created", out)
    return out


def _add_source(app, cus, token):
    key = magic_card(token)
    if not key:
        raise not_found("token", token, "source")
    from .resources import CARDS

    if CARDS[key][2] == "decline_attach":
        from .errors import card_declined

        raise card_declined(CARDS[key][3], param="source")
    pm = B.create_payment_method(app, key, prefix="card_")
    pm["customer"] = cus["id"]
    if not cus.get("default_source"):
        cus["default_source"] = pm["id"]
    return pm


@route("GET", "/v1/customers/{cid}")
def customer_get(app, req, params, cid):
    cus = app.state.get("customers", cid)
    if cus is None:
        raise not_found("customer", cid)
    return B.render_customer(app, cus)


@route("POST", "/v1/customers/{cid}")
def customer_update(app, req, params, cid):
    cus = B.live_customer(app, cid, "id")
    before = B.render_customer(app, cus)
    for k in ("email", "name", "description", "phone"):
        if k in params:
            cus[k] = p_str(params, k)
    if "metadata" in params:
        cus["metadata"] = merge_metadata(cus["metadata"], params)
    if "address" in params:
        addr = p_dict(params, "address")
        cus["address"] = (
            {k: addr.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")} if addr else None
        )
    if "preferred_locales" in params:
        cus["preferred_locales"] = p_list(params, "preferred_locales")
    if "tax_exempt" in params:
        cus["tax_exempt"] = p_str(params, "tax_exempt", "none")
    cache = {}
    isets = params.get("invoice_settings")
    if isinstance(isets, dict) and "default_payment_method" in isets:
        ref = isets["default_payment_method"]
        if ref in ("", None):
            cus["invoice_settings"]["default_payment_method"] = None
        else:
            pm = B.resolve_payment_method(app, ref, cus, "invoice_settings[default_payment_method]", cache)
            cus["invoice_settings"]["default_payment_method"] = pm["id"]
    if p_str(params, "source"):
        pm = _add_source(app, cus, params["source"])
        cus["default_source"] = pm["id"]
    if "default_source" in params:
        ds = p_str(params, "default_source")
        if ds and not app.state.get("payment_methods", ds):
            raise not_found("source", ds, "default_source")
        cus["default_source"] = ds
    app.state.dirty = True
    after = B.render_customer(app, cus)
    prev = diff_previous(before, after)
    if prev:
        emit(app, "customer.updated", after, prev)
    return after


@route("DELETE", "/v1/customers/{cid}")
def customer_delete(app, req, params, cid):
    cus = B.live_customer(app, cid, "id")
    snap = B.render_customer(app, cus)
    for sub in app.state.all("subscriptions"):
        if sub["customer"] == cid and sub["status"] not in ("canceled", "incomplete_expired"):
            B.cancel_subscription(app, sub, B.customer_now(app, cus))
    for pm in app.state.all("payment_methods"):
        if pm.get("customer") == cid:
            pm["customer"] = None
    app.state.put(
        "customers",
        {
            "id": cid,
            "object": "customer",
            "deleted": True,
            "_test_clock": cus.get("test_clock"),
            "_created": cus["created"],
        },
    )
    emit(app, "customer.deleted", snap)
    return {"id": cid, "object": "customer", "deleted": True}


@route("GET", "/v1/customers")
def customer_list(app, req, params):
    items = [c for c in app.state.all("customers") if not c.get("deleted")]
    if p_str(params, "email"):
        items = [c for c in items if (c.get("email") or "") == params["email"]]
    if p_str(params, "test_clock"):
        items = [c for c in items if c.get("test_clock") == params["test_clock"]]
    items = _created_filter(items, params)
    return paginate([B.render_customer(app, c) for c in items], params, "/v1/customers")


@route("GET", "/v1/customers/{cid}/payment_methods")
def customer_pms(app, req, params, cid):
    B.live_customer(app, cid, "customer")
    items = [pm for pm in app.state.all("payment_methods") if pm.get("customer") == cid]
    if p_str(params, "type"):
        items = [pm for pm in items if pm["type"] == params["type"]]
    return paginate([public(pm) for pm in items], params, "/v1/customers/%s/payment_methods" % cid)


@route("GET", "/v1/customers/{cid}/payment_methods/{pmid}")
def customer_pm_get(app, req, params, cid, pmid):
    pm = app.state.get("payment_methods", pmid)
    if pm is None or pm.get("customer") != cid:
        raise not_found("payment_method", pmid)
    return public(pm)


@route("POST", "/v1/customers/{cid}/sources")
def customer_add_source(app, req, params, cid):
    cus = B.live_customer(app, cid, "id")
    before = B.render_customer(app, cus)
    pm = _add_source(app, cus, p_str(params, "source", required=True))
    after = B.render_customer(app, cus)
    if before != after:
        emit(app, "customer.updated", after, diff_previous(before, after))
    out = public(pm)
    return out


# ===========================================================================
# products, prices, plans


@route("POST", "/v1/products")
def product_create(app, req, params):
    prod = build_product(params, now())
    if app.state.get("products", prod["id"]):
        raise StripeError(
            400, "invalid_request_error", "Product already exists.", code="resource_already_exists", param="id"
        )
    app.state.put("products", prod)
    emit(app, "product.created", public(prod))
    dpd = p_dict(params, "default_price_data")
    if dpd:
        price = build_price(dpd, now(), prod["id"])
        app.state.put("prices", price)
        emit(app, "price.created", public(price))
        prod["default_price"] = price["id"]
    return public(prod)


@route("GET", "/v1/products/{pid}")
def product_get(app, req, params, pid):
    return public(B.get_or_404(app, "products", pid, "product"))


@route("POST", "/v1/products/{pid}")
def product_update(app, req, params, pid):
    prod = B.get_or_404(app, "products", pid, "product")
    before = public(prod)
    for k in ("name", "description", "statement_descriptor", "unit_label", "url", "tax_code"):
        if k in params:
            prod[k] = p_str(params, k)
    if "active" in params:
        prod["active"] = p_bool(params, "active")
    if "default_price" in params:
        dp = p_str(params, "default_price")
        if dp:
            B.get_or_404(app, "prices", dp, "price", "default_price")
        prod["default_price"] = dp
    if "metadata" in params:
        prod["metadata"] = merge_metadata(prod["metadata"], params)
    if "marketing_features" in params:
        prod["marketing_features"] = [
            {"name": f.get("name")} for f in p_list(params, "marketing_features") if isinstance(f, dict)
        ]
    after = public(prod)
    prev = diff_previous(before, after)
    if prev:
        prod["updated"] = now()
        after = public(prod)
        emit(app, "product.updated", after, prev)
    return after


@route("DELETE", "/v1/products/{pid}")
def product_delete(app, req, params, pid):
    prod = B.get_or_404(app, "products", pid, "product")
    if any(p["product"] == pid for p in app.state.all("prices")):
        raise StripeError(
            400,
            "invalid_request_error",
            "This product cannot be deleted because it has one or more user-created prices.",
            code="product_has_prices" if False else None,
        )
    app.state.delete("products", pid)
    emit(app, "product.deleted", public(prod))
    return {"id": pid, "object": "product", "deleted": True}


@route("GET", "/v1/products")
def product_list(app, req, params):
    items = app.state.all("products")
    if "active" in params:
        a = p_bool(params, "active")
        items = [p for p in items if p["active"] == a]
    ids = p_list(params, "ids")
    if ids:
        items = [p for p in items if p["id"] in ids]
    items = _created_filter(items, params)
    return paginate([public(p) for p in items], params, "/v1/products")


def _take_lookup_key(app, key, new_price_id):
    for other in app.state.all("prices"):
        if other.get("lookup_key") == key and other["id"] != new_price_id:
            before = public(other)
            other["lookup_key"] = None
            emit(app, "price.updated", public(other), diff_previous(before, public(other)))


def _check_lookup_key(app, params, own_id=None):
    key = p_str(params, "lookup_key")
    if not key:
        return
    holder = [p for p in app.state.all("prices") if p.get("lookup_key") == key and p["id"] != own_id]
    if holder and not p_bool(params, "transfer_lookup_key", False):
        raise StripeError(
            400,
            "invalid_request_error",
            "A price (`%s`) already uses that lookup key." % holder[0]["id"],
            code="lookup_key_already_exists" if False else None,
            param="lookup_key",
        )


@route("POST", "/v1/prices")
def price_create(app, req, params):
    t = now()
    pid = p_str(params, "product")
    pdata = p_dict(params, "product_data")
    if pid:
        B.get_or_404(app, "products", pid, "product", "product")
    elif pdata:
        prod = build_product(pdata, t)
        app.state.put("products", prod)
        emit(app, "product.created", public(prod))
        pid = prod["id"]
    else:
        raise missing("product")
    _check_lookup_key(app, params)
    price = build_price(params, t, pid)
    if price["lookup_key"]:
        _take_lookup_key(app, price["lookup_key"], price["id"])
    app.state.put("prices", price)
    emit(app, "price.created", public(price))
    return public(price)


@route("GET", "/v1/prices/{pid}")
def price_get(app, req, params, pid):
    return public(B.get_or_404(app, "prices", pid, "price"))


@route("POST", "/v1/prices/{pid}")
def price_update(app, req, params, pid):
    price = B.get_or_404(app, "prices", pid, "price")
    before = public(price)
    if "active" in params:
        price["active"] = p_bool(params, "active")
    if "nickname" in params:
        price["nickname"] = p_str(params, "nickname")
    if "metadata" in params:
        price["metadata"] = merge_metadata(price["metadata"], params)
    if "tax_behavior" in params:
        price["tax_behavior"] = p_str(params, "tax_behavior")
    if "lookup_key" in params:
        _check_lookup_key(app, params, pid)
        key = p_str(params, "lookup_key")
        if key:
            _take_lookup_key(app, key, pid)
        price["lookup_key"] = key
    after = public(price)
    prev = diff_previous(before, after)
    if prev:
        emit(app, "price.updated", after, prev)
        if app.state.get("plans", pid):
            app.state.put("plans", plan_from_price(price))
    return after


@route("GET", "/v1/prices")
def price_list(app, req, params):
    items = app.state.all("prices")
    if "active" in params:
        a = p_bool(params, "active")
        items = [p for p in items if p["active"] == a]
    if p_str(params, "product"):
        items = [p for p in items if p["product"] == params["product"]]
    if p_str(params, "currency"):
        items = [p for p in items if p["currency"] == params["currency"].lower()]
    if p_str(params, "type"):
        items = [p for p in items if p["type"] == params["type"]]
    keys = p_list(params, "lookup_keys")
    if keys:
        items = [p for p in items if p.get("lookup_key") in keys]
    rec = p_dict(params, "recurring")
    if rec.get("interval"):
        items = [p for p in items if (p.get("recurring") or {}).get("interval") == rec["interval"]]
    items = _created_filter(items, params)
    return paginate([public(p) for p in items], params, "/v1/prices")


@route("POST", "/v1/plans")
def plan_create(app, req, params):
    t = now()
    prod_ref = params.get("product")
    if isinstance(prod_ref, dict):
        prod = build_product(prod_ref, t)
        app.state.put("products", prod)
        emit(app, "product.created", public(prod))
        pid = prod["id"]
    elif prod_ref:
        pid = prod_ref
        B.get_or_404(app, "products", pid, "product", "product")
    else:
        raise missing("product")
    interval = p_str(params, "interval", required=True)
    amount = p_int(params, "amount")
    if amount is None:
        if params.get("amount_decimal"):
            amount = int(float(params["amount_decimal"]))
        else:
            raise missing("amount")
    price_params = {
        "unit_amount": str(amount),
        "currency": p_str(params, "currency", required=True),
        "recurring": {
            "interval": interval,
            "interval_count": params.get("interval_count") or "1",
            "trial_period_days": params.get("trial_period_days"),
            "usage_type": params.get("usage_type") or "licensed",
        },
        "nickname": params.get("nickname"),
        "metadata": params.get("metadata"),
        "active": params.get("active", "true"),
    }
    plan_id = p_str(params, "id")
    if plan_id and app.state.get("prices", plan_id):
        raise StripeError(
            400, "invalid_request_error", "Plan already exists.", code="resource_already_exists", param="id"
        )
    price = build_price(price_params, t, pid, pid=plan_id)
    app.state.put("prices", price)
    plan = plan_from_price(price)
    app.state.put("plans", plan)
    emit(app, "plan.created", plan)
    emit(app, "price.created", public(price))
    return plan


@route("GET", "/v1/plans/{pid}")
def plan_get(app, req, params, pid):
    price = B.get_or_404(app, "prices", pid, "plan")
    return plan_from_price(price)


@route("POST", "/v1/plans/{pid}")
def plan_update(app, req, params, pid):
    price_update(app, req, {k: v for k, v in params.items() if k in ("active", "nickname", "metadata")}, pid)
    return plan_from_price(app.state.get("prices", pid))


@route("DELETE", "/v1/plans/{pid}")
def plan_delete(app, req, params, pid):
    price = B.get_or_404(app, "prices", pid, "plan")
    plan = plan_from_price(price)
    app.state.delete("plans", pid)
    price["active"] = False
    emit(app, "plan.deleted", plan)
    return {"id": pid, "object": "plan", "deleted": True}


@route("GET", "/v1/plans")
def plan_list(app, req, params):
    items = [
        plan_from_price(app.state.get("prices", p["id"]))
        for p in app.state.all("plans")
        if app.state.get("prices", p["id"])
    ]
    if "active" in params:
        a = p_bool(params, "active")
        items = [p for p in items if p["active"] == a]
    if p_str(params, "product"):
        items = [p for p in items if p["product"] == params["product"]]
    return paginate(items, params, "/v1/plans")


# ===========================================================================
# payment methods


@route("POST", "/v1/payment_methods")
def pm_create(app, req, params):
    typ = p_str(params, "type", "card")
    if typ != "card":
        raise invalid("type", "The emulator only supports card payment methods.")
    key = B.card_key_from_params(params)
    pm = B.create_payment_method(app, key, params)
    if p_str(params, "customer"):
        cus = B.live_customer(app, params["customer"])
        B.attach_payment_method(app, pm, cus, "customer")
    return public(pm)


@route("GET", "/v1/payment_methods/{pmid}")
def pm_get(app, req, params, pmid):
    key = magic_card(pmid)
    if key and not app.state.get("payment_methods", pmid):
        from .resources import build_payment_method

        pm = build_payment_method(key, now())
        pm["id"] = pmid
        return public(pm)
    return public(B.get_or_404(app, "payment_methods", pmid, "PaymentMethod"))


@route("POST", "/v1/payment_methods/{pmid}")
def pm_update(app, req, params, pmid):
    pm = B.get_or_404(app, "payment_methods", pmid, "PaymentMethod")
    before = public(pm)
    if "metadata" in params:
        pm["metadata"] = merge_metadata(pm["metadata"], params)
    bd = p_dict(params, "billing_details")
    for k in ("email", "name", "phone"):
        if k in bd:
            pm["billing_details"][k] = bd[k] or None
    card = p_dict(params, "card")
    for k in ("exp_month", "exp_year"):
        if card.get(k):
            pm["card"][k] = int(card[k])
    after = public(pm)
    prev = diff_previous(before, after)
    if prev:
        emit(app, "payment_method.updated", after, prev)
    return after


@route("POST", "/v1/payment_methods/{pmid}/attach")
def pm_attach(app, req, params, pmid):
    cus = B.live_customer(app, p_str(params, "customer", required=True))
    pm = B.resolve_payment_method(app, pmid, cus, "payment_method")
    return public(pm)


@route("POST", "/v1/payment_methods/{pmid}/detach")
def pm_detach(app, req, params, pmid):
    pm = B.get_or_404(app, "payment_methods", pmid, "PaymentMethod")
    if not pm.get("customer"):
        raise StripeError(
            400,
            "invalid_request_error",
            "The payment method you provided is not attached to a customer so detachment is impossible.",
            code="payment_method_unexpected_state",
        )
    cus = app.state.get("customers", pm["customer"])
    prev_cus = pm["customer"]
    pm["customer"] = None
    if cus and not cus.get("deleted"):
        before = B.render_customer(app, cus)
        if cus["invoice_settings"].get("default_payment_method") == pmid:
            cus["invoice_settings"]["default_payment_method"] = None
        if cus.get("default_source") == pmid:
            cus["default_source"] = None
        after = B.render_customer(app, cus)
        if before != after:
            emit(app, "customer.updated", after, diff_previous(before, after))
    app.state.dirty = True
    emit(app, "payment_method.detached", public(pm), {"customer": prev_cus})
    return public(pm)


@route("GET", "/v1/payment_methods")
def pm_list(app, req, params):
    items = app.state.all("payment_methods")
    if p_str(params, "customer"):
        B.live_customer(app, params["customer"])
        items = [pm for pm in items if pm.get("customer") == params["customer"]]
    if p_str(params, "type"):
        items = [pm for pm in items if pm["type"] == params["type"]]
    return paginate([public(pm) for pm in items], params, "/v1/payment_methods")


# ===========================================================================
# subscriptions


@route("POST", "/v1/subscriptions")
def sub_create(app, req, params):
    sub = B.create_subscription(app, params)
    return B.render_subscription(app, sub)


@route("GET", "/v1/subscriptions/{sid}")
def sub_get(app, req, params, sid):
    return B.render_subscription(app, B.get_or_404(app, "subscriptions", sid, "subscription"))


def update_subscription(app, sub, params):
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeError(
            400,
            "invalid_request_error",
            "A canceled subscription can only update its cancellation_details and metadata.",
            code="resource_missing" if False else None,
        )
    t = B.clock_now(app, sub.get("test_clock"))
    before = B.render_subscription(app, sub)
    cus = app.state.get("customers", sub["customer"])
    cache = {}
    # validate items first
    new_items = []
    for i, it in enumerate(p_list(params, "items")):
        if not isinstance(it, dict):
            raise invalid("items[%d]" % i, code="parameter_invalid_object")
        target = None
        if it.get("id"):
            target = next((x for x in sub["_items"] if x["id"] == it["id"]), None)
            if target is None:
                raise invalid(
                    "items[%d][id]" % i, "Subscription item %s is not part of subscription %s." % (it["id"], sub["id"])
                )
        price = None
        if it.get("price") or it.get("plan"):
            price = B.resolve_price(app, it.get("price") or it.get("plan"), "items[%d][price]" % i)
        elif it.get("price_data"):
            price = B.inline_price(app, it["price_data"], "items[%d][price_data]" % i, t)
        if target is None and price is None and not p_bool(it, "deleted", False):
            raise missing("items[%d][price]" % i)
        new_items.append((target, price, it))
    for target, price, it in new_items:
        if target is not None and p_bool(it, "deleted", False):
            sub["_items"].remove(target)
            continue
        if target is None:
            ref = sub["_items"][0] if sub["_items"] else None
            target = {
                "id": new_id("si_", 0),
                "price": price["id"],
                "quantity": 1,
                "created": t,
                "metadata": {},
                "current_period_start": ref["current_period_start"] if ref else t,
                "current_period_end": ref["current_period_end"] if ref else t,
            }
            sub["_items"].append(target)
        if price is not None:
            target["price"] = price["id"]
        if it.get("quantity") not in (None, ""):
            target["quantity"] = int(it["quantity"])
        if "metadata" in it:
            target["metadata"] = merge_metadata(target.get("metadata") or {}, it)
    if "metadata" in params:
        sub["metadata"] = merge_metadata(sub["metadata"], params)
    if "description" in params:
        sub["description"] = p_str(params, "description")
    if "cancel_at_period_end" in params:
        sub["cancel_at_period_end"] = p_bool(params, "cancel_at_period_end")
        if sub["cancel_at_period_end"]:
            sub["cancel_at"] = B.period_end(sub)
            sub["canceled_at"] = t
        else:
            sub["cancel_at"] = None
            sub["canceled_at"] = None
    if "cancel_at" in params:
        ca = params["cancel_at"]
        if ca in ("", None):
            sub["cancel_at"] = None
            sub["canceled_at"] = None
        elif ca == "min_period_end":
            sub["cancel_at"] = B.period_end(sub)
        else:
            sub["cancel_at"] = p_int(params, "cancel_at")
            sub["canceled_at"] = t
    cd = p_dict(params, "cancellation_details")
    for k in ("comment", "feedback"):
        if k in cd:
            sub["cancellation_details"][k] = cd[k] or None
    if "default_payment_method" in params:
        ref = params["default_payment_method"]
        sub["default_payment_method"] = (
            B.resolve_payment_method(app, ref, cus, "default_payment_method", cache)["id"] if ref else None
        )
    if "pause_collection" in params:
        pc = params["pause_collection"]
        if pc in ("", None):
            sub["pause_collection"] = None
        else:
            if not isinstance(pc, dict) or pc.get("behavior") not in ("keep_as_draft", "mark_uncollectible", "void"):
                raise invalid("pause_collection[behavior]")
            sub["pause_collection"] = {
                "behavior": pc["behavior"],
                "resumes_at": int(pc["resumes_at"]) if pc.get("resumes_at") else None,
            }
    ts = p_dict(params, "trial_settings")
    if isinstance(ts.get("end_behavior"), dict) and ts["end_behavior"].get("missing_payment_method"):
        sub["trial_settings"]["end_behavior"]["missing_payment_method"] = ts["end_behavior"]["missing_payment_method"]
    if "trial_end" in params and params["trial_end"] not in ("", None):
        if params["trial_end"] == "now":
            B.end_trial_now(app, sub, t)
        else:
            te = p_int(params, "trial_end")
            if te <= t:
                raise invalid(
                    "trial_end",
                    "Invalid timestamp: must be an integer Unix timestamp in the future.",
                    code="parameter_invalid_integer",
                )
            sub["trial_end"] = te
            if sub["status"] in ("active", "trialing"):
                sub["status"] = "trialing"
                sub["trial_start"] = sub["trial_start"] or t
                sub["_tw_sent"] = False
                for it in sub["_items"]:
                    it["current_period_end"] = te
    if sub["status"] != "canceled":
        B.changed(app, sub, before)
    return sub


@route("POST", "/v1/subscriptions/{sid}")
def sub_update(app, req, params, sid):
    sub = B.get_or_404(app, "subscriptions", sid, "subscription")
    update_subscription(app, sub, params)
    return B.render_subscription(app, sub)


@route("DELETE", "/v1/subscriptions/{sid}")
def sub_cancel(app, req, params, sid):
    sub = B.get_or_404(app, "subscriptions", sid, "subscription")
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeError(
            400,
            "invalid_request_error",
            "No such subscription: '%s'. This subscription has already been canceled." % sid,
            code="resource_missing",
        )
    cd = p_dict(params, "cancellation_details")
    B.cancel_subscription(
        app,
        sub,
        B.clock_now(app, sub.get("test_clock")),
        comment=cd.get("comment") or None,
        feedback=cd.get("feedback") or None,
    )
    return B.render_subscription(app, sub)


@route("POST", "/v1/subscriptions/{sid}/resume")
def sub_resume(app, req, params, sid):
    sub = B.get_or_404(app, "subscriptions", sid, "subscription")
    B.resume_subscription(app, sub, params)
    return B.render_subscription(app, sub)


@route("GET", "/v1/subscriptions")
def sub_list(app, req, params):
    items = app.state.all("subscriptions")
    status = p_str(params, "status")
    if status == "all":
        pass
    elif status:
        items = [s for s in items if s["status"] == status]
    else:
        items = [s for s in items if s["status"] not in ("canceled", "incomplete_expired")]
    if p_str(params, "customer"):
        items = [s for s in items if s["customer"] == params["customer"]]
    if p_str(params, "price"):
        items = [s for s in items if any(i["price"] == params["price"] for i in s["_items"])]
    if p_str(params, "test_clock"):
        items = [s for s in items if s.get("test_clock") == params["test_clock"]]
    items = _created_filter(items, params)
    return paginate([B.render_subscription(app, s) for s in items], params, "/v1/subscriptions")


@route("GET", "/v1/subscription_items")
def si_list(app, req, params):
    sub = B.get_or_404(
        app, "subscriptions", p_str(params, "subscription", required=True), "subscription", "subscription"
    )
    items = [B.render_item(app, sub, it) for it in sub["_items"]]
    return paginate(items, params, "/v1/subscription_items")


@route("GET", "/v1/subscription_items/{siid}")
def si_get(app, req, params, siid):
    for sub in app.state.all("subscriptions"):
        for it in sub["_items"]:
            if it["id"] == siid:
                return B.render_item(app, sub, it)
    raise not_found("subscription_item", siid)


# ===========================================================================
# invoices and invoice items


@route("POST", "/v1/invoiceitems")
def ii_create(app, req, params):
    cus = B.live_customer(app, p_str(params, "customer", required=True))
    t = B.customer_now(app, cus)
    price = None
    pref = p_str(params, "price") or (
        p_dict(params, "pricing").get("price") if isinstance(params.get("pricing"), dict) else None
    )
    qty = p_int(params, "quantity", 1)
    if pref:
        price = B.get_or_404(app, "prices", pref, "price", "price")
        amount = (price.get("unit_amount") or 0) * qty
        currency = price["currency"]
    else:
        pd = p_dict(params, "price_data")
        amount = p_int(params, "amount")
        if amount is None:
            if pd.get("unit_amount") not in (None, ""):
                amount = int(pd["unit_amount"]) * qty
            else:
                raise missing("amount")
        currency = p_str(params, "currency") or pd.get("currency") or "usd"
    sub_id = p_str(params, "subscription")
    if sub_id:
        B.get_or_404(app, "subscriptions", sub_id, "subscription", "subscription")
    inv_id = p_str(params, "invoice")
    if inv_id:
        inv = B.get_or_404(app, "invoices", inv_id, "invoice", "invoice")
        if inv["status"] != "draft":
            raise StripeError(
                400,
                "invalid_request_error",
                "You can only add invoice items to draft invoices.",
                code="invoice_not_editable",
                param="invoice",
            )
    per = p_dict(params, "period")
    ii = {
        "id": new_id("ii_"),
        "object": "invoiceitem",
        "amount": amount,
        "currency": currency.lower(),
        "customer": cus["id"],
        "customer_account": None,
        "date": t,
        "description": p_str(params, "description"),
        "discountable": p_bool(params, "discountable", True),
        "discounts": [],
        "invoice": None,
        "livemode": False,
        "metadata": merge_metadata({}, params),
        "net_amount": amount,
        "parent": (
            {
                "subscription_details": {"subscription": sub_id, "subscription_item": None},
                "type": "subscription_details",
            }
            if sub_id
            else None
        ),
        "period": {"end": int(per.get("end") or t), "start": int(per.get("start") or t)},
        "pricing": {
            "price_details": ({"price": price["id"], "product": price["product"]} if price else None),
            "type": "price_details",
            "unit_amount_decimal": (price or {}).get("unit_amount_decimal") or str(amount // max(qty, 1)),
        },
        "proration": False,
        "proration_details": {"credited_items": None},
        "quantity": qty,
        "quantity_decimal": str(qty),
        "tax_rates": [],
        "test_clock": cus.get("test_clock"),
        "_sub": sub_id,
    }
    app.state.put("invoiceitems", ii)
    if inv_id:
        ii["invoice"] = inv_id
        B.add_line(
            inv,
            ii["amount"],
            ii["currency"],
            ii["description"],
            (ii["period"]["start"], ii["period"]["end"]),
            qty,
            price=price,
            invoice_item=ii["id"],
        )
    emit(app, "invoiceitem.created", public(ii))
    return public(ii)


@route("GET", "/v1/invoiceitems/{iid}")
def ii_get(app, req, params, iid):
    return public(B.get_or_404(app, "invoiceitems", iid, "invoiceitem"))


@route("DELETE", "/v1/invoiceitems/{iid}")
def ii_delete(app, req, params, iid):
    ii = B.get_or_404(app, "invoiceitems", iid, "invoiceitem")
    if ii.get("invoice"):
        inv = app.state.get("invoices", ii["invoice"])
        if inv and inv["status"] != "draft":
            raise StripeError(
                400, "invalid_request_error", "This invoice item cannot be deleted.", code="invoice_not_editable"
            )
        if inv:
            inv["lines"]["data"] = [
                l
                for l in inv["lines"]["data"]
                if ((l.get("parent") or {}).get("invoice_item_details") or {}).get("invoice_item") != iid
            ]
            B.recompute_totals(inv)
    app.state.delete("invoiceitems", iid)
    emit(app, "invoiceitem.deleted", public(ii))
    return {"id": iid, "object": "invoiceitem", "deleted": True}


@route("GET", "/v1/invoiceitems")
def ii_list(app, req, params):
    items = app.state.all("invoiceitems")
    if p_str(params, "customer"):
        items = [i for i in items if i["customer"] == params["customer"]]
    if p_str(params, "invoice"):
        items = [i for i in items if i.get("invoice") == params["invoice"]]
    if "pending" in params:
        pend = p_bool(params, "pending")
        items = [i for i in items if (i.get("invoice") is None) == pend]
    return paginate([public(i) for i in items], params, "/v1/invoiceitems")


@route("POST", "/v1/invoices")
def invoice_create(app, req, params):
    cus = B.live_customer(app, p_str(params, "customer", required=True))
    t = B.customer_now(app, cus)
    sub = None
    if p_str(params, "subscription"):
        sub = B.get_or_404(app, "subscriptions", params["subscription"], "subscription", "subscription")
    inv = B.new_invoice(app, cus, t, "manual", sub=sub, params=params)
    if inv["default_payment_method"]:
        pm = B.resolve_payment_method(app, inv["default_payment_method"], cus, "default_payment_method")
        inv["default_payment_method"] = pm["id"]
    if p_str(params, "pending_invoice_items_behavior", "exclude") == "include":
        B.pull_pending_items(app, inv, cus, sub)
    app.state.put("invoices", inv)
    emit(app, "invoice.created", public(inv))
    return public(inv)


@route("GET", "/v1/invoices/{iid}")
def invoice_get(app, req, params, iid):
    return public(B.get_or_404(app, "invoices", iid, "invoice"))


@route("POST", "/v1/invoices/{iid}")
def invoice_update(app, req, params, iid):
    inv = B.get_or_404(app, "invoices", iid, "invoice")
    before = public(inv)
    if "metadata" in params:
        inv["metadata"] = merge_metadata(inv["metadata"], params)
    if "description" in params and inv["status"] == "draft":
        inv["description"] = p_str(params, "description")
    if "auto_advance" in params:
        inv["auto_advance"] = p_bool(params, "auto_advance")
    after = public(inv)
    prev = diff_previous(before, after)
    if prev:
        emit(app, "invoice.updated", after, prev)
    return after


@route("DELETE", "/v1/invoices/{iid}")
def invoice_delete(app, req, params, iid):
    inv = B.get_or_404(app, "invoices", iid, "invoice")
    if inv["status"] != "draft":
        raise StripeError(
            400, "invalid_request_error", "You can only delete draft invoices.", code="invoice_not_editable"
        )
    app.state.delete("invoices", iid)
    emit(app, "invoice.deleted", public(inv))
    return {"id": iid, "object": "invoice", "deleted": True}


@route("POST", "/v1/invoices/{iid}/finalize")
def invoice_finalize(app, req, params, iid):
    inv = B.get_or_404(app, "invoices", iid, "invoice")
    B.finalize_invoice(app, inv, B.clock_now(app, inv.get("test_clock")))
    if inv["amount_due"] == 0:
        B.mark_paid(app, inv, B.clock_now(app, inv.get("test_clock")))
    return public(inv)


@route("POST", "/v1/invoices/{iid}/pay")
def invoice_pay(app, req, params, iid):
    inv = B.get_or_404(app, "invoices", iid, "invoice")
    B.pay_invoice(app, inv, params)
    return public(inv)


@route("POST", "/v1/invoices/{iid}/void")
def invoice_void(app, req, params, iid):
    inv = B.get_or_404(app, "invoices", iid, "invoice")
    if inv["status"] != "open":
        raise StripeError(400, "invalid_request_error", "You can only void open invoices.", code="invoice_not_editable")
    inv["status"] = "void"
    inv["status_transitions"]["voided_at"] = B.clock_now(app, inv.get("test_clock"))
    emit(app, "invoice.voided", public(inv))
    return public(inv)


@route("POST", "/v1/invoices/{iid}/mark_uncollectible")
def invoice_uncollectible(app, req, params, iid):
    inv = B.get_or_404(app, "invoices", iid, "invoice")
    if inv["status"] != "open":
        raise StripeError(
            400, "invalid_request_error", "You can only mark open invoices uncollectible.", code="invoice_not_editable"
        )
    inv["status"] = "uncollectible"
    inv["status_transitions"]["marked_uncollectible_at"] = B.clock_now(app, inv.get("test_clock"))
    emit(app, "invoice.marked_uncollectible", public(inv))
    return public(inv)


@route("GET", "/v1/invoices/{iid}/lines")
def invoice_lines(app, req, params, iid):
    inv = B.get_or_404(app, "invoices", iid, "invoice")
    return paginate(public(inv["lines"]["data"]), params, "/v1/invoices/%s/lines" % iid)


@route("GET", "/v1/invoices")
def invoice_list(app, req, params):
    items = app.state.all("invoices")
    if p_str(params, "customer"):
        items = [i for i in items if i["customer"] == params["customer"]]
    if p_str(params, "subscription"):
        items = [i for i in items if i.get("_sub") == params["subscription"]]
    if p_str(params, "status"):
        items = [i for i in items if i["status"] == params["status"]]
    if p_str(params, "collection_method"):
        items = [i for i in items if i["collection_method"] == params["collection_method"]]
    items = _created_filter(items, params)
    return paginate([public(i) for i in items], params, "/v1/invoices")


# ===========================================================================
# events


def _type_matches(pattern, typ):
    if pattern.endswith("*"):
        return typ.startswith(pattern[:-1])
    return pattern == typ


@route("GET", "/v1/events/{eid}")
def event_get(app, req, params, eid):
    return public(B.get_or_404(app, "events", eid, "event"))


@route("GET", "/v1/events")
def event_list(app, req, params):
    items = app.state.all("events")
    if p_str(params, "type"):
        items = [e for e in items if _type_matches(params["type"], e["type"])]
    types = p_list(params, "types")
    if types:
        items = [e for e in items if any(_type_matches(t, e["type"]) for t in types)]
    items = _created_filter(items, params)
    return paginate([public(e) for e in items], params, "/v1/events")


# ===========================================================================
# webhook endpoints


@route("POST", "/v1/webhook_endpoints")
def we_create(app, req, params):
    ep = build_webhook_endpoint(params, now())
    app.state.put("webhook_endpoints", ep)
    return render_webhook_endpoint(ep, include_secret=True)


@route("GET", "/v1/webhook_endpoints/{wid}")
def we_get(app, req, params, wid):
    return render_webhook_endpoint(B.get_or_404(app, "webhook_endpoints", wid, "webhook endpoint"))


@route("POST", "/v1/webhook_endpoints/{wid}")
def we_update(app, req, params, wid):
    ep = B.get_or_404(app, "webhook_endpoints", wid, "webhook endpoint")
    if "url" in params:
        ep["url"] = p_str(params, "url", required=True)
    if "enabled_events" in params:
        ep["enabled_events"] = p_list(params, "enabled_events")
    if "description" in params:
        ep["description"] = p_str(params, "description")
    if "disabled" in params:
        ep["status"] = "disabled" if p_bool(params, "disabled") else "enabled"
    if "metadata" in params:
        ep["metadata"] = merge_metadata(ep["metadata"], params)
    app.state.dirty = True
    return render_webhook_endpoint(ep)


@route("DELETE", "/v1/webhook_endpoints/{wid}")
def we_delete(app, req, params, wid):
    B.get_or_404(app, "webhook_endpoints", wid, "webhook endpoint")
    app.state.delete("webhook_endpoints", wid)
    return {"id": wid, "object": "webhook_endpoint", "deleted": True}


@route("GET", "/v1/webhook_endpoints")
def we_list(app, req, params):
    return paginate(
        [render_webhook_endpoint(e) for e in app.state.all("webhook_endpoints")], params, "/v1/webhook_endpoints"
    )


# ===========================================================================
# test clocks


@route("POST", "/v1/test_helpers/test_clocks")
def clock_create(app, req, params):
    ft = p_int(params, "frozen_time", required=True)
    t = now()
    clock = {
        "id": new_id("clock_"),
        "object": "test_helpers.test_clock",
        "created": t,
        "deletes_after": t + 30 * 86400,
        "frozen_time": ft,
        "livemode": False,
        "name": p_str(params, "name"),
        "status": "ready",
        "status_details": {},
    }
    app.state.put("test_clocks", clock)
    emit(app, "test_helpers.test_clock.created", public(clock))
    return public(clock)


@route("GET", "/v1/test_helpers/test_clocks/{clid}")
def clock_get(app, req, params, clid):
    return public(B.get_or_404(app, "test_clocks", clid, "test_clock"))


@route("GET", "/v1/test_helpers/test_clocks")
def clock_list(app, req, params):
    return paginate([public(c) for c in app.state.all("test_clocks")], params, "/v1/test_helpers/test_clocks")


@route("DELETE", "/v1/test_helpers/test_clocks/{clid}")
def clock_delete(app, req, params, clid):
    clock = B.get_or_404(app, "test_clocks", clid, "test_clock")
    st = app.state
    for cus in st.all("customers"):
        if cus.get("test_clock") == clid or cus.get("_test_clock") == clid:
            for sub in st.all("subscriptions"):
                if sub["customer"] == cus["id"]:
                    st.delete("subscriptions", sub["id"])
            for coll in ("invoices", "invoiceitems"):
                for o in st.all(coll):
                    if o.get("customer") == cus["id"]:
                        st.delete(coll, o["id"])
            st.delete("customers", cus["id"])
            st.ent_summary.pop(cus["id"], None)
    st.delete("test_clocks", clid)
    emit(app, "test_helpers.test_clock.deleted", public(clock))
    return {"id": clid, "object": "test_helpers.test_clock", "deleted": True}


@route("POST", "/v1/test_helpers/test_clocks/{clid}/advance")
def clock_advance(app, req, params, clid):
    clock = B.get_or_404(app, "test_clocks", clid, "test_clock")
    target = p_int(params, "frozen_time", required=True)
    if target < clock["frozen_time"]:
        raise invalid(
            "frozen_time",
            "The frozen_time must be after the current frozen_time of the test clock.",
            code="parameter_invalid_integer",
        )
    clock["status"] = "advancing"
    emit(app, "test_helpers.test_clock.advancing", public(clock))
    cids = {c["id"] for c in app.state.all("customers") if c.get("test_clock") == clid}
    subs = [s for s in app.state.all("subscriptions")[::-1] if s["customer"] in cids]

    # objects created while advancing take the time of the transition
    B.advance(app, subs, target)
    clock["frozen_time"] = target
    clock["status"] = "ready"
    app.state.dirty = True
    emit(app, "test_helpers.test_clock.ready", public(clock))
    return public(clock)


# ===========================================================================
# billing portal


def _portal_features(params, existing=None):
    f = existing or {
        "customer_update": {"allowed_updates": [], "enabled": False},
        "invoice_history": {"enabled": False},
        "payment_method_update": {"enabled": False, "payment_method_configuration": None},
        "subscription_cancel": {
            "cancellation_reason": {"enabled": False, "options": []},
            "enabled": False,
            "mode": "at_period_end",
            "proration_behavior": "none",
        },
        "subscription_update": {
            "billing_cycle_anchor": None,
            "default_allowed_updates": [],
            "enabled": False,
            "products": [],
            "proration_behavior": "none",
            "schedule_at_period_end": {"conditions": []},
            "trial_update_behavior": "end_trial",
        },
    }
    fin = p_dict(params, "features")
    for name, val in fin.items():
        if not isinstance(val, dict) or name not in f:
            continue
        cur = f[name]
        if "enabled" in val:
            cur["enabled"] = p_bool(val, "enabled")
        if name == "subscription_cancel":
            for k in ("mode", "proration_behavior"):
                if val.get(k):
                    cur[k] = val[k]
        if name == "subscription_update":
            for k in ("proration_behavior",):
                if val.get(k):
                    cur[k] = val[k]
            if "default_allowed_updates" in val:
                cur["default_allowed_updates"] = p_list(val, "default_allowed_updates")
            if "products" in val:
                cur["products"] = [
                    {
                        "adjustable_quantity": {"enabled": False, "maximum": None, "minimum": 1},
                        "prices": p_list(pp, "prices"),
                        "product": pp.get("product"),
                    }
                    for pp in p_list(val, "products")
                    if isinstance(pp, dict)
                ]
        if name == "customer_update" and "allowed_updates" in val:
            cur["allowed_updates"] = p_list(val, "allowed_updates")
    return f


@route("POST", "/v1/billing_portal/configurations")
def bpc_create(app, req, params):
    t = now()
    bp = p_dict(params, "business_profile")
    cfg = {
        "id": new_id("bpc_"),
        "object": "billing_portal.configuration",
        "active": True,
        "application": None,
        "business_profile": {
            "headline": bp.get("headline") or None,
            "privacy_policy_url": bp.get("privacy_policy_url") or None,
            "terms_of_service_url": bp.get("terms_of_service_url") or None,
        },
        "created": t,
        "default_return_url": p_str(params, "default_return_url"),
        "features": _portal_features(params),
        "is_default": False,
        "livemode": False,
        "login_page": {"enabled": False, "url": None},
        "metadata": merge_metadata({}, params),
        "name": p_str(params, "name"),
        "updated": t,
    }
    existing_default = [c for c in app.state.all("portal_configurations") if c["is_default"]]
    if p_bool(params, "is_default", False) or not existing_default:
        for c in existing_default:
            c["is_default"] = False
        cfg["is_default"] = True
    app.state.put("portal_configurations", cfg)
    emit(app, "billing_portal.configuration.created", public(cfg))
    return public(cfg)


@route("GET", "/v1/billing_portal/configurations/{cid}")
def bpc_get(app, req, params, cid):
    return public(B.get_or_404(app, "portal_configurations", cid, "configuration"))


@route("POST", "/v1/billing_portal/configurations/{cid}")
def bpc_update(app, req, params, cid):
    cfg = B.get_or_404(app, "portal_configurations", cid, "configuration")
    before = public(cfg)
    if "active" in params:
        cfg["active"] = p_bool(params, "active")
    if "default_return_url" in params:
        cfg["default_return_url"] = p_str(params, "default_return_url")
    if "name" in params:
        cfg["name"] = p_str(params, "name")
    if "metadata" in params:
        cfg["metadata"] = merge_metadata(cfg["metadata"] or {}, params)
    bp = p_dict(params, "business_profile")
    for k in ("headline", "privacy_policy_url", "terms_of_service_url"):
        if k in bp:
            cfg["business_profile"][k] = bp[k] or None
    if "features" in params:
        cfg["features"] = _portal_features(params, cfg["features"])
    if p_bool(params, "is_default", False):
        for c in app.state.all("portal_configurations"):
            c["is_default"] = c["id"] == cid
    cfg["updated"] = now()
    app.state.dirty = True
    after = public(cfg)
    emit(app, "billing_portal.configuration.updated", after, diff_previous(before, after))
    return after


@route("GET", "/v1/billing_portal/configurations")
def bpc_list(app, req, params):
    items = app.state.all("portal_configurations")
    if "active" in params:
        a = p_bool(params, "active")
        items = [c for c in items if c["active"] == a]
    if "is_default" in params:
        d = p_bool(params, "is_default")
        items = [c for c in items if c["is_default"] == d]
    return paginate([public(c) for c in items], params, "/v1/billing_portal/configurations")


@route("POST", "/v1/billing_portal/sessions")
def bps_create(app, req, params):
    cus = B.live_customer(app, p_str(params, "customer", required=True))
    cfg_id = p_str(params, "configuration")
    if cfg_id:
        cfg = B.get_or_404(app, "portal_configurations", cfg_id, "configuration", "configuration")
    else:
        cfg = next((c for c in app.state.all("portal_configurations") if c["is_default"]), None)
    return_url = p_str(params, "return_url") or (cfg or {}).get("default_return_url")
    sid = new_id("bps_")
    sess = {
        "id": sid,
        "object": "billing_portal.session",
        "configuration": cfg["id"] if cfg else None,
        "created": now(),
        "customer": cus["id"],
        "customer_account": None,
        "flow": None,
        "livemode": False,
        "locale": p_str(params, "locale"),
        "on_behalf_of": None,
        "return_url": return_url,
        "url": "%s/p/session/%s" % (req.base_url, sid),
    }
    app.state.put("portal_sessions", sess)
    return public(sess)


# ===========================================================================
# checkout


@route("POST", "/v1/checkout/sessions")
def cs_create(app, req, params):
    mode = p_str(params, "mode", required=True)
    if mode not in ("subscription", "payment", "setup"):
        raise invalid("mode")
    cus = None
    if p_str(params, "customer"):
        cus = B.live_customer(app, params["customer"])
    lines = []
    for i, li in enumerate(p_list(params, "line_items")):
        if not isinstance(li, dict) or not li.get("price"):
            raise missing("line_items[%d][price]" % i)
        price = B.get_or_404(app, "prices", li["price"], "price", "line_items[%d][price]" % i)
        if mode == "subscription" and not price.get("recurring"):
            raise invalid(
                "line_items[%d][price]" % i,
                "You must specify at least one recurring price in `subscription` mode when using prices.",
            )
        lines.append({"price": price["id"], "quantity": int(li.get("quantity") or 1)})
    if mode != "setup" and not lines:
        raise missing("line_items")
    if not p_str(params, "success_url") and p_str(params, "ui_mode", "hosted") == "hosted":
        raise missing("success_url")
    t = now()
    total = sum((app.state.get("prices", l["price"])["unit_amount"] or 0) * l["quantity"] for l in lines)
    currency = app.state.get("prices", lines[0]["price"])["currency"] if lines else None
    sid = "cs_test_" + rand(58)
    sd = p_dict(params, "subscription_data")
    sess = {
        "id": sid,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": total,
        "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": p_str(params, "cancel_url"),
        "client_reference_id": p_str(params, "client_reference_id"),
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": t,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": cus["id"] if cus else None,
        "customer_account": None,
        "customer_creation": None if cus else "always",
        "customer_details": (
            {
                "address": None,
                "business_name": None,
                "email": cus.get("email"),
                "individual_name": None,
                "name": cus.get("name"),
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            }
            if cus
            else None
        ),
        "customer_email": p_str(params, "customer_email"),
        "discounts": [],
        "expires_at": p_int(params, "expires_at") or t + 86400,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": p_str(params, "locale"),
        "metadata": merge_metadata({}, params),
        "mode": mode,
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": p_str(params, "success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": "%s/p/checkout/%s" % (req.base_url, sid),
        "wallet_options": None,
        "_lines": lines,
        "_subscription_data": {
            "metadata": sd.get("metadata") if isinstance(sd.get("metadata"), dict) else {},
            "trial_period_days": sd.get("trial_period_days"),
            "description": sd.get("description"),
            "trial_settings": sd.get("trial_settings"),
        },
    }
    app.state.put("checkout_sessions", sess)
    return public(sess)


@route("GET", "/v1/checkout/sessions/{sid}")
def cs_get(app, req, params, sid):
    return public(B.get_or_404(app, "checkout_sessions", sid, "checkout.session"))


@route("GET", "/v1/checkout/sessions/{sid}/line_items")
def cs_lines(app, req, params, sid):
    sess = B.get_or_404(app, "checkout_sessions", sid, "checkout.session")
    data = []
    for i, l in enumerate(sess["_lines"]):
        price = app.state.get("prices", l["price"])
        prod = app.state.get("products", price["product"]) or {}
        amt = (price["unit_amount"] or 0) * l["quantity"]
        data.append(
            {
                "id": "li_" + sid[-14:] + str(i),
                "object": "item",
                "adjustable_quantity": None,
                "amount_discount": 0,
                "amount_subtotal": amt,
                "amount_tax": 0,
                "amount_total": amt,
                "currency": price["currency"],
                "description": prod.get("name"),
                "metadata": {},
                "price": public(price),
                "quantity": l["quantity"],
            }
        )
    return paginate(data, params, "/v1/checkout/sessions/%s/line_items" % sid)


@route("POST", "/v1/checkout/sessions/{sid}/expire")
def cs_expire(app, req, params, sid):
    sess = B.get_or_404(app, "checkout_sessions", sid, "checkout.session")
    if sess["status"] != "open":
        raise StripeError(
            400, "invalid_request_error", 'Only Checkout Sessions with a status in ["open"] can be expired.'
        )
    sess["status"] = "expired"
    sess["url"] = None
    app.state.dirty = True
    emit(app, "checkout.session.expired", public(sess))
    return public(sess)


@route("GET", "/v1/checkout/sessions")
def cs_list(app, req, params):
    items = app.state.all("checkout_sessions")
    for k in ("customer", "subscription", "status", "payment_intent"):
        if p_str(params, k):
            items = [s for s in items if s.get(k) == params[k]]
    return paginate([public(s) for s in items], params, "/v1/checkout/sessions")


def complete_checkout(app, sess, card_ref, email=None):
    """Pay a checkout session (from the hosted page)."""
    from .resources import CARDS

    if sess["status"] != "open":
        raise StripeError(400, "invalid_request_error", "This Checkout Session is no longer active.")
    key = magic_card(card_ref)
    if not key:
        raise invalid("payment_method", "Unknown test card.")
    sd = sess["_subscription_data"]
    trial_days = int(sd.get("trial_period_days") or 0)
    total = sess["amount_total"] or 0
    behaviour = CARDS[key][2]
    if behaviour == "decline_attach" or (behaviour == "fail_charge" and total > 0 and not trial_days):
        from .errors import card_declined

        raise card_declined(CARDS[key][3] or "generic_decline")
    cus = app.state.get("customers", sess["customer"] or "")
    if cus is None:
        cus = build_customer({"email": email or sess.get("customer_email")}, now())
        app.state.put("customers", cus)
        emit(app, "customer.created", B.render_customer(app, cus))
    pm = B.resolve_payment_method(app, card_ref, cus, "payment_method")
    B.set_customer_default_pm(app, cus, pm["id"])
    sess["customer"] = cus["id"]
    sess["customer_details"] = {
        "address": None,
        "business_name": None,
        "email": cus.get("email") or email,
        "individual_name": None,
        "name": cus.get("name"),
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }
    if sess["mode"] == "subscription":
        sparams = {
            "customer": cus["id"],
            "items": [{"price": l["price"], "quantity": str(l["quantity"])} for l in sess["_lines"]],
            "metadata": sd.get("metadata") or {},
            "default_payment_method": pm["id"],
            "payment_behavior": "error_if_incomplete",
        }
        if trial_days:
            sparams["trial_period_days"] = str(trial_days)
        if sd.get("trial_settings"):
            sparams["trial_settings"] = sd["trial_settings"]
        if sd.get("description"):
            sparams["description"] = sd["description"]
        sub = B.create_subscription(app, sparams, cus=cus)
        sess["subscription"] = sub["id"]
        sess["invoice"] = sub["latest_invoice"]
        sess["payment_status"] = "no_payment_required" if trial_days else "paid"
    elif sess["mode"] == "payment":
        sess["payment_status"] = "paid"
        sess["payment_intent"] = new_id("pi_")
    else:
        sess["payment_status"] = "no_payment_required"
        sess["setup_intent"] = new_id("seti_")
    sess["status"] = "complete"
    sess["url"] = None
    app.state.dirty = True
    emit(app, "checkout.session.completed", public(sess))
    return sess


# ===========================================================================
# entitlements


@route("POST", "/v1/entitlements/features")
def feat_create(app, req, params):
    key = p_str(params, "lookup_key", required=True)
    if any(f["lookup_key"] == key for f in app.state.all("features")):
        raise StripeError(
            400, "invalid_request_error", "A feature with lookup key `%s` already exists." % key, param="lookup_key"
        )
    feat = {
        "id": "feat_test_" + rand(32),
        "object": "entitlements.feature",
        "active": True,
        "livemode": False,
        "lookup_key": key,
        "metadata": merge_metadata({}, params),
        "name": p_str(params, "name", required=True),
    }
    app.state.put("features", feat)
    return public(feat)


@route("GET", "/v1/entitlements/features/{fid}")
def feat_get(app, req, params, fid):
    return public(B.get_or_404(app, "features", fid, "feature"))


@route("POST", "/v1/entitlements/features/{fid}")
def feat_update(app, req, params, fid):
    feat = B.get_or_404(app, "features", fid, "feature")
    if "name" in params:
        feat["name"] = p_str(params, "name", required=True)
    if "active" in params:
        feat["active"] = p_bool(params, "active")
    if "metadata" in params:
        feat["metadata"] = merge_metadata(feat["metadata"], params)
    app.state.dirty = True
    return public(feat)


@route("GET", "/v1/entitlements/features")
def feat_list(app, req, params):
    items = app.state.all("features")
    if "archived" in params:
        arch = p_bool(params, "archived")
        items = [f for f in items if f["active"] != arch]
    if p_str(params, "lookup_key"):
        items = [f for f in items if f["lookup_key"] == params["lookup_key"]]
    return paginate([public(f) for f in items], params, "/v1/entitlements/features")


@route("POST", "/v1/products/{pid}/features")
def pf_create(app, req, params, pid):
    B.get_or_404(app, "products", pid, "product")
    fid = p_str(params, "entitlement_feature", required=True)
    feat = B.get_or_404(app, "features", fid, "feature", "entitlement_feature")
    for pf in app.state.all("product_features"):
        if pf["_product"] == pid and pf["entitlement_feature"]["id"] == fid:
            raise StripeError(
                400,
                "invalid_request_error",
                "This feature is already attached to the product.",
                param="entitlement_feature",
            )
    pf = {
        "id": new_id("prodft_"),
        "object": "product_feature",
        "entitlement_feature": public(feat),
        "livemode": False,
        "_product": pid,
    }
    app.state.put("product_features", pf)
    return public(pf)


def _render_pf(app, pf):
    out = public(pf)
    feat = app.state.get("features", pf["entitlement_feature"]["id"])
    if feat:
        out["entitlement_feature"] = public(feat)
    return out


@route("GET", "/v1/products/{pid}/features")
def pf_list(app, req, params, pid):
    B.get_or_404(app, "products", pid, "product")
    items = [_render_pf(app, pf) for pf in app.state.all("product_features") if pf["_product"] == pid]
    return paginate(items, params, "/v1/products/%s/features" % pid)


@route("GET", "/v1/products/{pid}/features/{pfid}")
def pf_get(app, req, params, pid, pfid):
    pf = app.state.get("product_features", pfid)
    if pf is None or pf["_product"] != pid:
        raise not_found("product_feature", pfid)
    return _render_pf(app, pf)


@route("DELETE", "/v1/products/{pid}/features/{pfid}")
def pf_delete(app, req, params, pid, pfid):
    pf = app.state.get("product_features", pfid)
    if pf is None or pf["_product"] != pid:
        raise not_found("product_feature", pfid)
    app.state.delete("product_features", pfid)
    return {"id": pfid, "object": "product_feature", "deleted": True}


@route("GET", "/v1/entitlements/active_entitlements")
def ae_list(app, req, params):
    cid = p_str(params, "customer", required=True)
    B.live_customer(app, cid)
    items = [B.active_entitlement(cid, f) for f in B.active_features(app, cid)]
    return paginate(items, params, "/v1/entitlements/active_entitlements")


@route("GET", "/v1/entitlements/active_entitlements/{eid}")
def ae_get(app, req, params, eid):
    for cus in app.state.all("customers"):
        if cus.get("deleted"):
            continue
        for f in B.active_features(app, cus["id"]):
            ent = B.active_entitlement(cus["id"], f)
            if ent["id"] == eid:
                return ent
    raise not_found("active_entitlement", eid)
