"""Builders and renderers producing Stripe-shaped objects."""

import calendar
import copy
import datetime
import hashlib
import time

from .errors import invalid, missing, not_found
from .store import new_id, rand

# --------------------------------------------------------------------------
# parameter helpers


def p_bool(params, name, default=None):
    if name not in params:
        return default
    v = params[name]
    if isinstance(v, bool):
        return v
    if v in ("true", "True", "1"):
        return True
    if v in ("false", "False", "0", ""):
        return False
    raise invalid(name, "Invalid boolean: %s" % v, code="parameter_invalid_boolean")


def p_int(params, name, default=None, required=False):
    if name not in params or params[name] == "":
        if required:
            raise missing(name)
        return default
    try:
        return int(params[name])
    except (TypeError, ValueError):
        raise invalid(name, "Invalid integer: %s" % params[name], code="parameter_invalid_integer") from None


def p_str(params, name, default=None, required=False):
    v = params.get(name)
    if v is None or v == "":
        if required:
            raise missing(name)
        return default if v is None else (None if default is None else default)
    if not isinstance(v, str):
        raise invalid(name, "Invalid string: %r" % (v,))
    return v


def p_list(params, name):
    v = params.get(name)
    if v is None or v == "":
        return []
    if isinstance(v, list):
        return v
    if isinstance(v, dict):
        return [v[k] for k in sorted(v, key=lambda k: int(k) if k.isdigit() else 0)]
    return [v]


def p_dict(params, name):
    v = params.get(name)
    if v is None or v == "":
        return {}
    if not isinstance(v, dict):
        raise invalid(name, "Invalid object", code="parameter_invalid_object")
    return v


def merge_metadata(current, params, name="metadata"):
    if name not in params:
        return current
    v = params[name]
    if v == "" or v is None:
        return {}
    if not isinstance(v, dict):
        raise invalid(name, "Invalid object", code="parameter_invalid_object")
    out = dict(current or {})
    for k, val in v.items():
        if val == "" or val is None:
            out.pop(k, None)
        else:
            out[k] = str(val)
    return out


def now():
    return int(time.time())


def filter_by(items, params, *keys):
    """List filters: keep the objects whose ``key`` equals each of the ``keys`` the request sends."""
    for key in keys:
        if p_str(params, key):
            items = [o for o in items if o.get(key) == params[key]]
    return items


def filter_by_created(items, params, field="created"):
    """List filter ``created=N`` or ``created[gt|gte|lt|lte]=N``."""
    bounds = params.get(field)
    if bounds in (None, ""):
        return items
    if not isinstance(bounds, dict):
        return [o for o in items if o.get(field) == int(bounds)]
    comparisons = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    for operator, bound in bounds.items():
        if bound not in (None, ""):
            items = [o for o in items if comparisons[operator](o.get(field) or 0, int(bound))]
    return items


# --------------------------------------------------------------------------
# time helpers


def add_interval(ts, interval, count=1):
    dt = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    if interval == "day":
        return ts + 86400 * count
    if interval == "week":
        return ts + 7 * 86400 * count
    months = count if interval == "month" else 12 * count
    m = dt.month - 1 + months
    year, month = dt.year + m // 12, m % 12 + 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return int(dt.replace(year=year, month=month, day=day).timestamp())


# --------------------------------------------------------------------------
# test cards

