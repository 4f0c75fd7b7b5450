"""Hosted pages: the customer portal (``/p/session/bps_...``) and Checkout
(``/p/checkout/cs_test_...``); ``page_routes.py`` sends each path here or to
the other pages, ``page_html.py`` holds what they share.  Plain HTML forms, no
JavaScript.  Every action changes state through the same code paths as the
API, so it emits the same events."""

import urllib.parse

from . import invoicing, payment_methods, stored_objects, subscriptions
from .endpoints.checkout import apply_promotion_code, collect_details, collects_address, complete_checkout
from .errors import StripeError
from .page_html import TEST_CARDS, esc, fmt_amount, fmt_ts, layout, not_found_page
from .subscription_changes import update_subscription

TAX_ID_TYPES = (
    ("eu_vat", "EU VAT"),
    ("gb_vat", "UK VAT"),
    ("ch_vat", "Swiss VAT"),
    ("no_vat", "Norwegian VAT"),
    ("au_abn", "Australian ABN"),
    ("nz_gst", "New Zealand GST"),
    ("ca_bn", "Canadian BN"),
    ("us_ein", "US EIN"),
)


def _qs(query):
    return dict(urllib.parse.parse_qsl(query or "", keep_blank_values=True))


# ---------------------------------------------------------------------------
# customer portal


def _portal_rules(app, sess):
    cfg = app.state.get("portal_configurations", sess.get("configuration") or "")
    if cfg is None:
        prices = [p for p in app.state.all("prices")[::-1] if p["active"] and p.get("recurring")]
        return {
            "switch": True,
            "prices": prices,
            "cancel": True,
            "cancel_mode": "at_period_end",
            "payment_method": True,
            "headline": None,
        }
    f = cfg["features"]
    prices = []
    su = f["subscription_update"]
    if su["enabled"]:
        for prod in su.get("products") or []:
            for pid in prod.get("prices") or []:
                price = app.state.get("prices", pid)
                if price and price["active"]:
                    prices.append(price)
    return {
        "switch": su["enabled"],
        "prices": prices,
        "cancel": f["subscription_cancel"]["enabled"],
        "cancel_mode": f["subscription_cancel"].get("mode") or "at_period_end",
        "payment_method": f["payment_method_update"]["enabled"],
        "headline": cfg["business_profile"].get("headline"),
    }


def _current_sub(app, cid):
    subs = [
        s
        for s in app.state.all("subscriptions")
        if s["customer"] == cid and s["status"] not in ("canceled", "incomplete_expired")
    ]
    return subs[0] if subs else None


def portal(app, handler, method, sid, action, query, body):
    with app.state.lock:
        app.set_context()
        sess = app.state.get("portal_sessions", sid)
        if sess is None:
            return not_found_page(handler, "No such portal session")
        base = "/p/session/%s" % sid
        if method == "POST":
            form = _qs(body)
            try:
                msg = portal_action(app, sess, action, form)
                app.after_mutation()
            except StripeError as e:
                app.after_mutation()
                return handler.redirect(base + "?" + urllib.parse.urlencode({"error": e.message}))
            return handler.redirect(base + "?" + urllib.parse.urlencode({"message": msg}))
        q = _qs(query)
        return handler.send_html(200, render_portal(app, sess, q.get("message"), q.get("error")))


def portal_action(app, sess, action, form):
    rules = _portal_rules(app, sess)
    cus = stored_objects.live_customer(app, sess["customer"])
    sub = _current_sub(app, cus["id"])
    if action == "payment_method":
        if not rules["payment_method"]:
            raise StripeError(400, "invalid_request_error", "Updating payment methods is disabled.")
        ref = form.get("payment_method") or ""
        if ref not in dict(TEST_CARDS):
            raise StripeError(400, "invalid_request_error", "Choose one of the test cards.")
        pm = payment_methods.resolve_and_attach(app, ref, cus, "payment_method")
        payment_methods.set_customer_default(app, cus, pm["id"])
        # make sure subscriptions use the new default, and retry what is owed
        for s in app.state.all("subscriptions"):
            if s["customer"] != cus["id"] or s["status"] in ("canceled", "incomplete_expired"):
                continue
            if s.get("default_payment_method"):
                before = stored_objects.render_subscription(app, s)
                s["default_payment_method"] = pm["id"]
                stored_objects.subscription_changed(app, s, before)
            if s["status"] in ("past_due", "incomplete", "unpaid"):
                inv = app.state.get("invoices", s.get("latest_invoice") or "")
                if inv and inv["status"] == "open":
                    try:
                        invoicing.pay_invoice(app, inv, {"payment_method": pm["id"]})
                    except StripeError:
                        pass
        return "Card •••• %s added and set as default." % pm["card"]["last4"]
    if sub is None:
        raise StripeError(400, "invalid_request_error", "There is no active subscription.")
    if action == "switch":
        if not rules["switch"]:
            raise StripeError(400, "invalid_request_error", "Switching plans is disabled.")
        pid = form.get("price") or ""
        if pid not in [p["id"] for p in rules["prices"]]:
            raise StripeError(400, "invalid_request_error", "That price is not available.")
        item = sub["_items"][0]
        if item["price"] == pid:
            return "You are already on that plan."
        update_subscription(
            app, sub, {"items": [{"id": item["id"], "price": pid}], "proration_behavior": "create_prorations"}
        )
        price = app.state.get("prices", pid)
        return "Switched to %s." % (price.get("lookup_key") or price["id"])
    if action == "cancel":
        if not rules["cancel"]:
            raise StripeError(400, "invalid_request_error", "Cancelling is disabled.")
        if rules["cancel_mode"] == "immediately":
            subscriptions.cancel_subscription(app, sub, stored_objects.clock_now(app, sub.get("test_clock")))
            return "Your subscription has been canceled."
        update_subscription(app, sub, {"cancel_at_period_end": True})
        return "Your subscription will be canceled at the end of the period (%s)." % fmt_ts(
            stored_objects.period_end(sub)
        )
    if action == "renew":
        update_subscription(app, sub, {"cancel_at_period_end": False})
        return "Your subscription will renew."
    raise StripeError(404, "invalid_request_error", "Unknown action.")


