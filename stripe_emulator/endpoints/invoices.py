"""Invoices and invoice items.  Totals, finalization and payment live in
``billing.py``."""

from .. import billing as B
from ..errors import invalid_request, missing
from ..events import diff_previous, emit
from ..resources import filter_by_created, merge_metadata, p_bool, p_dict, p_int, p_str, paginate, public
from ..routing import handles
from ..search import Field, search
from ..store import new_id
from .discounts import reject_discount_references

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


# ---------------------------------------------------------------------------
# invoice items


@handles("POST /v1/invoiceitems")
def invoice_item_create(app, request, params):
    reject_discount_references(params)
    customer = B.live_customer(app, p_str(params, "customer", required=True))
    at = B.customer_now(app, customer)
    quantity = p_int(params, "quantity", 1)
    price, amount, currency = _invoice_item_amount(app, params, quantity)
    subscription_id = p_str(params, "subscription")
    if subscription_id:
        B.get_or_404(app, "subscriptions", subscription_id, "subscription", "subscription")
    invoice = _draft_invoice_for_item(app, p_str(params, "invoice"))
    item = _build_invoice_item(params, customer, at, price, amount, currency, quantity, subscription_id)
    app.state.put("invoiceitems", item)
    if invoice is not None:
        item["invoice"] = invoice["id"]
        period = (item["period"]["start"], item["period"]["end"])
        line = (amount, item["currency"], item["description"], period, quantity)
        B.add_line(invoice, *line, price=price, invoice_item=item["id"])
    emit(app, "invoiceitem.created", public(item))
    return public(item)


def _invoice_item_amount(app, params, quantity):
    """(price or None, amount, currency) from ``price``/``pricing[price]`` or ``amount``/``price_data``."""
    price_id = p_str(params, "price") or p_dict(params, "pricing").get("price")
    if price_id:
        price = B.get_or_404(app, "prices", price_id, "price", "price")
        return price, (price.get("unit_amount") or 0) * quantity, price["currency"]
    price_data = p_dict(params, "price_data")
    amount = p_int(params, "amount")
    if amount is None:
        if price_data.get("unit_amount") in (None, ""):
            raise missing("amount")
        amount = int(price_data["unit_amount"]) * quantity
    return None, amount, p_str(params, "currency") or price_data.get("currency") or "usd"


def _draft_invoice_for_item(app, invoice_id):
    if not invoice_id:
        return None
    invoice = B.get_or_404(app, "invoices", invoice_id, "invoice", "invoice")
    if invoice["status"] != "draft":
        raise not_editable("You can only add invoice items to draft invoices.", param="invoice")
    return invoice


