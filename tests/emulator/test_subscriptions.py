"""Subscription lifecycle, invoices and test clocks."""

import time

import pytest
import stripe

DAY = 86400


def types_for(make, obj_id):
    """Event types (oldest first) whose data.object is ``obj_id``."""
    return [e.type for e in reversed(make.events()) if e.data.object.to_dict().get("id") == obj_id]


def test_create_without_trial_is_active_and_paid(client, make):
    cus = make.customer(card="pm_card_visa")
    price = make.price(lookup_key="pro_monthly")
    sub = client.v1.subscriptions.create(
        params={
            "customer": cus.id,
            "items": [{"price": price.id, "quantity": 2}],
            "metadata": {"company_id": "7"},
            "expand": ["latest_invoice"],
        }
    )
    assert sub.status == "active"
    assert sub.livemode is False and sub.collection_method == "charge_automatically" and sub.currency == "usd"
    item = sub["items"].data[0]
    assert item.price.lookup_key == "pro_monthly" and item.quantity == 2
    assert item.current_period_end > item.current_period_start
    assert "current_period_end" not in sub.to_dict()
    inv = sub.latest_invoice
    assert inv.status == "paid" and inv.amount_paid == 4000 and inv.amount_due == 4000
    assert inv.parent.subscription_details.subscription == sub.id
    assert inv.parent.subscription_details.metadata.to_dict() == {"company_id": "7"}
    assert "subscription" not in inv.to_dict()
    assert inv.lines.data[0].parent.subscription_item_details.subscription_item == item.id
    types = [e.type for e in make.events()]
    for t in (
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ):
        assert t in types


def test_create_without_payment_method_is_incomplete(client, make):
    cus = make.customer()
    price = make.price()
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": price.id}], "expand": ["latest_invoice"]}
    )
    assert sub.status == "incomplete"
    assert sub.latest_invoice.status == "open"


def test_declining_card_error_if_incomplete(client, make):
    cus = make.customer(card="pm_card_chargeCustomerFail")
    price = make.price()
    with pytest.raises(stripe.CardError) as exc:
        client.v1.subscriptions.create(
            params={"customer": cus.id, "items": [{"price": price.id}], "payment_behavior": "error_if_incomplete"}
        )
    assert exc.value.http_status == 402 and exc.value.code == "card_declined"
    assert client.v1.subscriptions.list(params={"customer": cus.id, "status": "all"}).data == []
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    assert sub.status == "incomplete"
    assert "invoice.payment_failed" in [e.type for e in make.events()]


def test_create_trialing(client, make):
    cus = make.customer()
    price = make.price()
    sub = make.trial(cus, price, days=7, expand=["latest_invoice"])
    assert sub.status == "trialing"
    assert sub.trial_end - sub.trial_start == 7 * DAY
    assert sub.trial_settings.end_behavior.missing_payment_method == "cancel"
    assert sub["items"].data[0].current_period_end == sub.trial_end
    assert sub.latest_invoice.amount_due == 0 and sub.latest_invoice.status == "paid"
    # wall-clock subscription: the trial simply stays trialing
    assert client.v1.subscriptions.retrieve(sub.id).status == "trialing"
    assert "customer.subscription.trial_will_end" not in [e.type for e in make.events()]


def test_trial_without_card_ends_in_cancellation(client, make):
    clock = make.clock()
    cus = make.customer(clock=clock.id)
    price = make.price()
    sub = make.trial(cus, price, days=14)
    assert sub.test_clock == clock.id
    adv = make.advance(clock, clock.frozen_time + 12 * DAY)
    assert adv.status in ("ready", "advancing")
    assert client.v1.subscriptions.retrieve(sub.id).status == "trialing"
    assert "customer.subscription.trial_will_end" in types_for(make, sub.id)
    make.advance(clock, clock.frozen_time + 15 * DAY)
    got = client.v1.subscriptions.retrieve(sub.id)
    assert got.status == "canceled"
    assert got.ended_at == sub.trial_end and got.canceled_at
    types = types_for(make, sub.id)
    assert types.index("customer.subscription.trial_will_end") < types.index("customer.subscription.deleted")
    assert client.v1.subscriptions.list(params={"customer": cus.id}).data == []
    assert [s.id for s in client.v1.subscriptions.list(params={"customer": cus.id, "status": "all"}).data] == [sub.id]


