"""Time passing (a test clock advanced, the wall clock ticking): every transition of the given
subscriptions (``renewals.py``) and subscription schedules (``schedules.py``) up to a moment, all in
chronological order; a subscription a schedule starts joins in.  The top of the billing lifecycle."""

from . import renewals, schedules


def advance(app, subs, target, subscription_schedules=()):
    """Move ``subs`` and ``subscription_schedules`` forward to time ``target``, processing every transition
    across all of them in chronological order (a subscription a schedule starts joins in)."""
    subs = list(subs)
    for _ in range(100000):
        best = None
        for owner in subs + list(subscription_schedules):
            is_schedule = owner["object"] == "subscription_schedule"
            t = schedules.next_transition(owner) if is_schedule else renewals.next_transition(owner)
            if t and t[0] <= target and (best is None or t[:2] < best[0][:2]):
                best = (t, owner, is_schedule)
        if best is None:
            return
        (at, _prio, kind), owner, is_schedule = best
        if is_schedule:
            started = schedules.apply_transition(app, owner, at, kind)
            if started is not None:
                subs.append(started)
        else:
            renewals.apply_transition(app, owner, at, kind)
