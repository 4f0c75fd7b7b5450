"""Charges (what a PaymentIntent's payment attempt leaves), refunds and
disputes.  Every function expects the state lock to be held.

A charge is made by ``payments.py`` for each attempt: ``succeeded`` (captured
now, or only authorized with ``capture_method=manual``), ``failed`` (a
declined card, a failed bank debit) or ``pending`` (a SEPA debit being
processed).  Refunds are instantaneous (``succeeded``).  Cards
``pm_card_createDispute``/``…Inquiry`` and the ``…disputed`` test IBANs open a
dispute as soon as the charge succeeds; evidence ``winning_evidence`` /
``losing_evidence`` decides it when submitted (Stripe's test values)."""

from .errors import invalid_request
from .events import diff_previous, emit
from .resources import list_object, public
from .store import new_id

DISPUTE_EVIDENCE_DAYS = 21
FAILURE_MESSAGES = {
    "authentication_required": "Your card was declined. This transaction requires authentication.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
}


# ---------------------------------------------------------------------------
# charges


def build_charge(app, intent, payment_method, status, at, failure_code=None, decline_code=None):
    """A stored charge for ``intent``'s attempt with ``payment_method``."""
    captured = status == "succeeded" and intent["capture_method"] != "manual"
    charge = {
        "id": new_id("ch_" if payment_method["type"] == "card" else "py_"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if captured else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": public(payment_method["billing_details"]),
        "calculated_statement_descriptor": "STRIPE EMULATOR",
        "captured": captured,
        "created": at,
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure_code,
        "failure_message": failure_message(failure_code, decline_code, payment_method) if status == "failed" else None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": outcome(status, decline_code),
        "paid": status == "succeeded",
        "payment_intent": intent["id"],
        "payment_method": payment_method["id"],
        "payment_method_details": _payment_method_details(payment_method, intent["amount"]),
        "receipt_email": intent.get("receipt_email"),
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": intent.get("shipping"),
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }
    app.state.put("charges", charge)
    return charge


def failure_message(failure_code, decline_code, payment_method):
    if payment_method["type"] == "sepa_debit":
        return "The customer's account has insufficient funds to cover this payment."
    return FAILURE_MESSAGES.get(failure_code) or FAILURE_MESSAGES.get(decline_code) or "Your card was declined."


def outcome(status, decline_code):
    if status == "failed":
        reason = decline_code if decline_code != "generic_decline" else None
        return {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "declined_by_network",
            "reason": reason,
            "risk_level": "normal",
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        }
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": "normal",
        "seller_message": "Payment complete.",
        "type": "authorized",
    }


