"""Payments (issue 14 item 5): PaymentIntents and SetupIntents with Stripe's test cards (3D Secure on the
emulator's test page) and test IBANs, charges, refunds, disputes and card sources, through the real
stripe library."""

import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe

from tests.emulator.rawhttp import raw


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def authenticate(url, outcome="complete"):
    """Press a button of the 3D Secure test page; (status, Location)."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url + "/" + outcome, data=b"", method="POST")
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location")


def pay(client, payment_method, **params):
    params = {"amount": 2000, "currency": "usd", "payment_method": payment_method, "confirm": True, **params}
    return client.v1.payment_intents.create(params=params)


def types(make, **params):
    return [e.type for e in reversed(make.events(**params))]


def test_card_payment_succeeds_with_a_charge_and_its_events(client, make):
    intent = pay(client, "pm_card_visa", description="Order 42")
    assert intent.status == "succeeded" and intent.amount_received == 2000
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.status, charge.paid, charge.captured, charge.amount_captured) == ("succeeded", True, True, 2000)
    assert charge.payment_intent == intent.id and charge.payment_method_details.card.last4 == "4242"
    assert types(make) == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]
    assert [c.id for c in client.v1.charges.list(params={"payment_intent": intent.id}).data] == [charge.id]


def test_declined_card_answers_402_and_leaves_the_intent_awaiting_another_payment_method(client, make):
    with pytest.raises(stripe.CardError) as raised:
        pay(client, "pm_card_visa_chargeDeclined")
    error = raised.value
    assert (error.http_status, error.code, error.error.decline_code) == (402, "card_declined", "generic_decline")
    intent = client.v1.payment_intents.retrieve(error.error.payment_intent.id)
    assert intent.status == "requires_payment_method" and intent.payment_method is None
    assert intent.last_payment_error.code == "card_declined"
    assert client.v1.charges.retrieve(intent.latest_charge).status == "failed"
    assert types(make)[-2:] == ["charge.failed", "payment_intent.payment_failed"]
    assert pay(client, "pm_card_visa").status == "succeeded"


def test_3ds_card_reaches_requires_action_and_completing_authentication_succeeds(client, make):
    intent = pay(client, "pm_card_threeDSecure2Required", return_url="https://shop.example/return")
    assert intent.status == "requires_action" and intent.next_action.type == "redirect_to_url"
    page = intent.next_action.redirect_to_url.url
    with urllib.request.urlopen(page, timeout=10) as response:
        assert b"complete-authentication" in response.read()
    status, location = authenticate(page)
    assert status == 303
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert location.startswith("https://shop.example/return?")
    assert query["payment_intent"] == [intent.id] and query["redirect_status"] == ["succeeded"]
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    assert types(make) == [
        "payment_intent.created",
        "payment_intent.requires_action",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]


def test_failed_authentication_returns_the_intent_to_requires_payment_method(client, make):
    intent = pay(client, "pm_card_authenticationRequired")
    assert intent.next_action.type == "use_stripe_sdk"
    status, _ = authenticate(intent.next_action.use_stripe_sdk["stripe_js"], "fail")
    assert status == 200
    intent = client.v1.payment_intents.retrieve(intent.id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.code == "payment_intent_authentication_failure"
    assert types(make)[-1] == "payment_intent.payment_failed"


def test_manual_confirmation_after_authentication_needs_the_server_to_confirm_again(client):
    intent = pay(client, "pm_card_threeDSecure2Required", confirmation_method="manual")
    authenticate(intent.next_action.use_stripe_sdk["stripe_js"])
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_confirmation"
    assert client.v1.payment_intents.confirm(intent.id).status == "succeeded"


def test_off_session_payment_needing_authentication_fails_with_authentication_required(client):
    with pytest.raises(stripe.CardError) as raised:
        pay(client, "pm_card_authenticationRequired", off_session=True)
    assert raised.value.code == "authentication_required"
    assert raised.value.error.payment_intent.status == "requires_payment_method"


def test_manual_capture_authorizes_first_and_captures_part_later(client, make):
    intent = pay(client, "pm_card_visa", capture_method="manual")
    assert (intent.status, intent.amount_capturable, intent.amount_received) == ("requires_capture", 2000, 0)
    assert not client.v1.charges.retrieve(intent.latest_charge).captured
    intent = client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 1500})
    assert (intent.status, intent.amount_received) == ("succeeded", 1500)
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.captured, charge.amount_captured, charge.amount_refunded) == (True, 1500, 500)
    assert types(make)[-4:] == [
        "charge.succeeded",
        "payment_intent.amount_capturable_updated",
        "charge.captured",
        "payment_intent.succeeded",
    ]


def test_intent_can_be_canceled_until_it_succeeds(client, make):
    intent = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
    assert intent.status == "requires_payment_method" and intent.client_secret.startswith(intent.id + "_secret_")
    canceled = client.v1.payment_intents.cancel(intent.id, params={"cancellation_reason": "requested_by_customer"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "requested_by_customer")
    assert types(make)[-1] == "payment_intent.canceled"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.cancel(pay(client, "pm_card_visa").id)
    assert raised.value.code == "payment_intent_unexpected_state"


def test_payment_method_types_is_refused_by_the_pinned_version_and_accepted_by_an_older_one(client):
    params = {"amount": 500, "currency": "eur", "payment_method_types": ["sepa_debit"]}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(params=params)
    assert (raised.value.code, raised.value.param) == (
        "payment_method_types_no_longer_supported",
        "payment_method_types",
    )
    older = client.v1.payment_intents.create(params=params, options={"stripe_version": "2024-06-20"})
    assert older.payment_method_types == ["sepa_debit"] and older.automatic_payment_methods is None


def test_allowed_payment_method_types_keep_sepa_debit_for_euros_only(client):
    allowed = {"amount": 500, "allowed_payment_method_types": ["card", "sepa_debit"]}
    euros = client.v1.payment_intents.create(params={**allowed, "currency": "eur"})
    dollars = client.v1.payment_intents.create(params={**allowed, "currency": "usd"})
    assert (euros.payment_method_types, dollars.payment_method_types) == (["card", "sepa_debit"], ["card"])
    assert client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"}).automatic_payment_methods.enabled


def sepa(client, iban):
    return client.v1.payment_methods.create(
        params={"type": "sepa_debit", "sepa_debit": {"iban": iban}, "billing_details": {"name": "Jenny Rosen"}}
    )


def sepa_payment(client, iban):
    params = {"amount": 1000, "currency": "eur", "allowed_payment_method_types": ["sepa_debit"]}
    params.update(payment_method=sepa(client, iban).id, confirm=True)
    return client.v1.payment_intents.create(params=params)


def test_sepa_debit_is_processing_then_succeeds_once_the_request_is_done(client, make):
    intent = sepa_payment(client, "AT611904300234573201")
    assert intent.status == "processing"
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.status == "succeeded" and charge.payment_method_details.sepa_debit.last4 == "3201"
    assert types(make)[-4:] == [
        "charge.pending",
        "payment_intent.processing",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]


def test_failing_and_delayed_sepa_debits(client, emulator, make):
    failed = sepa_payment(client, "AT861904300235473202")
    failed = client.v1.payment_intents.retrieve(failed.id)
    assert failed.status == "requires_payment_method" and failed.last_payment_error.code == "insufficient_funds"
    assert types(make)[-1] == "payment_intent.payment_failed"
    delayed = sepa_payment(client, "AT321904300235473204")
    emulator.control("POST", "/_emulator/tick")
    assert client.v1.payment_intents.retrieve(delayed.id).status == "processing"  # at least three minutes
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sepa(client, "AT611904300234573200")
    assert raised.value.code == "invalid_bank_account_iban"


# ---------------------------------------------------------------------------
# SetupIntents


def test_setup_intent_saves_the_card_on_the_customer(client, make):
    customer = make.customer()
    intent = client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method": "pm_card_visa", "confirm": True}
    )
    assert intent.status == "succeeded" and intent.usage == "off_session"
    assert client.v1.payment_methods.retrieve(intent.payment_method).customer == customer.id
    assert types(make)[-3:] == ["setup_intent.created", "payment_method.attached", "setup_intent.succeeded"]


def test_card_set_up_with_authentication_pays_off_session_without_it(client, make):
    customer = make.customer()
    intent = client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method": "pm_card_authenticationRequiredOnSetup", "confirm": True}
    )
    assert intent.status == "requires_action" and types(make)[-1] == "setup_intent.requires_action"
    authenticate(intent.next_action.use_stripe_sdk["stripe_js"])
    intent = client.v1.setup_intents.retrieve(intent.id)
    assert intent.status == "succeeded"
    payment = pay(client, intent.payment_method, customer=customer.id, off_session=True)
    assert payment.status == "succeeded"
    on_session = pay(client, intent.payment_method, customer=customer.id)
    assert on_session.status == "requires_action"


def test_declined_setup_answers_402_and_emits_setup_failed(client, make):
    with pytest.raises(stripe.CardError) as raised:
        client.v1.setup_intents.create(params={"payment_method": "pm_card_chargeDeclined", "confirm": True})
    assert raised.value.code == "card_declined"
    assert raised.value.error.setup_intent.status == "requires_payment_method"
    assert types(make)[-1] == "setup_intent.setup_failed"


def test_charge_customer_fail_card_sets_up_but_every_charge_is_declined(client, make):
    customer = make.customer()
    setup = client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method": "pm_card_chargeCustomerFail", "confirm": True}
    )
    assert setup.status == "succeeded"
    with pytest.raises(stripe.CardError) as raised:
        pay(client, setup.payment_method, customer=customer.id, off_session=True)
    assert (raised.value.code, raised.value.error.decline_code) == ("card_declined", "generic_decline")


def test_setup_intent_can_be_canceled(client, make):
    intent = client.v1.setup_intents.create(params={"description": "later"})
    canceled = client.v1.setup_intents.cancel(intent.id, params={"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert types(make) == ["setup_intent.created", "setup_intent.canceled"]


# ---------------------------------------------------------------------------
# refunds and disputes


def test_refunds_partial_then_the_rest_and_not_more(client, make):
    intent = pay(client, "pm_card_visa")
    first = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 500, "reason": "duplicate"})
    assert (first.status, first.amount, first.charge) == ("succeeded", 500, intent.latest_charge)
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (500, False)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 1600})
    assert raised.value.code == "amount_too_large"
    rest = client.v1.refunds.create(params={"charge": charge.id})
    assert rest.amount == 1500 and client.v1.charges.retrieve(charge.id).refunded
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"charge": charge.id})
    assert raised.value.code == "charge_already_refunded"
    assert types(make, type="charge.refunded").count("charge.refunded") == 2
    assert len(client.v1.refunds.list(params={"payment_intent": intent.id}).data) == 2


def test_refund_update_emits_charge_refund_updated(client, make):
    refund = client.v1.refunds.create(params={"payment_intent": pay(client, "pm_card_visa").id})
    updated = client.v1.refunds.update(refund.id, params={"metadata": {"order": "6735"}})
    assert updated.metadata["order"] == "6735"
    assert types(make)[-2:] == ["refund.updated", "charge.refund.updated"]


def test_dispute_card_opens_a_chargeback_that_accepting_loses(client, make):
    intent = pay(client, "pm_card_createDispute")
    assert intent.status == "succeeded" and client.v1.charges.retrieve(intent.latest_charge).disputed
    dispute = client.v1.disputes.list(params={"payment_intent": intent.id}).data[0]
    assert (dispute.status, dispute.reason, dispute.charge) == ("needs_response", "fraudulent", intent.latest_charge)
    assert client.v1.disputes.close(dispute.id).status == "lost"
    assert types(make)[-3:] == ["charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.dispute.closed"]


def test_dispute_evidence_updates_and_winning_evidence_wins(client, make):
    dispute = client.v1.disputes.list(params={"payment_intent": pay(client, "pm_card_createDispute").id}).data[0]
    updated = client.v1.disputes.update(dispute.id, params={"metadata": {"case": "7"}})
    assert updated.metadata["case"] == "7" and types(make)[-1] == "charge.dispute.updated"
    won = client.v1.disputes.update(
        dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}, "submit": True}
    )
    assert won.status == "won"
    assert types(make)[-2:] == ["charge.dispute.closed", "charge.dispute.funds_reinstated"]
    inquiry = client.v1.disputes.list(params={"payment_intent": pay(client, "pm_card_createDisputeInquiry").id}).data[0]
    assert inquiry.status == "warning_needs_response"


# ---------------------------------------------------------------------------
# card sources


def test_card_source_is_a_card_with_customer_source_events(client, emulator, make):
    customer = make.customer()
    status, _, source = raw(emulator, "POST", "/v1/customers/%s/sources" % customer.id, {"source": "tok_visa"})
    assert status == 200 and source["object"] == "card" and source["brand"] == "Visa"
    assert client.v1.customers.retrieve(customer.id).default_source == source["id"]
    path = "/v1/customers/%s/sources/%s" % (customer.id, source["id"])
    status, _, updated = raw(emulator, "POST", path, {"metadata[foo]": "bar", "name": "Jenny Rosen"})
    assert status == 200 and updated["metadata"] == {"foo": "bar"} and updated["name"] == "Jenny Rosen"
    update_event = make.events("customer.source.updated")[0]
    assert update_event.data.previous_attributes.to_dict() == {"metadata": {}, "name": None}
    status, _, listed = raw(emulator, "GET", "/v1/customers/%s/sources" % customer.id)
    assert [card["id"] for card in listed["data"]] == [source["id"]]
    status, _, deleted = raw(emulator, "DELETE", path)
    assert deleted == {"id": source["id"], "object": "card", "deleted": True}
    assert client.v1.customers.retrieve(customer.id).default_source is None
    assert {"customer.source.created", "customer.source.updated", "customer.source.deleted"} <= set(types(make))


def test_customer_created_with_a_source_emits_customer_source_created(client, make):
    customer = make.customer(source="tok_mastercard")
    created = make.events("customer.source.created")
    assert len(created) == 1 and created[0].data.object.id == customer.default_source