def test_trial_with_card_becomes_active(client, make):
    clock = make.clock()
    cus = make.customer(clock=clock.id, card="pm_card_visa")
    price = make.price(amount=3000)
    sub = make.trial(cus, price, days=14)
    make.advance(clock, clock.frozen_time + 15 * DAY)
    got = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert got.status == "active"
    assert got.latest_invoice.status == "paid" and got.latest_invoice.amount_paid == 3000
    assert got.latest_invoice.billing_reason == "subscription_cycle"
    item = got["items"].data[0]
    assert item.current_period_start == sub.trial_end
    assert item.current_period_end > sub.trial_end + 27 * DAY
    updated = [e for e in make.events("customer.subscription.updated") if e.data.object.id == sub.id]
    assert updated[0].data.object.status == "active"
    assert updated[0].data.previous_attributes.status == "trialing"


def test_trial_end_pause_and_resume(client, make):
    clock = make.clock()
    cus = make.customer(clock=clock.id)
    price = make.price()
    sub = make.trial(cus, price, days=3, missing_payment_method="pause")
    make.advance(clock, clock.frozen_time + 4 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "paused"
    assert "customer.subscription.paused" in types_for(make, sub.id)
    client.v1.payment_methods.attach("pm_card_visa", params={"customer": cus.id})
    pm = client.v1.customers.payment_methods.list(cus.id).data[0]
    client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": pm.id}})
    resumed = client.v1.subscriptions.resume(sub.id)
    assert resumed.status == "active"
    assert "customer.subscription.resumed" in types_for(make, sub.id)


def test_trial_end_create_invoice_goes_past_due(client, make):
    clock = make.clock()
    cus = make.customer(clock=clock.id)
    price = make.price()
    sub = make.trial(cus, price, days=5, missing_payment_method="create_invoice", expand=["latest_invoice"])
    make.advance(clock, clock.frozen_time + 6 * DAY)
    got = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert got.status == "past_due"
    assert got.latest_invoice.status == "open" and got.latest_invoice.id != sub.latest_invoice.id


def test_renewal_failure_past_due_then_recovery(client, make):
    clock = make.clock()
    cus = make.customer(clock=clock.id, card="pm_card_visa")
    price = make.price()
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    assert sub.status == "active"
    bad = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": cus.id})
    client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": bad.id}})
    end = sub["items"].data[0].current_period_end
    make.advance(clock, end + 3600)
    got = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert got.status == "past_due"
    inv = got.latest_invoice
    assert inv.status == "open" and inv.attempt_count == 1
    failed = [e for e in make.events("invoice.payment_failed") if e.data.object.id == inv.id]
    assert len(failed) == 1
    assert failed[0].data.object.parent.subscription_details.subscription == sub.id
    # pay later with a good card
    good = client.v1.payment_methods.attach("pm_card_visa", params={"customer": cus.id})
    paid = client.v1.invoices.pay(inv.id, params={"payment_method": good.id})
    assert paid.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert "invoice.paid" in types_for(make, inv.id)


def test_pay_with_failing_card_is_402(client, make):
    cus = make.customer(card="pm_card_chargeCustomerFail")
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 1200, "currency": "usd"})
    inv = client.v1.invoices.create(params={"customer": cus.id, "pending_invoice_items_behavior": "include"})
    assert inv.status == "draft" and inv.amount_due == 1200
    fin = client.v1.invoices.finalize_invoice(inv.id)
    assert fin.status == "open" and fin.number
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(inv.id)
    again = client.v1.invoices.retrieve(inv.id)
    assert again.status == "open" and again.attempt_count == 1
    assert [i.id for i in client.v1.invoices.list(params={"customer": cus.id}).data] == [inv.id]


def test_cancel_at_period_end_with_clock(client, make):
    clock = make.clock()
    cus = make.customer(clock=clock.id, card="pm_card_visa")
    price = make.price()
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    upd = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert upd.cancel_at_period_end is True and upd.status == "active"
    end = sub["items"].data[0].current_period_end
    assert upd.cancel_at == end
    make.advance(clock, end + 10)
    got = client.v1.subscriptions.retrieve(sub.id)
    assert got.status == "canceled" and got.ended_at == end


