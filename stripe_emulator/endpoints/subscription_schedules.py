"""Subscription schedules (``/v1/subscription_schedules``); the lifecycle is ``schedules.py``."""

from .. import schedules, stored_objects
from ..resources import filter_by, filter_by_created, p_bool, paginate
from ..routing import handles


def _schedule(app, schedule_id):
    return stored_objects.get_or_404(app, "subscription_schedules", schedule_id, "subscription_schedule")


@handles("POST /v1/subscription_schedules")
def schedule_create(app, request, params):
    return schedules.render(schedules.create_schedule(app, params))


@handles("GET /v1/subscription_schedules/{schedule}")
def schedule_retrieve(app, request, params, schedule_id):
    return schedules.render(_schedule(app, schedule_id))


@handles("POST /v1/subscription_schedules/{schedule}")
def schedule_update(app, request, params, schedule_id):
    return schedules.render(schedules.update_schedule(app, _schedule(app, schedule_id), params))


@handles("POST /v1/subscription_schedules/{schedule}/cancel")
def schedule_cancel(app, request, params, schedule_id):
    return schedules.render(schedules.cancel_schedule(app, _schedule(app, schedule_id), params))


@handles("POST /v1/subscription_schedules/{schedule}/release")
def schedule_release(app, request, params, schedule_id):
    return schedules.render(schedules.release_schedule(app, _schedule(app, schedule_id), params))


@handles("GET /v1/subscription_schedules")
def schedule_list(app, request, params):
    items = filter_by(app.state.all("subscription_schedules"), params, "customer")
    if "scheduled" in params:
        wanted = p_bool(params, "scheduled")
        items = [s for s in items if (s["status"] == "not_started") == wanted]
    for key in ("created", "canceled_at", "completed_at", "released_at"):
        items = filter_by_created(items, params, key)
    return paginate([schedules.render(s) for s in items], params, "/v1/subscription_schedules")