def render_portal(app, sess, flash=None, error=None):
    rules = _portal_rules(app, sess)
    cus = app.state.get("customers", sess["customer"])
    if cus is None or cus.get("deleted"):
        return layout("Customer portal", "<h1>Customer portal</h1><p>This customer no longer exists.</p>")
    sub = _current_sub(app, cus["id"])
    base = "/p/session/%s" % sess["id"]
    h = ["<h1 id='headline'>%s</h1>" % esc(rules["headline"] or "Manage your subscription")]
    h.append("<p id='customer-email'>%s</p>" % esc(cus.get("email") or cus.get("name") or cus["id"]))
    h.append("<section id='subscription'><h2>Current plan</h2>")
    if sub is None:
        h.append("<p id='no-subscription'>No active subscription.</p>")
    else:
        price = app.state.get("prices", sub["_items"][0]["price"])
        h += _portal_plan_details(app, sub, price)
        if rules["switch"] and rules["prices"]:
            h += _portal_plan_choices(app, rules["prices"], price, base)
        if rules["cancel"]:
            h.append(_portal_cancel_form(sub, rules["cancel_mode"], base))
    h.append("</section>")
    h += _portal_payment_method(app, cus, rules["payment_method"], base)
    if sess.get("return_url"):
        h.append(
            "<p><a id='return' href='%s'>Return to %s</a></p>"
            % (esc(sess["return_url"]), esc(urllib.parse.urlsplit(sess["return_url"]).netloc or "site"))
        )
    return layout("Customer portal", "".join(h), flash, error)


def _portal_plan_details(app, sub, price):
    """The current plan: product, price, status, trial end, period end and any scheduled cancellation."""
    prod = app.state.get("products", price["product"]) or {}
    h = ["<dl>", "<dt>Plan</dt><dd id='plan-name'>%s</dd>" % esc(prod.get("name"))]
    h.append(
        "<dt>Price</dt><dd id='plan-price' data-lookup-key='%s' data-price='%s'>%s / %s</dd>"
        % (
            esc(price.get("lookup_key")),
            esc(price["id"]),
            esc(fmt_amount(price.get("unit_amount"), price["currency"])),
            esc(price["recurring"]["interval"]),
        )
    )
    h.append("<dt>Lookup key</dt><dd id='lookup-key'>%s</dd>" % esc(price.get("lookup_key")))
    h.append("<dt>Status</dt><dd id='subscription-status'>%s</dd>" % esc(sub["status"]))
    if sub["status"] == "trialing":
        h.append(
            "<dt>Trial ends</dt><dd id='trial-end' data-ts='%s'>%s</dd>"
            % (sub["trial_end"], esc(fmt_ts(sub["trial_end"])))
        )
    period_end = stored_objects.period_end(sub)
    h.append(
        "<dt>Current period ends</dt><dd id='period-end' data-ts='%s'>%s</dd>" % (period_end, esc(fmt_ts(period_end)))
    )
    if sub["cancel_at_period_end"] or sub.get("cancel_at"):
        cancel_at = sub.get("cancel_at") or period_end
        h.append("<dt>Cancels</dt><dd id='cancel-at' data-ts='%s'>%s</dd>" % (cancel_at, esc(fmt_ts(cancel_at))))
    h.append("</dl>")
    return h


