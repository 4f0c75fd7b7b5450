"""Invoices (``/v1/invoices``), their previews and sending.  Lines and totals
live in ``invoice_drafts.py``, finalization and payment in ``invoicing.py``,
previews in ``previews.py``."""

from .. import discounts, invoice_drafts, invoicing, payment_methods, previews, stored_objects, taxes
from ..errors import invalid_request
from ..events import diff_previous, emit
from ..resources import filter_by_created, merge_metadata, p_bool, p_str, paginate, public
from ..routing import handles
from ..search import Field, search

SEARCH_FIELDS = {
    "created": Field("numeric", lambda i: i["created"]),
    "currency": Field("token", lambda i: i["currency"]),
    "customer": Field("string", lambda i: i["customer"]),
    "number": Field("string", lambda i: i.get("number")),
    "receipt_number": Field("string", lambda i: i.get("receipt_number")),
    "status": Field("token", lambda i: i["status"]),
    "subscription": Field("string", lambda i: i.get("_sub")),
    "total": Field("numeric", lambda i: i["total"]),
}


def not_editable(message, param=None):
    return invalid_request(message, code="invoice_not_editable", param=param)


@handles("POST /v1/invoices")
def invoice_create(app, request, params):
    customer = stored_objects.live_customer(app, p_str(params, "customer", required=True))
    at = stored_objects.customer_now(app, customer)
    sub = None
    if p_str(params, "subscription"):
        sub = stored_objects.get_or_404(app, "subscriptions", params["subscription"], "subscription", "subscription")
    invoice = invoice_drafts.new_invoice(app, customer, at, "manual", subscription=sub, params=params)
    _set_tax_settings(app, invoice, params)
    redemptions = _checked_discounts(app, invoice, params, at)
    if invoice["default_payment_method"]:
        pm = payment_methods.resolve_and_attach(
            app, invoice["default_payment_method"], customer, "default_payment_method"
        )
        invoice["default_payment_method"] = pm["id"]
    if p_str(params, "pending_invoice_items_behavior", "exclude") == "include":
        invoice_drafts.pull_pending_items(app, invoice, customer, sub)
    app.state.put("invoices", invoice)
    _redeem_invoice_discounts(app, invoice, redemptions, at)
    invoice_drafts.recompute_totals(app, invoice)
    emit(app, "invoice.created", public(invoice))
    return public(invoice)


def _set_tax_settings(app, invoice, params):
    """``default_tax_rates`` and ``automatic_tax[enabled]`` (on drafts)."""
    if "default_tax_rates" in params:
        invoice["default_tax_rates"] = taxes.checked_rates(app, params["default_tax_rates"], "default_tax_rates")
    requested = taxes.automatic_tax_requested(params)
    if requested is not None:
        invoice["automatic_tax"] = taxes.invoice_automatic_tax(requested)
    line_rates = [rate for line in invoice["lines"]["data"] for rate in line["_tax_rates"]]
    taxes.refuse_rates_with_automatic_tax(
        invoice["automatic_tax"]["enabled"], default_tax_rates=invoice["default_tax_rates"], lines=line_rates
    )


def _checked_discounts(app, invoice, params, at):
    """``discounts`` to redeem, or None to inherit the customer's discount (``discounts=""``: none)."""
    if "discounts" not in params:
        return None
    common = {"customer_id": invoice["customer"], "currency": invoice["currency"], "amount": None, "at": at}
    return discounts.check_references(app, params["discounts"] or [], param="discounts", **common)


def _redeem_invoice_discounts(app, invoice, redemptions, at):
    if redemptions is None:
        customer = app.state.get("customers", invoice["customer"]) or {}
        inherited = (customer.get("discount") or {}).get("id")
        invoice["discounts"] = discounts.in_effect(app, [inherited], at) if inherited else []
        return
    attached = {"invoice": invoice["id"]}
    invoice["discounts"] = discounts.replace_discounts(
        app, invoice["discounts"], redemptions, customer_id=invoice["customer"], at=at, attached_to=attached
    )


@handles("GET /v1/invoices/{invoice}")
def invoice_retrieve(app, request, params, invoice_id):
    return public(stored_objects.get_or_404(app, "invoices", invoice_id, "invoice"))


