"""Quantities, prorations, billing modes, pending updates, previews and
cancellation (issue 14 item 4), through the real stripe library.  Expected
amounts are computed here from the period boundaries the emulator reports,
independently of its own arithmetic."""

from fractions import Fraction

import pytest
import stripe

DAY = 86400
T0 = 1_900_000_000
MID = T0 + 10 * DAY


def rejected(call, error=stripe.InvalidRequestError):
    with pytest.raises(error) as exc:
        call()
    return exc.value


def prorated(amount, start, end, at):
    """``amount`` for the share of [start, end) left at ``at``, rounded half away from zero."""
    exact = Fraction(amount) * (end - at) / (end - start)
    whole = (abs(exact.numerator) * 2 + exact.denominator) // (2 * exact.denominator)
    return whole if exact >= 0 else -whole


def proration_lines(invoice):
    return [
        line
        for line in invoice.lines.data
        if line.parent.type == "invoice_item_details" and line.parent.invoice_item_details.proration
    ]


@pytest.fixture
def seats(client, make):
    """A monthly 10.00-per-seat subscription with 5 seats on a test clock started at T0, 10 days in."""
    clock = make.clock(T0)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    price = make.price(amount=1000, name="Seat")
    sub = make.subscribe(customer, price, quantity=5)
    make.advance(clock, MID)
    item = sub["items"].data[0]
    return clock, customer, price, sub, item


def test_quantity_five_to_seven_mid_period_creates_prorations_that_create_preview_shows(client, make, seats):
    clock, customer, price, sub, item = seats
    start, end = item.current_period_start, item.current_period_end
    credit, debit = -prorated(5000, start, end, MID), prorated(7000, start, end, MID)
    change = {"items": [{"id": item.id, "quantity": 7}], "proration_date": MID}

    preview = client.v1.invoices.create_preview(params={"subscription": sub.id, "subscription_details": change})
    assert preview.id.startswith("upcoming_in_")
    assert [line.amount for line in proration_lines(preview)] == [credit, debit]
    assert preview.parent.subscription_details.subscription_proration_date == MID
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].quantity == 5  # a preview changes nothing

    updated = client.v1.subscriptions.update(sub.id, params={**change, "proration_behavior": "create_prorations"})
    assert updated["items"].data[0].quantity == 7 and updated.latest_invoice == sub.latest_invoice["id"]
    pending = client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data
    assert sorted(i.amount for i in pending) == sorted([credit, debit])
    assert all(i.proration and i.parent.subscription_details.subscription_item == item.id for i in pending)
    assert all(i.period.start == MID and i.period.end == end for i in pending)

    upcoming = client.v1.invoices.create_preview(params={"customer": customer.id})
    assert sorted(line.amount for line in proration_lines(upcoming)) == sorted([credit, debit])
    assert upcoming.subtotal == 7000 + credit + debit

    make.advance(clock, end + 60)
    renewal = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]}).latest_invoice
    assert renewal.subtotal == 7000 + credit + debit and renewal.status == "paid"
    assert client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data == []


def test_always_invoice_creates_and_pays_an_invoice_now(client, make, seats):
    clock, customer, price, sub, item = seats
    start, end = item.current_period_start, item.current_period_end
    expected = prorated(7000, start, end, MID) - prorated(5000, start, end, MID)
    updated = client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": item.id, "quantity": 7}],
            "proration_behavior": "always_invoice",
            "expand": ["latest_invoice"],
        },
    )
    invoice = updated.latest_invoice
    assert invoice.id != sub.latest_invoice["id"] and invoice.billing_reason == "subscription_update"
    assert (invoice.total, invoice.amount_paid, invoice.status) == (expected, expected, "paid")
    assert len(proration_lines(invoice)) == 2
    types = [e.type for e in make.events() if e.data.object.to_dict().get("id") == invoice.id]
    assert {"invoice.created", "invoice.finalized", "invoice.paid"} <= set(types)
    assert client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data == []


def test_always_invoice_that_cannot_be_charged_leaves_the_change_and_a_past_due_subscription(client, make, seats):
    clock, customer, price, sub, item = seats
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}
    )
    updated = client.v1.subscriptions.update(
        sub.id, params={"items": [{"id": item.id, "quantity": 7}], "proration_behavior": "always_invoice"}
    )
    assert updated.status == "past_due" and updated["items"].data[0].quantity == 7
    assert client.v1.invoices.retrieve(updated.latest_invoice).status == "open"