def _portal_plan_choices(app, prices, current_price, base):
    """One form per price the configuration lets the customer switch to; the current one disabled."""
    h = ["<h3>Change plan</h3><div id='prices'>"]
    for p in prices:
        product = app.state.get("products", p["product"]) or {}
        current = p["id"] == current_price["id"]
        h.append(
            "<form method='post' action='%s/switch' class='price-option'>"
            "<input type='hidden' name='price' value='%s'>"
            "<button type='submit' id='switch-%s' data-lookup-key='%s' data-price='%s'%s>"
            "%s — %s / %s%s</button></form>"
            % (
                base,
                esc(p["id"]),
                esc(p.get("lookup_key") or p["id"]),
                esc(p.get("lookup_key")),
                esc(p["id"]),
                " disabled" if current else "",
                esc(product.get("name")),
                esc(fmt_amount(p.get("unit_amount"), p["currency"])),
                esc(p["recurring"]["interval"]),
                " (current)" if current else "",
            )
        )
    h.append("</div>")
    return h


def _portal_cancel_form(sub, cancel_mode, base):
    if sub["cancel_at_period_end"]:
        return (
            "<form method='post' action='%s/renew'><button type='submit' id='renew-subscription'>"
            "Don't cancel</button></form>" % base
        )
    label = "Cancel subscription now" if cancel_mode == "immediately" else "Cancel subscription at period end"
    return (
        "<form method='post' action='%s/cancel'><button type='submit' id='cancel-subscription' "
        "data-mode='%s'>%s</button></form>" % (base, esc(cancel_mode), esc(label))
    )


def _portal_payment_method(app, cus, can_update, base):
    """The default card, and (when the configuration allows it) a form to add a test card."""
    h = ["<section id='payment-methods'><h2>Payment method</h2>"]
    pm = payment_methods.default_for_customer(app, cus)
    if pm:
        card = pm["card"]
        h.append(
            "<p id='default-card' data-brand='%s' data-last4='%s'>%s •••• %s (expires %02d/%d)</p>"
            % (
                esc(card["brand"]),
                esc(card["last4"]),
                esc(card["brand"].title()),
                esc(card["last4"]),
                card["exp_month"],
                card["exp_year"],
            )
        )
    else:
        h.append("<p id='default-card' data-last4=''>No payment method on file.</p>")
    if can_update:
        h.append(
            "<form method='post' action='%s/payment_method' id='add-card-form'>"
            "<label for='payment_method'>Test card</label> "
            "<select name='payment_method' id='payment_method'>" % base
        )
        for val, label in TEST_CARDS:
            h.append("<option value='%s'>%s</option>" % (esc(val), esc(label)))
        h.append("</select> <button type='submit' id='add-card'>Add card</button></form>")
    h.append("</section>")
    return h


# ---------------------------------------------------------------------------
# checkout


def checkout(app, handler, method, sid, action, query, body):
    with app.state.lock:
        app.set_context()
        sess = app.state.get("checkout_sessions", sid)
        if sess is None:
            return not_found_page(handler, "No such checkout session")
        if method == "POST" and action == "promotion_code":
            try:
                apply_promotion_code(app, sess, _qs(body).get("promotion_code"))
            except StripeError as e:
                return handler.send_html(400, render_checkout(app, sess, error=e.message))
            app.after_mutation()
            return handler.redirect("/p/checkout/%s" % sess["id"])
        if method == "POST" and action == "pay":
            form = _qs(body)
            try:
                if collects_address(sess) or form.get("tax_id_value"):
                    collect_details(app, sess, form)
                if form.get("action") == "calculate":
                    app.after_mutation()
                    return handler.redirect("/p/checkout/%s" % sess["id"])
                complete_checkout(app, sess, form.get("payment_method") or "", form.get("email") or None)
                app.after_mutation()
            except StripeError as e:
                app.after_mutation()
                return handler.send_html(402 if e.status == 402 else 400, render_checkout(app, sess, error=e.message))
            target = (sess.get("success_url") or "").replace("{CHECKOUT_SESSION_ID}", sess["id"])
            if target:
                return handler.redirect(target)
            return handler.send_html(200, layout("Paid", "<h1 id='complete'>Payment complete</h1>"))
        return handler.send_html(200, render_checkout(app, sess))


