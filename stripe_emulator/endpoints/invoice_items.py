"""Invoice items (``/v1/invoiceitems``): one-off charges that wait for the
customer's (or a subscription's) next invoice, or join a draft invoice."""

from .. import discounts, invoice_drafts, stored_objects, taxes
from ..errors import invalid_request, missing
from ..events import emit
from ..resources import merge_metadata, p_bool, p_dict, p_int, p_str, paginate, public
from ..routing import handles
from ..store import new_id


def not_editable(message, param=None):
    return invalid_request(message, code="invoice_not_editable", param=param)


@handles("POST /v1/invoiceitems")
def invoice_item_create(app, request, params):
    customer = stored_objects.live_customer(app, p_str(params, "customer", required=True))
    at = stored_objects.customer_now(app, customer)
    quantity = p_int(params, "quantity", 1)
    price, amount, currency = _invoice_item_amount(app, params, quantity)
    subscription_id = p_str(params, "subscription")
    if subscription_id:
        stored_objects.get_or_404(app, "subscriptions", subscription_id, "subscription", "subscription")
    invoice = _draft_invoice_for_item(app, p_str(params, "invoice"))
    redemptions = discounts.check_references(
        app,
        params.get("discounts") or [],
        customer_id=customer["id"],
        currency=currency,
        amount=amount,
        at=at,
        param="discounts",
    )
    item = _build_invoice_item(params, customer, at, price, amount, currency, quantity, subscription_id)
    item["tax_rates"] = taxes.checked_rates(app, params.get("tax_rates"), "tax_rates")
    if invoice is not None:
        taxes.refuse_rates_with_automatic_tax(invoice["automatic_tax"]["enabled"], tax_rates=item["tax_rates"])
    app.state.put("invoiceitems", item)
    item["discounts"] = discounts.replace_discounts(
        app, [], redemptions, customer_id=customer["id"], at=at, attached_to={"invoice_item": item["id"]}
    )
    if invoice is not None:
        item["invoice"] = invoice["id"]
        invoice_drafts.add_invoice_item_line(app, invoice, item)
        invoice_drafts.recompute_totals(app, invoice)
    emit(app, "invoiceitem.created", public(item))
    return public(item)


def _invoice_item_amount(app, params, quantity):
    """(price or None, amount, currency) from ``pricing[price]`` or ``amount``/``price_data``."""
    price_id = p_dict(params, "pricing").get("price")
    if price_id:
        price = stored_objects.get_or_404(app, "prices", price_id, "price", "pricing[price]")
        return price, (price.get("unit_amount") or 0) * quantity, price["currency"]
    price_data = p_dict(params, "price_data")
    amount = p_int(params, "amount")
    if amount is None:
        if price_data.get("unit_amount") is None:
            raise missing("amount")
        amount = price_data["unit_amount"] * quantity
    return None, amount, p_str(params, "currency") or price_data.get("currency") or "usd"


def _draft_invoice_for_item(app, invoice_id):
    if not invoice_id:
        return None
    invoice = stored_objects.get_or_404(app, "invoices", invoice_id, "invoice", "invoice")
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
        "period": {"end": period.get("end") or at, "start": period.get("start") or at},
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
    return public(stored_objects.get_or_404(app, "invoiceitems", item_id, "invoiceitem"))


@handles("DELETE /v1/invoiceitems/{invoiceitem}")
def invoice_item_delete(app, request, params, item_id):
    item = stored_objects.get_or_404(app, "invoiceitems", item_id, "invoiceitem")
    invoice = app.state.get("invoices", item.get("invoice") or "")
    if invoice is not None:
        if invoice["status"] != "draft":
            raise not_editable("This invoice item cannot be deleted.")
        invoice["lines"]["data"] = [line for line in invoice["lines"]["data"] if _line_item_id(line) != item_id]
        invoice_drafts.recompute_totals(app, invoice)
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