def test_proration_behavior_none_changes_quantity_for_the_next_period_only(client, make, seats):
    clock, customer, price, sub, item = seats
    client.v1.subscriptions.update(
        sub.id, params={"items": [{"id": item.id, "quantity": 7}], "proration_behavior": "none"}
    )
    assert client.v1.invoice_items.list(params={"customer": customer.id}).data == []
    make.advance(clock, item.current_period_end + 60)
    renewal = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]}).latest_invoice
    assert renewal.total == 7000 and proration_lines(renewal) == []


def test_proration_date_outside_the_current_period_is_refused(client, make, seats):
    clock, customer, price, sub, item = seats
    error = rejected(
        lambda: client.v1.subscriptions.update(
            sub.id, params={"items": [{"id": item.id, "quantity": 7}], "proration_date": T0 - DAY}
        )
    )
    assert error.param == "proration_date"
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].quantity == 5


def test_billing_cycle_anchor_now_credits_unused_time_and_invoices_a_new_full_period(client, make, seats):
    clock, customer, price, sub, item = seats
    start, end = item.current_period_start, item.current_period_end
    updated = client.v1.subscriptions.update(
        sub.id, params={"billing_cycle_anchor": {"type": "now"}, "expand": ["latest_invoice"]}
    )
    new_item = updated["items"].data[0]
    assert updated.billing_cycle_anchor == MID and new_item.current_period_start == MID
    assert new_item.current_period_end > end
    assert updated.latest_invoice.total == 5000 - prorated(5000, start, end, MID)
    assert updated.latest_invoice.status == "paid"


@pytest.mark.parametrize("mode", ["flexible", "classic"])
def test_credit_follows_what_was_charged_in_flexible_mode_and_the_current_quantity_in_classic(client, make, mode):
    clock = make.clock(T0)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    price = make.price(amount=1000)
    sub = make.subscribe(customer, price, quantity=5, billing_mode={"type": mode})
    assert sub.billing_mode.type == mode
    item = sub["items"].data[0]
    start, end = item.current_period_start, item.current_period_end
    make.advance(clock, MID)
    client.v1.subscriptions.update(
        sub.id, params={"items": [{"id": item.id, "quantity": 6}], "proration_behavior": "none"}
    )
    client.v1.subscriptions.update(sub.id, params={"items": [{"id": item.id, "quantity": 7}]})
    credit = min(i.amount for i in client.v1.invoice_items.list(params={"customer": customer.id}).data)
    charged_for = 5 if mode == "flexible" else 6
    assert credit == -prorated(charged_for * 1000, start, end, MID)


def test_downgrade_invoiced_now_becomes_credit_used_by_the_next_invoice(client, make, seats):
    clock, customer, price, sub, item = seats
    start, end = item.current_period_start, item.current_period_end
    credit = prorated(4000, start, end, MID) - prorated(5000, start, end, MID)
    updated = client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": item.id, "quantity": 4}],
            "proration_behavior": "always_invoice",
            "expand": ["latest_invoice"],
        },
    )
    invoice = updated.latest_invoice
    assert (invoice.total, invoice.amount_due, invoice.status, invoice.ending_balance) == (credit, 0, "paid", credit)
    assert client.v1.customers.retrieve(customer.id).balance == credit
    make.advance(clock, end + 60)
    renewal = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]}).latest_invoice
    assert (renewal.starting_balance, renewal.ending_balance, renewal.amount_due) == (credit, 0, 4000 + credit)
    kinds = [t.type for t in client.v1.customers.balance_transactions.list(customer.id).data]
    assert kinds == ["applied_to_invoice", "applied_to_invoice"]


