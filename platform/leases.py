"""Leases on work handed to the workers, and the sweep that re-publishes work whose lease ran out.

A row that stands for work (a company's onboarding, a stored event, an owed e-mail) records when
someone last took that work on (`leased_at`): publishing it, a worker starting or finishing a
step, a retry being scheduled (then `leased_at` is when the retry is due). The work is presumed lost
(a killed worker took its messages with it, the broker lost them) once `leased_at` is further in the
past than the lease, and beat's sweep publishes it again.

Why not the broker's own redelivery: kombu's Redis transport restores a dead worker's unacknowledged
messages only after `visibility_timeout`, one value for every queue, which must stay longer than any
task's run time and countdown or those are delivered twice. So recovery lives here, in PostgreSQL,
where the state of the work is, and every task tolerates the duplicates a sweep may create.

A healthy queue longer than the lease is not flooded: each re-publication doubles that item's next
lease (`requeues`), up to RECOVERY_LEASE_MAX_SECONDS, and rows a live worker holds locked are skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from saas_platform.dispatch import dispatch_after_commit


def lease_start_after_requeue(*, requeues: int, lease_seconds: float, now: datetime) -> datetime:
    """`leased_at` for work re-published for the `requeues`-th time: its lease then runs
    lease × 2**requeues from now (capped), so each copy waits twice as long as the last."""
    if lease_seconds <= 0:
        return now
    factor = min(2 ** min(requeues, 30), max(1.0, settings.RECOVERY_LEASE_MAX_SECONDS / lease_seconds))
    return now + timedelta(seconds=lease_seconds * (factor - 1))


def lease_sweep(
    queryset: QuerySet,
    *,
    lease_seconds: float,
    task: str | Sequence[str],
    limit: int,
    leased_field: str = "leased_at",
    requeues_field: str = "requeues",
) -> list[int]:
    """Publish `task(row id)` again (after commit) for the rows of `queryset` whose lease ran out, at
    most `limit`, oldest first; rows locked by a worker still busy with them are skipped. Returns
    their ids. A broker still down leaves them to the next sweep."""
    now = timezone.now()
    with transaction.atomic():
        expired = list(
            queryset.filter(**{f"{leased_field}__lt": now - timedelta(seconds=lease_seconds)})
            .order_by(leased_field)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", requeues_field)[:limit]
        )
        by_requeues: dict[int, list[int]] = defaultdict(list)
        for pk, requeues in expired:
            by_requeues[requeues].append(pk)
        for requeues, ids in by_requeues.items():
            queryset.model.objects.filter(pk__in=ids).update(
                **{
                    leased_field: lease_start_after_requeue(
                        requeues=requeues + 1, lease_seconds=lease_seconds, now=now
                    ),
                    requeues_field: F(requeues_field) + 1,
                }
            )
        ids = [pk for pk, _ in expired]
        for pk in ids:
            dispatch_after_commit(task, pk, waits_for="the next sweep")
    return ids
