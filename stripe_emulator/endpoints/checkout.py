"""Checkout sessions (``/v1/checkout/sessions``).  The hosted page
(``pages.py``) completes a session through ``complete_checkout``.

Taxes: line ``tax_rates`` and ``subscription_data[default_tax_rates]``, or
``automatic_tax`` (``taxes.py``'s country table) from the address the page
collects (or the existing customer's); ``tax_id_collection`` lets the page take
a business name and one tax ID (format-checked), which become the customer's;
``customer_update[address|name]=auto`` saves what was collected onto an
existing customer."""

from .. import discounts, meters, payment_methods, payments, setup_intents, stored_objects, subscriptions, taxes
from ..errors import card_declined, invalid, invalid_request, missing
from ..events import diff_previous, emit
from ..resources import (
    build_customer,
    build_payment_method,
    magic_card,
    merge_metadata,
    now,
    p_dict,
    p_int,
    p_list,
    p_str,
    paginate,
    public,
)
from ..routing import handles
from ..store import rand
from .tax import create_tax_id

SESSION_LIFETIME = 86400
ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
# Stripe's answer when automatic tax cannot know where an existing customer is
NEEDS_CUSTOMER_ADDRESS = (
    "Automatic tax calculation in Checkout requires a valid address on the Customer. Add a valid address to the "
    "Customer or set either `customer_update[address]` to 'auto' or `customer_update[shipping]` to 'auto' to save "
    "the address entered in Checkout to the Customer."
)


@handles("POST /v1/checkout/sessions")
def checkout_session_create(app, request, params):
    mode = p_str(params, "mode", required=True)
    if mode not in ("subscription", "payment", "setup"):
        raise invalid("mode")
    customer = stored_objects.live_customer(app, params["customer"]) if p_str(params, "customer") else None
    lines = _line_items(app, p_list(params, "line_items"), mode)
    if mode != "setup" and not lines:
        raise missing("line_items")
    if not p_str(params, "success_url") and p_str(params, "ui_mode", "hosted") == "hosted":
        raise missing("success_url")
    session = _build_session(app, request, params, mode, customer, lines)
    _set_tax_collection(app, session, params, customer)
    if params.get("discounts") and params.get("allow_promotion_codes"):
        raise invalid_request(
            "You may only specify one of these parameters: allow_promotion_codes, discounts.", param="discounts"
        )
    _check_payment_method_types(session)
    set_discounts(app, session, params.get("discounts") or [], "discounts")
    if mode == "setup":
        setup = {"payment_method_types": session["payment_method_types"], "usage": "off_session"}
        if session["customer"]:
            setup["customer"] = session["customer"]
        session["setup_intent"] = setup_intents.create_setup_intent(app, setup, now())["id"]
    app.state.put("checkout_sessions", session)
    return public(session)


def _check_payment_method_types(session):
    """SEPA Direct Debit takes euros only."""
    if "sepa_debit" in session["payment_method_types"] and session["currency"] not in (None, "eur"):
        raise invalid_request(
            "The currency provided (%s) is invalid. Payment methods sepa_debit only support eur." % session["currency"],
            param="payment_method_types",
        )


def set_discounts(app, session, references, param):
    """Check ``references`` (at most one coupon or promotion code, as Checkout allows) and recompute the totals.
    The discount is redeemed when the session completes."""
    if len(references) > 1:
        raise invalid_request("Checkout Sessions support at most one coupon or promotion code.", param=param)
    common = {"currency": session["currency"], "amount": session["amount_subtotal"], "at": now()}
    discounts.check_references(app, references, customer_id=session["customer"], param=param, **common)
    session["discounts"] = [
        {"coupon": reference.get("coupon"), "promotion_code": reference.get("promotion_code")}
        for reference in references
    ]
    recompute_amounts(app, session)


