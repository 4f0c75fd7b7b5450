"""Billing meters (``/v1/billing/meters``), meter events
(``/v1/billing/meter_events``), their cancellation
(``/v1/billing/meter_event_adjustments``) and event summaries
(``/v1/billing/meters/{id}/event_summaries``).  Aggregation and billing of
usage live in ``meters.py``."""

from .. import meters, stored_objects
from ..errors import invalid_request
from ..events import diff_previous, emit
from ..resources import now, paginate, public
from ..routing import handles


def _meter(app, meter_id):
    return stored_objects.get_or_404(app, "billing_meters", meter_id, "billing.meter")


@handles("POST /v1/billing/meters")
def meter_create(app, request, params):
    meter = meters.build_meter(params, now())
    app.state.put("billing_meters", meter)
    emit(app, "billing.meter.created", public(meter))
    return public(meter)


@handles("GET /v1/billing/meters/{id}")
def meter_retrieve(app, request, params, meter_id):
    return public(_meter(app, meter_id))


@handles("POST /v1/billing/meters/{id}")
def meter_update(app, request, params, meter_id):
    """Only ``display_name`` can change."""
    meter = _meter(app, meter_id)
    before = public(meter)
    if "display_name" in params:
        meter["display_name"] = params["display_name"]
    return _changed(app, meter, before, "billing.meter.updated")


def _changed(app, meter, before, event_type):
    after = public(meter)
    previous = diff_previous(before, after)
    if previous:
        meter["updated"] = now()
        after = public(meter)
        app.state.dirty = True
        emit(app, event_type, after, diff_previous(before, after))
    return after


@handles("POST /v1/billing/meters/{id}/deactivate")
def meter_deactivate(app, request, params, meter_id):
    """No more events are accepted for the meter and it cannot be attached to new prices."""
    return _set_status(app, _meter(app, meter_id), "inactive", now(), "billing.meter.deactivated")


@handles("POST /v1/billing/meters/{id}/reactivate")
def meter_reactivate(app, request, params, meter_id):
    return _set_status(app, _meter(app, meter_id), "active", None, "billing.meter.reactivated")


def _set_status(app, meter, status, deactivated_at, event_type):
    before = public(meter)
    if meter["status"] != status:
        meter["status"] = status
        meter["status_transitions"]["deactivated_at"] = deactivated_at
    return _changed(app, meter, before, event_type)


@handles("GET /v1/billing/meters")
def meter_list(app, request, params):
    found = app.state.all("billing_meters")
    if params.get("status"):
        found = [meter for meter in found if meter["status"] == params["status"]]
    return paginate([public(meter) for meter in found], params, "/v1/billing/found")


@handles("POST /v1/billing/meter_events")
def meter_event_create(app, request, params):
    """Recorded at once; the timestamp defaults to the customer's (test clock) time."""
    customer_ids = {
        params["payload"].get(meter["customer_mapping"]["event_payload_key"])
        for meter in app.state.all("billing_meters")
        if meter["event_name"] == params["event_name"]
    } | {params["payload"].get("stripe_customer_id")}
    customers = [app.state.get("customers", cid) for cid in customer_ids if isinstance(cid, str)]
    clock = next((c["test_clock"] for c in customers if c and c.get("test_clock")), None)
    event = meters.record_event(app, params, stored_objects.clock_now(app, clock))
    return meters.render_event(event)


@handles("POST /v1/billing/meter_event_adjustments")
def meter_event_adjustment_create(app, request, params):
    """``type=cancel``: the event named by ``cancel[identifier]`` stops counting."""
    identifier = (params.get("cancel") or {}).get("identifier")
    if not identifier:
        raise invalid_request("Missing required param: cancel[identifier].", "parameter_missing", "cancel[identifier]")
    meters.cancel_event(app, params["event_name"], identifier)
    return {
        "object": "billing.meter_event_adjustment",
        "cancel": {"identifier": identifier},
        "event_name": params["event_name"],
        "livemode": False,
        "status": "complete",
        "type": "cancel",
    }


@handles("GET /v1/billing/meters/{id}/event_summaries")
def meter_event_summary_list(app, request, params, meter_id):
    meter = _meter(app, meter_id)
    stored_objects.live_customer(app, params["customer"])
    window = params.get("value_grouping_window")
    for name in ("start_time", "end_time"):
        meters.check_window(name, params[name], window)
    if params["end_time"] <= params["start_time"]:
        raise invalid_request("end_time must be after start_time.", param="end_time")
    data = meters.summaries(app, meter, params["customer"], params["start_time"], params["end_time"], window)
    return paginate(data, params, "/v1/billing/meters/%s/event_summaries" % meter_id)
