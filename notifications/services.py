"""Owing and sending e-mails through the outbox, each exactly once in all but one documented case.

A cause (a webhook event, an invitation, later a dunning step) records the e-mail it owes with
`notification_owe`, inside its own transaction; a task sends it after commit, and a beat sweep sends
whatever is still owed a minute later (the broker was down, the task was lost).

Sending claims the row in its own committed transaction *before* handing the message to the mail
server, and marks it sent afterwards. An error from the mail server releases the claim, so the
retry (or the sweep) sends it. A worker killed between the claim and the mark leaves the row
claimed ("in doubt"): it is never sent again on its own, because in the common case (killed after
the server accepted the message) that would be a second e-mail. The remaining window is a kill
after the claim and before the server accepted the message: that e-mail is lost until an operator
sends it again from the admin (the in-doubt filter), and `notifications_in_doubt` counts them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from saas_platform.dispatch import publish, publish_on_commit

from notifications.models import Notification

logger = logging.getLogger(__name__)


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
    from notifications.tasks import send_notification

    publish_on_commit(send_notification, notification.pk, waits_for="the outbox sweep")
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


def notification_send(*, notification_id: int) -> bool:
    """Send one owed e-mail; False when it is sent, being sent, or in doubt already."""
    notification = _claim(notification_id)
    if notification is None:
        return False
    try:
        message = KINDS[notification.kind](notification)
        if message.to:
            EmailMessage(message.subject, message.body, None, message.to).send()
    except Exception as exc:
        # Nothing reached the mail server (or it refused): owed again, for the retry or the sweep.
        Notification.objects.filter(pk=notification.pk).update(
            claimed_at=None, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    Notification.objects.filter(pk=notification.pk).update(sent_at=timezone.now(), last_error="")
    logger.info("sent %s about %s to %s recipient(s)", notification.kind, notification.subject, len(message.to))
    return True


def notifications_send_owed(*, older_than_seconds: int, limit: int = 500) -> int:
    """Publish a send task for every e-mail owed longer than `older_than_seconds` (the beat sweep)."""
    from notifications.tasks import send_notification

    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    ids = list(
        Notification.objects.filter(sent_at__isnull=True, claimed_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for notification_id in ids:
        publish(send_notification, notification_id, waits_for="the next outbox sweep")
    return len(ids)


def notifications_in_doubt() -> int:
    return Notification.objects.filter(sent_at__isnull=True, claimed_at__isnull=False).count()


def notifications_release(*, notification_ids: list[int]) -> int:
    """Operators: send in-doubt e-mails again (after checking the mail server's log)."""
    from notifications.tasks import send_notification

    count = Notification.objects.filter(pk__in=notification_ids, sent_at__isnull=True).update(claimed_at=None)
    for notification_id in notification_ids:
        publish_on_commit(send_notification, notification_id, waits_for="the outbox sweep")
    return count
