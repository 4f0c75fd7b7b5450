"""Usage billing (issue 14 item 7), through the real stripe library: billing
meters, meter events (idempotent identifiers, Stripe's asynchronous
validation), aggregation (sum, count, last), event summaries, and metered
prices billed in arrears - in the renewal invoice after a test-clock advance
and in create_preview."""

import pytest
import stripe

from stripe_emulator.resources import add_interval

T0 = 1_899_936_000  # a fixed test-clock start on a UTC day boundary: periods and summary windows are known
HOUR, DAY = 3600, 86400


def rejected(call):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        call()
    return exc.value


def meter(client, event_name="api_call", formula="sum", **params):
    params.update(display_name=event_name.title(), event_name=event_name, default_aggregation={"formula": formula})
    return client.v1.billing.meters.create(params=params)


def metered_price(client, meter_id, unit_amount=5, name="API calls"):
    return client.v1.prices.create(
        params={
            "unit_amount": unit_amount,
            "currency": "usd",
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter_id},
            "product_data": {"name": name},
        }
    )


def report(client, customer, value, event_name="api_call", **params):
    payload = {"stripe_customer_id": customer.id, "value": str(value)}
    return client.v1.billing.meter_events.create(params={"event_name": event_name, "payload": payload, **params})


def usage_line(invoice, price):
    [line] = [line for line in invoice.lines.data if line.pricing.price_details.price == price.id]
    return line


def summary(client, meter_id, customer, start, end, **params):
    params.update(customer=customer.id, start_time=start, end_time=end)
    return client.v1.billing.meters.event_summaries.list(meter_id, params=params).data


@pytest.fixture
def metered(client, make):
    """A customer on a test clock at T0 with a 20.00 base price and a 0.05-per-call metered price."""
    clock = make.clock(T0)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    calls = meter(client)
    per_call = metered_price(client, calls.id)
    base = make.price(amount=2000, name="Base")
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": base.id}, {"price": per_call.id}],
            "expand": ["latest_invoice"],
        }
    )
    return clock, customer, calls, per_call, base, sub


def test_a_meter_event_shows_in_the_next_invoice_after_a_test_clock_advance(client, make, metered):
    clock, customer, calls, per_call, base, sub = metered
    period_end = add_interval(T0, "month")
    first = usage_line(sub.latest_invoice, per_call)
    assert (first.quantity, first.amount, sub.latest_invoice.total) == (0, 0, 2000)
    make.advance(clock, T0 + 10 * DAY)
    report(client, customer, 7)
    report(client, customer, 5, timestamp=T0 + 9 * DAY)
    make.advance(clock, period_end + HOUR)
    renewal = client.v1.invoices.list(params={"subscription": sub.id, "limit": 1}).data[0]
    assert renewal.billing_reason == "subscription_cycle" and renewal.status == "paid"
    line = usage_line(renewal, per_call)
    assert (line.quantity, line.amount) == (12, 60)
    assert (line.period.start, line.period.end) == (T0, period_end)  # billed in arrears
    assert usage_line(renewal, base).period.start == period_end  # the base price for the period ahead
    assert renewal.total == 2060 and renewal.amount_paid == 2060
    assert "12 × API calls" in line.description
    report(client, customer, 4)
    make.advance(clock, add_interval(T0, "month", 2) + HOUR)
    third = client.v1.invoices.list(params={"subscription": sub.id, "limit": 1}).data[0]
    assert usage_line(third, per_call).quantity == 4  # only the second period's usage


def test_create_preview_shows_the_usage_so_far(client, make, metered):
    clock, customer, calls, per_call, base, sub = metered
    make.advance(clock, T0 + 3 * DAY)
    report(client, customer, 40)
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    line = usage_line(preview, per_call)
    assert (line.quantity, line.amount, preview.total) == (40, 200, 2200)
    assert line.period.start == T0
    report(client, customer, 2)
    by_customer = client.v1.invoices.create_preview(params={"customer": customer.id})
    assert usage_line(by_customer, per_call).quantity == 42


def test_a_repeated_identifier_is_refused_and_counted_once(client, make, metered):
    clock, customer, calls, per_call, base, sub = metered
    first = report(client, customer, 7, identifier="req-42")
    assert (first.identifier, first.payload.value, first.timestamp) == ("req-42", "7", T0)
    error = rejected(lambda: report(client, customer, 7, identifier="req-42"))
    assert error.http_status == 400 and error.param == "identifier"
    assert "already exists with identifier req-42" in error.user_message
    [total] = summary(client, calls.id, customer, T0, T0 + HOUR)
    assert total.aggregated_value == 7


def test_count_last_and_hourly_summaries(client, make):
    clock = make.clock(T0)
    customer = make.customer(clock=clock.id)
    logins, seats = meter(client, "login", "count"), meter(client, "seats", "last")
    make.advance(clock, T0 + 2 * HOUR)  # timestamps are judged by the customer's clock
    for minute, value in ((5, 3), (70, 9), (75, 4)):
        report(client, customer, value, "login", timestamp=T0 + minute * 60)
        report(client, customer, value, "seats", timestamp=T0 + minute * 60)
    assert summary(client, logins.id, customer, T0, T0 + 2 * HOUR)[0].aggregated_value == 3
    assert summary(client, seats.id, customer, T0, T0 + 2 * HOUR)[0].aggregated_value == 4
    hourly = summary(client, logins.id, customer, T0, T0 + 3 * HOUR, value_grouping_window="hour")
    assert [s.aggregated_value for s in hourly] == [2, 1]  # newest window first
    assert hourly[0].start_time - hourly[1].start_time == HOUR and hourly[0].meter == logins.id
    misaligned = rejected(lambda: summary(client, logins.id, customer, T0 + 1, T0 + HOUR))
    assert misaligned.param == "start_time"
    by_day = rejected(lambda: summary(client, logins.id, customer, T0 + HOUR, T0 + DAY, value_grouping_window="day"))
    assert "day boundaries" in by_day.user_message