def _build_invoice_item(params, customer, at, price, amount, currency, quantity, subscription_id):
    period = p_dict(params, "period")
    parent = None
    if subscription_id:
        parent = {
            "subscription_details": {"subscription": subscription_id, "subscription_item": None},
            "type": "subscription_details",
        }
    return {
        "id": new_id("ii_"),
        "object": "invoiceitem",
        "amount": amount,
        "currency": currency.lower(),
        "customer": customer["id"],
        "customer_account": None,
        "date": at,
        "description": p_str(params, "description"),
        "discountable": p_bool(params, "discountable", True),
        "discounts": [],
        "invoice": None,
        "livemode": False,
        "metadata": merge_metadata({}, params),
        "net_amount": amount,
        "parent": parent,
        "period": {"end": int(period.get("end") or at), "start": int(period.get("start") or at)},
        "pricing": {
            "price_details": ({"price": price["id"], "product": price["product"]} if price else None),
            "type": "price_details",
            "unit_amount_decimal": (price or {}).get("unit_amount_decimal") or str(amount // max(quantity, 1)),
        },
        "proration": False,
        "proration_details": {"credited_items": None},
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "tax_rates": [],
        "test_clock": customer.get("test_clock"),
        "_sub": subscription_id,
    }


@handles("GET /v1/invoiceitems/{invoiceitem}")
def invoice_item_retrieve(app, request, params, item_id):
    return public(B.get_or_404(app, "invoiceitems", item_id, "invoiceitem"))


@handles("DELETE /v1/invoiceitems/{invoiceitem}")
def invoice_item_delete(app, request, params, item_id):
    item = B.get_or_404(app, "invoiceitems", item_id, "invoiceitem")
    invoice = app.state.get("invoices", item.get("invoice") or "")
    if invoice is not None:
        if invoice["status"] != "draft":
            raise not_editable("This invoice item cannot be deleted.")
        invoice["lines"]["data"] = [line for line in invoice["lines"]["data"] if _line_item_id(line) != item_id]
        B.recompute_totals(invoice)
    app.state.delete("invoiceitems", item_id)
    emit(app, "invoiceitem.deleted", public(item))
    return {"id": item_id, "object": "invoiceitem", "deleted": True}


def _line_item_id(line):
    return ((line.get("parent") or {}).get("invoice_item_details") or {}).get("invoice_item")


@handles("GET /v1/invoiceitems")
def invoice_item_list(app, request, params):
    items = app.state.all("invoiceitems")
    if p_str(params, "customer"):
        items = [i for i in items if i["customer"] == params["customer"]]
    if p_str(params, "invoice"):
        items = [i for i in items if i.get("invoice") == params["invoice"]]
    if "pending" in params:
        pending = p_bool(params, "pending")
        items = [i for i in items if (i.get("invoice") is None) == pending]
    return paginate([public(i) for i in items], params, "/v1/invoiceitems")


# ---------------------------------------------------------------------------
# invoices


@handles("POST /v1/invoices")
def invoice_create(app, request, params):
    reject_discount_references(params)
    customer = B.live_customer(app, p_str(params, "customer", required=True))
    at = B.customer_now(app, customer)
    sub = None
    if p_str(params, "subscription"):
        sub = B.get_or_404(app, "subscriptions", params["subscription"], "subscription", "subscription")
    invoice = B.new_invoice(app, customer, at, "manual", sub=sub, params=params)
    if invoice["default_payment_method"]:
        pm = B.resolve_payment_method(app, invoice["default_payment_method"], customer, "default_payment_method")
        invoice["default_payment_method"] = pm["id"]
    if p_str(params, "pending_invoice_items_behavior", "exclude") == "include":
        B.pull_pending_items(app, invoice, customer, sub)
    app.state.put("invoices", invoice)
    emit(app, "invoice.created", public(invoice))
    return public(invoice)


@handles("GET /v1/invoices/{invoice}")
def invoice_retrieve(app, request, params, invoice_id):
    return public(B.get_or_404(app, "invoices", invoice_id, "invoice"))


@handles("POST /v1/invoices/{invoice}")
def invoice_update(app, request, params, invoice_id):
    invoice = B.get_or_404(app, "invoices", invoice_id, "invoice")
    before = public(invoice)
    if "metadata" in params:
        invoice["metadata"] = merge_metadata(invoice["metadata"], params)
    if "description" in params and invoice["status"] == "draft":
        invoice["description"] = p_str(params, "description")
    if "auto_advance" in params:
        invoice["auto_advance"] = p_bool(params, "auto_advance")
    after = public(invoice)
    previous = diff_previous(before, after)
    if previous:
        emit(app, "invoice.updated", after, previous)
    return after


@handles("DELETE /v1/invoices/{invoice}")
def invoice_delete(app, request, params, invoice_id):
    invoice = B.get_or_404(app, "invoices", invoice_id, "invoice")
    if invoice["status"] != "draft":
        raise not_editable("You can only delete draft invoices.")
    app.state.delete("invoices", invoice_id)
    emit(app, "invoice.deleted", public(invoice))
    return {"id": invoice_id, "object": "invoice", "deleted": True}


@handles("POST /v1/invoices/{invoice}/finalize")
def invoice_finalize(app, request, params, invoice_id):
    invoice = B.get_or_404(app, "invoices", invoice_id, "invoice")
    at = B.clock_now(app, invoice.get("test_clock"))
    B.finalize_invoice(app, invoice, at)
    if invoice["amount_due"] == 0:
        B.mark_paid(app, invoice, at)
    return public(invoice)


@handles("POST /v1/invoices/{invoice}/pay")
def invoice_pay(app, request, params, invoice_id):
    invoice = B.get_or_404(app, "invoices", invoice_id, "invoice")
    B.pay_invoice(app, invoice, params)
    return public(invoice)


@handles("POST /v1/invoices/{invoice}/void")
def invoice_void(app, request, params, invoice_id):
    invoice = B.get_or_404(app, "invoices", invoice_id, "invoice")
    if invoice["status"] != "open":
        raise not_editable("You can only void open invoices.")
    invoice["status"] = "void"
    invoice["status_transitions"]["voided_at"] = B.clock_now(app, invoice.get("test_clock"))
    emit(app, "invoice.voided", public(invoice))
    return public(invoice)


@handles("POST /v1/invoices/{invoice}/mark_uncollectible")
def invoice_mark_uncollectible(app, request, params, invoice_id):
    invoice = B.get_or_404(app, "invoices", invoice_id, "invoice")
    if invoice["status"] != "open":
        raise not_editable("You can only mark open invoices uncollectible.")
    invoice["status"] = "uncollectible"
    invoice["status_transitions"]["marked_uncollectible_at"] = B.clock_now(app, invoice.get("test_clock"))
    emit(app, "invoice.marked_uncollectible", public(invoice))
    return public(invoice)


@handles("GET /v1/invoices/{invoice}/lines")
def invoice_line_list(app, request, params, invoice_id):
    invoice = B.get_or_404(app, "invoices", invoice_id, "invoice")
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
