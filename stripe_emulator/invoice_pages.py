"""The hosted invoice page (``hosted_invoice_url``: ``/p/invoice/in_...``, with
a Pay form while the invoice is open) and the invoice PDF (``invoice_pdf``:
``/p/invoice/in_.../pdf``): number, dates, customer, lines, discounts, tax,
totals, balance applied, amount paid and due."""

import datetime
import urllib.parse

from . import invoicing, page_html, pdf, taxes
from .errors import StripeError
from .resources import public

LINES_PER_PAGE = 28


def handle(app, handler, method, invoice_id, action, body):
    with app.state.lock:
        app.set_context()
        invoice = app.state.get("invoices", invoice_id)
        if invoice is None:
            return page_html.not_found_page(handler, "No such invoice")
        if method == "POST" and action == "pay":
            return _pay(app, handler, invoice, body)
        snapshot = public(invoice)
        names = _discount_names(app, snapshot)
        names.update({_tax_key(tax): taxes.rate_label(app, tax) for tax in snapshot["total_taxes"]})
    if action == "pdf":
        document = render_pdf(snapshot, names)
        headers = {"Content-Disposition": 'inline; filename="Invoice-%s.pdf"' % (snapshot["number"] or invoice_id)}
        return handler._send(200, document, "application/pdf", headers)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(handler.path).query))
    return handler.send_html(200, render_page(snapshot, names, query.get("message"), query.get("error")))


def _pay(app, handler, invoice, body):
    form = dict(urllib.parse.parse_qsl(body or ""))
    reference = form.get("payment_method") or ""
    base = "/p/invoice/%s" % invoice["id"]
    try:
        if reference not in dict(page_html.TEST_CARDS):
            raise StripeError(400, "invalid_request_error", "Choose one of the test cards.")
        invoicing.pay_invoice(app, invoice, {"payment_method": reference})
        message = {"message": "Invoice paid."}
    except StripeError as error:
        message = {"error": error.message}
    app.after_mutation()
    return handler.redirect(base + "?" + urllib.parse.urlencode(message))


def _discount_names(app, invoice):
    """discount id -> what a customer reads ("20% off (SPRING20)")."""
    names = {}
    for entry in invoice["total_discount_amounts"]:
        discount = app.state.get("discounts", entry["discount"]) or {}
        coupon = app.state.get("coupons", (discount.get("source") or {}).get("coupon") or "") or {}
        code = app.state.get("promotion_codes", discount.get("promotion_code") or "")
        if coupon.get("percent_off") is not None:
            label = "%s%% off" % ("%g" % coupon["percent_off"])
        else:
            label = "%s off" % page_html.fmt_amount(coupon.get("amount_off"), coupon.get("currency"))
        names[entry["discount"]] = "%s (%s)" % (coupon.get("name") or label, code["code"] if code else coupon.get("id"))
    return names


def _tax_key(tax):
    return "tax:%s:%s" % (tax["tax_rate_details"]["tax_rate"], tax["tax_behavior"])


def _day(timestamp):
    if not timestamp:
        return ""
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%B %d, %Y")


def summary_rows(invoice, names):
    """(row id, label, amount) rows below the lines: subtotal, each discount that took something off, the
    total excluding tax and each tax (``VAT (20%)``, ``VAT (20% included)``) when taxed, the tax, total,
    balance applied, paid, due."""
    rows = [("subtotal", "Subtotal", invoice["subtotal"])]
    discounts = [entry for entry in invoice["total_discount_amounts"] if entry["amount"]]
    rows += [("discount", "Discount: " + names.get(e["discount"], e["discount"]), -e["amount"]) for e in discounts]
    if invoice["total_taxes"]:
        rows.append(("total-excluding-tax", "Total excluding tax", invoice["total_excluding_tax"]))
    for index, tax in enumerate(invoice["total_taxes"]):
        rows.append(("tax-%d" % index, names.get(_tax_key(tax), "Tax"), tax["amount"]))
    rows.append(("tax", "Tax", sum(tax["amount"] for tax in invoice["total_taxes"])))
    rows.append(("total", "Total", invoice["total"]))
    ending = invoice["ending_balance"]
    applied = 0 if ending is None else invoice["starting_balance"] - ending
    if applied:
        rows.append(("applied-balance", "Applied balance", applied))
    rows.append(("amount-paid", "Amount paid", invoice["amount_paid"]))
    rows.append(("amount-due", "Amount due", invoice["amount_due"]))
    return rows


def _tax_id_lines(invoice):
    """The customer's tax IDs as invoices show them: ``EU VAT DE123456789``."""
    return ["%s %s" % (t["type"].replace("_", " ").upper(), t["value"]) for t in invoice["customer_tax_ids"] or []]


# ---------------------------------------------------------------------------
# hosted page


