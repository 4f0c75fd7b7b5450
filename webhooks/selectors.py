"""Reads of the webhook inbox: which stored events an operator's replay names."""

from __future__ import annotations

from django.db.models import QuerySet

from webhooks.models import WebhookEvent


def events_to_replay(*, event_ids: list[int]) -> QuerySet[WebhookEvent]:
    """The replay rule: the named events except those processed already, in Stripe's order."""
    return (
        WebhookEvent.objects.filter(pk__in=event_ids)
        .exclude(state=WebhookEvent.State.PROCESSED)
        .order_by("created", "pk")
    )


def event_ids(*, stripe_id: str | None = None, failed: bool = False) -> list[int]:
    """The events an operator names: one by Stripe's id, or every failed one."""
    events = WebhookEvent.objects.all()
    if stripe_id is not None:
        events = events.filter(stripe_id=stripe_id)
    if failed:
        events = events.filter(state=WebhookEvent.State.FAILED)
    return list(events.order_by("created", "pk").values_list("pk", flat=True))
