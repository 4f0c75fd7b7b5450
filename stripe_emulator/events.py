"""Event recording: every state change becomes a Stripe ``event`` which is
stored (for ``GET /v1/events``) and queued for webhook delivery."""

import copy
import time

from . import API_VERSION
from .store import new_id


def endpoint_wants(endpoint, event_type):
    if endpoint.get("status") != "enabled":
        return False
    wanted = endpoint.get("enabled_events") or []
    return "*" in wanted or event_type in wanted


def diff_previous(before, after):
    """Top-level ``previous_attributes`` between two rendered snapshots."""
    prev = {}
    for key, old in before.items():
        if after.get(key) != old:
            prev[key] = copy.deepcopy(old)
    for key in after:
        if key not in before:
            prev[key] = None
    return prev


def emit(app, event_type, obj, previous=None):
    """Record an event whose ``data.object`` is a snapshot of ``obj`` (an
    already rendered API object).  Must be called with the state lock held."""
    state = app.state
    ctx = app.request_context()
    endpoints = [ep for ep in state.all("webhook_endpoints") if endpoint_wants(ep, event_type)]
    data = {"object": copy.deepcopy(obj)}
    if previous is not None:
        data["previous_attributes"] = copy.deepcopy(previous)
    event = {
        "id": new_id("evt_"),
        "object": "event",
        "api_version": API_VERSION,
        "context": None,
        "created": int(time.time()),
        "data": data,
        "livemode": False,
        "pending_webhooks": len(endpoints),
        "request": {"id": ctx.get("request_id"), "idempotency_key": ctx.get("idempotency_key")},
        "type": event_type,
    }
    state.put("events", event)
    if endpoints:
        app.delivery.enqueue(event, endpoints)
    return event
