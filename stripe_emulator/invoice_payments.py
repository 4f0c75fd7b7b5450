"""How an invoice is paid: the PaymentIntent Stripe creates when it finalizes an
invoice with something due (with the payment method the invoice would use), and
the invoice's ``payments`` (``invoice_payment`` objects).  Every function
expects the state lock held.

The invoice carries the pinned API version's payment fields, both includable
(only with ``expand[]``): ``confirmation_secret`` (the PaymentIntent's
``client_secret``, to confirm it - ``payment_behavior=default_incomplete``)
and ``payments``.  Charging an invoice confirms its PaymentIntent off-session;
a card that needs 3D Secure leaves it ``requires_action`` (the customer
authenticates later, then the invoice is paid).  A PaymentIntent confirmed
outside an invoice run (the API, the 3D Secure page, a settled SEPA debit)
reports to ``invoicing`` through ``hooks``: it pays the invoice, or records a
failed attempt."""

from . import payment_methods, payments
from .events import emit
from .resources import list_object, p_str, public
from .store import new_id

OPEN_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")
DESCRIPTIONS = {"subscription_create": "Subscription creation", "subscription_update": "Subscription update"}


def intent_of(app, invoice):
    return app.state.get("payment_intents", invoice.get("_payment_intent") or "")


def open_for_invoice(app, invoice, at):
    """At finalization: the PaymentIntent for what is due, with the payment method the invoice would use."""
    if invoice["amount_due"] <= 0 or invoice.get("_payment_intent"):
        return None
    params = {
        "amount": invoice["amount_due"],
        "currency": invoice["currency"],
        "description": DESCRIPTIONS.get(invoice["billing_reason"], "Payment for Invoice"),
    }
    customer = app.state.get("customers", invoice["customer"])
    if customer is not None and not customer.get("deleted"):
        params["customer"] = invoice["customer"]
    intent = payments.create_payment_intent(app, params, at, invoice=invoice["id"])
    default = payment_method_for_invoice(app, invoice, {})
    if default is not None:
        intent.update(payment_method=default["id"], status="requires_confirmation")
    invoice["_payment_intent"] = intent["id"]
    payment = {
        "id": new_id("inpay_"),
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": invoice["amount_due"],
        "created": at,
        "currency": invoice["currency"],
        "invoice": invoice["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"payment_intent": intent["id"], "type": "payment_intent"},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }
    app.state.put("invoice_payments", payment)
    return intent


def payment_method_for_invoice(app, invoice, params):
    """What pays ``invoice``: the request's payment method (or source), the invoice's default, its
    subscription's, else its customer's."""
    customer = app.state.get("customers", invoice["customer"])
    reference = p_str(params, "payment_method") or p_str(params, "source")
    if reference:
        param = "payment_method" if params.get("payment_method") else "source"
        return payment_methods.resolve_and_attach(app, reference, customer, param, {})
    if invoice.get("default_payment_method"):
        return app.state.get("payment_methods", invoice["default_payment_method"])
    if invoice.get("_sub"):
        return payment_methods.default_for_subscription(app, app.state.get("subscriptions", invoice["_sub"]))
    return payment_methods.default_for_customer(app, customer)


def payment_record(app, invoice):
    for payment in app.state.all("invoice_payments"):
        if payment["invoice"] == invoice["id"] and payment["is_default"]:
            return payment
    return None


def charge(app, invoice, payment_method, at):
    """An off-session attempt for an open invoice: ``succeeded``, ``requires_action``, ``processing``
    or a decline code (None: no payment method).  The caller (``invoicing``) records the outcome."""
    intent = intent_of(app, invoice) or open_for_invoice(app, invoice, at)
    if intent is None or payment_method is None:
        return None
    if intent["status"] not in OPEN_STATUSES:
        return intent["status"]
    if payment_method["type"] not in intent["payment_method_types"]:
        intent["payment_method_types"].append(payment_method["type"])
    intent["amount"] = invoice["amount_due"]
    return payments.attempt(app, intent, payment_method, at, off_session=True, notify=False)


def requires_action(app, invoice):
    intent = intent_of(app, invoice)
    return intent is not None and intent["status"] == "requires_action"


def record_paid(app, invoice, at):
    """The invoice was marked paid: its payment is ``paid`` when its PaymentIntent succeeded; otherwise
    (paid out of band, nothing left due) the PaymentIntent is canceled."""
    intent = intent_of(app, invoice)
    payment = payment_record(app, invoice)
    if intent is None or payment is None:
        return
    if intent["status"] == "succeeded":
        payment.update(status="paid", amount_paid=intent["amount_received"])
        payment["status_transitions"]["paid_at"] = at
        emit(app, "invoice_payment.paid", public(payment))
        return
    cancel_for_invoice(app, invoice, at, reason=None)


def cancel_for_invoice(app, invoice, at, reason="void_invoice"):
    """Voided (or paid otherwise): the open PaymentIntent is canceled, the payment with it."""
    intent = intent_of(app, invoice)
    payment = payment_record(app, invoice)
    if intent is not None and intent["status"] in payments.CANCELABLE:
        payments.cancel_payment_intent(app, intent, reason, at)
    if payment is not None and payment["status"] == "open":
        payment["status"] = "canceled"
        payment["status_transitions"]["canceled_at"] = at


def sync_amount(app, invoice):
    """``amount_due`` changed after finalization (a credit note): the open PaymentIntent asks for the new amount."""
    intent = intent_of(app, invoice)
    if intent is not None and intent["status"] in OPEN_STATUSES:
        intent["amount"] = invoice["amount_due"]
    payment = payment_record(app, invoice)
    if payment is not None and payment["status"] == "open":
        payment["amount_requested"] = invoice["amount_due"]


# ---------------------------------------------------------------------------
# includable fields (``expand[]=confirmation_secret``, ``expand[]=payments``)


def confirmation_secret(app, invoice):
    intent = intent_of(app, invoice)
    if intent is None:
        return None
    return {"client_secret": intent["client_secret"], "type": "payment_intent"}


def payments_list(app, invoice):
    records = [public(p) for p in app.state.all("invoice_payments") if p["invoice"] == invoice["id"]]
    return list_object(records, "/v1/invoice_payments?invoice=%s" % invoice["id"])