CARDS = {
    # key: (brand, last4, behaviour, decline code).  Behaviours: ok; fail_charge (attaches, every charge
    # fails); decline_attach (attaching and charging fail); authenticate (3D Secure on every payment and
    # setup); authenticate_on_setup (3D Secure when set up and on-session, not off-session once set up);
    # dispute / dispute_inquiry (the charge succeeds, then is disputed).  https://docs.stripe.com/testing
    "visa": ("visa", "4242", "ok", None),
    "visa_debit": ("visa", "5556", "ok", None),
    "mastercard": ("mastercard", "4444", "ok", None),
    "amex": ("amex", "8431", "ok", None),
    "discover": ("discover", "1117", "ok", None),
    "threeDSecureOptional": ("visa", "3055", "ok", None),
    "chargeCustomerFail": ("visa", "0341", "fail_charge", "generic_decline"),
    "chargeDeclined": ("visa", "0002", "decline_attach", "generic_decline"),
    "chargeDeclinedInsufficientFunds": ("visa", "9995", "decline_attach", "insufficient_funds"),
    "chargeDeclinedLostCard": ("visa", "9987", "decline_attach", "lost_card"),
    "chargeDeclinedStolenCard": ("visa", "9979", "decline_attach", "stolen_card"),
    "chargeDeclinedExpiredCard": ("visa", "0069", "decline_attach", "expired_card"),
    "chargeDeclinedFraudulent": ("visa", "0019", "decline_attach", "fraudulent"),
    "threeDSecure2Required": ("visa", "3220", "authenticate", None),
    "authenticationRequired": ("visa", "3184", "authenticate", None),
    "authenticationRequiredOnSetup": ("visa", "3155", "authenticate_on_setup", None),
    "createDispute": ("visa", "0259", "dispute", None),
    "createDisputeInquiry": ("visa", "1976", "dispute_inquiry", None),
}
# Stripe's pm_card_visa_chargeDeclined… spellings of the same cards
CARD_ALIASES = {
    "visa_chargeDeclined": "chargeDeclined",
    "visa_chargeDeclinedInsufficientFunds": "chargeDeclinedInsufficientFunds",
    "visa_chargeDeclinedLostCard": "chargeDeclinedLostCard",
    "visa_chargeDeclinedStolenCard": "chargeDeclinedStolenCard",
    "visa_chargeDeclinedExpiredCard": "chargeDeclinedExpiredCard",
    "visa_chargeDeclinedFraudulent": "chargeDeclinedFraudulent",
}
CARD_NUMBERS = {
    "4242424242424242": "visa",
    "4000056655665556": "visa_debit",
    "5555555555554444": "mastercard",
    "378282246310005": "amex",
    "6011111111111117": "discover",
    "4000000000003055": "threeDSecureOptional",
    "4000000000000341": "chargeCustomerFail",
    "4000000000000002": "chargeDeclined",
    "4000000000009995": "chargeDeclinedInsufficientFunds",
    "4000000000009987": "chargeDeclinedLostCard",
    "4000000000009979": "chargeDeclinedStolenCard",
    "4000000000000069": "chargeDeclinedExpiredCard",
    "4000000000000019": "chargeDeclinedFraudulent",
    "4000000000003220": "threeDSecure2Required",
    "4000002760003184": "authenticationRequired",
    "4000002500003155": "authenticationRequiredOnSetup",
    "4000000000000259": "createDispute",
    "4000000000001976": "createDisputeInquiry",
}
CARD_BRAND_NAMES = {"visa": "Visa", "mastercard": "MasterCard", "amex": "American Express", "discover": "Discover"}


def magic_card(ref):
    """Return the CARDS key for a magic test id (pm_card_visa, tok_visa, ...)."""
    if not isinstance(ref, str):
        return None
    for prefix in ("pm_card_", "tok_"):
        if ref.startswith(prefix):
            key = ref[len(prefix) :]
            known = {name.lower(): name for name in list(CARDS) + list(CARD_ALIASES)}
            key = known.get(key.lower())
            return CARD_ALIASES.get(key, key)
    return None


