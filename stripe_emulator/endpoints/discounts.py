"""Coupons (``/v1/coupons``), promotion codes (``/v1/promotion_codes``) and
removing a customer's or subscription's discount.  How references become
discounts and what they take off lives in ``discounts.py``."""

import secrets

from .. import discounts, stored_objects
from ..errors import invalid_request, missing, not_found
from ..events import diff_previous, emit
from ..resources import filter_by_created, merge_metadata, now, p_dict, paginate
from ..routing import handles
from ..store import new_id, rand

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def legacy_discount_references(params):
    """An older ``Stripe-Version``'s singular ``coupon``/``promotion_code`` (see ``versions.py``),
    as discount references; None when the request has neither."""
    references = [{key: params[key]} for key in ("coupon", "promotion_code") if params.get(key)]
    return references or None


def remove_discounts(app, owner, discount_ids, kind):
    """``DELETE .../discount``: ends the owner's discounts; answers with the (first) deleted discount."""
    ended = [app.state.get("discounts", discount_id) for discount_id in discount_ids]
    if not ended:
        raise invalid_request("No active discount for this %s." % kind, code="resource_missing")
    for discount in ended:
        discounts.end_discount(app, discount)
    return discounts.render_discount(ended[0])


# ---------------------------------------------------------------------------
# coupons


@handles("POST /v1/coupons")
def coupon_create(app, request, params):
    created = now()
    coupon_id = params.get("id") or rand(8)
    if app.state.get("coupons", coupon_id):
        raise invalid_request("Coupon already exists.", code="resource_already_exists", param="id")
    _check_coupon_terms(params)
    coupon = {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": params.get("amount_off"),
        "applies_to": {"products": list(p_dict(params, "applies_to").get("products") or [])},
        "created": created,
        "currency": (params.get("currency") or "").lower() or None,
        "duration": params.get("duration", "once"),
        "duration_in_months": params.get("duration_in_months") if params.get("duration") == "repeating" else None,
        "livemode": False,
        "max_redemptions": params.get("max_redemptions"),
        "metadata": merge_metadata({}, params),
        "name": params.get("name"),
        "percent_off": params.get("percent_off"),
        "redeem_by": params.get("redeem_by"),
        "times_redeemed": 0,
    }
    app.state.put("coupons", coupon)
    rendered = discounts.render_coupon(coupon, created)
    emit(app, "coupon.created", rendered)
    return _with_includes(coupon, params, created)


def _check_coupon_terms(params):
    """Stripe's rules: exactly one of percent_off and amount_off (with currency), months for repeating."""
    percent_off, amount_off = params.get("percent_off"), params.get("amount_off")
    if (percent_off is None) == (amount_off is None):
        raise invalid_request("Coupon must have either percent_off or amount_off.", param="percent_off")
    if percent_off is not None and not 0 < percent_off <= 100:
        raise invalid_request("percent_off must be greater than 0 and at most 100.", param="percent_off")
    if amount_off is not None and not params.get("currency"):
        raise missing("currency")
    if params.get("duration") == "repeating" and not params.get("duration_in_months"):
        raise missing("duration_in_months")
    if params.get("redeem_by") is not None and params["redeem_by"] <= now():
        raise invalid_request("redeem_by must be in the future.", param="redeem_by")


def _with_includes(coupon, params, at):
    return discounts.render_coupon(coupon, at, include_applies_to="applies_to" in (params.get("expand") or []))


def _live_coupon(app, coupon_id, param="id"):
    coupon = app.state.get("coupons", coupon_id)
    if coupon is None or coupon.get("deleted"):
        raise not_found("coupon", coupon_id, param)
    return coupon


@handles("GET /v1/coupons/{coupon}")
def coupon_retrieve(app, request, params, coupon_id):
    return _with_includes(_live_coupon(app, coupon_id), params, now())


@handles("POST /v1/coupons/{coupon}")
def coupon_update(app, request, params, coupon_id):
    coupon = _live_coupon(app, coupon_id)
    before = discounts.render_coupon(coupon, now())
    if "name" in params:
        coupon["name"] = params["name"] or None
    if "metadata" in params:
        coupon["metadata"] = merge_metadata(coupon["metadata"], params)
    after = discounts.render_coupon(coupon, now())
    previous = diff_previous(before, after)
    if previous:
        app.state.dirty = True
        emit(app, "coupon.updated", after, previous)
    return _with_includes(coupon, params, now())


@handles("DELETE /v1/coupons/{coupon}")
def coupon_delete(app, request, params, coupon_id):
    """Existing discounts keep working; the coupon can no longer be redeemed or retrieved."""
    coupon = _live_coupon(app, coupon_id)
    rendered = discounts.render_coupon(coupon, now())
    coupon["deleted"] = True
    app.state.dirty = True
    emit(app, "coupon.deleted", rendered)
    return {"id": coupon_id, "object": "coupon", "deleted": True}


