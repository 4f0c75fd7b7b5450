"""SetupIntents: saving a card (or a SEPA account) for later payments.  Every
function expects the state lock to be held.

Confirming one ``succeeded`` (the payment method is attached to the intent's
customer and counts as set up: ``pm_card_authenticationRequiredOnSetup`` then
pays off-session without 3D Secure), ``requires_action`` (3D Secure on the
emulator's test page) or ``requires_payment_method`` (declined:
``setup_intent.setup_failed``).  A subscription's ``pending_setup_intent``
makes its card the subscription's default when it succeeds."""

from . import payment_methods, payments, stored_objects
from .errors import StripeError, invalid_request
from .events import emit
from .resources import merge_metadata, p_bool, p_list, p_str, public
from .store import new_id


def create_setup_intent(app, params, at, subscription_id=None):
    customer_id = p_str(params, "customer")
    if customer_id:
        stored_objects.live_customer(app, customer_id)
    intent_id = new_id("seti_")
    intent = {
        "id": intent_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": payments.automatic_payment_methods(params),
        "cancellation_reason": None,
        "client_secret": payments.client_secret(intent_id),
        "created": at,
        "customer": customer_id,
        "customer_account": None,
        "description": p_str(params, "description"),
        "excluded_payment_method_types": None,
        "flow_directions": p_list(params, "flow_directions") or None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": merge_metadata({}, params),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": payments.method_types(params, None),
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": p_str(params, "usage", "off_session"),
        "_subscription": subscription_id,
    }
    pm = payment_methods.from_params(app, params, customer_id)
    if pm is not None:
        intent.update(payment_method=pm["id"], status="requires_confirmation")
    app.state.put("setup_intents", intent)
    emit(app, "setup_intent.created", public(intent))
    if p_bool(params, "confirm", False):
        confirm_setup_intent(app, intent, {"return_url": params.get("return_url")} if params.get("return_url") else {})
    return intent


def confirm_setup_intent(app, intent, params, authenticated=False):
    if intent["status"] not in payments.CONFIRMABLE:
        raise invalid_request(
            "This SetupIntent could not be confirmed because it has a status of %s." % intent["status"],
            code="setup_intent_unexpected_state",
        )
    pm = payment_methods.from_params(app, params, intent["customer"])
    if pm is None and intent["payment_method"]:
        pm = app.state.get("payment_methods", intent["payment_method"])
    if pm is None:
        raise invalid_request(
            "You cannot confirm this SetupIntent because it's missing a payment method.",
            code="setup_intent_unexpected_state",
        )
    if "return_url" in params:
        intent["_return_url"] = params["return_url"]
    outcome = _attempt_setup(app, intent, pm, payments.intent_now(app, intent), authenticated)
    if outcome not in ("succeeded", "requires_action"):
        error = intent["last_setup_error"]
        raise StripeError(
            402,
            error["type"],
            error["message"],
            code=error["code"],
            decline_code=error.get("decline_code"),
            extra={"setup_intent": public(intent), "payment_method": error["payment_method"]},
        )
    return outcome


def _attempt_setup(app, intent, pm, at, authenticated=False):
    intent["payment_method"] = pm["id"]
    outcome = "succeeded"
    if pm["type"] == "card":
        outcome = payment_methods.card_outcome(pm, off_session=False, setting_up=True, authenticated=authenticated)
    if outcome == "requires_action":
        intent.update(status="requires_action", next_action=payments.next_action(app, intent), last_setup_error=None)
        app.state.dirty = True
        emit(app, "setup_intent.requires_action", public(intent))
        return outcome
    if outcome != "succeeded":
        return _setup_failed(app, intent, pm, "card_declined", outcome)
    pm["_set_up"] = True
    customer = app.state.get("customers", intent.get("customer") or "")
    if customer is not None and not customer.get("deleted") and pm.get("customer") is None:
        payment_methods.attach(app, pm, customer)
    intent.update(status="succeeded", next_action=None, last_setup_error=None)
    app.state.dirty = True
    emit(app, "setup_intent.succeeded", public(intent))
    if intent.get("_subscription"):
        _pending_setup_succeeded(app, intent, pm)
    return outcome


def _setup_failed(app, intent, pm, code, decline_code):
    message = (
        "Your card was declined."
        if code == "card_declined"
        else ("The latest attempt to set up the payment method has failed because authentication failed.")
    )
    intent.update(status="requires_payment_method", payment_method=None, next_action=None)
    intent["last_setup_error"] = {
        "code": code,
        "decline_code": decline_code,
        "doc_url": payments.DOC_URL + code.replace("_", "-"),
        "message": message,
        "payment_method": public(pm),
        "type": "card_error" if code == "card_declined" else "invalid_request_error",
    }
    app.state.dirty = True
    emit(app, "setup_intent.setup_failed", public(intent))
    return decline_code or code


def _pending_setup_succeeded(app, intent, pm):
    """A subscription's ``pending_setup_intent`` succeeded: the card becomes the subscription's default."""
    sub = app.state.get("subscriptions", intent["_subscription"])
    if sub is None or sub.get("pending_setup_intent") != intent["id"]:
        return
    before = stored_objects.render_subscription(app, sub)
    sub["pending_setup_intent"] = None
    sub["default_payment_method"] = pm["id"]
    stored_objects.subscription_changed(app, sub, before)


def cancel_setup_intent(app, intent, reason):
    if intent["status"] in ("succeeded", "canceled", "processing"):
        raise invalid_request(
            "You cannot cancel this SetupIntent because it has a status of %s." % intent["status"],
            code="setup_intent_unexpected_state",
        )
    intent.update(status="canceled", cancellation_reason=reason, next_action=None)
    app.state.dirty = True
    emit(app, "setup_intent.canceled", public(intent))
    return intent


def complete_authentication(app, intent, succeeded):
    """The customer completed (or failed) the 3D Secure challenge of a SetupIntent."""
    payments.refuse_unless_requires_action(intent)
    pm = app.state.get("payment_methods", intent["payment_method"])
    if succeeded:
        return _attempt_setup(app, intent, pm, payments.intent_now(app, intent), authenticated=True)
    return _setup_failed(app, intent, pm, "setup_intent_authentication_failure", None)
