"""Subscription schedules (what the Stripe CLI's subscription_schedule.* triggers need, and their events):
phases, test clocks, completion, cancelling, releasing.  Through the real stripe library."""

import pytest
import stripe

from tests.emulator.test_payments import types

DAY = 86400
JAN_1_2030 = 1893456000


def schedule(client, customer, *phases, **params):
    return client.v1.subscription_schedules.create(params={"customer": customer.id, "phases": list(phases), **params})


def phase(price, quantity=1, **params):
    return {"items": [{"price": price.id, "quantity": quantity}], **params}


def test_schedule_starting_now_creates_its_subscription(client, make):
    customer = make.customer(card="pm_card_visa")
    price = make.price(amount=1500)
    created = schedule(client, customer, phase(price), start_date="now", metadata={"plan": "intro"})
    assert created.status == "active" and created.subscription
    sub = client.v1.subscriptions.retrieve(created.subscription)
    assert (sub.status, sub.schedule, sub["items"].data[0].quantity) == ("active", created.id, 1)
    start = created.phases[0].start_date
    assert created.current_phase.to_dict() == {"start_date": start, "end_date": created.phases[0].end_date}
    assert 28 * DAY <= created.phases[0].end_date - start <= 31 * DAY  # one monthly period by default
    assert types(make)[-1] == "subscription_schedule.created"
    assert make.events("customer.subscription.created")[0].data.object.schedule == created.id


def test_phases_change_the_subscription_at_their_boundary(client, make):
    clock = make.clock(1577836800)  # 2020-01-01
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    price = make.price(amount=1500)
    created = schedule(
        client, customer, phase(price, duration={"interval": "month"}), phase(price, 2, duration={"interval": "month"})
    )
    assert [p.end_date for p in created.phases] == [1580515200, 1583020800]
    make.advance(clock, 1580515200)
    sub = client.v1.subscriptions.retrieve(created.subscription, params={"expand": ["latest_invoice"]})
    assert sub["items"].data[0].quantity == 2 and sub.latest_invoice.amount_due == 3000
    updated = make.events("subscription_schedule.updated")[0]
    assert updated.data.object.current_phase.start_date == 1580515200
    assert client.v1.invoice_items.list(params={"customer": customer.id}).data == []  # no prorations at the boundary


def test_release_end_behavior_completes_and_leaves_the_subscription_running(client, make):
    clock = make.clock(1577836800)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    created = schedule(client, customer, phase(make.price(), end_date=1580515200), start_date=1577836800)
    make.advance(clock, 1580515200)
    done = client.v1.subscription_schedules.retrieve(created.id)
    assert (done.status, done.completed_at, done.current_phase) == ("completed", 1580515200, None)
    sub = client.v1.subscriptions.retrieve(created.subscription)
    assert sub.status == "active" and sub.schedule is None
    assert "subscription_schedule.completed" in types(make)


def test_cancel_end_behavior_cancels_the_subscription_when_the_last_phase_ends(client, make):
    clock = make.clock(1577836800)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    created = schedule(client, customer, phase(make.price(), end_date=1580256000), end_behavior="cancel")
    assert client.v1.subscriptions.retrieve(created.subscription).cancel_at == 1580256000
    make.advance(clock, 1580256000)
    assert client.v1.subscriptions.retrieve(created.subscription).status == "canceled"
    assert client.v1.subscription_schedules.retrieve(created.id).status == "completed"
    happened = types(make)
    assert happened.index("customer.subscription.deleted") < happened.index("subscription_schedule.completed")


def test_schedule_expiring_is_sent_seven_days_before_the_end(client, make):
    clock = make.clock(1577836800)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    end = 1580256000
    schedule(client, customer, phase(make.price(), end_date=end), end_behavior="cancel")
    make.advance(clock, end - 7 * DAY - 1)
    assert make.events("subscription_schedule.expiring") == []
    make.advance(clock, end - 7 * DAY)
    assert len(make.events("subscription_schedule.expiring")) == 1


