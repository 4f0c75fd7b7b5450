"""The one registry of Stripe event types the platform handles: `@handles("invoice.paid")` on a
handler in webhooks/handlers.py (imported at start-up by webhooks/apps.py) registers it, and
refuses a second handler for the same type. Processing (webhooks/services.py) looks handlers up
here, so it never imports the handlers that call services back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from companies.models import Company
from webhooks.models import WebhookEvent


@dataclass(frozen=True)
class Outcome:
    """What a handler did: the company the event was about (None: ignored, unless `applied`: an event
    about no company, such as a promotion code's, that was applied), and a note for operators."""

    company: Company | None
    note: str = ""
    applied: bool = False


Handler = Callable[[WebhookEvent], Outcome]
HANDLERS: dict[str, Handler] = {}


def handles(*event_types: str):
    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            if event_type in HANDLERS:
                raise ValueError(f"{event_type} already has a handler")
            HANDLERS[event_type] = handler
        return handler

    return register
