"""How invoices are paid (issue 14 item 5): each finalized invoice with something due gets a PaymentIntent
(``confirmation_secret``, ``payments``), so ``payment_behavior=default_incomplete`` and 3D Secure flows work
as at Stripe; credit notes in their simplest form.  Through the real stripe library."""

import urllib.request

import pytest
import stripe

from tests.emulator.rawhttp import raw
from tests.emulator.test_payments import authenticate, types

DAY = 86400


def intent_of(client, invoice_id):
    invoice = client.v1.invoices.retrieve(invoice_id, params={"expand": ["payments"]})
    return client.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)


def test_default_incomplete_subscription_becomes_active_after_confirming_its_invoice_payment(client, make):
    customer = make.customer()
    price = make.price(amount=2000)
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "expand": ["latest_invoice.confirmation_secret"],
        }
    )
    assert sub.status == "incomplete" and sub.latest_invoice.status == "open"
    secret = sub.latest_invoice.confirmation_secret
    assert secret.type == "payment_intent"
    intent_id = secret.client_secret.split("_secret_")[0]
    intent = client.v1.payment_intents.retrieve(intent_id)
    assert (intent.status, intent.amount, intent.customer) == ("requires_payment_method", 2000, customer.id)
    confirmed = client.v1.payment_intents.confirm(intent_id, params={"payment_method": "pm_card_visa"})
    assert confirmed.status == "succeeded"
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active" and sub.default_payment_method == confirmed.payment_method
    invoice = client.v1.invoices.retrieve(sub.latest_invoice, params={"expand": ["payments"]})
    assert (invoice.status, invoice.amount_paid) == ("paid", 2000)
    payment = invoice.payments.data[0]
    assert (payment.status, payment.amount_paid, payment.payment.payment_intent) == ("paid", 2000, intent_id)
    assert {"invoice_payment.paid", "invoice.paid"} <= set(types(make))


def test_confirmation_secret_and_payments_are_included_only_when_expanded(client, emulator, make):
    invoice = make.subscribe(make.customer(card="pm_card_visa"), make.price()).latest_invoice
    _, _, plain = raw(emulator, "GET", "/v1/invoices/" + invoice.id)
    assert "confirmation_secret" not in plain and "payments" not in plain
    _, _, expanded = raw(
        emulator, "GET", "/v1/invoices/" + invoice.id, {"expand[0]": "payments", "expand[1]": "confirmation_secret"}
    )
    assert expanded["payments"]["data"][0]["status"] == "paid"
    assert expanded["confirmation_secret"]["client_secret"].startswith(
        expanded["payments"]["data"][0]["payment"]["payment_intent"]
    )
    listed = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data
    assert [p.id for p in listed] == [expanded["payments"]["data"][0]["id"]]


def test_3ds_card_leaves_a_new_subscription_incomplete_until_the_customer_authenticates(client, make):
    customer = make.customer(card="pm_card_threeDSecure2Required")
    sub = make.subscribe(customer, make.price())
    assert sub.status == "incomplete"
    assert {"invoice.payment_failed", "invoice.payment_action_required"} <= set(types(make))
    intent = intent_of(client, sub.latest_invoice.id)
    assert intent.status == "requires_action"
    authenticate(intent.next_action.use_stripe_sdk["stripe_js"])
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.invoices.retrieve(sub.latest_invoice.id).status == "paid"


