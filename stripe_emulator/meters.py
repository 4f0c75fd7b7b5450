"""Usage billing: billing meters, the meter events reported against them, what
they add up to, and the invoice lines of metered prices.  Every function
expects the state lock to be held.

A meter event is matched to the active meters with its ``event_name`` when it
arrives; per meter, its customer is ``payload[customer_mapping.event_payload_key]``
(default ``stripe_customer_id``) and its value ``payload[value_settings.
event_payload_key]`` (default ``value``, a whole number).  Stripe validates
those asynchronously: the request succeeds and an invalid event is left out of
the aggregates (Stripe then reports it through the v2 thin event
``v1.billing.meter.error_report_triggered``, which the emulator does not emit -
it logs the error code instead).  Only a repeated ``identifier`` (within 24
hours) is refused at once.

Aggregation (``default_aggregation.formula``) over events with
``start <= timestamp < end``: ``sum`` of the values, ``count`` of the events,
``last`` value (latest timestamp).  A metered price bills the meter's usage of
the period just ended at the period's end (in arrears): the renewal invoice has
a line for the closed period with that quantity (a negative sum counts as 0);
the first invoice has the line at quantity 0.  Usage during a trial is not
billed."""

import hashlib
import logging
import re

from .errors import invalid_request
from .resources import now, public
from .store import rand

log = logging.getLogger("stripe_emulator.meters")

IDENTIFIER_WINDOW = 24 * 3600
MAX_PAST = 35 * 86400
MAX_FUTURE = 5 * 60
ADJUSTMENT_WINDOW = 24 * 3600
WHOLE_NUMBER = re.compile(r"^-?\d+$")
WINDOWS = {"hour": 3600, "day": 86400}


# ---------------------------------------------------------------------------
# meters


def build_meter(params, at):
    mapping = params.get("customer_mapping") or {"event_payload_key": "stripe_customer_id", "type": "by_id"}
    return {
        "id": "mtr_test_" + rand(32),
        "object": "billing.meter",
        "created": at,
        "customer_mapping": {"event_payload_key": mapping["event_payload_key"], "type": mapping["type"]},
        "default_aggregation": {"formula": params["default_aggregation"]["formula"]},
        "display_name": params["display_name"],
        "event_name": params["event_name"],
        "event_time_window": params.get("event_time_window"),
        "livemode": False,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "updated": at,
        "value_settings": {"event_payload_key": (params.get("value_settings") or {}).get("event_payload_key", "value")},
    }


def is_metered(price):
    return (price.get("recurring") or {}).get("usage_type") == "metered"


# ---------------------------------------------------------------------------
# meter events


def record_event(app, params, reference_time):
    """Store a meter event (``reference_time``: the customer's clock, for the default timestamp
    and the 35-day / 5-minute window).  Refuses a repeated identifier."""
    identifier = params.get("identifier") or "%s-%s" % (rand(8), rand(12))
    key = "mev:" + identifier
    existing = app.state.get("billing_meter_events", key)
    created = now()
    if existing is not None and created - existing["created"] < IDENTIFIER_WINDOW:
        raise invalid_request("An event already exists with identifier %s." % identifier, param="identifier")
    if existing is not None:  # outside the window: the identifier may be reused; keep the old event
        app.state.delete("billing_meter_events", key)
        existing["id"] = "%s:%d" % (key, existing["created"])
        app.state.put("billing_meter_events", existing)
    event = {
        "id": key,
        "object": "billing.meter_event",
        "created": created,
        "event_name": params["event_name"],
        "identifier": identifier,
        "livemode": False,
        "payload": dict(params["payload"]),
        "timestamp": params.get("timestamp", reference_time),
        "_meters": [],
        "_cancelled": False,
    }
    for meter in app.state.all("billing_meters"):
        if meter["event_name"] != event["event_name"]:
            continue
        error = _event_error(app, meter, event, reference_time)
        if error:
            log.warning("meter event %s not counted for %s: %s", identifier, meter["id"], error)
        else:
            event["_meters"].append(meter["id"])
    if not any(m["event_name"] == event["event_name"] for m in app.state.all("billing_meters")):
        log.warning("meter event %s not counted: no_meter (%s)", identifier, event["event_name"])
    app.state.put("billing_meter_events", event)
    return event


