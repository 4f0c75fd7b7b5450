"""Credit notes, in their simplest form (no taxes, no discounts on lines,
no shipping).  Every function expects the state lock to be held.

As Stripe's pinned version does it: a credit note first lowers what the
invoice still asks for (``pre_payment_amount``: the invoice's
``pre_payment_credit_notes_amount`` grows, its ``amount_due`` and
PaymentIntent shrink; credited down to zero, the invoice is paid), and the
rest (``post_payment_amount``, on a paid invoice) must be given back as
exactly ``refund_amount`` (a refund of the invoice's charge) +
``credit_amount`` (customer balance credit, a ``credit_note`` balance
transaction) + ``out_of_band_amount``.  Voiding undoes the pre-payment part
and the balance credit (refunds stay)."""

from . import balances, charges, invoice_drafts, invoice_payments, invoicing, stored_objects
from .errors import invalid_request, missing, not_found
from .events import diff_previous, emit
from .resources import list_object, merge_metadata, p_int, p_list, p_str, public
from .store import new_id


def creditable(app, invoice):
    """What is left to credit: the invoice total less its issued credit notes."""
    issued = sum(
        note["total"]
        for note in app.state.all("credit_notes")
        if note["invoice"] == invoice["id"] and note["status"] == "issued"
    )
    return invoice["total"] - issued


def _lines(app, invoice, requested):
    lines = []
    for index, line in enumerate(requested):
        name = "lines[%d]" % index
        quantity = int(line.get("quantity") or 1)
        if line["type"] == "invoice_line_item":
            line_id = p_str(line, "invoice_line_item", required=True)
            invoice_line = next((x for x in invoice["lines"]["data"] if x["id"] == line_id), None)
            if invoice_line is None:
                raise not_found("invoice line item", line_id, name + "[invoice_line_item]")
            unit = invoice_line["amount"] // max(1, invoice_line["quantity"] or 1)
            amount = (
                line["amount"]
                if line.get("amount") is not None
                else (unit * quantity if line.get("quantity") is not None else invoice_line["amount"])
            )
            description = invoice_line["description"]
        else:
            unit = p_int(line, "unit_amount", required=True)
            amount, description, line_id = unit * quantity, p_str(line, "description", required=True), None
        lines.append(
            {
                "id": new_id("cnli_"),
                "object": "credit_note_line_item",
                "amount": amount,
                "description": description,
                "discount_amount": 0,
                "discount_amounts": [],
                "invoice_line_item": line_id,
                "livemode": False,
                "metadata": merge_metadata({}, line),
                "pretax_credit_amounts": [],
                "quantity": quantity,
                "tax_rates": [],
                "taxes": [],
                "type": line["type"],
                "unit_amount": None if line_id else unit,
                "unit_amount_decimal": None if line_id else str(unit),
            }
        )
    return lines


def compute(app, invoice, params):
    """The credit note ``params`` describe (not stored): checked against what the invoice allows."""
    if invoice["status"] not in ("open", "paid"):
        raise invalid_request(
            "Credit notes can only be issued for open or paid invoices; this one is %s." % invoice["status"],
            code="invoice_not_editable",
            param="invoice",
        )
    lines = _lines(app, invoice, p_list(params, "lines"))
    given_back = sum(p_int(params, key, 0) for key in ("refund_amount", "credit_amount", "out_of_band_amount"))
    amount = p_int(params, "amount")
    if amount is None:
        amount = sum(line["amount"] for line in lines) if lines else given_back
    elif lines and amount != sum(line["amount"] for line in lines):
        raise invalid_request("The amount must equal the sum of the lines' amounts.", param="amount")
    if not amount:
        raise missing("amount")
    left = creditable(app, invoice)
    if amount > left:
        raise invalid_request(
            "The credit note amount (%d) is greater than the amount that can still be credited (%d)." % (amount, left),
            param="amount",
        )
    pre = min(amount, invoice["amount_remaining"]) if invoice["status"] == "open" else 0
    if given_back != amount - pre:
        raise invalid_request(
            "The sum of refund_amount, credit_amount and out_of_band_amount (%d) must equal the credit note's "
            "post-payment amount (%d)." % (given_back, amount - pre),
            param="refund_amount",
        )
    return _note(app, invoice, params, lines, amount, pre)


