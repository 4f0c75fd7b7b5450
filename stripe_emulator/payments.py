"""PaymentIntents for cards (Stripe's test cards, ``resources.CARDS``) and
SEPA Direct Debit (its test IBANs, ``sepa.py``), and what SetupIntents
(``setup_intents.py``) share with them; the payment methods themselves are
``payment_methods.py``.  Every function expects the state
lock to be held.

A PaymentIntent moves ``requires_payment_method`` → ``requires_confirmation``
→ (confirm) ``requires_action`` (3D Secure) / ``processing`` (SEPA) /
``requires_capture`` (``capture_method=manual``) → ``succeeded``, or back to
``requires_payment_method`` when the attempt fails; ``canceled`` at any point
before.  Each attempt leaves a charge (``charges.py``).  3D Secure is
completed on the emulator's test page (``next_action`` points at
``/p/authenticate/{id}``), as on Stripe's own test page.  Off-session
confirmations of a card that needs authentication fail with
``authentication_required``.  An invoice's PaymentIntent reports back to its
invoice through ``hooks`` (``invoicing`` handles them); Checkout's to its
session."""

import time

from . import charges, hooks, payment_methods, sepa, stored_objects
from .errors import StripeError, invalid_request
from .events import emit
from .resources import merge_metadata, p_bool, p_dict, p_int, p_list, p_str, public
from .store import new_id, rand

SUPPORTED_TYPES = ("card", "sepa_debit")
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action")
UPDATABLE_FIELDS = ("description", "receipt_email", "setup_future_usage", "shipping", "statement_descriptor")
DOC_URL = "https://stripe.com/docs/error-codes/"


def method_types(params, currency):
    """The payment method types an intent or session accepts: an older version's ``payment_method_types``
    (exactly those), else ``allowed_payment_method_types`` filtered to what suits ``currency`` (SEPA Direct
    Debit: euros), else dynamic payment methods - cards."""
    explicit = p_list(params, "payment_method_types")
    if explicit:
        unsupported = [kind for kind in explicit if kind not in SUPPORTED_TYPES]
        if unsupported:
            raise invalid_request(
                "The payment method type %s is not emulated (card and sepa_debit are)." % unsupported[0],
                param="payment_method_types",
            )
        return list(explicit)
    allowed = p_list(params, "allowed_payment_method_types")
    if not allowed:
        return ["card"]
    usable = [kind for kind in allowed if kind == "card" or (kind == "sepa_debit" and currency in (None, "eur"))]
    if not usable:
        raise invalid_request(
            "None of the allowed_payment_method_types can be used (the emulator supports card, and sepa_debit "
            "for eur).",
            param="allowed_payment_method_types",
        )
    return usable


def client_secret(intent_id):
    return "%s_secret_%s" % (intent_id, rand(25))


def intent_now(app, intent):
    """The customer's (test clock) time, else the wall clock."""
    customer = app.state.get("customers", intent.get("customer") or "")
    return stored_objects.customer_now(app, customer) if customer else int(time.time())


# ---------------------------------------------------------------------------
# PaymentIntents


def create_payment_intent(app, params, at, **purpose):
    """``purpose``: ``invoice`` or ``checkout_session`` (the id the intent pays)."""
    customer_id = p_str(params, "customer")
    if customer_id:
        stored_objects.live_customer(app, customer_id)
    amount = p_int(params, "amount", required=True)
    if amount < 1:
        raise invalid_request("This value must be greater than or equal to 1.", param="amount")
    intent = _new_payment_intent(params, amount, customer_id, at, purpose)
    pm = payment_methods.from_params(app, params, customer_id)
    if pm is not None:
        _check_type(intent, pm)
        intent["payment_method"] = pm["id"]
        intent["status"] = "requires_confirmation"
    app.state.put("payment_intents", intent)
    emit(app, "payment_intent.created", public(intent))
    if p_bool(params, "confirm", False):
        confirm_payment_intent(app, intent, {k: v for k, v in params.items() if k in CONFIRM_PARAMETERS}, at)
    return intent