def build_payment_method(card_key, now, params=None, id_prefix="pm_"):
    params = params or {}
    brand, last4, behaviour, decline = CARDS[card_key]
    bd = p_dict(params, "billing_details")
    addr = bd.get("address") if isinstance(bd.get("address"), dict) else {}
    return {
        "id": new_id(id_prefix),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {k: addr.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")},
            "email": bd.get("email"),
            "name": bd.get("name"),
            "phone": bd.get("phone"),
            "tax_id": None,
        },
        "card": {
            "brand": brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
            "country": "US",
            "display_brand": brand,
            "exp_month": 12,
            "exp_year": datetime.date.today().year + 3,
            "fingerprint": hashlib.sha1(card_key.encode()).hexdigest()[:16],
            "funding": "credit",
            "generated_from": None,
            "last4": last4,
            "networks": {"available": [brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": now,
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": merge_metadata({}, params),
        "type": "card",
        "_behaviour": behaviour,
        "_decline_code": decline,
        "_card_key": card_key,
    }


def render_card(pm):
    """A card source (``card_…``, from ``source=tok_…``) as Stripe's ``card`` object; it is stored as a
    payment method (Stripe lets the PaymentMethods API use cards too)."""
    card = pm["card"]
    address = pm["billing_details"]["address"] or {}
    return {
        "id": pm["id"],
        "object": "card",
        "address_city": address.get("city"),
        "address_country": address.get("country"),
        "address_line1": address.get("line1"),
        "address_line1_check": None,
        "address_line2": address.get("line2"),
        "address_state": address.get("state"),
        "address_zip": address.get("postal_code"),
        "address_zip_check": None,
        "allow_redisplay": pm.get("allow_redisplay"),
        "brand": CARD_BRAND_NAMES.get(card["brand"], card["brand"]),
        "country": card["country"],
        "customer": pm.get("customer"),
        "cvc_check": card["checks"]["cvc_check"],
        "dynamic_last4": None,
        "exp_month": card["exp_month"],
        "exp_year": card["exp_year"],
        "fingerprint": card["fingerprint"],
        "funding": card["funding"],
        "last4": card["last4"],
        "metadata": dict(pm.get("metadata") or {}),
        "name": pm["billing_details"].get("name"),
        "regulated_status": card["regulated_status"],
        "tokenization_method": None,
    }


# --------------------------------------------------------------------------
# builders


def build_customer(params, now, test_clock=None):
    addr = p_dict(params, "address")
    return {
        "id": new_id("cus_", 0),
        "object": "customer",
        "address": (
            {k: addr.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")} if addr else None
        ),
        "balance": p_int(params, "balance", 0),
        "created": now,
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": p_str(params, "description"),
        "discount": None,
        "email": p_str(params, "email"),
        "invoice_prefix": rand(8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": merge_metadata({}, params),
        "name": p_str(params, "name"),
        "next_invoice_sequence": 1,
        "phone": p_str(params, "phone"),
        "preferred_locales": p_list(params, "preferred_locales"),
        "shipping": None,
        "tax_exempt": p_str(params, "tax_exempt", "none"),
        "test_clock": test_clock,
    }


def build_product(params, now):
    pid = p_str(params, "id") or new_id("prod_", 0)
    return {
        "id": pid,
        "object": "product",
        "active": p_bool(params, "active", True),
        "created": now,
        "default_price": None,
        "description": p_str(params, "description"),
        "images": p_list(params, "images"),
        "livemode": False,
        "marketing_features": [
            {"name": f.get("name")} for f in p_list(params, "marketing_features") if isinstance(f, dict)
        ],
        "metadata": merge_metadata({}, params),
        "name": p_str(params, "name", required=True),
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": p_str(params, "statement_descriptor"),
        "tax_code": p_str(params, "tax_code"),
        "type": "service",
        "unit_label": p_str(params, "unit_label"),
        "updated": now,
        "url": p_str(params, "url"),
    }


def build_price(params, now, product_id, pid=None):
    rec = p_dict(params, "recurring")
    recurring = None
    if rec:
        interval = rec.get("interval")
        if interval not in ("day", "week", "month", "year"):
            raise invalid(
                "recurring[interval]", "Invalid recurring[interval]: must be one of day, week, month, or year"
            )
        recurring = {
            "interval": interval,
            "interval_count": int(rec.get("interval_count") or 1),
            "meter": rec.get("meter"),
            "trial_period_days": int(rec["trial_period_days"]) if rec.get("trial_period_days") else None,
            "usage_type": rec.get("usage_type") or "licensed",
        }
    amount = p_int(params, "unit_amount")
    if amount is None and params.get("unit_amount_decimal"):
        amount = int(float(params["unit_amount_decimal"]))
    if amount is None and params.get("custom_unit_amount") is None:
        raise missing("unit_amount")
    currency = p_str(params, "currency", required=True).lower()
    return {
        "id": pid or new_id("price_"),
        "object": "price",
        "active": p_bool(params, "active", True),
        "billing_scheme": p_str(params, "billing_scheme", "per_unit"),
        "created": now,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": p_str(params, "lookup_key"),
        "metadata": merge_metadata({}, params),
        "nickname": p_str(params, "nickname"),
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": p_str(params, "tax_behavior", "unspecified"),
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount) if amount is not None else None,
    }


def plan_from_price(price):
    rec = price.get("recurring") or {}
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": rec.get("interval"),
        "interval_count": rec.get("interval_count"),
        "livemode": False,
        "metadata": price["metadata"],
        "meter": rec.get("meter"),
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": rec.get("trial_period_days"),
        "usage_type": rec.get("usage_type", "licensed"),
    }


def build_webhook_endpoint(params, now, secret=None):
    url = p_str(params, "url", required=True)
    events = p_list(params, "enabled_events")
    if not events:
        raise missing("enabled_events")
    return {
        "id": new_id("we_"),
        "object": "webhook_endpoint",
        "api_version": p_str(params, "api_version"),
        "application": None,
        "created": now,
        "description": p_str(params, "description"),
        "enabled_events": events,
        "livemode": False,
        "metadata": merge_metadata({}, params),
        "secret": secret or ("whsec_" + rand(32)),
        "status": "enabled" if not p_bool(params, "disabled", False) else "disabled",
        "url": url,
    }


def render_webhook_endpoint(ep, include_secret=False):
    out = public(ep)
    if not include_secret:
        out.pop("secret", None)
    return out


def public(obj):
    """Deep copy without internal (underscore) keys."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj


def list_object(data, url, has_more=False):
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def paginate(items, params, url):
    """``items`` are rendered objects, newest first."""
    limit = p_int(params, "limit", 10)
    if limit < 1 or limit > 100:
        raise invalid("limit", "Invalid limit: must be between 1 and 100", code="parameter_invalid_integer")
    sa, eb = params.get("starting_after"), params.get("ending_before")
    ids = [o.get("id") for o in items]
    if sa:
        if sa not in ids:
            raise not_found("object", sa, "starting_after")
        start = ids.index(sa) + 1
        page = items[start : start + limit]
        more = start + limit < len(items)
    elif eb:
        if eb not in ids:
            raise not_found("object", eb, "ending_before")
        end = ids.index(eb)
        start = max(0, end - limit)
        page = items[start:end]
        more = start > 0
    else:
        page = items[:limit]
        more = len(items) > limit
    return list_object(page, url, more)


def deep(obj):
    return copy.deepcopy(obj)
