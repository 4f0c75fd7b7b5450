"""Customer portal and Checkout pages, driven in headless Chromium."""

import urllib.request


def _portal_setup(client, make, cancel_mode="at_period_end"):
    basic = make.price(lookup_key="basic_monthly", amount=1000, name="Basic")
    pro = make.price(lookup_key="pro_monthly", amount=3000, name="Pro")
    cfg = client.v1.billing_portal.configurations.create(
        params={
            "business_profile": {"headline": "Acme billing"},
            "default_return_url": "http://127.0.0.1:9/account",
            "features": {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price"],
                    "products": [
                        {"product": basic.product, "prices": [basic.id]},
                        {"product": pro.product, "prices": [pro.id]},
                    ],
                },
                "subscription_cancel": {"enabled": True, "mode": cancel_mode},
                "payment_method_update": {"enabled": True},
            },
        }
    )
    cus = make.customer(email="portal@example.com")
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": basic.id}], "trial_period_days": 14}
    )
    return basic, pro, cfg, cus, sub


def test_portal_configuration_api(client, make):
    basic, pro, cfg, cus, sub = _portal_setup(client, make)
    assert cfg.is_default is True and cfg.features.subscription_cancel.mode == "at_period_end"
    assert cfg.business_profile.headline == "Acme billing"
    got = client.v1.billing_portal.configurations.retrieve(cfg.id)
    assert got.features.subscription_update.products[1].prices == [pro.id]
    upd = client.v1.billing_portal.configurations.update(
        cfg.id, params={"features": {"subscription_cancel": {"mode": "immediately"}}}
    )
    assert upd.features.subscription_cancel.mode == "immediately"
    assert [c.id for c in client.v1.billing_portal.configurations.list().data] == [cfg.id]
    sess = client.v1.billing_portal.sessions.create(
        params={"customer": cus.id, "return_url": "http://127.0.0.1:9/back"}
    )
    assert sess.configuration == cfg.id and sess.url.startswith("http://127.0.0.1:")
    assert "/p/session/bps_" in sess.url
    html = urllib.request.urlopen(sess.url, timeout=10).read().decode()
    assert "Acme billing" in html and "basic_monthly" in html


def test_portal_actions_in_chromium(client, make, page, emulator):
    basic, pro, cfg, cus, sub = _portal_setup(client, make)
    sess = client.v1.billing_portal.sessions.create(
        params={"customer": cus.id, "return_url": "http://127.0.0.1:9/back"}
    )
    page.goto(sess.url)
    assert page.inner_text("#headline") == "Acme billing"
    assert page.inner_text("#subscription-status") == "trialing"
    assert page.inner_text("#lookup-key") == "basic_monthly"
    assert page.inner_text("#plan-name") == "Basic"
    assert page.is_visible("#trial-end")
    assert page.get_attribute("#default-card", "data-last4") == ""

    # add a card
    page.select_option("select[name=payment_method]", "pm_card_mastercard")
    page.click("#add-card")
    page.wait_for_selector("#message")
    assert page.get_attribute("#default-card", "data-last4") == "4444"
    c = client.v1.customers.retrieve(cus.id, params={"expand": ["invoice_settings.default_payment_method"]})
    assert c.invoice_settings.default_payment_method.card.brand == "mastercard"

    # switch price
    page.click("button[data-lookup-key=pro_monthly]")
    page.wait_for_selector("#message")
    assert page.inner_text("#lookup-key") == "pro_monthly"
    got = client.v1.subscriptions.retrieve(sub.id)
    assert got["items"].data[0].price.id == pro.id and got.status == "trialing"

    # cancel at period end
    page.click("#cancel-subscription")
    page.wait_for_selector("#message")
    assert page.is_visible("#cancel-at")
    got = client.v1.subscriptions.retrieve(sub.id)
    assert got.cancel_at_period_end is True and got.status == "trialing"

    types = [e.type for e in make.events()]
    assert "payment_method.attached" in types and "customer.updated" in types
    assert types.count("customer.subscription.updated") >= 2

    # return link
    assert page.get_attribute("#return", "href") == "http://127.0.0.1:9/back"


def test_portal_immediate_cancel_in_chromium(client, make, page):
    basic, pro, cfg, cus, sub = _portal_setup(client, make, cancel_mode="immediately")
    sess = client.v1.billing_portal.sessions.create(params={"customer": cus.id, "return_url": "http://127.0.0.1:9/r"})
    page.goto(sess.url)
    page.click("#cancel-subscription")
    page.wait_for_selector("#no-subscription")
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    assert "customer.subscription.deleted" in [e.type for e in make.events()]


def test_portal_without_configuration_allows_every_recurring_price(client, make, page):
    a = make.price(lookup_key="a_monthly", amount=1000)
    b = make.price(lookup_key="b_yearly", amount=9000, interval="year")
    cus = make.customer(card="pm_card_visa")
    client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": a.id}]})
    sess = client.v1.billing_portal.sessions.create(params={"customer": cus.id, "return_url": "http://127.0.0.1:9/r"})
    assert sess.configuration is None
    page.goto(sess.url)
    assert page.is_visible("button[data-lookup-key=b_yearly]")
    page.click("button[data-lookup-key=b_yearly]")
    page.wait_for_selector("#message")
    assert page.inner_text("#lookup-key") == "b_yearly"
    assert client.v1.subscriptions.list(params={"customer": cus.id}).data[0]["items"].data[0].price.id == b.id


