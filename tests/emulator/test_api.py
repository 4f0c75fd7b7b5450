"""Core API behaviour: parsing, auth, errors, pagination, expansion,
idempotency, products/prices/plans, payment methods, events."""

import pytest
import stripe

from tests.emulator.rawhttp import raw


def test_bad_api_key_is_401(emulator):
    bad = emulator.client("sk_live_nope_123456")
    with pytest.raises(stripe.AuthenticationError) as exc:
        bad.v1.customers.list()
    assert exc.value.http_status == 401
    status, _, body = raw(emulator, "GET", "/v1/customers", key=None)
    assert status == 401 and body["error"]["type"] == "invalid_request_error"
    status, _, body = raw(emulator, "GET", "/v1/customers", key="garbage")
    assert status == 401 and "Invalid API Key" in body["error"]["message"]


def test_basic_auth_is_accepted(emulator):
    status, _, body = raw(emulator, "GET", "/v1/customers", key="sk_test_basic", auth="basic")
    assert status == 200 and body["object"] == "list"


def test_missing_resource_is_404(client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve("cus_doesnotexist")
    assert exc.value.http_status == 404
    assert exc.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.retrieve("sub_nope")
    assert exc.value.http_status == 404


def test_missing_param_is_400(client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.subscriptions.create(params={"items": [{"price": "price_x"}]})
    assert exc.value.http_status == 400
    assert exc.value.code == "parameter_missing"
    assert exc.value.param == "customer"


def test_unknown_url_is_404(emulator):
    status, _, body = raw(emulator, "GET", "/v1/nothing_here")
    assert status == 404 and "Unrecognized request URL" in body["error"]["message"]


def test_nested_form_parameters(client, make):
    cus = make.customer(
        name="Ada", metadata={"company_id": "42", "plan": "pro"}, address={"city": "Paris", "country": "FR"}
    )
    assert cus.metadata.to_dict() == {"company_id": "42", "plan": "pro"}
    assert cus.address.city == "Paris"
    updated = client.v1.customers.update(cus.id, params={"metadata": {"plan": ""}})
    assert updated.metadata.to_dict() == {"company_id": "42"}


def test_expand_array_brackets_form(emulator, make):
    cus = make.customer(card="pm_card_visa")
    price = make.price()
    status, _, body = raw(
        emulator,
        "POST",
        "/v1/subscriptions",
        [("customer", cus.id), ("items[0][price]", price.id), ("expand[]", "customer"), ("expand[]", "latest_invoice")],
    )
    assert status == 200
    assert body["customer"]["id"] == cus.id
    assert body["latest_invoice"]["object"] == "invoice"


def test_customer_crud_and_delete(client, make):
    cus = make.customer(email="x@example.com")
    got = client.v1.customers.retrieve(cus.id)
    assert got.email == "x@example.com" and got.object == "customer" and got.livemode is False
    deleted = client.v1.customers.delete(cus.id)
    assert deleted.deleted is True
    again = client.v1.customers.retrieve(cus.id)
    assert again.deleted is True and again.id == cus.id
    assert cus.id not in [c.id for c in client.v1.customers.list().data]


def test_customer_list_filters_by_email(client, make):
    make.customer(email="a@example.com")
    b = make.customer(email="b@example.com")
    res = client.v1.customers.list(params={"email": "b@example.com"})
    assert [c.id for c in res.data] == [b.id]


def test_pagination(client, make):
    ids = [make.customer(email="p%d@example.com" % i).id for i in range(7)]
    newest_first = ids[::-1]
    page1 = client.v1.customers.list(params={"limit": 3})
    assert [c.id for c in page1.data] == newest_first[:3]
    assert page1.has_more is True and page1.url == "/v1/customers"
    page2 = client.v1.customers.list(params={"limit": 3, "starting_after": page1.data[-1].id})
    assert [c.id for c in page2.data] == newest_first[3:6]
    page3 = client.v1.customers.list(params={"limit": 3, "starting_after": page2.data[-1].id})
    assert [c.id for c in page3.data] == newest_first[6:] and page3.has_more is False
    back = client.v1.customers.list(params={"limit": 2, "ending_before": page2.data[0].id})
    assert [c.id for c in back.data] == newest_first[1:3] and back.has_more is True
    every = [c.id for c in client.v1.customers.list(params={"limit": 2}).auto_paging_iter()]
    assert every == newest_first
    default = client.v1.customers.list()
    assert len(default.data) == 7
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.list(params={"limit": 101})


def test_expand_on_retrieve_and_lists(client, make):
    cus = make.customer(card="pm_card_visa")
    price = make.price(lookup_key="pro_monthly", name="Pro plan")
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": price.id}]})
    got = client.v1.subscriptions.retrieve(
        sub.id, params={"expand": ["customer", "latest_invoice", "items.data.price.product", "default_payment_method"]}
    )
    assert got.customer.id == cus.id
    assert got.latest_invoice.status == "paid"
    assert got["items"].data[0].price.product.name == "Pro plan"
    lst = client.v1.subscriptions.list(params={"expand": ["data.customer"]})
    assert lst.data[0].customer.email == cus.email
    c = client.v1.customers.retrieve(cus.id, params={"expand": ["invoice_settings.default_payment_method"]})
    assert c.invoice_settings.default_payment_method.card.last4 == "4242"


def test_idempotent_customer_create(emulator, client):
    first = client.v1.customers.create(params={"email": "idem@example.com"}, options={"idempotency_key": "key-1"})
    second = client.v1.customers.create(params={"email": "idem@example.com"}, options={"idempotency_key": "key-1"})
    assert first.id == second.id
    assert len(client.v1.customers.list(params={"email": "idem@example.com"}).data) == 1
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(params={"email": "other@example.com"}, options={"idempotency_key": "key-1"})
    # keys are scoped per API key
    other = emulator.client("sk_test_another_key_1")
    third = other.v1.customers.create(params={"email": "other@example.com"}, options={"idempotency_key": "key-1"})
    assert third.id != first.id
    created = [
        e
        for e in client.v1.events.list(params={"type": "customer.created"}).data
        if e.data.object.email == "idem@example.com"
    ]
    assert len(created) == 1
    assert created[0].request.idempotency_key == "key-1"


def test_prices_lookup_keys_and_transfer(client, make):
    a = make.price(lookup_key="pro_monthly", amount=2000)
    b = make.price(lookup_key="team_monthly", amount=5000)
    make.price(amount=100)
    got = client.v1.prices.list(params={"lookup_keys": ["pro_monthly", "team_monthly"]})
    assert {p.id for p in got.data} == {a.id, b.id}
    with pytest.raises(stripe.InvalidRequestError):
        make.price(lookup_key="pro_monthly", amount=2500)
    c = client.v1.prices.create(
        params={
            "product": a.product,
            "unit_amount": 2500,
            "currency": "usd",
            "recurring": {"interval": "month"},
            "lookup_key": "pro_monthly",
            "transfer_lookup_key": True,
        }
    )
    got = client.v1.prices.list(params={"lookup_keys": ["pro_monthly"]})
    assert [p.id for p in got.data] == [c.id]
    assert client.v1.prices.retrieve(a.id).lookup_key is None
    client.v1.prices.update(a.id, params={"active": False})
    actives = client.v1.prices.list(params={"active": True, "product": a.product})
    assert a.id not in [p.id for p in actives.data]
    assert c.recurring.interval == "month" and c.type == "recurring"


def test_products(client):
    prod = client.v1.products.create(params={"name": "Team", "metadata": {"tier": "2"}})
    assert prod.active is True
    upd = client.v1.products.update(prod.id, params={"active": False, "name": "Team v2"})
    assert upd.active is False and upd.name == "Team v2"
    assert prod.id in [p.id for p in client.v1.products.list(params={"active": False}).data]


def test_legacy_plans_usable_as_prices(client, make):
    plan = client.v1.plans.create(
        params={"amount": 1500, "currency": "usd", "interval": "month", "product": {"name": "Legacy"}}
    )
    assert plan.object == "plan" and plan.amount == 1500
    cus = make.customer(card="pm_card_visa")
    sub = client.v1.subscriptions.create(params={"customer": cus.id, "items": [{"price": plan.id}]})
    assert sub.status == "active"
    assert sub["items"].data[0].plan.id == plan.id


def test_payment_methods(client, make):
    cus = make.customer()
    pm = client.v1.payment_methods.attach("pm_card_mastercard", params={"customer": cus.id})
    assert pm.id.startswith("pm_") and pm.id != "pm_card_mastercard"
    assert pm.card.brand == "mastercard" and pm.card.last4 == "4444" and pm.customer == cus.id
    assert pm.card.exp_year >= 2025 and pm.card.exp_month
    created = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    assert created.customer is None
    client.v1.payment_methods.attach(created.id, params={"customer": cus.id})
    listed = client.v1.customers.payment_methods.list(cus.id)
    assert {p.id for p in listed.data} == {pm.id, created.id}
    listed2 = client.v1.payment_methods.list(params={"customer": cus.id, "type": "card"})
    assert len(listed2.data) == 2
    client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": pm.id}})
    assert client.v1.customers.retrieve(cus.id).invoice_settings.default_payment_method == pm.id
    detached = client.v1.payment_methods.detach(created.id)
    assert detached.customer is None
    attached_events = client.v1.events.list(params={"type": "payment_method.attached"}).data
    assert len(attached_events) == 2


@pytest.mark.parametrize("magic", ["pm_card_chargeDeclined", "tok_chargeDeclined"])
def test_declined_card_cannot_be_attached(client, make, magic):
    cus = make.customer()
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.attach(magic, params={"customer": cus.id})
    assert exc.value.http_status == 402
    assert exc.value.code == "card_declined"
    assert exc.value.error.decline_code == "generic_decline"
    assert client.v1.customers.payment_methods.list(cus.id).data == []


def test_charge_customer_fail_attaches(client, make):
    cus = make.customer(card="pm_card_chargeCustomerFail")
    pm = client.v1.payment_methods.retrieve(cus.invoice_settings.default_payment_method)
    assert pm.card.last4 == "0341" and pm.customer == cus.id


def test_customer_with_source_token(client):
    cus = client.v1.customers.create(params={"source": "tok_visa"})
    assert cus.default_source


def test_events_list_filters(client, make):
    make.customer()
    make.price()
    types = [e.type for e in make.events()]
    assert "customer.created" in types and "price.created" in types and "product.created" in types
    only = client.v1.events.list(params={"type": "customer.created"}).data
    assert only and all(e.type == "customer.created" for e in only)
    multi = client.v1.events.list(params={"types": ["price.created", "product.created"]}).data
    assert {e.type for e in multi} == {"price.created", "product.created"}
    ev = client.v1.events.retrieve(only[0].id)
    assert ev.api_version == "2026-10-28.endive" and ev.object == "event" and ev.livemode is False
    assert ev.data.object.object == "customer"
    assert ev.request.id.startswith("req_")
    newer = client.v1.events.list(params={"created": {"gte": ev.created}}).data
    assert ev.id in [e.id for e in newer]
    none = client.v1.events.list(params={"created": {"gt": ev.created + 3600}}).data
    assert none == []


def test_updated_event_has_previous_attributes(client, make):
    cus = make.customer(email="old@example.com")
    client.v1.customers.update(cus.id, params={"email": "new@example.com"})
    ev = client.v1.events.list(params={"type": "customer.updated"}).data[0]
    assert ev.data.object.email == "new@example.com"
    assert ev.data.previous_attributes.email == "old@example.com"


def test_webhook_endpoint_crud(client):
    ep = client.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/x", "enabled_events": ["*"], "description": "d", "metadata": {"a": "b"}}
    )
    assert ep.secret.startswith("whsec_")
    got = client.v1.webhook_endpoints.retrieve(ep.id)
    assert "secret" not in got
    upd = client.v1.webhook_endpoints.update(ep.id, params={"enabled_events": ["customer.created"]})
    assert upd.enabled_events == ["customer.created"]
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [ep.id]
    assert client.v1.webhook_endpoints.delete(ep.id).deleted is True


def test_reset_clears_everything(emulator, client, make):
    make.customer()
    client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/x", "enabled_events": ["*"]})
    emulator.reset()
    assert client.v1.customers.list().data == []
    assert client.v1.webhook_endpoints.list().data == []
    assert client.v1.events.list().data == []


def test_control_endpoints(emulator):
    assert emulator.health()["status"] == "ok"
    cfg = emulator.configure(chaos_delay=0.5)
    assert cfg["chaos_delay"] == 0.5 and cfg["chaos_duplicate"] is False
    assert emulator.config()["chaos_delay"] == 0.5
    emulator.reset()
    assert emulator.config()["chaos_delay"] == 0.0
    assert emulator.wait_for_deliveries(1) is True
    assert emulator.deliveries() == []