def _pending_update(client, customer, sub, item):
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"}}
    )
    return client.v1.subscriptions.update(
        sub.id,
        params={
            "items": [{"id": item.id, "quantity": 7}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
        },
    )


def test_pending_update_leaves_the_subscription_unchanged_until_its_invoice_is_paid(client, make, seats):
    clock, customer, price, sub, item = seats
    held = _pending_update(client, customer, sub, item)
    assert held["items"].data[0].quantity == 5 and held.status == "active"
    assert held.pending_update.subscription_items[0].quantity == 7
    assert held.pending_update.expires_at == MID + 23 * 3600
    invoice = client.v1.invoices.retrieve(held.latest_invoice)
    assert invoice.status == "open"
    client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_visa"})
    applied = client.v1.subscriptions.retrieve(sub.id)
    assert applied["items"].data[0].quantity == 7 and applied.pending_update is None
    [event] = make.events("customer.subscription.pending_update_applied")
    assert event.data.object["items"].data[0].quantity == 7


def test_pending_update_expires_voids_its_invoice_and_discards_the_change(client, make, seats):
    clock, customer, price, sub, item = seats
    held = _pending_update(client, customer, sub, item)
    make.advance(clock, held.pending_update.expires_at + 1)
    expired = client.v1.subscriptions.retrieve(sub.id)
    assert expired.pending_update is None and expired["items"].data[0].quantity == 5
    assert client.v1.invoices.retrieve(held.latest_invoice).status == "void"
    assert len(make.events("customer.subscription.pending_update_expired")) == 1


def test_pending_update_refuses_parameters_pending_updates_do_not_support(client, make, seats):
    clock, customer, price, sub, item = seats
    error = rejected(
        lambda: client.v1.subscriptions.update(
            sub.id, params={"payment_behavior": "pending_if_incomplete", "metadata": {"a": "b"}}
        )
    )
    assert error.param == "metadata" and "pending_if_incomplete" in error.user_message


def test_cancel_with_prorate_and_invoice_now_credits_the_unused_time_at_once(client, make, seats):
    clock, customer, price, sub, item = seats
    credit = -prorated(5000, item.current_period_start, item.current_period_end, MID)
    client.v1.subscriptions.cancel(sub.id, params={"prorate": True, "invoice_now": True})
    final = client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    assert final.id != sub.latest_invoice["id"] and final.total == credit and final.status == "paid"
    assert client.v1.customers.retrieve(customer.id).balance == credit
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"


def test_cancel_at_period_end_can_be_undone_and_is_not_resume(client, make, seats):
    clock, customer, price, sub, item = seats
    end = item.current_period_end
    scheduled = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert scheduled.cancel_at == end and scheduled.canceled_at == MID and scheduled.status == "active"
    not_paused = rejected(lambda: client.v1.subscriptions.resume(sub.id))
    assert "paused" in not_paused.user_message
    undone = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": False})
    assert (undone.cancel_at_period_end, undone.cancel_at, undone.canceled_at) == (False, None, None)
    last = make.events("customer.subscription.updated")[0]
    assert last.data.previous_attributes.cancel_at_period_end is True
    make.advance(clock, end + 60)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_subscription_item_endpoints_change_quantity_with_prorations(client, make, seats):
    clock, customer, price, sub, item = seats
    extra = make.price(amount=500, name="Add-on")
    added = client.v1.subscription_items.create(params={"subscription": sub.id, "price": extra.id, "quantity": 2})
    assert added.quantity == 2 and added.current_period_end == item.current_period_end
    client.v1.subscription_items.update(item.id, params={"quantity": 6, "proration_behavior": "none"})
    client.v1.subscription_items.delete(added.id, params={"proration_behavior": "none"})
    [only] = client.v1.subscriptions.retrieve(sub.id)["items"].data
    assert only.quantity == 6
    pending = client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data
    assert [i.amount for i in pending] == [prorated(1000, item.current_period_start, item.current_period_end, MID)]


def test_preview_of_a_new_subscription_and_a_customer_without_anything_to_invoice(client, make):
    customer = make.customer(card="pm_card_visa")
    nothing = rejected(lambda: client.v1.invoices.create_preview(params={"customer": customer.id}))
    assert nothing.http_status == 404 and nothing.code == "invoice_upcoming_none"
    price = make.price(amount=1200)
    coupon = make.coupon(percent_off=50)
    preview = client.v1.invoices.create_preview(
        params={
            "customer": customer.id,
            "subscription_details": {"items": [{"price": price.id, "quantity": 3}]},
            "discounts": [{"coupon": coupon.id}],
        }
    )
    assert (preview.subtotal, preview.total, preview.billing_reason) == (3600, 1800, "subscription_create")
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data == []
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 0