def recompute_amounts(app, session):
    """``amount_total`` and ``total_details``: discounts, then taxes on what they leave."""
    lines = _discounted_lines(app, session)
    taken = sum(entry["amount"] for line in lines for entry in line["discount_amounts"])
    exclusive, inclusive = taxes.totals_by_behavior([tax for line in lines for tax in line["taxes"]])
    session["amount_total"] = session["amount_subtotal"] - taken + exclusive
    session["total_details"]["amount_discount"] = taken
    session["total_details"]["amount_tax"] = exclusive + inclusive
    app.state.dirty = True


def _set_tax_collection(app, session, params, customer):
    """``automatic_tax``, ``tax_id_collection``, ``customer_update``, ``billing_address_collection`` and the
    subscription's ``default_tax_rates``, checked as Stripe checks them."""
    update = params.get("customer_update") or {}
    if update and customer is None:
        raise invalid_request("customer_update can only be used with customer.", param="customer_update")
    automatic = bool(taxes.automatic_tax_requested(params))
    saves_address = "auto" in (update.get("address"), update.get("shipping"))
    if automatic and customer is not None and not taxes.customer_country(customer) and not saves_address:
        raise invalid_request(NEEDS_CUSTOMER_ADDRESS, param="customer_update[address]")
    defaults = p_dict(params, "subscription_data").get("default_tax_rates")
    session["_default_tax_rates"] = taxes.checked_rates(app, defaults, "subscription_data[default_tax_rates]")
    line_rates = [rate for line in session["_lines"] for rate in line["tax_rates"]]
    taxes.refuse_rates_with_automatic_tax(
        automatic, line_items=line_rates, subscription_data=session["_default_tax_rates"]
    )
    session["automatic_tax"] = dict(taxes.invoice_automatic_tax(automatic), status=None)
    del session["automatic_tax"]["disabled_reason"]
    requested = p_dict(params, "tax_id_collection")
    session["tax_id_collection"] = {
        "enabled": bool(requested.get("enabled")),
        "required": requested.get("required") or "never",
    }
    session["billing_address_collection"] = params.get("billing_address_collection")
    session["_customer_update"] = update
    session["_collected"] = {}


def collects_address(session):
    """The hosted page asks for an address when told to, or when tax needs to know where the customer is."""
    return bool(
        session.get("billing_address_collection") == "required"
        or session["automatic_tax"]["enabled"]
        or (session.get("tax_id_collection") or {}).get("enabled")
    )


def collect_details(app, session, form):
    """The hosted page's address, business name and tax ID (checked), kept on the session until it completes."""
    address = {key: (form.get("address_" + key) or "").strip() or None for key in ADDRESS_FIELDS}
    if address["country"]:
        address["country"] = address["country"].upper()
    collected = session["_collected"] = {"address": address if address["country"] else None}
    if session["tax_id_collection"]["enabled"] and (form.get("tax_id_value") or "").strip():
        collected["business_name"] = (form.get("business_name") or "").strip() or None
        tax_id = {"type": form.get("tax_id_type") or "eu_vat", "value": form["tax_id_value"].strip()}
        taxes.check_tax_id(tax_id["type"], tax_id["value"], "tax_id")
        collected["tax_id"] = tax_id
    recompute_amounts(app, session)
    if collects_address(session) and collected["address"] is None:
        raise invalid_request("Enter your address (at least its country).", param="address")


def _priced_lines(app, session):
    """Each line item as an invoice line would be priced (for discount arithmetic)."""
    lines = []
    for line in session["_lines"]:
        price = app.state.get("prices", line["price"])
        lines.append(
            {
                "amount": _line_amount(app, line),
                "discountable": True,
                "pricing": {"price_details": {"price": price["id"], "product": price["product"]}},
            }
        )
    return lines


