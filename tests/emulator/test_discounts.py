"""Coupons, promotion codes and discounts (issue 14 item 3), through the real
stripe library: what they take off invoices, when they may be redeemed, and
the events they emit."""

import pytest
import stripe

DAY = 86400
T0 = 1_900_000_000  # a fixed test-clock start keeps every period length known


def rejected(call):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        call()
    return exc.value


def test_nonexistent_promotion_code_is_refused_and_nothing_is_billed(client, make):
    customer = make.customer(card="pm_card_visa")
    price = make.price()
    error = rejected(lambda: make.subscribe(customer, price, discounts=[{"promotion_code": "promo_nope"}]))
    assert error.http_status == 400 and error.code == "resource_missing"
    assert error.param == "discounts[0][promotion_code]"
    assert client.v1.invoices.list(params={"customer": customer.id}).data == []


def test_twenty_percent_promotion_code_at_subscription_create_shows_in_the_invoice_total(client, make):
    coupon = make.coupon(percent_off=20, name="Spring")
    code = make.promotion_code(coupon, code="SPRING20")
    customer = make.customer(card="pm_card_visa")
    price = make.price(amount=2500)
    sub = make.subscribe(customer, price, quantity=2, discounts=[{"promotion_code": code.id}])
    invoice = sub.latest_invoice
    assert (invoice.subtotal, invoice.total, invoice.amount_due, invoice.amount_paid) == (5000, 4000, 4000, 4000)
    assert invoice.status == "paid"
    [discount_id] = sub.discounts
    assert [(d.amount, d.discount) for d in invoice.total_discount_amounts] == [(1000, discount_id)]
    assert [(d.amount, d.discount) for d in invoice.lines.data[0].discount_amounts] == [(1000, discount_id)]
    assert invoice.discounts == [discount_id]
    discount = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["discounts"]}).discounts[0]
    assert discount.source.coupon == coupon.id and discount.promotion_code == code.id
    assert discount.subscription == sub.id and discount.customer == customer.id and discount.end is None
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 1
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1
    [created] = make.events("customer.discount.created")
    assert created.data.object.id == discount_id


def test_exhausted_inactive_and_expired_codes_are_refused_with_nothing_created(client, make):
    clock = make.clock(T0)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    price = make.price()
    coupon = make.coupon(percent_off=10)
    once = make.promotion_code(coupon, code="ONCE", max_redemptions=1)
    off = make.promotion_code(coupon, code="OFF", active=False)
    soon = make.promotion_code(coupon, code="SOON", expires_at=T0 + 5 * DAY)
    make.subscribe(customer, price, discounts=[{"promotion_code": once.id}])
    make.advance(clock, T0 + 6 * DAY)
    for code, reason in ((once, "redeemed the maximum"), (off, "inactive"), (soon, "expired")):
        error = rejected(lambda code=code: make.subscribe(customer, price, discounts=[{"promotion_code": code.id}]))
        assert error.http_status == 400 and error.param == "discounts[0][promotion_code]", code.code
        assert reason in error.user_message and error.user_message.startswith("This promotion code cannot be")
    assert len(client.v1.subscriptions.list(params={"customer": customer.id, "status": "all"}).data) == 1
    assert client.v1.promotion_codes.retrieve(once.id).active is False


def test_coupon_past_redeem_by_or_max_redemptions_is_refused_as_expired(client, make):
    customer = make.customer(card="pm_card_visa")
    price = make.price()
    limited = make.coupon(amount_off=300, currency="usd", max_redemptions=1)
    make.subscribe(customer, price, discounts=[{"coupon": limited.id}])
    error = rejected(lambda: make.subscribe(customer, price, discounts=[{"coupon": limited.id}]))
    assert error.code == "coupon_expired" and error.param == "discounts[0][coupon]"
    assert error.user_message == "Coupon expired: %s" % limited.id
    assert client.v1.coupons.retrieve(limited.id).valid is False


def test_once_coupon_discounts_only_the_first_paid_invoice_then_ends(client, make):
    clock = make.clock(T0)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    price = make.price(amount=1000)
    coupon = make.coupon(percent_off=50, duration="once")
    sub = make.subscribe(customer, price, discounts=[{"coupon": coupon.id}])
    assert sub.latest_invoice.total == 500
    period_end = sub["items"].data[0].current_period_end
    make.advance(clock, period_end + 60)
    renewed = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert renewed.latest_invoice.total == 1000 and renewed.latest_invoice.total_discount_amounts == []
    assert renewed.discounts == []
    assert [e.data.object.id for e in make.events("customer.discount.deleted")] == sub.discounts


def test_repeating_coupon_discounts_for_its_months_only(client, make):
    clock = make.clock(T0)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    price = make.price(amount=1000)
    coupon = make.coupon(percent_off=25, duration="repeating", duration_in_months=2)
    sub = make.subscribe(customer, price, discounts=[{"coupon": coupon.id}])
    totals = [sub.latest_invoice.total]
    for _ in range(2):
        end = client.v1.subscriptions.retrieve(sub.id)["items"].data[0].current_period_end
        make.advance(clock, end + 60)
        totals.append(
            client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]}).latest_invoice.total
        )
    assert totals == [750, 750, 1000]