@handles("POST /v1/invoices/{invoice}")
def invoice_update(app, request, params, invoice_id):
    invoice = stored_objects.get_or_404(app, "invoices", invoice_id, "invoice")
    before = public(invoice)
    if "metadata" in params:
        invoice["metadata"] = merge_metadata(invoice["metadata"], params)
    if "description" in params and invoice["status"] == "draft":
        invoice["description"] = p_str(params, "description")
    if "auto_advance" in params:
        invoice["auto_advance"] = p_bool(params, "auto_advance")
    if "discounts" in params:
        if invoice["status"] != "draft":
            raise not_editable("You can only update the discounts of a draft invoice.", param="discounts")
        at = stored_objects.clock_now(app, invoice.get("test_clock"))
        _redeem_invoice_discounts(app, invoice, _checked_discounts(app, invoice, params, at), at)
        invoice_drafts.recompute_totals(app, invoice)
    if "default_tax_rates" in params or "automatic_tax" in params:
        if invoice["status"] != "draft":
            raise not_editable("You can only update the taxes of a draft invoice.")
        _set_tax_settings(app, invoice, params)
        invoice_drafts.recompute_totals(app, invoice)
    after = public(invoice)
    previous = diff_previous(before, after)
    if previous:
        emit(app, "invoice.updated", after, previous)
    return after


@handles("DELETE /v1/invoices/{invoice}")
def invoice_delete(app, request, params, invoice_id):
    invoice = stored_objects.get_or_404(app, "invoices", invoice_id, "invoice")
    if invoice["status"] != "draft":
        raise not_editable("You can only delete draft invoices.")
    app.state.delete("invoices", invoice_id)
    emit(app, "invoice.deleted", public(invoice))
    return {"id": invoice_id, "object": "invoice", "deleted": True}


@handles("POST /v1/invoices/{invoice}/finalize")
def invoice_finalize(app, request, params, invoice_id):
    invoice = stored_objects.get_or_404(app, "invoices", invoice_id, "invoice")
    at = stored_objects.clock_now(app, invoice.get("test_clock"))
    invoicing.finalize_invoice(app, invoice, at)
    if invoice["amount_due"] == 0:
        invoicing.mark_paid(app, invoice, at)
    return public(invoice)


@handles("POST /v1/invoices/{invoice}/pay")
def invoice_pay(app, request, params, invoice_id):
    invoice = stored_objects.get_or_404(app, "invoices", invoice_id, "invoice")
    invoicing.pay_invoice(app, invoice, params)
    return public(invoice)


@handles("POST /v1/invoices/{invoice}/void")
def invoice_void(app, request, params, invoice_id):
    invoice = stored_objects.get_or_404(app, "invoices", invoice_id, "invoice")
    invoicing.void_invoice(app, invoice, stored_objects.clock_now(app, invoice.get("test_clock")))
    return public(invoice)


@handles("POST /v1/invoices/{invoice}/mark_uncollectible")
def invoice_mark_uncollectible(app, request, params, invoice_id):
    invoice = stored_objects.get_or_404(app, "invoices", invoice_id, "invoice")
    if invoice["status"] != "open":
        raise not_editable("You can only mark open invoices uncollectible.")
    invoice["status"] = "uncollectible"
    invoice["status_transitions"]["marked_uncollectible_at"] = stored_objects.clock_now(app, invoice.get("test_clock"))
    emit(app, "invoice.marked_uncollectible", public(invoice))
    return public(invoice)


@handles("GET /v1/invoices/{invoice}/lines")
def invoice_line_list(app, request, params, invoice_id):
    invoice = stored_objects.get_or_404(app, "invoices", invoice_id, "invoice")
    return paginate(public(invoice["lines"]["data"]), params, "/v1/invoices/%s/lines" % invoice_id)


@handles("GET /v1/invoices")
def invoice_list(app, request, params):
    items = app.state.all("invoices")
    for key in ("customer", "status", "collection_method"):
        if p_str(params, key):
            items = [i for i in items if i[key] == params[key]]
    if p_str(params, "subscription"):
        items = [i for i in items if i.get("_sub") == params["subscription"]]
    items = filter_by_created(items, params)
    return paginate([public(i) for i in items], params, "/v1/invoices")


@handles("GET /v1/invoices/search")
def invoice_search(app, request, params):
    return search(app.state.all("invoices"), params, "invoices", SEARCH_FIELDS, public)


@handles("POST /v1/invoices/{invoice}/send")
def invoice_send(app, request, params, invoice_id):
    """Finalizes a draft; no e-mail leaves the emulator (nor Stripe's test mode), but ``invoice.sent`` is emitted."""
    invoice = stored_objects.get_or_404(app, "invoices", invoice_id, "invoice")
    if invoice["status"] == "void":
        raise not_editable("You can't send a void invoice.")
    if invoice["status"] == "draft":
        invoicing.finalize_invoice(app, invoice, stored_objects.clock_now(app, invoice.get("test_clock")))
    emit(app, "invoice.sent", public(invoice))
    return public(invoice)


@handles("POST /v1/invoices/create_preview")
def invoice_create_preview(app, request, params):
    return previews.create_preview(app, params)