def apply_promotion_code(app, session, code_text):
    """The hosted page's promotion code field (sessions with ``allow_promotion_codes``)."""
    if not session.get("allow_promotion_codes"):
        raise invalid_request("This Checkout Session does not accept promotion codes.")
    wanted = (code_text or "").strip().lower()
    matches = [c for c in app.state.all("promotion_codes") if c["code"].lower() == wanted]
    active = [c for c in matches if discounts.promotion_code_is_active(app, c, now())]
    if not (active or matches):
        raise invalid_request("This code is invalid.", param="promotion_code")
    set_discounts(app, session, [{"promotion_code": (active or matches)[0]["id"]}], "promotion_code")


def _line_items(app, line_items, mode):
    lines = []
    for index, line in enumerate(line_items):
        if not line.get("price"):
            raise missing("line_items[%d][price]" % index)
        param = "line_items[%d][price]" % index
        price = stored_objects.get_or_404(app, "prices", line["price"], "price", param)
        if mode == "subscription" and not price.get("recurring"):
            raise invalid(
                param, "You must specify at least one recurring price in `subscription` mode when using prices."
            )
        if meters.is_metered(price) and "quantity" in line:
            raise invalid_request(
                "Quantity should not be specified where usage_type is `metered`. Remove quantity from "
                "`line_items[%d]`." % index,
                param="line_items[%d][quantity]" % index,
            )
        rates = taxes.checked_rates(app, line.get("tax_rates"), "line_items[%d][tax_rates]" % index)
        lines.append({"price": price["id"], "quantity": int(line.get("quantity") or 1), "tax_rates": rates})
    return lines


def _line_amount(app, line):
    """What a line costs up front (metered prices are billed later, for their usage)."""
    price = app.state.get("prices", line["price"])
    return 0 if meters.is_metered(price) else (price["unit_amount"] or 0) * line["quantity"]


def customer_details(customer, email=None, collected=None):
    collected = collected or {}
    return {
        "address": collected.get("address") or customer.get("address"),
        "business_name": collected.get("business_name"),
        "email": customer.get("email") or email,
        "individual_name": None,
        "name": customer.get("name"),
        "phone": None,
        "tax_exempt": customer.get("tax_exempt") or "none",
        "tax_ids": [collected["tax_id"]] if collected.get("tax_id") else [],
    }


def _build_session(app, request, params, mode, customer, lines):
    created = now()
    prices = [app.state.get("prices", line["price"]) for line in lines]
    total = sum(_line_amount(app, line) for line in lines)
    session_id = "cs_test_" + rand(58)
    session = {"id": session_id, **_session_defaults()}
    session.update(
        {
            "allow_promotion_codes": params.get("allow_promotion_codes"),
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": p_str(params, "cancel_url"),
            "client_reference_id": p_str(params, "client_reference_id"),
            "created": created,
            "currency": prices[0]["currency"] if prices else None,
            "customer": customer["id"] if customer else None,
            "customer_creation": None if customer else "always",
            "customer_details": customer_details(customer) if customer else None,
            "customer_email": p_str(params, "customer_email"),
            "expires_at": p_int(params, "expires_at") or created + SESSION_LIFETIME,
            "locale": p_str(params, "locale"),
            "metadata": merge_metadata({}, params),
            "mode": mode,
            "success_url": p_str(params, "success_url"),
            "url": "%s/p/checkout/%s" % (request.base_url, session_id),
            "payment_method_types": payments.method_types(params, prices[0]["currency"] if prices else None),
            "_lines": lines,
            "_subscription_data": _subscription_data(p_dict(params, "subscription_data")),
            "_payment_intent_data": p_dict(params, "payment_intent_data"),
        }
    )
    return session


def _subscription_data(data):
    return {
        "metadata": data.get("metadata") if isinstance(data.get("metadata"), dict) else {},
        "trial_period_days": data.get("trial_period_days"),
        "description": data.get("description"),
        "trial_settings": data.get("trial_settings"),
    }


def _session_defaults():
    """The fields of a new session the emulator does not derive from the request."""
    return {
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer_account": None,
        "discounts": [],
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
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
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "wallet_options": None,
    }


