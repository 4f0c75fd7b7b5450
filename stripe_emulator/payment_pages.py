"""Hosted pages of payments: the 3D Secure test page a PaymentIntent's or
SetupIntent's ``next_action`` points at (``/p/authenticate/{pi_…|seti_…}``:
``#complete-authentication`` / ``#fail-authentication``, as Stripe's own test
page offers), and a credit note's PDF (``/p/credit_note/{cn_…}/pdf``)."""

import urllib.parse

from . import page_html, payment_methods, payments, pdf, setup_intents
from .errors import StripeError
from .resources import public


def handle_authentication(app, handler, method, intent_id, action):
    with app.state.lock:
        app.set_context()
        collection = "setup_intents" if intent_id.startswith("seti_") else "payment_intents"
        intent = app.state.get(collection, intent_id)
        if intent is None:
            return page_html.not_found_page(handler, "No such payment")
        if method == "POST" and action in ("complete", "fail"):
            return _authenticate(app, handler, intent, action == "complete")
        return handler.send_html(200, _render(app, intent))


def _authenticate(app, handler, intent, succeeded):
    try:
        (setup_intents if intent["object"] == "setup_intent" else payments).complete_authentication(
            app, intent, succeeded
        )
    except StripeError as error:
        app.after_mutation()
        return handler.send_html(400, _render(app, intent, error=error.message))
    app.after_mutation()
    return_url = (
        ((intent.get("next_action") or {}).get("redirect_to_url") or {}).get("return_url")
        or intent.get("return_url")
        or intent.get("_return_url")
    )
    if return_url:
        key = "payment_intent" if intent["object"] == "payment_intent" else "setup_intent"
        query = {
            key: intent["id"],
            key + "_client_secret": intent["client_secret"],
            "redirect_status": "succeeded" if succeeded else "failed",
        }
        separator = "&" if "?" in return_url else "?"
        return handler.redirect(return_url + separator + urllib.parse.urlencode(query))
    return handler.send_html(200, _render(app, intent))


def _render(app, intent, error=None):
    pm = app.state.get("payment_methods", intent.get("payment_method") or "")
    what = (
        page_html.fmt_amount(intent["amount"], intent["currency"])
        if intent["object"] == "payment_intent"
        else ("saving your card for later payments")
    )
    body = [
        "<h1>3D Secure 2 test page</h1>",
        "<p id='intent-status' data-status='%s'>%s: %s</p>"
        % (page_html.esc(intent["status"]), page_html.esc(intent["id"]), page_html.esc(intent["status"])),
    ]
    if intent["status"] == "requires_action":
        body.append(
            "<p>Authenticate %s with %s.</p>"
            % (page_html.esc(what), page_html.esc(payment_methods.card_name(pm) if pm else ""))
        )
        base = "/p/authenticate/%s" % intent["id"]
        body.append(
            "<form method='post' action='%s/complete'><button id='complete-authentication'>"
            "Complete authentication</button></form>" % base
        )
        body.append(
            "<form method='post' action='%s/fail'><button id='fail-authentication'>"
            "Fail authentication</button></form>" % base
        )
    else:
        body.append("<p id='done'>Nothing left to authenticate.</p>")
    return page_html.layout("3D Secure", "".join(body), error=error)


def handle_credit_note(app, handler, note_id, action):
    with app.state.lock:
        note = app.state.get("credit_notes", note_id)
        snapshot = public(note) if note else None
    if snapshot is None or action != "pdf":
        return page_html.not_found_page(handler, "No such credit note")
    headers = {"Content-Disposition": 'inline; filename="CreditNote-%s.pdf"' % snapshot["number"]}
    return handler._send(200, render_credit_note_pdf(snapshot), "application/pdf", headers)


def render_credit_note_pdf(note):
    document = pdf.Document("Credit note %s" % note["number"])
    page = document.new_page()
    page.text(50, 740, "Credit note", size=20, font="bold")
    page.text(50, 715, "Number: %s" % note["number"])
    page.text(50, 700, "Invoice: %s" % note["invoice"])
    page.text(50, 685, "Reason: %s" % (note["reason"] or "-"))
    y = 650
    for line in note["lines"]["data"]:
        page.text(50, y, (line["description"] or "")[:70])
        page.text(480, y, page_html.fmt_amount(line["amount"], note["currency"]))
        y -= 15
    page.rule(50, y, 560, y)
    page.text(50, y - 18, "Total credited", font="bold")
    page.text(480, y - 18, page_html.fmt_amount(note["total"], note["currency"]), font="bold")
    if note["memo"]:
        page.text(50, y - 45, note["memo"][:90])
    return document.render()