def test_amount_off_is_split_across_lines_and_never_below_zero(client, make):
    customer = make.customer(card="pm_card_visa")
    small, large = make.price(amount=1000, name="Small"), make.price(amount=3000, name="Large")
    split = make.coupon(amount_off=500, currency="usd")
    invoice = make.subscribe(customer, small, large, discounts=[{"coupon": split.id}]).latest_invoice
    assert [line.discount_amounts[0].amount for line in invoice.lines.data] == [125, 375]
    assert invoice.total == 3500
    everything = make.coupon(amount_off=10_000, currency="usd")
    free = make.subscribe(customer, small, discounts=[{"coupon": everything.id}]).latest_invoice
    assert (free.total, free.amount_due, free.status, free.attempted) == (0, 0, "paid", False)


def test_coupon_limited_to_products_discounts_only_their_lines(client, make):
    customer = make.customer(card="pm_card_visa")
    pro, extra = make.price(amount=2000, name="Pro"), make.price(amount=1000, name="Extra")
    coupon = make.coupon(percent_off=50, applies_to={"products": [pro.product]})
    invoice = make.subscribe(customer, pro, extra, discounts=[{"coupon": coupon.id}]).latest_invoice
    assert [[d.amount for d in line.discount_amounts] for line in invoice.lines.data] == [[1000], []]
    assert invoice.total == 2000
    assert "applies_to" not in client.v1.coupons.retrieve(coupon.id).to_dict()
    shown = client.v1.coupons.retrieve(coupon.id, params={"expand": ["applies_to"]})
    assert shown.applies_to.products == [pro.product]


def test_item_discount_applies_before_the_subscription_discount(client, make):
    customer = make.customer(card="pm_card_visa")
    pro, extra = make.price(amount=2000, name="Pro"), make.price(amount=1000, name="Extra")
    item_coupon, sub_coupon = make.coupon(percent_off=50), make.coupon(percent_off=10)
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": pro.id, "discounts": [{"coupon": item_coupon.id}]}, {"price": extra.id}],
            "discounts": [{"coupon": sub_coupon.id}],
            "expand": ["latest_invoice"],
        }
    )
    pro_line, extra_line = sub.latest_invoice.lines.data
    assert [d.amount for d in pro_line.discount_amounts] == [1000, 100]
    assert [d.amount for d in extra_line.discount_amounts] == [100]
    assert sub.latest_invoice.total == 3000 - 1200
    assert sub["items"].data[0].discounts == pro_line.discounts and len(pro_line.discounts) == 1


def test_first_time_and_minimum_amount_restrictions(client, make):
    coupon = make.coupon(percent_off=10)
    newcomers = make.promotion_code(coupon, code="WELCOME", restrictions={"first_time_transaction": True})
    big = make.promotion_code(
        coupon, code="BIG", restrictions={"minimum_amount": 5000, "minimum_amount_currency": "usd"}
    )
    customer = make.customer(card="pm_card_visa")
    price = make.price(amount=2000)
    make.subscribe(customer, price, discounts=[{"promotion_code": newcomers.id}])
    again = rejected(lambda: make.subscribe(customer, price, discounts=[{"promotion_code": newcomers.id}]))
    assert again.user_message == (
        "This promotion code cannot be redeemed because the associated customer has prior transactions."
    )
    small = rejected(lambda: make.subscribe(customer, price, discounts=[{"promotion_code": big.id}]))
    assert "minimum amount" in small.user_message
    assert (
        make.subscribe(customer, price, quantity=3, discounts=[{"promotion_code": big.id}]).latest_invoice.total == 5400
    )


def test_promotion_codes_are_unique_among_active_codes_and_listed_by_code(client, make):
    coupon = make.coupon(percent_off=10)
    first = make.promotion_code(coupon, code="Summer")
    duplicate = rejected(lambda: make.promotion_code(coupon, code="SUMMER"))
    assert duplicate.code == "resource_already_exists" and duplicate.param == "code"
    client.v1.promotion_codes.update(first.id, params={"active": False})
    second = make.promotion_code(coupon, code="SUMMER")
    listed = client.v1.promotion_codes.list(params={"code": "summer"}).data
    assert {c.id for c in listed} == {first.id, second.id}
    assert [c.id for c in client.v1.promotion_codes.list(params={"code": "summer", "active": True}).data] == [second.id]
    assert [c.id for c in client.v1.promotion_codes.list(params={"coupon": coupon.id}).data] == [second.id, first.id]
    generated = make.promotion_code(coupon)
    assert len(generated.code) == 8 and generated.promotion.coupon == coupon.id