@handles("GET /v1/checkout/sessions/{session}")
def checkout_session_retrieve(app, request, params, session_id):
    return public(stored_objects.get_or_404(app, "checkout_sessions", session_id, "checkout.session"))


@handles("GET /v1/checkout/sessions/{session}/line_items")
def checkout_session_line_items(app, request, params, session_id):
    session = stored_objects.get_or_404(app, "checkout_sessions", session_id, "checkout.session")
    priced = _discounted_lines(app, session)
    data = [_line_item(app, session_id, index, line, priced[index]) for index, line in enumerate(session["_lines"])]
    return paginate(data, params, "/v1/checkout/sessions/%s/line_items" % session_id)


def _discounted_lines(app, session):
    """Each line priced, discounted and taxed (its ``discount_amounts`` and ``taxes``)."""
    lines = _priced_lines(app, session)
    coupons = []
    for reference in session["discounts"]:
        code = app.state.get("promotion_codes", reference["promotion_code"] or "")
        coupon_id = code["promotion"]["coupon"] if code else reference["coupon"]
        coupons.append((coupon_id, app.state.get("coupons", coupon_id)))
    discounts.take_off(lines, [[] for _ in lines], coupons, session["currency"])
    customer = app.state.get("customers", session["customer"] or "") or {}
    country = taxes.customer_country(customer, session.get("_collected"))
    automatic = session["automatic_tax"]["enabled"]
    if automatic:
        session["automatic_tax"]["status"] = "complete" if country else "requires_location_inputs"
    basis = taxes.TaxBasis(app, automatic, country, customer.get("tax_exempt"))
    defaults = [rate["id"] for rate in session.get("_default_tax_rates") or []]
    for line, session_line in zip(lines, session["_lines"], strict=True):
        taxable = line["amount"] - sum(entry["amount"] for entry in line["discount_amounts"])
        tax_rate_ids = [rate["id"] for rate in session_line["tax_rates"]] or defaults
        price = app.state.get("prices", session_line["price"])
        line["taxes"] = taxes.line_taxes(basis.rates(tax_rate_ids, price, session["created"]), taxable)
    return lines


def _line_item(app, session_id, index, line, priced):
    price = app.state.get("prices", line["price"])
    product = app.state.get("products", price["product"]) or {}
    amount = priced["amount"]
    discount = sum(entry["amount"] for entry in priced["discount_amounts"])
    exclusive, inclusive = taxes.totals_by_behavior(priced["taxes"])
    return {
        "id": "li_" + session_id[-14:] + str(index),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": discount,
        "amount_subtotal": amount,
        "amount_tax": exclusive + inclusive,
        "amount_total": amount - discount + exclusive,
        "currency": price["currency"],
        "description": product.get("name"),
        "metadata": {},
        "price": public(price),
        "quantity": line["quantity"],
    }


@handles("POST /v1/checkout/sessions/{session}/expire")
def checkout_session_expire(app, request, params, session_id):
    session = stored_objects.get_or_404(app, "checkout_sessions", session_id, "checkout.session")
    if session["status"] != "open":
        raise invalid_request('Only Checkout Sessions with a status in ["open"] can be expired.')
    session["status"] = "expired"
    session["url"] = None
    app.state.dirty = True
    emit(app, "checkout.session.expired", public(session))
    return public(session)


@handles("GET /v1/checkout/sessions")
def checkout_session_list(app, request, params):
    items = app.state.all("checkout_sessions")
    for key in ("customer", "subscription", "status", "payment_intent"):
        if p_str(params, key):
            items = [s for s in items if s.get(key) == params[key]]
    return paginate([public(s) for s in items], params, "/v1/checkout/sessions")


# ---------------------------------------------------------------------------
# completion from the hosted page