def test_checkout_completion_in_chromium(client, make, page, receiver, emulator):
    emulator.register_webhook(receiver.url)
    price = make.price(lookup_key="pro_monthly", amount=2500, name="Pro")
    sess = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "customer_email": "buyer@example.com",
            "client_reference_id": "company-9",
            "success_url": "http://127.0.0.1:9/success?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://127.0.0.1:9/cancel",
            "metadata": {"company_id": "9"},
            "subscription_data": {"metadata": {"company_id": "9"}},
        }
    )
    assert sess.status == "open" and sess.url and sess.amount_total == 2500
    page.goto(sess.url)
    assert page.get_attribute("#cancel", "href") == "http://127.0.0.1:9/cancel"
    page.select_option("select[name=payment_method]", "pm_card_visa")
    captured = {}

    def on_request(request):
        if request.url.startswith("http://127.0.0.1:9/"):
            captured["url"] = request.url

    page.on("request", on_request)
    page.route("http://127.0.0.1:9/**", lambda route: route.fulfill(status=200, body="landed"))
    page.click("#pay")
    page.wait_for_url("http://127.0.0.1:9/success**")
    assert captured["url"] == "http://127.0.0.1:9/success?session_id=%s" % sess.id
    done = client.v1.checkout.sessions.retrieve(sess.id, params={"expand": ["subscription"]})
    assert done.status == "complete" and done.payment_status == "paid"
    assert done.subscription.status == "active"
    assert done.subscription.metadata.to_dict() == {"company_id": "9"}
    cus = client.v1.customers.retrieve(done.customer)
    assert cus.email == "buyer@example.com" and cus.invoice_settings.default_payment_method
    assert emulator.wait_for_deliveries(15)
    types = [e["type"] for e in receiver.events()]
    assert "checkout.session.completed" in types and "customer.subscription.created" in types
    completed = [e for e in receiver.events() if e["type"] == "checkout.session.completed"][0]
    assert completed["data"]["object"]["client_reference_id"] == "company-9"
    listed = client.v1.checkout.sessions.list(params={"subscription": done.subscription.id}).data
    assert [s.id for s in listed] == [sess.id]


def test_checkout_declined_card_and_expire(client, make, page):
    price = make.price(amount=2500)
    cus = make.customer()
    sess = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "customer": cus.id,
            "success_url": "http://127.0.0.1:9/s",
            "cancel_url": "http://127.0.0.1:9/c",
        }
    )
    page.goto(sess.url)
    page.select_option("select[name=payment_method]", "pm_card_chargeCustomerFail")
    page.click("#pay")
    page.wait_for_selector("#error")
    assert "declined" in page.inner_text("#error")
    assert client.v1.checkout.sessions.retrieve(sess.id).status == "open"
    expired = client.v1.checkout.sessions.expire(sess.id)
    assert expired.status == "expired"
    page.goto(sess.url)
    assert page.get_attribute("#session-status", "data-status") == "expired"


def test_checkout_with_trial_for_existing_customer(client, make):
    price = make.price(amount=2500)
    cus = make.customer()
    sess = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "customer": cus.id,
            "success_url": "http://127.0.0.1:9/s",
            "subscription_data": {"trial_period_days": 7},
        }
    )
    import urllib.parse

    data = urllib.parse.urlencode({"payment_method": "pm_card_visa"}).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(urllib.request.Request(sess.url + "/pay", data=data, method="POST"), timeout=10)
        raise AssertionError("expected a redirect")
    except urllib.error.HTTPError as exc:
        assert exc.code == 303 and exc.headers["Location"] == "http://127.0.0.1:9/s"
    done = client.v1.checkout.sessions.retrieve(sess.id, params={"expand": ["subscription"]})
    assert done.subscription.status == "trialing" and done.customer == cus.id


def test_checkout_promotion_code_field_applies_the_code_in_chromium(client, make, page):
    price = make.price(amount=4000, name="Pro")
    coupon = client.v1.coupons.create(params={"percent_off": 25, "duration": "forever"})
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "LAUNCH25"}
    )
    plain = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": "http://127.0.0.1:9/s",
        }
    )
    page.goto(plain.url)
    assert not page.is_visible("#promotion-code")
    sess = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "customer_email": "promo@example.com",
            "success_url": "http://127.0.0.1:9/s",
            "allow_promotion_codes": True,
        }
    )
    page.goto(sess.url)
    page.fill("#promotion-code", "NOPE")
    page.click("#apply-promotion-code")
    page.wait_for_selector("#error")
    assert page.inner_text("#error") == "This code is invalid."
    page.fill("#promotion-code", "launch25")
    page.click("#apply-promotion-code")
    page.wait_for_selector("#discount")
    assert page.inner_text("#total") == "Total: USD 30.00"
    assert page.get_attribute("#discount", "data-amount") == "1000"
    page.route("http://127.0.0.1:9/**", lambda route: route.fulfill(status=200, body="landed"))
    page.select_option("select[name=payment_method]", "pm_card_visa")
    page.click("#pay")
    page.wait_for_url("http://127.0.0.1:9/s**")
    done = client.v1.checkout.sessions.retrieve(sess.id, params={"expand": ["subscription.latest_invoice"]})
    assert done.discounts[0].promotion_code == code.id and done.amount_total == 3000
    assert done.subscription.latest_invoice.total == 3000 and len(done.subscription.discounts) == 1
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 1
