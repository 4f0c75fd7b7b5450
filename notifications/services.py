"""Owing and sending e-mails through the outbox: each exactly once, but for two narrow documented windows.

A cause (a webhook handler, an invitation, later a dunning step) records the e-mail it owes with
`notification_owe`, inside its own transaction, keyed by (subject, kind): owed once however often
the cause is replayed. A task sends it after commit. Its lease (saas_platform/leases.py) starts
when it is owed; beat's sweep (`notifications.send_owed`, every 30 s) publishes the task again for
every e-mail still owed once the lease (NOTIFICATION_LEASE_SECONDS, 60 s) ran out: the broker was
down at commit, or the message was lost.

Sending claims the row in its own committed transaction *before* handing the message to the mail
server, and marks it sent afterwards:

* owed -> claimed -> sent. Only an owed row can be claimed (row lock, SKIP LOCKED), so the task,
  its retries, duplicate messages and the sweep never send one e-mail twice.
* An error from the mail server (connection refused, a 4xx/5xx reply) releases the claim: the row
  is owed again, and the task's retry (or the sweep) sends it.
* A worker killed between the claim and the mark leaves the row claimed: "in doubt". It is never
  sent again on its own, because in the common case (killed after the server accepted the
  message) that would be a second e-mail.

The remaining windows, documented in docs/reliability.md: (1) killed after the claim and before
the server accepted the message: that e-mail is lost until an operator sends it again from the
admin (filter "in doubt"; only rows claimed longer ago than a task may run can be released); (2) the
server accepted the message but the connection failed before its reply reached us: the error
releases the claim and the e-mail goes out twice. Every copy carries the same Message-ID, so mail
stores that de-duplicate on it keep one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from saas_platform.dispatch import dispatch_after_commit
from saas_platform.leases import lease_sweep

from notifications.models import Notification

logger = logging.getLogger(__name__)

SEND_TASK = "notifications.send"  # notifications/tasks.py: send_notification


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    to: list[str]


Renderer = Callable[[Notification], Message]
KINDS: dict[str, Renderer] = {}


def notification_kind(name: str):
    """Register how to write the e-mail of one kind; the app owning the kind registers it at start-up."""

    def register(renderer: Renderer) -> Renderer:
        if name in KINDS:
            raise ValueError(f"notification kind {name!r} is registered twice")
        KINDS[name] = renderer
        return renderer

    return register


def notification_owe(*, subject: str, kind: str, company=None, context: dict | None = None) -> Notification | None:
    """Record that (subject, kind) owes an e-mail and send it after commit. Returns the new row, or
    None when it was owed already (a replayed cause owes nothing more)."""
    if kind not in KINDS:
        raise LookupError(f"unknown notification kind {kind!r}")
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                subject=subject, kind=kind, company=company, context=context or {}
            )
    except IntegrityError:
        return None
    dispatch_after_commit(SEND_TASK, notification.pk, waits_for="the outbox sweep")
    return notification


def _claim(notification_id: int) -> Notification | None:
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, sent_at__isnull=True, claimed_at__isnull=True)
            .first()
        )
        if notification is None:
            return None
        notification.claimed_at = timezone.now()
        notification.attempts += 1
        notification.save(update_fields=["claimed_at", "attempts"])
    return notification


def message_id(notification: Notification) -> str:
    """The same Message-ID for every copy of one e-mail."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or settings.PLATFORM_DOMAIN
    return f"<notification-{notification.pk}@{domain}>"


def notification_send(*, notification_id: int) -> bool:
    """Send one owed e-mail; False when it is sent, being sent, or in doubt already. If the mail
    server fails, the e-mail is owed again (for the task's retry or the sweep) and the error is raised."""
    notification = _claim(notification_id)
    if notification is None:
        return False
    try:
        message = KINDS[notification.kind](notification)
        if message.to:
            EmailMessage(
                message.subject, message.body, None, message.to, headers={"Message-ID": message_id(notification)}
            ).send()
    except Exception as exc:
        # Nothing reached the mail server (or it refused): owed again, for the retry or the sweep.
        Notification.objects.filter(pk=notification.pk).update(
            claimed_at=None,
            leased_at=timezone.now(),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    Notification.objects.filter(pk=notification.pk).update(sent_at=timezone.now(), last_error="")
    logger.info("sent %s about %s to %s recipient(s)", notification.kind, notification.subject, len(message.to))
    return True


def notification_lease_until(*, notification_id: int, retry_in: float) -> None:
    """A retry of an owed e-mail is due in `retry_in` seconds: its lease starts then."""
    Notification.objects.filter(pk=notification_id, sent_at__isnull=True, claimed_at__isnull=True).update(
        leased_at=timezone.now() + timedelta(seconds=retry_in)
    )


def notifications_send_owed(*, lease_seconds: float, limit: int = 500) -> int:
    """Beat: publish a send task for every e-mail still owed after its lease ran out."""
    owed = Notification.objects.filter(sent_at__isnull=True, claimed_at__isnull=True)
    ids = lease_sweep(owed, lease_seconds=lease_seconds, task=SEND_TASK, limit=limit)
    in_doubt = notifications_in_doubt()
    if in_doubt:
        logger.warning("%s e-mail(s) in doubt: see the admin's outbox, filter 'in doubt'", in_doubt)
    return len(ids)


def _in_doubt():
    """Claimed, not sent, and claimed longer ago than any task may run: the sender is gone."""
    cutoff = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    return Notification.objects.filter(sent_at__isnull=True, claimed_at__lt=cutoff)


def notifications_in_doubt() -> int:
    return _in_doubt().count()


def notifications_release(*, notification_ids: list[int]) -> int:
    """Operators: send again the in-doubt e-mails among `notification_ids` (after checking the mail
    server's log) and publish the owed ones now. A row claimed more recently than a task may run may
    still be in a live worker's hands and is left alone."""
    _in_doubt().filter(pk__in=notification_ids).update(claimed_at=None, leased_at=timezone.now(), requeues=0)
    owed = Notification.objects.filter(pk__in=notification_ids, sent_at__isnull=True, claimed_at__isnull=True)
    ids = list(owed.values_list("pk", flat=True))
    for notification_id in ids:
        dispatch_after_commit(SEND_TASK, notification_id, waits_for="the outbox sweep")
    return len(ids)