def test_invalid_events_are_accepted_but_not_counted_as_stripes_async_validation(client, make):
    clock = make.clock(T0)
    customer = make.customer(clock=clock.id)
    calls = meter(client)
    report(client, customer, "7.5")  # not a whole number
    report(client, customer, 3, timestamp=T0 - 40 * DAY)  # older than 35 days
    report(client, customer, 3, timestamp=T0 + HOUR)  # more than 5 minutes ahead
    client.v1.billing.meter_events.create(
        params={"event_name": "api_call", "payload": {"stripe_customer_id": "cus_nope", "value": "1"}}
    )
    accepted = report(client, customer, 2, "no_such_meter")
    assert accepted.event_name == "no_such_meter"
    report(client, customer, 6)
    [total] = summary(client, calls.id, customer, T0 - 40 * DAY - 60, T0 + 2 * HOUR)
    assert total.aggregated_value == 6


def test_custom_payload_keys_and_cancelled_events(client, make):
    customer = make.customer()
    tokens = meter(
        client,
        "tokens",
        customer_mapping={"type": "by_id", "event_payload_key": "account"},
        value_settings={"event_payload_key": "tokens"},
    )
    payload = {"account": customer.id, "tokens": "120"}
    client.v1.billing.meter_events.create(params={"event_name": "tokens", "payload": payload, "identifier": "a"})
    client.v1.billing.meter_events.create(params={"event_name": "tokens", "payload": payload, "identifier": "b"})
    adjustment = client.v1.billing.meter_event_adjustments.create(
        params={"event_name": "tokens", "type": "cancel", "cancel": {"identifier": "a"}}
    )
    assert (adjustment.type, adjustment.cancel.identifier, adjustment.status) == ("cancel", "a", "complete")
    start = tokens.created - tokens.created % 60
    assert summary(client, tokens.id, customer, start, start + 10 * 60)[0].aggregated_value == 120
    unknown = rejected(
        lambda: client.v1.billing.meter_event_adjustments.create(
            params={"event_name": "tokens", "type": "cancel", "cancel": {"identifier": "zzz"}}
        )
    )
    assert unknown.code == "resource_missing"


def test_meter_lifecycle_emits_events_and_a_deactivated_meter_takes_no_usage(client, make):
    customer = make.customer()
    calls = meter(client, event_time_window="hour")
    assert calls.id.startswith("mtr_") and calls.status == "active" and calls.event_time_window == "hour"
    assert calls.customer_mapping.event_payload_key == "stripe_customer_id"
    assert calls.value_settings.event_payload_key == "value"
    renamed = client.v1.billing.meters.update(calls.id, params={"display_name": "Requests"})
    assert renamed.display_name == "Requests"
    off = client.v1.billing.meters.deactivate(calls.id)
    assert off.status == "inactive" and off.status_transitions.deactivated_at
    report(client, customer, 9)  # not accepted for an inactive meter
    refused = rejected(lambda: metered_price(client, calls.id))
    assert refused.param == "recurring[meter]"
    assert [m.id for m in client.v1.billing.meters.list(params={"status": "inactive"}).data] == [calls.id]
    on = client.v1.billing.meters.reactivate(calls.id)
    assert on.status == "active" and on.status_transitions.deactivated_at is None
    report(client, customer, 2)
    start = calls.created - calls.created % 60
    assert summary(client, calls.id, customer, start, start + 10 * 60)[0].aggregated_value == 2
    types = [e.type for e in make.events()]
    for expected in ("billing.meter.created", "billing.meter.updated", "billing.meter.deactivated"):
        assert expected in types
    assert "billing.meter.reactivated" in types
    assert client.v1.billing.meters.retrieve(calls.id).display_name == "Requests"
    without_meter = rejected(
        lambda: client.v1.prices.create(
            params={
                "unit_amount": 5,
                "currency": "usd",
                "recurring": {"interval": "month", "usage_type": "metered"},
                "product_data": {"name": "Legacy"},
            }
        )
    )
    assert (without_meter.code, without_meter.param) == ("parameter_missing", "recurring[meter]")


def test_usage_during_a_trial_is_not_billed(client, make):
    clock = make.clock(T0)
    customer = make.customer(card="pm_card_visa", clock=clock.id)
    calls = meter(client)
    per_call = metered_price(client, calls.id)
    sub = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": per_call.id}], "trial_period_days": 7}
    )
    report(client, customer, 30)
    make.advance(clock, T0 + 7 * DAY + HOUR)
    report(client, customer, 8)
    after_trial = client.v1.invoices.list(params={"subscription": sub.id, "limit": 1}).data[0]
    assert usage_line(after_trial, per_call).quantity == 0
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id})
    assert usage_line(preview, per_call).quantity == 8