def render_page(invoice, names, message=None, error=None):
    currency = invoice["currency"]
    body = [
        "<h1>Invoice <span id='invoice-number'>%s</span></h1>" % page_html.esc(invoice["number"] or invoice["id"]),
        "<p>Status: <span id='invoice-status'>%s</span></p>" % page_html.esc(invoice["status"]),
        "<p>Issued %s to <span id='customer'>%s</span></p>"
        % (
            page_html.esc(_day(invoice["effective_at"] or invoice["created"])),
            page_html.esc(invoice["customer_name"] or invoice["customer_email"]),
        ),
        "".join("<p class='customer-tax-id'>%s</p>" % page_html.esc(line) for line in _tax_id_lines(invoice)),
        "<table id='lines'><tr><th>Description</th><th>Qty</th><th>Amount</th></tr>",
    ]
    for line in invoice["lines"]["data"]:
        body.append(
            "<tr class='line-item' data-amount='%d'><td>%s</td><td>%s</td><td>%s</td></tr>"
            % (
                line["amount"],
                page_html.esc(line["description"]),
                line["quantity"],
                page_html.esc(page_html.fmt_amount(line["amount"], currency)),
            )
        )
    body.append("</table><table id='summary'>")
    for row_id, label, amount in summary_rows(invoice, names):
        body.append(
            "<tr id='%s' data-amount='%d'><th>%s</th><td>%s</td></tr>"
            % (
                page_html.esc(row_id),
                amount,
                page_html.esc(label),
                page_html.esc(page_html.fmt_amount(amount, currency)),
            )
        )
    body.append("</table>")
    if invoice["invoice_pdf"]:
        body.append(
            "<p><a id='download-pdf' href='%s'>Download invoice (PDF)</a></p>" % page_html.esc(invoice["invoice_pdf"])
        )
    if invoice["status"] == "open" and invoice["amount_due"] > 0:
        body.append(_pay_form(invoice))
    return page_html.layout("Invoice %s" % (invoice["number"] or invoice["id"]), "".join(body), message, error)


def _pay_form(invoice):
    options = "".join(
        "<option value='%s'>%s</option>" % (page_html.esc(value), page_html.esc(label))
        for value, label in page_html.TEST_CARDS
    )
    return (
        "<form method='post' action='/p/invoice/%s/pay' id='pay-form'>"
        "<label for='payment_method'>Test card</label> <select name='payment_method' id='payment_method'>%s</select> "
        "<button type='submit' id='pay'>Pay %s</button></form>"
        % (
            page_html.esc(invoice["id"]),
            options,
            page_html.esc(page_html.fmt_amount(invoice["amount_due"], invoice["currency"])),
        )
    )


# ---------------------------------------------------------------------------
# PDF


def render_pdf(invoice, names):
    document = pdf.Document("Invoice %s" % (invoice["number"] or invoice["id"]))
    page = _pdf_header(document, invoice)
    y = 560
    for index, line in enumerate(invoice["lines"]["data"]):
        if index and index % LINES_PER_PAGE == 0:
            page, y = _pdf_header(document, invoice), 560
        page.text(50, y, _clip(line["description"] or "", 70))
        page.text(400, y, str(line["quantity"]))
        page.text(470, y, _money(line["amount"], invoice["currency"]))
        y -= 16
    page.rule(50, y + 6, 562, y + 6)
    y -= 10
    for _, label, amount in summary_rows(invoice, names):
        font = "bold" if label in ("Total", "Amount due") else "regular"
        page.text(300, y, _clip(label, 30), font=font)
        page.text(470, y, _money(amount, invoice["currency"]), font=font)
        y -= 16
    return document.render()


def _pdf_header(document, invoice):
    page = document.new_page()
    page.text(50, 730, "Invoice", size=22, font="bold")
    page.text(50, 700, "Invoice number  %s" % (invoice["number"] or invoice["id"]))
    page.text(50, 685, "Date of issue   %s" % _day(invoice["effective_at"] or invoice["created"]))
    if invoice["due_date"]:
        page.text(50, 670, "Date due        %s" % _day(invoice["due_date"]))
    page.text(50, 655, "Status          %s" % invoice["status"])
    page.text(350, 700, "Bill to", font="bold")
    page.text(350, 685, invoice["customer_name"] or "")
    page.text(350, 670, invoice["customer_email"] or "")
    for index, line in enumerate(_tax_id_lines(invoice)[:3]):
        page.text(350, 655 - 15 * index, line)
    page.text(50, 590, "Description", font="bold")
    page.text(400, 590, "Qty", font="bold")
    page.text(470, 590, "Amount", font="bold")
    page.rule(50, 582, 562, 582)
    return page


def _money(amount, currency):
    return "%s%s %.2f" % ("-" if amount < 0 else "", (currency or "usd").upper(), abs(amount) / 100.0)


def _clip(text, width):
    return text if len(text) <= width else text[: width - 1] + "…"