def render_checkout(app, sess, error=None):
    h = ["<h1>Checkout</h1>"]
    if sess["status"] != "open":
        h.append(
            "<p id='session-status' data-status='%s'>This Checkout Session is %s.</p>"
            % (esc(sess["status"]), esc(sess["status"]))
        )
        return layout("Checkout", "".join(h), error=error)
    h.append("<section id='summary'><ul>")
    for l in sess["_lines"]:
        price = app.state.get("prices", l["price"])
        prod = app.state.get("products", price["product"]) or {}
        rec = price.get("recurring")
        h.append(
            "<li class='line-item' data-price='%s' data-lookup-key='%s'>%s × %s — %s%s</li>"
            % (
                esc(price["id"]),
                esc(price.get("lookup_key")),
                l["quantity"],
                esc(prod.get("name")),
                esc(fmt_amount(price.get("unit_amount"), price["currency"])),
                (" / " + esc(rec["interval"])) if rec else "",
            )
        )
    h.append("</ul>")
    td = sess["_subscription_data"].get("trial_period_days")
    if td:
        h.append("<p id='trial'>%s-day free trial</p>" % esc(td))
    h.append(_checkout_discount(app, sess))
    tax = sess["total_details"]["amount_tax"]
    if tax or sess["automatic_tax"]["enabled"]:
        unknown = sess["automatic_tax"]["status"] == "requires_location_inputs"
        shown = "calculated from your address" if unknown else fmt_amount(tax, sess["currency"])
        h.append("<p id='tax' data-amount='%d'>Tax: %s</p>" % (tax, esc(shown)))
    h.append("<p id='total'>Total: %s</p></section>" % esc(fmt_amount(sess["amount_total"], sess["currency"])))
    h.append("<form method='post' action='/p/checkout/%s/pay' id='checkout-form'>" % esc(sess["id"]))
    if not sess.get("customer"):
        h.append(
            "<p><label for='email'>Email</label> <input type='email' name='email' id='email' value='%s'></p>"
            % esc(sess.get("customer_email"))
        )
    h.append(_checkout_tax_fields(app, sess))
    h.append("<p><label for='payment_method'>Test card</label> <select name='payment_method' id='payment_method'>")
    for val, label in TEST_CARDS:
        h.append("<option value='%s'>%s</option>" % (esc(val), esc(label)))
    h.append("</select></p><button type='submit' id='pay'>Pay</button></form>")
    if sess.get("cancel_url"):
        h.append("<p><a id='cancel' href='%s'>Cancel</a></p>" % esc(sess["cancel_url"]))
    return layout("Checkout", "".join(h), error=error)


def _checkout_tax_fields(app, sess):
    """The billing address (when the session collects one; an existing customer's prefilled) and, with
    ``tax_id_collection``, a business name and tax ID.  ``#calculate-tax`` saves them and shows the tax."""
    if not collects_address(sess):
        return ""
    collected = sess.get("_collected") or {}
    customer = app.state.get("customers", sess.get("customer") or "") or {}
    address = collected.get("address") or customer.get("address") or {}
    parts = ["<fieldset id='billing-address'><legend>Billing address</legend>"]
    for key, label in (("country", "Country"), ("line1", "Address"), ("city", "City"), ("postal_code", "Postal code")):
        field_id = "address-" + key.replace("_", "-")
        parts.append(
            "<p><label for='%s'>%s</label> <input name='address_%s' id='%s' value='%s'></p>"
            % (field_id, label, key, field_id, esc(address.get(key)))
        )
    parts.append("</fieldset>")
    if sess["tax_id_collection"]["enabled"]:
        tax_id = collected.get("tax_id") or {}
        options = "".join(
            "<option value='%s'%s>%s</option>" % (value, " selected" if tax_id.get("type") == value else "", label)
            for value, label in TAX_ID_TYPES
        )
        parts.append(
            "<fieldset id='business'><legend>Purchasing as a business</legend>"
            "<p><label for='business-name'>Business name</label> "
            "<input name='business_name' id='business-name' value='%s'></p>"
            "<p><label for='tax-id-type'>Tax ID</label> <select name='tax_id_type' id='tax-id-type'>%s</select> "
            "<input name='tax_id_value' id='tax-id-value' value='%s'></p></fieldset>"
            % (esc(collected.get("business_name")), options, esc(tax_id.get("value")))
        )
    parts.append("<button type='submit' name='action' value='calculate' id='calculate-tax'>Update total</button>")
    return "".join(parts)


def _checkout_discount(app, sess):
    """The applied discount, and the promotion code field when ``allow_promotion_codes`` is set."""
    parts = []
    if sess["total_details"]["amount_discount"]:
        reference = sess["discounts"][0]
        code = app.state.get("promotion_codes", reference["promotion_code"] or "")
        label = code["code"] if code else reference["coupon"]
        parts.append(
            "<p id='discount' data-amount='%d'>Discount (%s): −%s</p>"
            % (
                sess["total_details"]["amount_discount"],
                esc(label),
                esc(fmt_amount(sess["total_details"]["amount_discount"], sess["currency"])),
            )
        )
    if sess.get("allow_promotion_codes"):
        parts.append(
            "<form method='post' action='/p/checkout/%s/promotion_code' id='promotion-code-form'>"
            "<label for='promotion-code'>Promotion code</label> "
            "<input type='text' name='promotion_code' id='promotion-code' autocomplete='off'> "
            "<button type='submit' id='apply-promotion-code'>Apply</button></form>" % esc(sess["id"])
        )
    return "".join(parts)
