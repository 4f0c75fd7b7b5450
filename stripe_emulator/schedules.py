"""Subscription schedules: a subscription's future, as phases.  Every function
expects the state lock to be held.

A schedule is ``not_started`` until its ``start_date``, then ``active``: it
creates the subscription with the first phase's items and, at each phase's
end, gives the subscription the next phase's items.  After the last phase
it is ``completed`` - the subscription is released (``end_behavior=release``,
it carries on by itself) or canceled at that moment (``cancel``; the
subscription's ``cancel_at`` says so from the start).  A phase lasts until
its ``end_date``, for its ``duration``, or (older API versions)
``iterations`` billing periods of its first price; without any, one period.

Events: ``subscription_schedule.created``, ``.updated`` (changes, phase
transitions), ``.expiring`` (7 days before the last phase ends),
``.completed``, ``.released``, ``.canceled`` (an active schedule canceled, or
its subscription canceled) and ``.aborted`` (a schedule canceled before it
started: the Stripe CLI's ``subscription_schedule.aborted`` fixture cancels a
``not_started`` schedule)."""

from . import hooks, stored_objects, subscription_changes, subscriptions
from .errors import invalid, invalid_request, missing
from .events import diff_previous, emit
from .resources import add_interval, merge_metadata, p_bool, p_dict, p_list, p_str, public
from .store import new_id

EXPIRING_LEAD = 7 * 86400
# transitions sort before the subscription's own at the same instant (a phase change precedes the renewal)
PRIORITY = -1
LIVE = ("not_started", "active")


def render(schedule):
    return public(schedule)


# ---------------------------------------------------------------------------
# phases


def build_phases(app, requested, start, param="phases"):
    """Each phase's items, start and end (one after the other from ``start``)."""
    if not requested:
        raise missing(param)
    phases = []
    at = start
    for index, phase in enumerate(requested):
        name = "%s[%d]" % (param, index)
        items = [_phase_item(app, item, "%s[items][%d]" % (name, i)) for i, item in enumerate(p_list(phase, "items"))]
        if not items:
            raise missing(name + "[items]")
        end = _phase_end(app, phase, at, items, name)
        phases.append(_render_phase(phase, items, at, end, app.state.get("prices", items[0]["price"])["currency"]))
        at = end
    return phases


def _phase_item(app, item, name):
    if item.get("price_data"):
        price = subscriptions.inline_price(
            app, item["price_data"], name + "[price_data]", stored_objects.clock_now(app, None)
        )
    elif item.get("price") or item.get("plan"):
        price = subscriptions.resolve_price(app, item.get("price") or item.get("plan"), name + "[price]")
    else:
        raise missing(name + "[price]")
    return {
        "billing_thresholds": None,
        "discounts": [],
        "metadata": merge_metadata({}, item),
        "plan": price["id"],
        "price": price["id"],
        "quantity": int(item.get("quantity") or 1),
        "tax_rates": [],
    }


def _phase_end(app, phase, start, items, name):
    end_date = phase.get("end_date")
    if isinstance(end_date, int):
        if end_date <= start:
            raise invalid(name + "[end_date]", "The end date of a phase must be after its start date.")
        return end_date
    duration = p_dict(phase, "duration")
    if duration:
        return add_interval(start, duration["interval"], int(duration.get("interval_count") or 1))
    recurring = app.state.get("prices", items[0]["price"])["recurring"]
    iterations = int(phase.get("iterations") or 1)
    return add_interval(start, recurring["interval"], recurring["interval_count"] * iterations)


def _render_phase(phase, items, start, end, currency):
    return {
        "add_invoice_items": [],
        "application_fee_percent": None,
        "billing_cycle_anchor": None,
        "billing_thresholds": None,
        "collection_method": p_str(phase, "collection_method"),
        "currency": currency,
        "default_payment_method": p_str(phase, "default_payment_method"),
        "default_tax_rates": [],
        "description": p_str(phase, "description"),
        "discounts": [],
        "end_date": end,
        "invoice_settings": None,
        "items": items,
        "metadata": merge_metadata({}, phase),
        "on_behalf_of": None,
        "proration_behavior": p_str(phase, "proration_behavior", "create_prorations"),
        "start_date": start,
        "transfer_data": None,
        "trial_end": None,
    }