def complete_checkout(app, session, payment_method_reference, email=None):
    """Pay an open session with a test card's magic id (the hosted page's form) or a payment method."""
    if session["status"] != "open":
        raise invalid_request("This Checkout Session is no longer active.")
    pm = _checkout_payment_method(app, session, payment_method_reference)
    trial_days = int(session["_subscription_data"].get("trial_period_days") or 0)
    charged_now = (session["amount_total"] or 0) > 0 and not trial_days and session["mode"] != "setup"
    if pm["type"] == "card" and (
        pm["_behaviour"] == "decline_attach" or (payment_methods.refuses_payment(pm) and charged_now)
    ):
        raise card_declined(pm["_decline_code"] or "generic_decline")
    collected = session.get("_collected") or {}
    customer = _checkout_customer(app, session, email, collected)
    payment_methods.attach(app, pm, customer)
    payment_methods.set_customer_default(app, customer, pm["id"])
    session["customer"] = customer["id"]
    session["customer_details"] = customer_details(customer, email, collected)
    if collected.get("business_name"):
        session["collected_information"] = {
            "business_name": collected["business_name"],
            "individual_name": None,
            "shipping_details": None,
        }
    _fulfil(app, session, customer, pm, trial_days)
    session["status"] = "complete"
    session["url"] = None
    app.state.dirty = True
    emit(app, "checkout.session.completed", public(session))
    return session


def _checkout_payment_method(app, session, reference):
    key = magic_card(reference)
    if key:
        pm = build_payment_method(key, now())
        app.state.put("payment_methods", pm)
    else:
        pm = app.state.get("payment_methods", reference) if isinstance(reference, str) else None
        if pm is None:
            raise invalid("payment_method", "Unknown test card or payment method.")
    if pm["type"] not in session["payment_method_types"]:
        raise invalid_request("This Checkout Session does not accept %s payments." % pm["type"], param="payment_method")
    return pm


def _checkout_customer(app, session, email, collected):
    """The session's customer (created for a new one) with what the page collected: a new customer gets
    the address and business name, an existing one per ``customer_update``; the tax ID is added either way."""
    customer = app.state.get("customers", session["customer"] or "")
    if customer is None:
        params = {"email": email or session.get("customer_email"), "name": collected.get("business_name")}
        customer = build_customer({key: value for key, value in params.items() if value}, now())
        customer["address"] = collected.get("address")
        app.state.put("customers", customer)
        emit(app, "customer.created", stored_objects.render_customer(app, customer))
    else:
        _update_existing_customer(app, customer, session.get("_customer_update") or {}, collected)
    if collected.get("tax_id"):
        create_tax_id(app, customer, collected["tax_id"]["type"], collected["tax_id"]["value"], "tax_id")
    return customer


def _update_existing_customer(app, customer, update, collected):
    before = stored_objects.render_customer(app, customer)
    if update.get("address") == "auto" and collected.get("address"):
        customer["address"] = collected["address"]
    if update.get("name") == "auto" and collected.get("business_name"):
        customer["name"] = collected["business_name"]
    after = stored_objects.render_customer(app, customer)
    if after != before:
        app.state.dirty = True
        emit(app, "customer.updated", after, diff_previous(before, after))