def test_future_schedule_starts_its_subscription_at_its_start_date(client, make):
    clock = make.clock(1577836800)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    created = schedule(client, customer, phase(make.price()), start_date=1577836800 + 10 * DAY)
    assert (created.status, created.subscription) == ("not_started", None)
    make.advance(clock, 1577836800 + 10 * DAY)
    started = client.v1.subscription_schedules.retrieve(created.id)
    assert started.status == "active"
    assert client.v1.subscriptions.retrieve(started.subscription).start_date == 1577836800 + 10 * DAY


def test_canceling_a_schedule_before_it_starts_aborts_it(client, make):
    created = schedule(client, make.customer(card="pm_card_visa"), phase(make.price()), start_date=JAN_1_2030)
    canceled = client.v1.subscription_schedules.cancel(created.id, params={"prorate": False})
    assert (canceled.status, canceled.subscription) == ("canceled", None)
    assert types(make)[-1] == "subscription_schedule.aborted"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscription_schedules.cancel(created.id)


def test_canceling_an_active_schedule_cancels_its_subscription(client, make):
    created = schedule(client, make.customer(card="pm_card_visa"), phase(make.price()), start_date="now")
    canceled = client.v1.subscription_schedules.cancel(created.id)
    assert canceled.status == "canceled"
    assert client.v1.subscriptions.retrieve(created.subscription).status == "canceled"
    assert types(make)[-2:] == ["customer.subscription.deleted", "subscription_schedule.canceled"]


def test_releasing_a_schedule_keeps_the_subscription_without_it(client, make):
    created = schedule(client, make.customer(card="pm_card_visa"), phase(make.price()), end_behavior="cancel")
    released = client.v1.subscription_schedules.release(created.id)
    assert (released.status, released.subscription, released.released_subscription) == (
        "released",
        None,
        created.subscription,
    )
    sub = client.v1.subscriptions.retrieve(created.subscription)
    assert (sub.status, sub.schedule, sub.cancel_at) == ("active", None, None)
    assert types(make)[-1] == "subscription_schedule.released"


def test_canceling_the_subscription_cancels_its_schedule(client, make):
    created = schedule(client, make.customer(card="pm_card_visa"), phase(make.price()))
    client.v1.subscriptions.cancel(created.subscription)
    assert client.v1.subscription_schedules.retrieve(created.id).status == "canceled"
    assert types(make)[-1] == "subscription_schedule.canceled"


def test_updating_an_active_schedule_changes_its_subscription_and_emits_updated(client, make):
    price = make.price(amount=1000)
    created = schedule(client, make.customer(card="pm_card_visa"), phase(price))
    start, end = created.phases[0].start_date, created.phases[0].end_date
    updated = client.v1.subscription_schedules.update(
        created.id,
        params={
            "metadata": {"tier": "team"},
            "proration_behavior": "none",
            "phases": [{"items": [{"price": price.id, "quantity": 3}], "start_date": start, "end_date": end}],
        },
    )
    assert updated.metadata["tier"] == "team" and updated.phases[0].items[0].quantity == 3
    assert client.v1.subscriptions.retrieve(created.subscription)["items"].data[0].quantity == 3
    assert types(make)[-1] == "subscription_schedule.updated"
    listed = client.v1.subscription_schedules.list(params={"customer": created.customer}).data
    assert [s.id for s in listed] == [created.id]


def test_iterations_is_refused_by_the_pinned_version_and_accepted_by_an_older_one(client, make):
    customer, price = make.customer(card="pm_card_visa"), make.price()
    params = {"customer": customer.id, "start_date": "now", "phases": [{**phase(price), "iterations": 2}]}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.subscription_schedules.create(params=params)
    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "phases[0][iterations]")
    older = client.v1.subscription_schedules.create(params=params, options={"stripe_version": "2024-06-20"})
    start = older.phases[0].start_date
    assert older.phases[0].end_date > start + 55 * DAY  # two monthly periods
