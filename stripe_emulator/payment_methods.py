"""Payment methods: Stripe's test cards (``resources.CARDS``) and what each does in an attempt
(``card_outcome``); creating one from a request (a card, or a SEPA debit: ``sepa.py``); resolving a reference
(a magic test id becomes a new payment method); attaching one to a customer; and the default a customer's
or a subscription's invoices are charged to.  Every function expects the state lock to be held."""

import time

from . import sepa, stored_objects
from .errors import StripeError, card_declined, invalid, invalid_request, missing, not_found
from .events import diff_previous, emit
from .resources import CARD_NUMBERS, CARDS, build_payment_method, magic_card, p_dict, p_str, public

# ---------------------------------------------------------------------------
# creating and resolving


def card_key_from_params(params):
    card = p_dict(params, "card")
    if card.get("token"):
        key = magic_card(card["token"])
        if not key:
            raise invalid("card[token]", "No such token: '%s'" % card["token"], code="resource_missing")
        return key
    number = (card.get("number") or "").replace(" ", "")
    if number:
        if number in CARD_NUMBERS:
            return CARD_NUMBERS[number]
        raise StripeError(
            402, "card_error", "Your card number is incorrect.", code="incorrect_number", param="card[number]"
        )
    raise missing("card")


def create_card(app, card_key, params=None, prefix="pm_"):
    """A new card payment method of test card ``card_key`` (``resources.CARDS``), not attached."""
    pm = build_payment_method(card_key, int(time.time()), params, prefix)
    app.state.put("payment_methods", pm)
    return pm


def create_from_params(app, params, param="type"):
    """``POST /v1/payment_methods`` and ``payment_method_data``: a card or a SEPA debit."""
    kind = p_str(params, "type", "card")
    if kind == "sepa_debit":
        pm = sepa.build_payment_method(params, int(time.time()))
    elif kind == "card":
        pm = build_payment_method(card_key_from_params(params), int(time.time()), params)
    else:
        raise invalid_request("The emulator supports card and sepa_debit payment methods only.", param=param)
    app.state.put("payment_methods", pm)
    return pm


def from_params(app, params, customer_id, param="payment_method"):
    """``payment_method`` (a magic test id becomes a new, unattached payment method) or
    ``payment_method_data``; None when the request names neither."""
    reference = p_str(params, "payment_method")
    if reference:
        return resolve(app, reference, customer_id, param)
    data = p_dict(params, "payment_method_data")
    if data:
        pm = create_from_params(app, data, "payment_method_data")
        return pm
    return None


def resolve(app, reference, customer_id, param="payment_method"):
    """A payment method for an intent: a magic test id becomes a new, unattached one; a stored one must not
    be attached to another customer than ``customer_id``."""
    key = magic_card(reference)
    if key:
        pm = build_payment_method(key, int(time.time()))
        app.state.put("payment_methods", pm)
        return pm
    pm = app.state.get("payment_methods", reference) if isinstance(reference, str) else None
    if pm is None:
        raise not_found("PaymentMethod", reference, param)
    if pm.get("customer") and customer_id and pm["customer"] != customer_id:
        raise invalid_request(
            "The provided PaymentMethod is attached to another customer (%s)." % pm["customer"], param=param
        )
    return pm


def resolve_and_attach(app, ref, cus, param="payment_method", cache=None):
    """Turn ``ref`` (magic test id, token or pm id) into a stored payment
    method attached to ``cus``.  ``cache`` maps magic ids already resolved in
    this request to their concrete payment method."""
    if cache is not None and ref in cache:
        return cache[ref]
    key = magic_card(ref)
    if key:
        if CARDS[key][2] == "decline_attach":
            raise card_declined(CARDS[key][3], param=param)
        pm = create_card(app, key)
    else:
        pm = app.state.get("payment_methods", ref) if isinstance(ref, str) else None
        if pm is None:
            raise not_found("PaymentMethod", ref, param)
    if cus is not None:
        attach(app, pm, cus, param)
    if cache is not None:
        cache[ref] = pm
    return pm


def attach(app, pm, cus, param="payment_method"):
    """Attach ``pm`` to customer ``cus`` (``payment_method.attached``); a card that declines attaching, or one
    attached to another customer, is refused."""
    if pm["_behaviour"] == "decline_attach":
        raise card_declined(pm["_decline_code"] or "generic_decline", param=param)
    if pm.get("customer") and pm["customer"] != cus["id"]:
        raise invalid(
            param,
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state",
        )
    if pm.get("customer") == cus["id"]:
        return pm
    pm["customer"] = cus["id"]
    app.state.dirty = True
    emit(app, "payment_method.attached", public(pm))
    return pm


# ---------------------------------------------------------------------------
# defaults


def set_customer_default(app, cus, pm_id):
    before = stored_objects.render_customer(app, cus)
    cus["invoice_settings"]["default_payment_method"] = pm_id
    app.state.dirty = True
    after = stored_objects.render_customer(app, cus)
    if before != after:
        emit(app, "customer.updated", after, diff_previous(before, after))


def default_for_subscription(app, sub):
    """What a subscription's invoices are charged to: its own default, else its customer's."""
    if sub.get("default_payment_method"):
        pm = app.state.get("payment_methods", sub["default_payment_method"])
        if pm:
            return pm
    cus = app.state.get("customers", sub["customer"])
    return default_for_customer(app, cus)


def default_for_customer(app, cus):
    """The customer's ``invoice_settings.default_payment_method``, else its ``default_source`` (attached)."""
    if not cus or cus.get("deleted"):
        return None
    for pid in (cus["invoice_settings"].get("default_payment_method"), cus.get("default_source")):
        if pid:
            pm = app.state.get("payment_methods", pid)
            if pm and pm.get("customer") == cus["id"]:
                return pm
    return None


# ---------------------------------------------------------------------------
# what a test card does


def card_outcome(pm, *, off_session, setting_up=False, authenticated=False):
    """``succeeded``, ``requires_action`` or the decline code of a card attempt."""
    behaviour = pm["_behaviour"]
    if behaviour == "decline_attach" or (behaviour == "fail_charge" and not setting_up):
        return pm["_decline_code"] or "generic_decline"
    if authenticated:
        return "succeeded"
    if behaviour == "authenticate":
        return "requires_action"
    if behaviour == "authenticate_on_setup" and (setting_up or not (off_session and pm.get("_set_up"))):
        return "requires_action"
    return "succeeded"


def refuses_payment(pm):
    """A payment method no charge can succeed with (``error_if_incomplete`` refuses it up front)."""
    return pm["type"] == "card" and pm["_behaviour"] in ("fail_charge", "decline_attach")


def card_name(pm):
    """``Visa •••• 4242`` (for pages)."""
    if pm["type"] == "card":
        return "%s •••• %s" % (pm["card"]["brand"].title(), pm["card"]["last4"])
    return "SEPA Direct Debit •••• %s" % pm["sepa_debit"]["last4"]