def _fulfil(app, session, customer, pm, trial_days):
    if session["mode"] == "payment":
        _pay(app, session, customer, pm)
        return
    if session["mode"] == "setup":
        intent = app.state.get("setup_intents", session["setup_intent"])
        intent["customer"] = intent["customer"] or customer["id"]
        setup_intents.confirm_setup_intent(app, intent, {"payment_method": pm["id"]}, authenticated=True)
        session["payment_status"] = "no_payment_required"
        return
    data = session["_subscription_data"]
    subscription_params = {
        "customer": customer["id"],
        "items": [_subscription_item(app, line) for line in session["_lines"]],
        "metadata": data.get("metadata") or {},
        "default_payment_method": pm["id"],
        "payment_behavior": "error_if_incomplete",
        "discounts": [{key: value for key, value in d.items() if value} for d in session["discounts"]],
    }
    if trial_days:
        subscription_params["trial_period_days"] = trial_days
    if session["automatic_tax"]["enabled"]:
        subscription_params["automatic_tax"] = {"enabled": True}
    if session.get("_default_tax_rates"):
        subscription_params["default_tax_rates"] = [rate["id"] for rate in session["_default_tax_rates"]]
    for key in ("trial_settings", "description"):
        if data.get(key):
            subscription_params[key] = data[key]
    sub = subscriptions.create_subscription(app, subscription_params, cus=customer)
    session["subscription"] = sub["id"]
    session["invoice"] = sub["latest_invoice"]
    if not trial_days:  # what the first invoice charged, taxes included
        invoice = app.state.get("invoices", sub["latest_invoice"])
        session["amount_total"] = invoice["total"]
        session["total_details"]["amount_tax"] = sum(tax["amount"] for tax in invoice["total_taxes"])
    session["payment_status"] = "no_payment_required" if trial_days else "paid"


def _subscription_item(app, line):
    item = {"price": line["price"], "tax_rates": [rate["id"] for rate in line.get("tax_rates") or []]}
    if not meters.is_metered(app.state.get("prices", line["price"])):
        item["quantity"] = line["quantity"]
    return item


def _pay(app, session, customer, pm):
    """``mode=payment``: a PaymentIntent for the total, confirmed on-session (the page stands in for any
    3D Secure challenge).  A SEPA debit leaves the session ``unpaid`` until it settles
    (``checkout.session.async_payment_succeeded``/``failed``)."""
    data = session["_payment_intent_data"]
    params = {
        "amount": session["amount_total"],
        "currency": session["currency"],
        "customer": customer["id"],
        "payment_method_types": session["payment_method_types"],
        "metadata": data.get("metadata") or {},
    }
    for key in ("description", "setup_future_usage", "shipping", "receipt_email"):
        if data.get(key):
            params[key] = data[key]
    intent = payments.create_payment_intent(app, params, now(), checkout_session=session["id"])
    session["payment_intent"] = intent["id"]
    outcome = payments.attempt(app, intent, pm, now(), off_session=False, authenticated=True, notify=False)
    if outcome not in ("succeeded", "processing"):
        raise payments.payment_error(app, intent)
    session["payment_status"] = "paid" if outcome == "succeeded" else "unpaid"


# ---------------------------------------------------------------------------
# Checkout's page API (undocumented: what Stripe.js calls; the Stripe CLI's checkout fixtures call it too)


def _payment_page(session):
    """What the emulator answers for a Checkout page: the session's id, amounts and state."""
    return {
        "id": session["id"],
        "object": "payment_page",
        "amount_total": session["amount_total"],
        "currency": session["currency"],
        "customer": session["customer"],
        "mode": session["mode"],
        "payment_intent": session["payment_intent"],
        "payment_method_types": session["payment_method_types"],
        "payment_status": session["payment_status"],
        "setup_intent": session["setup_intent"],
        "status": session["status"],
        "subscription": session["subscription"],
    }


@handles("GET /v1/payment_pages/{session}")
def payment_page_retrieve(app, request, params, session_id):
    return _payment_page(stored_objects.get_or_404(app, "checkout_sessions", session_id, "checkout.session"))


@handles("POST /v1/payment_pages/{session}/confirm")
def payment_page_confirm(app, request, params, session_id):
    """Completes the session with ``payment_method``; ``expected_amount`` must be the session's total."""
    session = stored_objects.get_or_404(app, "checkout_sessions", session_id, "checkout.session")
    expected = params.get("expected_amount")
    if expected is not None and expected != (session["amount_total"] or 0):
        raise invalid_request(
            "The expected amount (%d) does not match the session's total (%d)." % (expected, session["amount_total"]),
            param="expected_amount",
        )
    complete_checkout(app, session, params["payment_method"])
    return _payment_page(session)