def _phase_at(schedule, at):
    for index, phase in enumerate(schedule["phases"]):
        if phase["start_date"] <= at < phase["end_date"]:
            return index
    return None


# ---------------------------------------------------------------------------
# creating


def create_schedule(app, params):
    if p_str(params, "from_subscription"):
        return _from_subscription(app, params)
    customer = stored_objects.live_customer(app, p_str(params, "customer", required=True))
    now = stored_objects.customer_now(app, customer)
    start = now if params.get("start_date") in (None, "now") else params["start_date"]
    schedule = _new_schedule(customer, params, now)
    schedule["phases"] = build_phases(app, p_list(params, "phases"), start)
    app.state.put("subscription_schedules", schedule)
    if start <= now:
        _start(app, schedule, now)
    emit(app, "subscription_schedule.created", render(schedule))
    return schedule


def _new_schedule(customer, params, now):
    settings = p_dict(params, "default_settings")
    return {
        "id": new_id("sub_sched_"),
        "object": "subscription_schedule",
        "application": None,
        "billing_mode": {"flexible": {"proration_discounts": "included"}, "type": "flexible", "updated_at": now},
        "canceled_at": None,
        "completed_at": None,
        "created": now,
        "current_phase": None,
        "customer": customer["id"],
        "customer_account": None,
        "default_settings": {
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": "automatic",
            "billing_thresholds": None,
            "collection_method": p_str(settings, "collection_method", "charge_automatically"),
            "default_payment_method": p_str(settings, "default_payment_method"),
            "description": p_str(settings, "description"),
            "invoice_settings": {"account_tax_ids": None, "days_until_due": None, "issuer": {"type": "self"}},
            "on_behalf_of": None,
            "transfer_data": None,
        },
        "end_behavior": p_str(params, "end_behavior", "release"),
        "livemode": False,
        "metadata": merge_metadata({}, params),
        "phases": [],
        "released_at": None,
        "released_subscription": None,
        "status": "not_started",
        "subscription": None,
        "test_clock": customer.get("test_clock"),
        "_expiring_sent": False,
    }


def _from_subscription(app, params):
    """A schedule for an existing subscription: one phase, its current items and period."""
    for key in ("customer", "phases", "start_date", "end_behavior"):
        if key in params:
            raise invalid_request("You cannot set '%s' if 'from_subscription' is set." % key, param=key)
    sub = stored_objects.get_or_404(
        app, "subscriptions", params["from_subscription"], "subscription", "from_subscription"
    )
    if sub.get("schedule"):
        raise invalid_request(
            "Subscription %s is already managed by the subscription schedule %s." % (sub["id"], sub["schedule"]),
            param="from_subscription",
        )
    customer = app.state.get("customers", sub["customer"])
    schedule = _new_schedule(customer, params, stored_objects.customer_now(app, customer))
    items = [{"price": item["price"], "quantity": item["quantity"]} for item in sub["_items"]]
    start, end = sub["_items"][0]["current_period_start"], stored_objects.period_end(sub)
    schedule["phases"] = build_phases(app, [{"items": items, "end_date": end}], start)
    schedule.update(status="active", subscription=sub["id"], current_phase={"end_date": end, "start_date": start})
    app.state.put("subscription_schedules", schedule)
    before = stored_objects.render_subscription(app, sub)
    sub["schedule"] = schedule["id"]
    stored_objects.subscription_changed(app, sub, before)
    emit(app, "subscription_schedule.created", render(schedule))
    return schedule