def _payment_method_details(payment_method, amount):
    if payment_method["type"] == "sepa_debit":
        bank = payment_method["sepa_debit"]
        details = {key: bank[key] for key in ("bank_code", "branch_code", "country", "fingerprint", "last4")}
        return {"sepa_debit": {**details, "mandate": None}, "type": "sepa_debit"}
    card = payment_method["card"]
    return {
        "card": {
            "amount_authorized": amount,
            "authorization_code": None,
            "brand": card["brand"],
            "checks": dict(card["checks"]),
            "country": card["country"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "extended_authorization": {"status": "disabled"},
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card["last4"],
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": card["brand"],
            "network_token": {"used": False},
            "network_transaction_id": None,
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "regulated_status": card["regulated_status"],
            "three_d_secure": None,
            "wallet": None,
        },
        "type": "card",
    }


def render_charge(app, charge):
    """``refunds`` listed (Stripe includes it in its own example of a charge)."""
    out = public(charge)
    refunds = [public(r) for r in app.state.all("refunds") if r["charge"] == charge["id"]]
    out["refunds"] = list_object(refunds, "/v1/charges/%s/refunds" % charge["id"])
    return out


def capture(app, charge, amount, at):
    """``capture_method=manual``: take ``amount`` (≤ the authorized amount) now; the rest is released."""
    charge["captured"] = True
    charge["amount_captured"] = amount
    if amount < charge["amount"]:
        charge["amount_refunded"] = charge["amount"] - amount
    app.state.dirty = True
    emit(app, "charge.captured", render_charge(app, charge))


# ---------------------------------------------------------------------------
# refunds


def refund(app, charge, *, amount, reason, metadata, at):
    """Refund ``amount`` (default: everything not yet refunded) of a captured charge."""
    if charge["status"] != "succeeded" or not charge["captured"]:
        raise invalid_request(
            "Charge %s has not been captured and cannot be refunded." % charge["id"], code="charge_not_refundable"
        )
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    if remaining <= 0:
        raise invalid_request(
            "Charge %s has already been refunded." % charge["id"], code="charge_already_refunded", param="charge"
        )
    amount = remaining if amount is None else amount
    if amount <= 0 or amount > remaining:
        raise invalid_request(
            "Refund amount (%s) is greater than unrefunded amount on charge (%s)"
            % (_money(amount, charge), _money(remaining, charge)),
            code="amount_too_large",
            param="amount",
        )
    created = _build_refund(charge, amount, reason, metadata, at)
    app.state.put("refunds", created)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
    app.state.dirty = True
    emit(app, "refund.created", public(created))
    emit(app, "charge.refunded", render_charge(app, charge))
    return created


def _money(amount, charge):
    return "$%.2f" % (amount / 100) if charge["currency"] == "usd" else "%d %s" % (amount, charge["currency"])


def _build_refund(charge, amount, reason, metadata, at):
    card = charge["payment_method_details"]["type"] == "card"
    destination = (
        {
            "card": {"reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"},
            "type": "card",
        }
        if card
        else {"type": "sepa_debit", "sepa_debit": {}}
    )
    return {
        "id": new_id("re_"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": at,
        "currency": charge["currency"],
        "customer": charge["customer"],
        "customer_account": None,
        "description": None,
        "destination_details": destination,
        "metadata": dict(metadata or {}),
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def update_refund(app, refund_object, metadata):
    before = public(refund_object)
    refund_object["metadata"] = metadata
    after = public(refund_object)
    previous = diff_previous(before, after)
    if previous:
        app.state.dirty = True
        emit(app, "refund.updated", after, previous)
        emit(app, "charge.refund.updated", after, previous)
    return after


# ---------------------------------------------------------------------------
# disputes


def open_dispute(app, charge, *, inquiry, at):
    """The cardholder disputes ``charge`` (an inquiry only asks questions; no funds move yet)."""
    dispute = {
        "id": new_id("dp_"),
        "object": "dispute",
        "amount": charge["amount"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": at,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {key: None for key in EVIDENCE_FIELDS},
        "evidence_details": {
            "due_by": at + DISPUTE_EVIDENCE_DAYS * 86400,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": inquiry,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "payment_method_details": _dispute_method_details(charge, inquiry),
        "reason": "general" if inquiry else "fraudulent",
        "status": "warning_needs_response" if inquiry else "needs_response",
    }
    app.state.put("disputes", dispute)
    charge["disputed"] = True
    emit(app, "charge.dispute.created", public(dispute))
    if not inquiry:
        emit(app, "charge.dispute.funds_withdrawn", public(dispute))
    return dispute


def _dispute_method_details(charge, inquiry):
    details = charge["payment_method_details"]
    if details["type"] != "card":
        return {"type": details["type"]}
    card = details["card"]
    return {
        "card": {
            "brand": card["brand"],
            "case_type": "inquiry" if inquiry else "chargeback",
            "network_reason_code": "10.4",
        },
        "type": "card",
    }


EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)
OPEN_DISPUTE_STATUSES = ("warning_needs_response", "needs_response", "under_review", "warning_under_review")


def update_dispute(app, dispute, *, evidence, metadata, submit):
    """Evidence and metadata; ``submit`` sends the evidence - ``winning_evidence`` / ``losing_evidence`` in
    ``uncategorized_text`` decide the dispute at once (Stripe's test values), anything else puts it under review."""
    if dispute["status"] not in OPEN_DISPUTE_STATUSES:
        raise invalid_request("This dispute is already closed.", code="dispute_already_closed")
    before = public(dispute)
    for key, value in (evidence or {}).items():
        dispute["evidence"][key] = value or None
    dispute["evidence_details"]["has_evidence"] = any(dispute["evidence"].values())
    if metadata is not None:
        dispute["metadata"] = metadata
    if submit:
        dispute["evidence_details"]["submission_count"] += 1
        _decide(app, dispute, before)
        return public(dispute)
    app.state.dirty = True
    emit(app, "charge.dispute.updated", public(dispute), diff_previous(before, public(dispute)))
    return public(dispute)


def _decide(app, dispute, before):
    inquiry = dispute["status"].startswith("warning")
    text = dispute["evidence"].get("uncategorized_text")
    if text in ("winning_evidence", "losing_evidence"):
        won = text == "winning_evidence"
        dispute["status"] = "warning_closed" if inquiry else ("won" if won else "lost")
        dispute["is_charge_refundable"] = False
        app.state.dirty = True
        emit(app, "charge.dispute.closed", public(dispute), diff_previous(before, public(dispute)))
        if won and not inquiry:
            emit(app, "charge.dispute.funds_reinstated", public(dispute))
        return
    dispute["status"] = "warning_under_review" if inquiry else "under_review"
    app.state.dirty = True
    emit(app, "charge.dispute.updated", public(dispute), diff_previous(before, public(dispute)))


def close_dispute(app, dispute):
    """Accept the dispute: a chargeback is lost, an inquiry closed."""
    if dispute["status"] not in OPEN_DISPUTE_STATUSES:
        raise invalid_request("This dispute is already closed.", code="dispute_already_closed")
    before = public(dispute)
    dispute["status"] = "warning_closed" if dispute["status"].startswith("warning") else "lost"
    dispute["is_charge_refundable"] = False
    app.state.dirty = True
    emit(app, "charge.dispute.closed", public(dispute), diff_previous(before, public(dispute)))
    return public(dispute)