def test_replacing_or_clearing_discounts_on_update_ends_the_old_ones(client, make):
    customer = make.customer(card="pm_card_visa")
    price = make.price()
    first, second = make.coupon(percent_off=10), make.coupon(percent_off=20)
    sub = make.subscribe(customer, price, discounts=[{"coupon": first.id}])
    kept = sub.discounts[0]
    both = client.v1.subscriptions.update(sub.id, params={"discounts": [{"discount": kept}, {"coupon": second.id}]})
    assert both.discounts[0] == kept and len(both.discounts) == 2
    cleared = client.v1.subscriptions.update(sub.id, params={"discounts": ""})
    assert cleared.discounts == []
    assert sorted(e.data.object.id for e in make.events("customer.discount.deleted")) == sorted(both.discounts)
    readded = client.v1.subscriptions.update(sub.id, params={"discounts": [{"coupon": first.id}]})
    removed = client.v1.subscriptions.delete_discount(sub.id)
    assert removed.deleted is True and removed.id == readded.discounts[0]
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []


def test_invoice_and_invoice_item_discounts_on_a_manual_invoice(client, make):
    customer = make.customer(card="pm_card_visa")
    invoice = client.v1.invoices.create(
        params={"customer": customer.id, "discounts": [{"coupon": make.coupon(percent_off=10).id}]}
    )
    item_coupon = make.coupon(amount_off=100, currency="usd")
    client.v1.invoice_items.create(
        params={
            "customer": customer.id,
            "invoice": invoice.id,
            "amount": 1000,
            "currency": "usd",
            "discounts": [{"coupon": item_coupon.id}],
        }
    )
    client.v1.invoice_items.create(
        params={"customer": customer.id, "invoice": invoice.id, "amount": 500, "currency": "usd", "discountable": False}
    )
    paid = client.v1.invoices.pay(invoice.id)
    assert paid.subtotal == 1500 and paid.total == 1500 - 100 - 90
    assert paid.amount_paid == 1310 and paid.status == "paid"
    assert make.events("customer.discount.created") == []


def test_coupon_lifecycle_emits_events_and_deletion_keeps_existing_discounts(client, make):
    coupon = make.coupon(percent_off=30, name="Thirty")
    code = make.promotion_code(coupon)
    client.v1.coupons.update(coupon.id, params={"name": "Thirty percent", "metadata": {"team": "growth"}})
    client.v1.promotion_codes.update(code.id, params={"metadata": {"channel": "email"}})
    customer = make.customer(card="pm_card_visa")
    price = make.price(amount=1000)
    sub = make.subscribe(customer, price, discounts=[{"coupon": coupon.id}])
    client.v1.coupons.delete(coupon.id)
    assert rejected(lambda: client.v1.coupons.retrieve(coupon.id)).http_status == 404
    again = rejected(lambda: make.subscribe(customer, price, discounts=[{"coupon": coupon.id}]))
    assert again.code == "resource_missing"
    upcoming = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert upcoming.total == 700 and upcoming.discounts == sub.discounts
    [updated] = make.events("coupon.updated")
    assert updated.data.previous_attributes.to_dict() == {"metadata": {}, "name": "Thirty"}
    for event_type in ("coupon.created", "coupon.deleted", "promotion_code.created", "promotion_code.updated"):
        assert len(make.events(event_type)) == 1, event_type


def test_older_api_version_customer_coupon_sets_switches_and_removes_the_customer_discount(client, make):
    old = {"stripe_version": "2024-06-20"}
    first, second = make.coupon(percent_off=20), make.coupon(percent_off=30)
    card = {"payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    customer = client.v1.customers.create(params={"coupon": first.id, **card}, options=old)
    assert customer.discount.source.coupon == first.id
    price = make.price(amount=1000)
    assert make.subscribe(customer, price).latest_invoice.total == 800  # inherited from the customer
    client.v1.customers.update(customer.id, params={"coupon": second.id}, options=old)
    assert client.v1.customers.retrieve(customer.id).discount.source.coupon == second.id
    client.v1.customers.update(customer.id, params={"coupon": ""}, options=old)
    assert client.v1.customers.retrieve(customer.id).discount is None
    assert [len(make.events("customer.discount." + kind)) for kind in ("created", "updated", "deleted")] == [1, 1, 1]


def test_checkout_session_discount_lowers_the_total_and_carries_into_the_subscription(client, make):
    price = make.price(amount=4000)
    coupon = make.coupon(percent_off=25)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": "http://127.0.0.1:9/s",
            "discounts": [{"coupon": coupon.id}],
        }
    )
    assert (session.amount_subtotal, session.amount_total, session.total_details.amount_discount) == (4000, 3000, 1000)
    assert session.discounts[0].coupon == coupon.id and session.discounts[0].promotion_code is None
    [line] = client.v1.checkout.sessions.line_items.list(session.id).data
    assert (line.amount_discount, line.amount_total) == (1000, 3000)
    both = rejected(
        lambda: client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "line_items": [{"price": price.id, "quantity": 1}],
                "success_url": "http://127.0.0.1:9/s",
                "discounts": [{"coupon": coupon.id}],
                "allow_promotion_codes": True,
            }
        )
    )
    assert both.user_message == "You may only specify one of these parameters: allow_promotion_codes, discounts."
    missing = rejected(
        lambda: client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "line_items": [{"price": price.id, "quantity": 1}],
                "success_url": "http://127.0.0.1:9/s",
                "discounts": [{"promotion_code": "promo_nope"}],
            }
        )
    )
    assert missing.code == "resource_missing" and missing.param == "discounts[0][promotion_code]"