def test_cancellation_details_set_with_cancel_at_period_end_stay_when_the_period_ends(client, make):
    clock = make.clock()
    cus = make.customer(clock=clock.id, card="pm_card_visa")
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": make.price().id}]})
    client.v1.subscriptions.update(
        sub.id,
        params={
            "cancel_at_period_end": True,
            "cancellation_details": {"feedback": "too_expensive", "comment": "Over budget"},
        },
    )
    make.advance(clock, sub["items"].data[0].current_period_end + 10)
    details = client.v1.subscriptions.retrieve(sub.id).cancellation_details
    assert (details.feedback, details.comment, details.reason) == (
        "too_expensive",
        "Over budget",
        "cancellation_requested",
    )
    # Details given when cancelling now replace them.
    other = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": make.price().id}]})
    client.v1.subscriptions.update(other.id, params={"cancellation_details": {"feedback": "unused"}})
    canceled = client.v1.subscriptions.cancel(other.id, params={"cancellation_details": {"feedback": "other"}})
    assert (canceled.cancellation_details.feedback, canceled.cancellation_details.comment) == ("other", None)


def test_swap_price_and_immediate_cancel(client, make):
    cus = make.customer(card="pm_card_visa")
    a = make.price(lookup_key="basic", amount=1000)
    b = make.price(lookup_key="pro", amount=3000)
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": a.id}]})
    item = sub["items"].data[0]
    upd = client.v1.subscriptions.update(
        sub.id, params={"items": [{"id": item.id, "price": b.id}], "proration_behavior": "none", "metadata": {"x": "y"}}
    )
    assert upd["items"].data[0].price.lookup_key == "pro" and upd["items"].data[0].id == item.id
    ev = [e for e in make.events("customer.subscription.updated") if e.data.object.id == sub.id][0]
    assert ev.data.previous_attributes["items"].data[0].price.lookup_key == "basic"
    assert [s.id for s in client.v1.subscriptions.list(params={"price": b.id}).data] == [sub.id]
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled"
    assert "customer.subscription.deleted" in types_for(make, sub.id)


def test_trial_end_now_and_pause_collection(client, make):
    cus = make.customer(card="pm_card_visa")
    price = make.price()
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": price.id}], "trial_end": int(time.time()) + 30 * DAY}
    )
    assert sub.status == "trialing"
    upd = client.v1.subscriptions.update(sub.id, params={"trial_end": "now"})
    assert upd.status == "active"
    paused = client.v1.subscriptions.update(sub.id, params={"pause_collection": {"behavior": "void"}})
    assert paused.pause_collection.behavior == "void"
    cleared = client.v1.subscriptions.update(sub.id, params={"pause_collection": ""})
    assert cleared.pause_collection is None


def test_short_trial_sends_trial_will_end_immediately(client, make):
    cus = make.customer()
    price = make.price()
    sub = client.v1.subscriptions.create(
        params={"customer": cus.id, "items": [{"price": price.id}], "trial_end": int(time.time()) + DAY}
    )
    assert "customer.subscription.trial_will_end" in types_for(make, sub.id)


def test_test_clocks_crud_and_delete(client, make):
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_800_000_000, "name": "c1"})
    assert clock.status == "ready" and clock.name == "c1" and clock.object == "test_helpers.test_clock"
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == 1_800_000_000
    assert [c.id for c in client.v1.test_helpers.test_clocks.list().data] == [clock.id]
    cus = make.customer(clock=clock.id, card="pm_card_visa")
    assert cus.created == 1_800_000_000
    price = make.price()
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    assert sub.created == 1_800_000_000
    assert [c.id for c in client.v1.customers.list(params={"test_clock": clock.id}).data] == [cus.id]
    with pytest.raises(stripe.InvalidRequestError):
        make.advance(clock, 1_700_000_000)
    deleted = client.v1.test_helpers.test_clocks.delete(clock.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.retrieve(sub.id)
    assert "customer.subscription.deleted" not in types_for(make, sub.id)


def test_long_advance_renews_every_month(client, make):
    clock = make.clock(1_800_000_000)
    cus = make.customer(clock=clock.id, card="pm_card_visa")
    price = make.price()
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    make.advance(clock, 1_800_000_000 + 95 * DAY)
    invoices = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert len(invoices) == 4 and all(i.status == "paid" for i in invoices)
    reasons = [i.billing_reason for i in invoices]
    assert reasons == ["subscription_cycle"] * 3 + ["subscription_create"]


def test_cancel_at_min_period_end_on_create_cancels_at_the_first_period_end(client, make):
    customer = make.customer(card="pm_card_visa")
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": make.price().id}], "cancel_at": "min_period_end"}
    )
    assert sub.cancel_at == sub["items"].data[0].current_period_end