def _new_payment_intent(params, amount, customer_id, at, purpose):
    intent_id = new_id("pi_")
    currency = p_str(params, "currency", required=True).lower()
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": automatic_payment_methods(params),
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": p_str(params, "capture_method", "automatic_async"),
        "client_secret": client_secret(intent_id),
        "confirmation_method": p_str(params, "confirmation_method", "automatic"),
        "created": at,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "description": p_str(params, "description"),
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": merge_metadata({}, params),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": method_types(params, currency),
        "processing": None,
        "receipt_email": p_str(params, "receipt_email"),
        "review": None,
        "setup_future_usage": p_str(params, "setup_future_usage"),
        "shipping": p_dict(params, "shipping") or None,
        "source": None,
        "statement_descriptor": p_str(params, "statement_descriptor"),
        "statement_descriptor_suffix": p_str(params, "statement_descriptor_suffix"),
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
        "_invoice": purpose.get("invoice"),
        "_checkout_session": purpose.get("checkout_session"),
    }


CONFIRM_PARAMETERS = ("off_session", "return_url", "error_on_requires_action", "mandate_data")


def automatic_payment_methods(params):
    """Dynamic payment methods unless the request names the types."""
    requested = p_dict(params, "automatic_payment_methods")
    if requested:
        return {"allow_redirects": requested.get("allow_redirects") or "always", "enabled": bool(requested["enabled"])}
    if params.get("payment_method_types") or params.get("allowed_payment_method_types"):
        return None
    return {"allow_redirects": "always", "enabled": True}


def _check_type(intent, pm):
    if pm["type"] not in intent["payment_method_types"]:
        raise invalid_request(
            "The PaymentMethod provided (%s) is not allowed for this PaymentIntent. Please attach a PaymentMethod of "
            "one of the following types: %s." % (pm["type"], ", ".join(intent["payment_method_types"])),
            code="payment_intent_invalid_parameter",
            param="payment_method",
        )


def update_payment_intent(app, intent, params):
    if intent["status"] not in CONFIRMABLE:
        raise _unexpected_state(intent, "updated", CONFIRMABLE)
    for key in UPDATABLE_FIELDS:
        if key in params:
            intent[key] = params[key] or None
    if "metadata" in params:
        intent["metadata"] = merge_metadata(intent["metadata"], params)
    if params.get("amount") is not None:
        intent["amount"] = params["amount"]
    for key in ("currency", "capture_method"):
        if params.get(key):
            intent[key] = params[key]
    if params.get("payment_method_types") or params.get("allowed_payment_method_types"):
        intent["payment_method_types"] = method_types(params, intent["currency"])
    if "customer" in params:
        intent["customer"] = stored_objects.live_customer(app, params["customer"])["id"] if params["customer"] else None
    pm = payment_methods.from_params(app, params, intent["customer"])
    if pm is not None:
        _check_type(intent, pm)
        intent.update(payment_method=pm["id"], status="requires_confirmation", next_action=None)
    app.state.dirty = True
    return intent


def _unexpected_state(intent, verb, allowed):
    return invalid_request(
        "This PaymentIntent could not be %s because it has a status of %s. Only a PaymentIntent with one of the "
        "following statuses may be %s: %s." % (verb, intent["status"], verb, ", ".join(allowed)),
        code="payment_intent_unexpected_state",
    )