def _note(app, invoice, params, lines, amount, pre):
    sequence = 1 + sum(1 for note in app.state.all("credit_notes") if note["invoice"] == invoice["id"])
    note_id = new_id("cn_")
    if not lines:
        lines = _lines(
            app,
            invoice,
            [{"type": "custom_line_item", "unit_amount": amount, "description": p_str(params, "memo") or "Credit"}],
        )
    return {
        "id": note_id,
        "object": "credit_note",
        "amount": amount,
        "amount_shipping": 0,
        "created": stored_objects.clock_now(app, invoice.get("test_clock")),
        "currency": invoice["currency"],
        "customer": invoice["customer"],
        "customer_account": None,
        "customer_balance_transaction": None,
        "discount_amount": 0,
        "discount_amounts": [],
        "effective_at": p_int(params, "effective_at"),
        "invoice": invoice["id"],
        "lines": list_object(lines, "/v1/credit_notes/%s/lines" % note_id),
        "livemode": False,
        "memo": p_str(params, "memo"),
        "metadata": merge_metadata({}, params),
        "number": "%s-CN-%02d" % (invoice["number"], sequence),
        "out_of_band_amount": p_int(params, "out_of_band_amount"),
        "pdf": "%s/p/credit_note/%s/pdf" % (app.public_base(), note_id),
        "post_payment_amount": amount - pre,
        "pre_payment_amount": pre,
        "pretax_credit_amounts": [],
        "reason": p_str(params, "reason"),
        "refunds": [],
        "shipping_cost": None,
        "status": "issued",
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "total": amount,
        "total_excluding_tax": amount,
        "total_taxes": [],
        "type": "pre_payment" if pre == amount else ("post_payment" if pre == 0 else "mixed"),
        "voided_at": None,
        "_refund_amount": p_int(params, "refund_amount", 0),
        "_credit_amount": p_int(params, "credit_amount", 0),
    }


def issue(app, invoice, params):
    note = compute(app, invoice, params)
    at = note["created"]
    note["effective_at"] = note["effective_at"] or at
    app.state.put("credit_notes", note)
    before = public(invoice)
    _give_back(app, invoice, note, at)
    emit(app, "credit_note.created", public(note))
    _invoice_changed(app, invoice, before, at)
    return note


def _give_back(app, invoice, note, at):
    if note["pre_payment_amount"]:
        invoice["pre_payment_credit_notes_amount"] += note["pre_payment_amount"]
    invoice["post_payment_credit_notes_amount"] += note["post_payment_amount"]
    if note["_refund_amount"]:
        charge = _invoice_charge(app, invoice)
        if charge is None:
            raise invalid_request("This invoice was not paid by a charge that can be refunded.", param="refund_amount")
        refund = charges.refund(app, charge, amount=note["_refund_amount"], reason=None, metadata={}, at=at)
        note["refunds"] = [
            {
                "amount_refunded": refund["amount"],
                "payment_record_refund": None,
                "refund": refund["id"],
                "type": "refund",
            }
        ]
    if note["_credit_amount"]:
        customer = app.state.get("customers", invoice["customer"])
        transaction = balances.record(
            app,
            customer,
            amount=-note["_credit_amount"],
            currency=invoice["currency"],
            kind="credit_note",
            invoice_id=invoice["id"],
            credit_note_id=note["id"],
        )
        note["customer_balance_transaction"] = transaction["id"]


def _invoice_charge(app, invoice):
    intent = invoice_payments.intent_of(app, invoice)
    if intent is None or not intent.get("latest_charge"):
        return None
    return app.state.get("charges", intent["latest_charge"])


def _invoice_changed(app, invoice, before, at):
    """Totals follow the credit notes; an open invoice credited down to nothing is paid."""
    invoice_drafts.recompute_totals(app, invoice)
    invoice_payments.sync_amount(app, invoice)
    after = public(invoice)
    if before != after:
        emit(app, "invoice.updated", after, diff_previous(before, after))
    if invoice["status"] == "open" and invoice["amount_remaining"] == 0:
        invoicing.mark_paid(app, invoice, at)
        invoicing.after_invoice_paid(app, invoice)


def void(app, note):
    if note["status"] != "issued":
        raise invalid_request("This credit note is already void.", code="credit_note_already_voided")
    if note["refunds"]:
        raise invalid_request("A credit note that refunded a payment cannot be voided.")
    invoice = app.state.get("invoices", note["invoice"])
    if invoice["status"] == "paid" and note["pre_payment_amount"]:
        raise invalid_request("The invoice was paid since; this credit note can no longer be voided.")
    at = stored_objects.clock_now(app, invoice.get("test_clock"))
    before = public(invoice)
    invoice["pre_payment_credit_notes_amount"] -= note["pre_payment_amount"]
    invoice["post_payment_credit_notes_amount"] -= note["post_payment_amount"]
    if note["customer_balance_transaction"]:
        customer = app.state.get("customers", invoice["customer"])
        balances.record(
            app,
            customer,
            amount=note["_credit_amount"],
            currency=invoice["currency"],
            kind="credit_note",
            invoice_id=invoice["id"],
            credit_note_id=note["id"],
        )
    note.update(status="void", voided_at=at)
    app.state.dirty = True
    emit(app, "credit_note.voided", public(note))
    _invoice_changed(app, invoice, before, at)
    return note


def update(app, note, params):
    before = public(note)
    if "memo" in params:
        note["memo"] = p_str(params, "memo")
    if "metadata" in params:
        note["metadata"] = merge_metadata(note["metadata"], params)
    after = public(note)
    previous = diff_previous(before, after)
    if previous:
        app.state.dirty = True
        emit(app, "credit_note.updated", after, previous)
    return note
