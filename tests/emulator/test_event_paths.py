"""Events like Stripe's on every path (issue 14 item 9): pausing and resuming, legacy plans, the portal,
Checkout payments (cards and SEPA Direct Debit, with the async payment events).  Through the real stripe
library (and Checkout's page API, as Stripe.js and the Stripe CLI call it)."""

import urllib.parse
import urllib.request

from tests.emulator.rawhttp import raw
from tests.emulator.test_payments import types


def test_trial_ended_now_without_a_card_pauses_and_emits_paused(client, make):
    sub = make.trial(make.customer(), make.price(), 7, missing_payment_method="pause")
    paused = client.v1.subscriptions.update(sub.id, params={"trial_end": "now"})
    assert paused.status == "paused"
    assert types(make)[-2:] == ["customer.subscription.updated", "customer.subscription.paused"]
    assert make.events("customer.subscription.updated")[0].data.previous_attributes["status"] == "trialing"


def test_pause_endpoint_emits_paused_and_resume_emits_resumed(client, make):
    sub = make.subscribe(make.customer(card="pm_card_visa"), make.price())
    assert client.v1.subscriptions.pause(sub.id, params={"type": "subscription"}).status == "paused"
    assert types(make)[-2:] == ["customer.subscription.updated", "customer.subscription.paused"]
    assert client.v1.subscriptions.resume(sub.id).status == "active"
    assert types(make)[-1] == "customer.subscription.resumed"


def test_updating_a_plan_emits_plan_updated(client, make):
    plan = client.v1.plans.create(
        params={"amount": 900, "currency": "usd", "interval": "month", "product": {"name": "Legacy"}}
    )
    client.v1.plans.update(plan.id, params={"metadata": {"foo": "bar"}})
    updated = make.events("plan.updated")
    assert len(updated) == 1 and updated[0].data.object.metadata["foo"] == "bar"
    assert updated[0].data.previous_attributes.to_dict() == {"metadata": {}}
    assert "price.updated" in types(make)


def test_portal_session_creation_emits_billing_portal_session_created(client, make):
    customer = make.customer()
    session = client.v1.billing_portal.sessions.create(
        params={"customer": customer.id, "return_url": "https://x.example"}
    )
    assert make.events("billing_portal.session.created")[0].data.object.id == session.id


def checkout_session(client, make, currency="usd", **params):
    price = client.v1.prices.create(params={"unit_amount": 1500, "currency": currency, "product_data": {"name": "Tee"}})
    params.setdefault("line_items", [{"price": price.id, "quantity": 2}])
    return client.v1.checkout.sessions.create(
        params={"mode": "payment", "success_url": "https://shop.example/ok", **params}
    )


def pay_on_page(session, card="pm_card_visa"):
    data = urllib.parse.urlencode({"payment_method": card, "email": "buyer@example.com"}).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(
            urllib.request.Request(session.url + "/pay", data=data, method="POST"), timeout=10
        )
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 303


def test_checkout_payment_mode_pays_with_a_payment_intent(client, make):
    session = checkout_session(client, make)
    pay_on_page(session)
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert (session.status, session.payment_status) == ("complete", "paid")
    intent = client.v1.payment_intents.retrieve(session.payment_intent)
    assert (intent.status, intent.amount, intent.customer) == ("succeeded", 3000, session.customer)
    assert types(make)[-3:] == ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]


def test_checkout_setup_mode_saves_the_card_through_its_setup_intent(client, make):
    customer = make.customer()
    session = client.v1.checkout.sessions.create(
        params={"mode": "setup", "customer": customer.id, "currency": "usd", "success_url": "https://x.example"}
    )
    assert session.setup_intent
    pay_on_page(session)
    setup = client.v1.setup_intents.retrieve(session.setup_intent)
    assert setup.status == "succeeded"
    assert client.v1.payment_methods.retrieve(setup.payment_method).customer == customer.id


def sepa_checkout(client, emulator, make, iban):
    session = checkout_session(client, make, currency="eur", allowed_payment_method_types=["sepa_debit"])
    assert session.payment_method_types == ["sepa_debit"]
    status, _, page = raw(emulator, "GET", "/v1/payment_pages/" + session.id)
    assert status == 200 and page["amount_total"] == 3000
    method = client.v1.payment_methods.create(params={"type": "sepa_debit", "sepa_debit": {"iban": iban}})
    path = "/v1/payment_pages/%s/confirm" % session.id
    status, _, refused = raw(emulator, "POST", path, {"payment_method": method.id, "expected_amount": 2999})
    assert status == 400 and refused["error"]["param"] == "expected_amount"
    status, _, confirmed = raw(emulator, "POST", path, {"payment_method": method.id, "expected_amount": 3000})
    assert status == 200 and confirmed["status"] == "complete"
    return client.v1.checkout.sessions.retrieve(session.id)


def test_checkout_sepa_debit_completes_unpaid_then_emits_async_payment_succeeded(client, emulator, make):
    session = sepa_checkout(client, emulator, make, "AT611904300234573201")
    assert session.payment_status == "paid"
    happened = types(make)
    assert happened.index("checkout.session.completed") < happened.index("checkout.session.async_payment_succeeded")
    completed = make.events("checkout.session.completed")[0].data.object
    assert completed.payment_status == "unpaid"


def test_checkout_sepa_debit_that_fails_emits_async_payment_failed(client, emulator, make):
    session = sepa_checkout(client, emulator, make, "AT861904300235473202")
    assert session.payment_status == "unpaid"
    assert types(make)[-1] == "checkout.session.async_payment_failed"
    assert client.v1.payment_intents.retrieve(session.payment_intent).status == "requires_payment_method"