def confirm_payment_intent(app, intent, params, at):
    """Confirm: the attempt's outcome (``succeeded``, ``requires_action``, ``processing``,
    ``requires_capture``); a decline raises Stripe's 402 ``card_error`` after recording it."""
    if intent["status"] not in CONFIRMABLE:
        raise _unexpected_state(intent, "confirmed", CONFIRMABLE)
    pm = payment_methods.from_params(app, params, intent["customer"])
    if pm is None and intent["payment_method"]:
        pm = app.state.get("payment_methods", intent["payment_method"])
    if pm is None:
        raise invalid_request(
            "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the "
            "PaymentIntent with %s, specify a payment method attached to this customer along with the customer ID."
            % intent["customer"],
            code="payment_intent_unexpected_state",
        )
    _check_type(intent, pm)
    for key in ("return_url", "receipt_email", "setup_future_usage"):
        if key in params:
            intent[key] = params[key] or None
    if params.get("capture_method"):
        intent["capture_method"] = params["capture_method"]
    off_session = params.get("off_session") not in (None, False)
    wait = not (off_session or p_bool(params, "error_on_requires_action", False))
    outcome = attempt(app, intent, pm, at, off_session=off_session, wait_for_action=wait)
    if outcome not in ("succeeded", "requires_action", "processing", "requires_capture"):
        raise payment_error(app, intent)
    return outcome


def attempt(app, intent, pm, at, *, off_session, wait_for_action=True, authenticated=False, notify=True):
    """Try ``pm`` for ``intent``.  ``notify=False``: the invoice being charged handles the outcome itself."""
    intent["payment_method"] = pm["id"]
    if pm["type"] == "sepa_debit":
        return _start_debit(app, intent, pm, at)
    outcome = payment_methods.card_outcome(
        pm, off_session=off_session, authenticated=authenticated or intent.get("_authenticated")
    )
    if outcome == "requires_action" and not wait_for_action:
        outcome = "authentication_required"
    if outcome == "requires_action":
        _require_action(app, intent, notify)
        return outcome
    if outcome == "succeeded":
        return _succeed(app, intent, pm, at, notify)
    _fail(app, intent, pm, at, outcome, notify)
    return outcome


def _require_action(app, intent, notify):
    intent.update(status="requires_action", next_action=next_action(app, intent), last_payment_error=None)
    app.state.dirty = True
    emit(app, "payment_intent.requires_action", public(intent))
    if notify and intent.get("_invoice"):
        hooks.fire("invoice_intent_requires_action", app, intent)


