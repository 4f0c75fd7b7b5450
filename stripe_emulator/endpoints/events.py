"""Events (``/v1/events``) and webhook endpoints.  Events are recorded by
``events.emit``; delivery is ``delivery.py``'s job."""

from .. import stored_objects
from ..resources import (
    build_webhook_endpoint,
    filter_by_created,
    merge_metadata,
    now,
    p_bool,
    p_list,
    p_str,
    paginate,
    public,
    render_webhook_endpoint,
)
from ..routing import handles


def type_matches(pattern, event_type):
    """``customer.*`` matches every customer event."""
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


@handles("GET /v1/events/{id}")
def event_retrieve(app, request, params, event_id):
    return public(stored_objects.get_or_404(app, "events", event_id, "event"))


@handles("GET /v1/events")
def event_list(app, request, params):
    items = app.state.all("events")
    if p_str(params, "type"):
        items = [e for e in items if type_matches(params["type"], e["type"])]
    types = p_list(params, "types")
    if types:
        items = [e for e in items if any(type_matches(t, e["type"]) for t in types)]
    items = filter_by_created(items, params)
    return paginate([public(e) for e in items], params, "/v1/events")


@handles("POST /v1/webhook_endpoints")
def webhook_endpoint_create(app, request, params):
    endpoint = build_webhook_endpoint(params, now())
    app.state.put("webhook_endpoints", endpoint)
    return render_webhook_endpoint(endpoint, include_secret=True)


@handles("GET /v1/webhook_endpoints/{webhook_endpoint}")
def webhook_endpoint_retrieve(app, request, params, endpoint_id):
    return render_webhook_endpoint(stored_objects.get_or_404(app, "webhook_endpoints", endpoint_id, "webhook endpoint"))


@handles("POST /v1/webhook_endpoints/{webhook_endpoint}")
def webhook_endpoint_update(app, request, params, endpoint_id):
    endpoint = stored_objects.get_or_404(app, "webhook_endpoints", endpoint_id, "webhook endpoint")
    if "url" in params:
        endpoint["url"] = p_str(params, "url", required=True)
    if "enabled_events" in params:
        endpoint["enabled_events"] = p_list(params, "enabled_events")
    if "description" in params:
        endpoint["description"] = p_str(params, "description")
    if "disabled" in params:
        endpoint["status"] = "disabled" if p_bool(params, "disabled") else "enabled"
    if "metadata" in params:
        endpoint["metadata"] = merge_metadata(endpoint["metadata"], params)
    app.state.dirty = True
    return render_webhook_endpoint(endpoint)


@handles("DELETE /v1/webhook_endpoints/{webhook_endpoint}")
def webhook_endpoint_delete(app, request, params, endpoint_id):
    stored_objects.get_or_404(app, "webhook_endpoints", endpoint_id, "webhook endpoint")
    app.state.delete("webhook_endpoints", endpoint_id)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


@handles("GET /v1/webhook_endpoints")
def webhook_endpoint_list(app, request, params):
    endpoints = [render_webhook_endpoint(e) for e in app.state.all("webhook_endpoints")]
    return paginate(endpoints, params, "/v1/webhook_endpoints")