def _start(app, schedule, at):
    """The first phase begins: the subscription is created (billing from now)."""
    phase = schedule["phases"][0]
    settings = schedule["default_settings"]
    params = {
        "customer": schedule["customer"],
        "items": [{"price": item["price"], "quantity": item["quantity"]} for item in phase["items"]],
        "collection_method": phase["collection_method"] or settings["collection_method"],
    }
    payment_method = phase["default_payment_method"] or settings["default_payment_method"]
    if payment_method:
        params["default_payment_method"] = payment_method
    if schedule["end_behavior"] == "cancel":
        params["cancel_at"] = schedule["phases"][-1]["end_date"]
    customer = app.state.get("customers", schedule["customer"])
    sub = subscriptions.create_subscription(app, params, cus=customer, now=at, schedule_id=schedule["id"])
    schedule.update(
        status="active",
        subscription=sub["id"],
        current_phase={"end_date": phase["end_date"], "start_date": phase["start_date"]},
    )
    app.state.dirty = True
    return sub


# ---------------------------------------------------------------------------
# time passing (test clocks and the wall clock)


def next_transition(schedule):
    """(time, priority, kind) of the schedule's next step, or None."""
    if schedule["status"] == "not_started":
        return (schedule["phases"][0]["start_date"], PRIORITY, "start")
    if schedule["status"] != "active" or schedule["current_phase"] is None:
        return None
    candidates = [(schedule["current_phase"]["end_date"], PRIORITY, "phase_end")]
    expiring_at = schedule["phases"][-1]["end_date"] - EXPIRING_LEAD
    if not schedule["_expiring_sent"] and expiring_at > schedule["created"]:
        candidates.append((expiring_at, PRIORITY, "expiring"))
    return min(candidates)


def apply_transition(app, schedule, at, kind):
    """Take the step; returns a subscription the step created (None otherwise)."""
    if kind == "start":
        before = render(schedule)
        sub = _start(app, schedule, at)
        emit(app, "subscription_schedule.updated", render(schedule), diff_previous(before, render(schedule)))
        return sub
    if kind == "expiring":
        schedule["_expiring_sent"] = True
        app.state.dirty = True
        emit(app, "subscription_schedule.expiring", render(schedule))
        return None
    index = _phase_at(schedule, at)
    if index is None:
        _complete(app, schedule, at)
    else:
        _enter_phase(app, schedule, index, at)
    return None


def _enter_phase(app, schedule, index, at):
    phase = schedule["phases"][index]
    before = render(schedule)
    sub = app.state.get("subscriptions", schedule["subscription"] or "")
    if sub is not None and sub["status"] not in subscription_changes.ENDED:
        aligned = all(item["current_period_end"] == at for item in sub["_items"])
        behavior = "none" if aligned else phase["proration_behavior"]
        subscription_changes.update_subscription(
            app, sub, {"items": _item_changes(sub, phase), "proration_behavior": behavior}
        )
    schedule["current_phase"] = {"end_date": phase["end_date"], "start_date": phase["start_date"]}
    app.state.dirty = True
    emit(app, "subscription_schedule.updated", render(schedule), diff_previous(before, render(schedule)))


def _item_changes(sub, phase):
    """``items[]`` turning the subscription's items into the phase's (same price: same item, new quantity)."""
    current = {item["price"]: item for item in sub["_items"]}
    requested = []
    for item in phase["items"]:
        existing = current.pop(item["price"], None)
        if existing is not None:
            requested.append({"id": existing["id"], "quantity": item["quantity"]})
        else:
            requested.append({"price": item["price"], "quantity": item["quantity"]})
    requested += [{"id": item["id"], "deleted": True} for item in current.values()]
    return requested


def _complete(app, schedule, at):
    """The last phase ended: release the subscription, or cancel it."""
    schedule.update(status="completed", completed_at=at, current_phase=None)
    sub = app.state.get("subscriptions", schedule["subscription"] or "")
    if sub is not None and schedule["end_behavior"] == "cancel":
        subscriptions.cancel_subscription(app, sub, at)
    elif sub is not None and sub["status"] not in subscription_changes.ENDED:
        before = stored_objects.render_subscription(app, sub)
        sub["schedule"] = None
        stored_objects.subscription_changed(app, sub, before)
    app.state.dirty = True
    emit(app, "subscription_schedule.completed", render(schedule))