@handles("GET /v1/coupons")
def coupon_list(app, request, params):
    coupons = filter_by_created([c for c in app.state.all("coupons") if not c.get("deleted")], params)
    at = now()
    return paginate([discounts.render_coupon(coupon, at) for coupon in coupons], params, "/v1/coupons")


# ---------------------------------------------------------------------------
# promotion codes


@handles("POST /v1/promotion_codes")
def promotion_code_create(app, request, params):
    created = now()
    if params.get("coupon"):  # an older Stripe-Version's top-level coupon (see versions.py)
        coupon = _live_coupon(app, params["coupon"], "coupon")
    elif p_dict(params, "promotion").get("coupon"):
        coupon = _live_coupon(app, params["promotion"]["coupon"], "promotion[coupon]")
    else:
        raise missing("promotion[coupon]")
    customer_id = params.get("customer")
    if customer_id:
        stored_objects.live_customer(app, customer_id)
    code_text = params.get("code") or "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    active = params.get("active", True)
    if active:
        _refuse_duplicate_code(app, code_text, customer_id, created)
    code = {
        "id": new_id("promo_"),
        "object": "promotion_code",
        "code": code_text,
        "created": created,
        "customer": customer_id,
        "customer_account": None,
        "expires_at": _expiry(params, coupon),
        "livemode": False,
        "max_redemptions": params.get("max_redemptions"),
        "metadata": merge_metadata({}, params),
        "promotion": {"coupon": coupon["id"], "type": "coupon"},
        "restrictions": _restrictions(p_dict(params, "restrictions")),
        "times_redeemed": 0,
        "_active": active,
    }
    app.state.put("promotion_codes", code)
    rendered = discounts.render_promotion_code(app, code, created)
    emit(app, "promotion_code.created", rendered)
    return rendered


def _expiry(params, coupon):
    expires_at = params.get("expires_at")
    if expires_at is not None and coupon["redeem_by"] is not None and expires_at > coupon["redeem_by"]:
        raise invalid_request("The promotion code cannot expire after its coupon's redeem_by.", param="expires_at")
    return expires_at


def _restrictions(requested):
    minimum = requested.get("minimum_amount")
    if minimum is not None and not requested.get("minimum_amount_currency"):
        raise missing("restrictions[minimum_amount_currency]")
    return {
        "first_time_transaction": requested.get("first_time_transaction", False),
        "minimum_amount": minimum,
        "minimum_amount_currency": (requested.get("minimum_amount_currency") or "").lower() or None,
    }


def _refuse_duplicate_code(app, code_text, customer_id, at):
    """Codes are unique, regardless of case, among active codes (per customer)."""
    for other in app.state.all("promotion_codes"):
        same_customer = other["customer"] in (None, customer_id) or customer_id is None
        if (
            other["code"].lower() == code_text.lower()
            and same_customer
            and discounts.promotion_code_is_active(app, other, at)
        ):
            raise invalid_request(
                "An active promotion code with `code: %s` already exists." % code_text,
                code="resource_already_exists",
                param="code",
            )


def _promotion_code(app, code_id):
    code = app.state.get("promotion_codes", code_id)
    if code is None:
        raise not_found("promotion code", code_id)
    return code


@handles("GET /v1/promotion_codes/{promotion_code}")
def promotion_code_retrieve(app, request, params, code_id):
    return discounts.render_promotion_code(app, _promotion_code(app, code_id), now())


@handles("POST /v1/promotion_codes/{promotion_code}")
def promotion_code_update(app, request, params, code_id):
    code = _promotion_code(app, code_id)
    at = now()
    before = discounts.render_promotion_code(app, code, at)
    if params.get("active") is True and not code["_active"]:
        _refuse_duplicate_code(app, code["code"], code["customer"], at)
    if "active" in params:
        code["_active"] = params["active"]
    if "metadata" in params:
        code["metadata"] = merge_metadata(code["metadata"], params)
    after = discounts.render_promotion_code(app, code, at)
    previous = diff_previous(before, after)
    if previous:
        app.state.dirty = True
        emit(app, "promotion_code.updated", after, previous)
    return after


@handles("GET /v1/promotion_codes")
def promotion_code_list(app, request, params):
    """Filters: ``active``, ``code`` (case-insensitive), ``coupon``, ``customer``, ``created``."""
    at = now()
    codes = filter_by_created(app.state.all("promotion_codes"), params)
    if "active" in params:
        codes = [c for c in codes if discounts.promotion_code_is_active(app, c, at) == params["active"]]
    if params.get("code"):
        codes = [c for c in codes if c["code"].lower() == params["code"].lower()]
    if params.get("coupon"):
        codes = [c for c in codes if c["promotion"]["coupon"] == params["coupon"]]
    if params.get("customer"):
        codes = [c for c in codes if c["customer"] == params["customer"]]
    return paginate([discounts.render_promotion_code(app, c, at) for c in codes], params, "/v1/promotion_codes")