def next_action(app, intent):
    """Stripe's two shapes: a redirect when a ``return_url`` was given, else the Stripe.js hand-off.  Both lead
    to the emulator's 3D Secure test page."""
    url = "%s/p/authenticate/%s" % (app.public_base(), intent["id"])
    return_url = intent.get("return_url") or intent.get("_return_url")
    if return_url:
        return {"type": "redirect_to_url", "redirect_to_url": {"return_url": return_url, "url": url}}
    return {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": url}}


def _succeed(app, intent, pm, at, notify):
    charge = charges.build_charge(app, intent, pm, "succeeded", at)
    manual = intent["capture_method"] == "manual"
    intent.update(
        status="requires_capture" if manual else "succeeded",
        amount_capturable=intent["amount"] if manual else 0,
        amount_received=0 if manual else intent["amount"],
        latest_charge=charge["id"],
        next_action=None,
        last_payment_error=None,
    )
    intent.pop("_authenticated", None)
    _save_for_future(app, intent, pm)
    app.state.dirty = True
    emit(app, "charge.succeeded", charges.render_charge(app, charge))
    if manual:
        emit(app, "payment_intent.amount_capturable_updated", public(intent))
    else:
        emit(app, "payment_intent.succeeded", public(intent))
    if pm["_behaviour"] in ("dispute", "dispute_inquiry"):
        charges.open_dispute(app, charge, inquiry=pm["_behaviour"] == "dispute_inquiry", at=at)
    if not manual:
        _after_success(app, intent, at, notify)
    return intent["status"]


def _save_for_future(app, intent, pm):
    if not intent.get("setup_future_usage"):
        return
    pm["_set_up"] = True
    customer = app.state.get("customers", intent.get("customer") or "")
    if customer is not None and not customer.get("deleted") and pm.get("customer") is None:
        payment_methods.attach(app, pm, customer)


def _fail(app, intent, pm, at, decline_code, notify):
    code = "authentication_required" if decline_code == "authentication_required" else "card_declined"
    charge = charges.build_charge(app, intent, pm, "failed", at, failure_code=code, decline_code=decline_code)
    intent.update(
        status="requires_payment_method",
        payment_method=None,
        next_action=None,
        latest_charge=charge["id"],
        last_payment_error=_payment_error_details(pm, charge, code, decline_code),
    )
    app.state.dirty = True
    emit(app, "charge.failed", charges.render_charge(app, charge))
    emit(app, "payment_intent.payment_failed", public(intent))
    _after_failure(app, intent, at, notify)


def _payment_error_details(pm, charge, code, decline_code):
    card = pm["type"] == "card"
    return {
        "charge": charge["id"],
        "code": code,
        "decline_code": decline_code,
        "doc_url": DOC_URL + code.replace("_", "-"),
        "message": charge["failure_message"],
        "payment_method": public(pm),
        "type": "card_error" if card else "invalid_request_error",
    }


def payment_error(app, intent):
    """The 402 an API call answers when the attempt it made was declined (the attempt is recorded)."""
    error = dict(intent["last_payment_error"])
    extra = {"payment_intent": public(intent), "payment_method": error["payment_method"], "charge": error["charge"]}
    return StripeError(
        402, error["type"], error["message"], code=error["code"], decline_code=error["decline_code"], extra=extra
    )


# --- SEPA debits: processing, then settled (at once or after three minutes)


def _start_debit(app, intent, pm, at):
    charge = charges.build_charge(app, intent, pm, "pending", at)
    intent.update(status="processing", latest_charge=charge["id"], next_action=None, last_payment_error=None)
    app.state.dirty = True
    emit(app, "charge.pending", charges.render_charge(app, charge))
    emit(app, "payment_intent.processing", public(intent))
    delayed = pm["_behaviour"].endswith("_delayed")
    intent["_settles_at"] = time.time() + (sepa.SETTLEMENT_DELAY if delayed else 0)
    return intent["status"]


def settle(app, intent, at):
    """The bank's answer to a processing debit."""
    intent.pop("_settles_at", None)
    charge = app.state.get("charges", intent["latest_charge"])
    pm = app.state.get("payment_methods", intent["payment_method"])
    if pm["_behaviour"] in ("fail", "fail_delayed"):
        code = pm["_decline_code"] or "generic_decline"
        charge.update(status="failed", failure_code=code, failure_message=charges.failure_message(code, code, pm))
        charge["outcome"] = charges.outcome("failed", code)
        intent.update(status="requires_payment_method", payment_method=None)
        intent["last_payment_error"] = _payment_error_details(pm, charge, code, None)
        app.state.dirty = True
        emit(app, "charge.failed", charges.render_charge(app, charge))
        emit(app, "payment_intent.payment_failed", public(intent))
        _after_failure(app, intent, at, notify=True)
        return
    charge.update(status="succeeded", paid=True, captured=True, amount_captured=charge["amount"])
    intent.update(status="succeeded", amount_received=intent["amount"])
    _save_for_future(app, intent, pm)
    app.state.dirty = True
    emit(app, "charge.succeeded", charges.render_charge(app, charge))
    emit(app, "payment_intent.succeeded", public(intent))
    if pm["_behaviour"] == "dispute":
        charges.open_dispute(app, charge, inquiry=False, at=at)
    _after_success(app, intent, at, notify=True)


def settle_due(app, now):
    """Debits whose answer is due: at the end of the request that confirmed them, or (``…Delayed`` test
    IBANs) three minutes later, checked every second."""
    due = [i for i in app.state.col["payment_intents"].values() if (i.get("_settles_at") or now + 1) <= now]
    for intent in due:
        settle(app, intent, intent_now(app, intent))


# --- what a finished payment means for the invoice or Checkout session it pays


def _after_success(app, intent, at, notify):
    _report(app, intent, at, notify, succeeded=True)


def _after_failure(app, intent, at, notify):
    _report(app, intent, at, notify, succeeded=False)


def _report(app, intent, at, notify, succeeded):
    """Tell the invoice or Checkout session the intent pays (``notify=False``: its caller handles it)."""
    if not notify:
        return
    if intent.get("_invoice"):
        hooks.fire("invoice_intent_succeeded" if succeeded else "invoice_intent_failed", app, intent, at)
    if intent.get("_checkout_session"):
        _finish_checkout_payment(app, intent, succeeded)


def _finish_checkout_payment(app, intent, succeeded):
    """A delayed-notification payment of a completed Checkout session was settled."""
    session = app.state.get("checkout_sessions", intent["_checkout_session"])
    if session is None or session["status"] != "complete" or session["payment_status"] != "unpaid":
        return
    if succeeded:
        session["payment_status"] = "paid"
    app.state.dirty = True
    outcome = "succeeded" if succeeded else "failed"
    emit(app, "checkout.session.async_payment_%s" % outcome, public(session))


# --- capture and cancel


def capture_payment_intent(app, intent, params, at):
    if intent["status"] != "requires_capture":
        raise _unexpected_state(intent, "captured", ("requires_capture",))
    amount = p_int(params, "amount_to_capture", intent["amount_capturable"])
    if amount > intent["amount_capturable"] or amount < 1:
        raise invalid_request(
            "The amount to capture (%d) must be positive and at most the amount capturable (%d)."
            % (amount, intent["amount_capturable"]),
            code="amount_too_large",
            param="amount_to_capture",
        )
    charges.capture(app, app.state.get("charges", intent["latest_charge"]), amount, at)
    intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
    app.state.dirty = True
    emit(app, "payment_intent.succeeded", public(intent))
    _after_success(app, intent, at, notify=True)
    return intent


def cancel_payment_intent(app, intent, reason, at):
    if intent["status"] not in CANCELABLE:
        raise _unexpected_state(intent, "canceled", CANCELABLE)
    if intent["status"] == "requires_capture":
        charge = app.state.get("charges", intent["latest_charge"])
        charge.update(refunded=True, amount_refunded=charge["amount"])
        emit(app, "charge.refunded", charges.render_charge(app, charge))
    intent.update(status="canceled", canceled_at=at, cancellation_reason=reason, next_action=None, amount_capturable=0)
    app.state.dirty = True
    emit(app, "payment_intent.canceled", public(intent))
    return intent


# ---------------------------------------------------------------------------
# 3D Secure (the emulator's test page)


def refuse_unless_requires_action(intent):
    if intent["status"] != "requires_action":
        raise invalid_request("This %s does not require authentication." % intent["object"])


def complete_authentication(app, intent, succeeded):
    """The customer completed (or failed) the 3D Secure challenge of a PaymentIntent."""
    refuse_unless_requires_action(intent)
    at = intent_now(app, intent)
    pm = app.state.get("payment_methods", intent["payment_method"])
    if not succeeded:
        _authentication_failed(app, intent, pm, at)
        return intent["status"]
    if intent["confirmation_method"] == "manual":
        intent.update(status="requires_confirmation", next_action=None, _authenticated=True)
        app.state.dirty = True
        return intent["status"]
    return attempt(app, intent, pm, at, off_session=False, authenticated=True)


def _authentication_failed(app, intent, pm, at):
    intent.update(status="requires_payment_method", payment_method=None, next_action=None)
    intent["last_payment_error"] = {
        "code": "payment_intent_authentication_failure",
        "doc_url": DOC_URL + "payment-intent-authentication-failure",
        "message": "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a "
        "new PaymentMethod to attempt to fulfill this PaymentIntent again.",
        "payment_method": public(pm),
        "type": "invalid_request_error",
    }
    app.state.dirty = True
    emit(app, "payment_intent.payment_failed", public(intent))
    _after_failure(app, intent, at, notify=True)