def _event_error(app, meter, event, reference_time):
    """The code Stripe's asynchronous validation would report for ``event`` on ``meter``, or None."""
    payload = event["payload"]
    customer_id = payload.get(meter["customer_mapping"]["event_payload_key"])
    customer = app.state.get("customers", customer_id) if customer_id else None
    value = payload.get(meter["value_settings"]["event_payload_key"])
    checks = (
        (meter["status"] != "active", "archived_meter"),
        (customer_id is None, "meter_event_no_customer_defined"),
        (customer is None or customer.get("deleted"), "meter_event_customer_not_found"),
        (
            meter["default_aggregation"]["formula"] != "count" and not WHOLE_NUMBER.match(str(value or "")),
            "meter_event_invalid_value",
        ),
        (event["timestamp"] < reference_time - MAX_PAST, "timestamp_too_far_in_past"),
        (event["timestamp"] > reference_time + MAX_FUTURE, "timestamp_in_future"),
    )
    return next((code for failed, code in checks if failed), None)


def render_event(event):
    out = public(event)
    out.pop("id")
    return out


def cancel_event(app, event_name, identifier):
    """``billing/meter_event_adjustments`` (``type=cancel``): the event stops counting (within 24 hours)."""
    event = app.state.get("billing_meter_events", "mev:" + (identifier or ""))
    if event is None or event["event_name"] != event_name:
        raise invalid_request(
            "No meter event with identifier %s for event_name %s." % (identifier, event_name),
            code="resource_missing",
            param="cancel[identifier]",
        )
    if now() - event["created"] > ADJUSTMENT_WINDOW:
        raise invalid_request(
            "Meter events can only be cancelled within 24 hours of being received.", param="cancel[identifier]"
        )
    event["_cancelled"] = True
    app.state.dirty = True


# ---------------------------------------------------------------------------
# aggregation


def aggregate(app, meter, customer_id, start, end):
    """The meter's aggregated value for ``customer_id`` over ``[start, end)``."""
    events = [
        event
        for event in app.state.all("billing_meter_events")[::-1]
        if meter["id"] in event["_meters"]
        and not event["_cancelled"]
        and event["payload"].get(meter["customer_mapping"]["event_payload_key"]) == customer_id
        and start <= event["timestamp"] < end
    ]
    formula = meter["default_aggregation"]["formula"]
    if formula == "count":
        return len(events)
    values = [(e["timestamp"], int(e["payload"][meter["value_settings"]["event_payload_key"]])) for e in events]
    if formula == "last":
        return max(values)[1] if values else 0
    return sum(value for _, value in values)


def summaries(app, meter, customer_id, start, end, window):
    """``billing.meter_event_summary`` objects, newest first: one for ``[start, end)``, or one per
    ``hour``/``day`` window that has events."""
    if window is None:
        bounds = [(start, end)]
    else:
        step = WINDOWS[window]
        bounds = [(s, min(s + step, end)) for s in range(start, end, step)][::-1]
    out = []
    for low, high in bounds:
        value = aggregate(app, meter, customer_id, low, high)
        if window is not None and not _has_events(app, meter, customer_id, low, high):
            continue
        digest = hashlib.sha1(("%s|%s|%d|%d" % (meter["id"], customer_id, low, high)).encode()).hexdigest()
        out.append(
            {
                "id": "mtrusg_test_" + digest[:40],
                "object": "billing.meter_event_summary",
                "aggregated_value": value,
                "end_time": high,
                "livemode": False,
                "meter": meter["id"],
                "start_time": low,
            }
        )
    return out


def _has_events(app, meter, customer_id, start, end):
    key = meter["customer_mapping"]["event_payload_key"]
    return any(
        meter["id"] in e["_meters"]
        and not e["_cancelled"]
        and e["payload"].get(key) == customer_id
        and start <= e["timestamp"] < end
        for e in app.state.all("billing_meter_events")
    )


def check_window(name, value, window):
    """start/end times must lie on minute boundaries, or on the grouping window's (hour, UTC day)."""
    step = WINDOWS.get(window, 60)
    if value % step:
        unit = {60: "minute", 3600: "hour", 86400: "day"}[step]
        raise invalid_request("%s must be aligned with %s boundaries." % (name, unit), param=name)


# ---------------------------------------------------------------------------
# invoice lines


def usage_quantity(app, price, customer_id, start, end):
    meter = app.state.get("billing_meters", price["recurring"]["meter"] or "")
    if meter is None:
        return 0
    return max(0, aggregate(app, meter, customer_id, start, end))