def test_renewal_with_a_card_needing_authentication_goes_past_due_and_asks_for_action(client, make):
    clock = make.clock()
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    sub = make.subscribe(customer, make.price())
    needs_authentication = client.v1.payment_methods.attach(
        "pm_card_authenticationRequired", params={"customer": customer.id}
    )
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": needs_authentication.id}}
    )
    make.advance(clock, clock.frozen_time + 32 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "past_due"
    assert make.events("invoice.payment_action_required")[0].data.object.id == sub.latest_invoice
    authenticate(intent_of(client, sub.latest_invoice).next_action.use_stripe_sdk["stripe_js"])
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_paying_an_invoice_with_a_3ds_card_answers_invoice_payment_intent_requires_action(client, make):
    customer = make.customer()
    client.v1.invoice_items.create(params={"customer": customer.id, "amount": 2000, "currency": "usd"})
    invoice = client.v1.invoices.create(params={"customer": customer.id, "pending_invoice_items_behavior": "include"})
    card = client.v1.payment_methods.attach("pm_card_threeDSecure2Required", params={"customer": customer.id})
    with pytest.raises(stripe.CardError) as raised:
        client.v1.invoices.pay(invoice.id, params={"payment_method": card.id})
    assert (raised.value.http_status, raised.value.code) == (402, "invoice_payment_intent_requires_action")
    assert raised.value.error.payment_intent.status == "requires_action"
    assert client.v1.invoices.retrieve(invoice.id).status == "open"


def test_error_if_incomplete_refuses_a_card_that_needs_authentication(client, make):
    customer = make.customer(card="pm_card_authenticationRequired")
    with pytest.raises(stripe.CardError) as raised:
        make.subscribe(customer, make.price(), payment_behavior="error_if_incomplete")
    assert raised.value.code == "subscription_payment_intent_requires_action"
    assert client.v1.subscriptions.list(params={"customer": customer.id, "status": "all"}).data == []


def test_voiding_or_paying_out_of_band_cancels_the_invoice_payment_intent(client, make):
    customer = make.customer()
    invoices = []
    for _ in range(2):
        client.v1.invoice_items.create(params={"customer": customer.id, "amount": 700, "currency": "usd"})
        invoice = client.v1.invoices.create(
            params={"customer": customer.id, "pending_invoice_items_behavior": "include"}
        )
        invoices.append(client.v1.invoices.finalize_invoice(invoice.id))
    client.v1.invoices.void_invoice(invoices[0].id)
    client.v1.invoices.pay(invoices[1].id, params={"paid_out_of_band": True})
    for invoice in invoices:
        intent = intent_of(client, invoice.id)
        assert intent.status == "canceled"
    assert intent_of(client, invoices[0].id).cancellation_reason == "void_invoice"
    assert client.v1.invoice_payments.list(params={"invoice": invoices[0].id}).data[0].status == "canceled"


def test_trial_with_default_incomplete_collects_a_card_through_its_pending_setup_intent(client, make):
    customer = make.customer()
    sub = make.subscribe(customer, make.price(), trial_period_days=14, payment_behavior="default_incomplete")
    assert sub.status == "trialing" and sub.pending_setup_intent
    setup = client.v1.setup_intents.confirm(sub.pending_setup_intent, params={"payment_method": "pm_card_visa"})
    assert setup.status == "succeeded"
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.pending_setup_intent is None and sub.default_payment_method == setup.payment_method


# ---------------------------------------------------------------------------
# credit notes


def open_invoice(client, make, amount=3000):
    customer = make.customer()
    client.v1.invoice_items.create(params={"customer": customer.id, "amount": amount, "currency": "usd"})
    invoice = client.v1.invoices.create(params={"customer": customer.id, "pending_invoice_items_behavior": "include"})
    return client.v1.invoices.finalize_invoice(invoice.id)


def test_credit_note_on_an_open_invoice_lowers_what_is_due_and_its_payment_intent(client, make):
    invoice = open_invoice(client, make)
    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1000, "reason": "order_change"})
    assert (note.type, note.pre_payment_amount, note.post_payment_amount, note.status) == (
        "pre_payment",
        1000,
        0,
        "issued",
    )
    assert note.number == invoice.number + "-CN-01"
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert (invoice.amount_due, invoice.pre_payment_credit_notes_amount, invoice.status) == (2000, 1000, "open")
    assert intent_of(client, invoice.id).amount == 2000
    assert types(make)[-2:] == ["credit_note.created", "invoice.updated"]
    voided = client.v1.credit_notes.void_credit_note(note.id)
    assert voided.status == "void" and types(make)[-2:] == ["credit_note.voided", "invoice.updated"]
    assert client.v1.invoices.retrieve(invoice.id).amount_due == 3000


def test_crediting_an_open_invoice_in_full_marks_it_paid(client, make):
    invoice = open_invoice(client, make)
    client.v1.credit_notes.create(
        params={
            "invoice": invoice.id,
            "lines": [{"type": "invoice_line_item", "invoice_line_item": invoice.lines.data[0].id}],
        }
    )
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert (invoice.status, invoice.amount_due, invoice.amount_remaining) == ("paid", 0, 0)
    assert intent_of(client, invoice.id).status == "canceled"


def test_credit_note_on_a_paid_invoice_refunds_and_credits_the_balance(client, make):
    customer = make.customer(card="pm_card_visa")
    invoice = make.subscribe(customer, make.price(amount=5000)).latest_invoice
    note = client.v1.credit_notes.create(
        params={"invoice": invoice.id, "amount": 1500, "refund_amount": 1000, "credit_amount": 500, "memo": "Sorry"}
    )
    assert (note.type, note.post_payment_amount) == ("post_payment", 1500)
    refund = client.v1.refunds.retrieve(note.refunds[0].refund)
    assert refund.amount == 1000 and refund.charge == intent_of(client, invoice.id).latest_charge
    assert client.v1.customers.retrieve(customer.id).balance == -500
    balance_transaction = client.v1.customers.balance_transactions.retrieve(
        customer.id, note.customer_balance_transaction
    )
    assert (balance_transaction.type, balance_transaction.credit_note) == ("credit_note", note.id)
    assert client.v1.invoices.retrieve(invoice.id).post_payment_credit_notes_amount == 1500
    assert {"refund.created", "charge.refunded", "credit_note.created"} <= set(types(make))
    with urllib.request.urlopen(note.pdf, timeout=10) as response:
        assert response.read().startswith(b"%PDF-1.4")


def test_credit_note_amounts_that_do_not_add_up_are_refused(client, make):
    invoice = make.subscribe(make.customer(card="pm_card_visa"), make.price(amount=5000)).latest_invoice
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 1500, "refund_amount": 1000})
    assert raised.value.param == "refund_amount"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 6000, "credit_amount": 6000})
    preview = client.v1.credit_notes.preview(params={"invoice": invoice.id, "amount": 200, "out_of_band_amount": 200})
    assert preview.total == 200 and client.v1.credit_notes.list(params={"invoice": invoice.id}).data == []


def test_credit_note_memo_update_emits_credit_note_updated(client, make):
    invoice = open_invoice(client, make)
    note = client.v1.credit_notes.create(params={"invoice": invoice.id, "amount": 100})
    assert client.v1.credit_notes.update(note.id, params={"memo": "Goodwill"}).memo == "Goodwill"
    assert types(make)[-1] == "credit_note.updated"
