"""The event-processing benchmark's baseline: a task that does nothing, on the same worker and queue."""

from celery import shared_task


@shared_task(name="bench.noop")
def noop(event_id: int) -> None:
    return None