@hooks.handler("subscription_canceled")
def subscription_canceled(app, sub, at):
    """A subscription a live schedule manages was canceled: so is the schedule."""
    schedule = app.state.get("subscription_schedules", sub.get("schedule") or "")
    if schedule is None or schedule["status"] not in LIVE:
        return
    schedule.update(status="canceled", canceled_at=at, current_phase=None)
    app.state.dirty = True
    emit(app, "subscription_schedule.canceled", render(schedule))


# ---------------------------------------------------------------------------
# changing, cancelling, releasing


def _now(app, schedule):
    return stored_objects.customer_now(app, app.state.get("customers", schedule["customer"]))


def _refuse_unless_live(schedule, verb):
    if schedule["status"] not in LIVE:
        raise invalid_request(
            "You cannot %s this subscription schedule because it has a status of %s." % (verb, schedule["status"]),
            code="resource_invalid_state",
        )


def update_schedule(app, schedule, params):
    _refuse_unless_live(schedule, "update")
    before = render(schedule)
    if "metadata" in params:
        schedule["metadata"] = merge_metadata(schedule["metadata"], params)
    if params.get("end_behavior"):
        schedule["end_behavior"] = params["end_behavior"]
    if "phases" in params:
        _replace_phases(app, schedule, p_list(params, "phases"), p_str(params, "proration_behavior"))
    after = render(schedule)
    previous = diff_previous(before, after)
    if previous:
        app.state.dirty = True
        emit(app, "subscription_schedule.updated", after, previous)
    return schedule


def _replace_phases(app, schedule, requested, proration_behavior):
    now = _now(app, schedule)
    first = requested[0] if requested else {}
    start = first.get("start_date", schedule["phases"][0]["start_date"])
    schedule["phases"] = build_phases(app, requested, now if start == "now" else start)
    sub = app.state.get("subscriptions", schedule["subscription"] or "")
    if schedule["status"] != "active" or sub is None or sub["status"] in subscription_changes.ENDED:
        return
    index = _phase_at(schedule, now)
    if index is None:
        raise invalid("phases", "The phases must cover the current time of an active schedule.")
    phase = schedule["phases"][index]
    schedule["current_phase"] = {"end_date": phase["end_date"], "start_date": phase["start_date"]}
    update = {"items": _item_changes(sub, phase), "proration_behavior": proration_behavior or "create_prorations"}
    if schedule["end_behavior"] == "cancel":
        update["cancel_at"] = schedule["phases"][-1]["end_date"]
    subscription_changes.update_subscription(app, sub, update)


def cancel_schedule(app, schedule, params):
    """Before it started: ``aborted``; active: its subscription is canceled now (``prorate``, ``invoice_now``)."""
    _refuse_unless_live(schedule, "cancel")
    at = _now(app, schedule)
    started = schedule["status"] == "active"
    schedule.update(status="canceled", canceled_at=at, current_phase=None)
    sub = app.state.get("subscriptions", schedule["subscription"] or "")
    if started and sub is not None and sub["status"] not in subscription_changes.ENDED:
        cancel_params = {key: params[key] for key in ("prorate", "invoice_now") if key in params}
        subscription_changes.cancel_now(app, sub, cancel_params)
    app.state.dirty = True
    emit(app, "subscription_schedule.canceled" if started else "subscription_schedule.aborted", render(schedule))
    return schedule


def release_schedule(app, schedule, params):
    """The subscription carries on without the schedule (its ``cancel_at`` from ``end_behavior=cancel`` is
    removed unless ``preserve_cancel_date``)."""
    _refuse_unless_live(schedule, "release")
    at = _now(app, schedule)
    sub = app.state.get("subscriptions", schedule["subscription"] or "")
    schedule.update(
        status="released",
        released_at=at,
        released_subscription=schedule["subscription"],
        subscription=None,
        current_phase=None,
    )
    if sub is not None and sub["status"] not in subscription_changes.ENDED:
        before = stored_objects.render_subscription(app, sub)
        sub["schedule"] = None
        if schedule["end_behavior"] == "cancel" and not p_bool(params, "preserve_cancel_date", False):
            sub["cancel_at"] = None
        stored_objects.subscription_changed(app, sub, before)
    app.state.dirty = True
    emit(app, "subscription_schedule.released", render(schedule))
    return schedule
