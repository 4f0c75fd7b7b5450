"""Publishing Celery tasks from request and service code: after the transaction commits, and never
letting a broker outage turn committed work into an error. Whatever could not be published is
found again by a beat sweep (each caller names its sweep)."""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def publish(task, *args, waits_for: str) -> bool:
    """Send `task(*args)` now; on a broker error log it (naming the sweep that will pick the work up)
    and return False instead of raising."""
    try:
        task.apply_async(args, retry=False)
    except Exception:
        logger.warning("broker unavailable; %s%r waits for %s", task.name, args, waits_for, exc_info=True)
        return False
    return True


def publish_on_commit(task, *args, waits_for: str) -> None:
    """Send `task(*args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(task, *args, waits_for=waits_for))
