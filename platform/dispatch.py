"""Publishing Celery tasks from request, service and task code: after the transaction commits, and
never letting a broker outage turn committed work into an error. Whatever could not be published
(logged here) waits for the lease sweep that owns that kind of work (saas_platform/leases.py).

Tasks are named, not imported ("webhooks.process_event"): a service publishes the task that will call
it back without importing the task's module, so tasks sit above services and no import runs in a
circle. A name no task is registered under raises at once: a typo is a bug, never a lost message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from celery import Signature, chain
from django.db import transaction
from saas_platform.celery import app

logger = logging.getLogger(__name__)
# Web threads may all meet an unimported task at once: one imports the tasks modules while the others
# wait, instead of reading a registry that is half filled (found by the bench's intake under load).
_import_lock = threading.Lock()


def _signature(task: str | Sequence[str], args: tuple) -> Signature:
    """One task, or several run one after the other (a Celery chain), each called with `args`."""
    names = [task] if isinstance(task, str) else list(task)
    if any(name not in app.tasks for name in names):
        # Celery imports the apps' tasks modules when a worker starts; elsewhere (web, commands) on demand.
        with _import_lock:
            app.loader.import_default_modules()
    unknown = [name for name in names if name not in app.tasks]
    if unknown:
        raise LookupError(f"no Celery task named {', '.join(unknown)}")
    steps = [app.signature(name, args=args, immutable=True) for name in names]
    return steps[0] if len(steps) == 1 else chain(*steps)


def publish(signature: Signature, *, waits_for: str) -> bool:
    """Send a signature now; on a broker error log it (naming the sweep that will pick the work up)
    and return False instead of raising. The one place a message leaves for the broker."""
    try:
        signature.apply_async(retry=False)
    except Exception:
        logger.warning("broker unavailable; %r waits for %s", signature, waits_for, exc_info=True)
        return False
    return True


def dispatch_after_commit(task: str | Sequence[str], *args, waits_for: str) -> None:
    """Publish `task(*args)` (several names: a chain) once the current transaction commits, at once
    outside one. `waits_for` names what publishes it again if the broker is down meanwhile."""
    signature = _signature(task, args)
    transaction.on_commit(lambda: publish(signature, waits_for=waits_for))
