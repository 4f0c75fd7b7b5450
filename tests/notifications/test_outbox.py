"""The e-mail outbox sends each owed e-mail once: after a broker outage (the sweep), after a mail
server error (the retry), never again after a worker died between claiming and marking it, and
once however many deliveries of its cause arrive."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from notifications.models import Notification
from notifications.services import (
    _claim,
    notification_send,
    notifications_in_doubt,
    notifications_release,
    notifications_send_owed,
)
from notifications.tasks import send_notification, send_owed
from stripe_emulator.testing import free_port
from tests.factories import WebhookEventFactory
from tests.helpers import broker_unreachable, platform_client, post_event, stripe_event
from tests.plugins.services import wait_until, worker_mail
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process

pytestmark = pytest.mark.django_db(transaction=True)


class MailServer:
    """A real SMTP server (aiosmtpd) that refuses the first `refuse` messages with a 451, as a mail
    server under load does, then accepts."""

    def __init__(self, refuse: int = 0):
        self.refuse = refuse
        self.refused = 0
        self.accepted: list[str] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.refused < self.refuse:
                self.refused += 1
                return "451 4.3.0 Try again later"
            self.accepted.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture
def mail_server(settings):
    """Django's SMTP backend pointed at a real SMTP server on a free port."""
    handler = MailServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield handler
    controller.stop()


def _owed(company) -> Notification:
    """An owed e-mail, written directly: no task is published, so only the test sends it."""
    from tests.factories import NotificationFactory

    return NotificationFactory(subject=f"test:{company.slug}", company=company)


def _company_with_admin():
    from tests.factories import CompanyFactory, MembershipFactory

    company = CompanyFactory()
    return company, MembershipFactory(company=company, role="admin").user


def _ending_trial(emulator, company) -> dict:
    return emulator.client().v1.subscriptions.list(params={"customer": company.stripe_customer_id}).data[0].to_dict()


def test_sweep_sends_an_email_owed_while_the_broker_was_down(
    onboarded_company, stripe_emulator, celery_worker_process, settings
):
    settings.STRIPE_TRIAL_DAYS = 2  # a trial that really ends soon owes its admins an e-mail
    company, admin = onboarded_company()
    row = WebhookEventFactory(
        payload=stripe_event("customer.subscription.trial_will_end", _ending_trial(stripe_emulator, company))
    )
    with broker_unreachable():  # the event commits, publishing its e-mail's task fails
        assert webhook_event_process(event_id=row.pk) == "processed"
    notification = Notification.objects.get(company=company)
    assert notification.state == "owed"

    assert send_owed.apply().get() == 0  # within its lease (60 s) the sweep leaves it alone
    Notification.objects.filter(pk=notification.pk).update(leased_at=timezone.now() - timedelta(seconds=61))
    assert send_owed.apply().get() == 1  # beat's sweep, with the production lease: published
    wait_until(
        lambda: Notification.objects.filter(pk=notification.pk, sent_at__isnull=False).exists(),
        timeout=30,
        message="the worker to send the owed e-mail",
    )
    Notification.objects.filter(pk=notification.pk).update(leased_at=timezone.now() - timedelta(days=1))
    assert send_owed.apply().get() == 0  # sent: never published again
    assert len([m for m in worker_mail() if f"To: {admin.email}" in m]) == 1


def test_mail_server_error_releases_the_claim_and_the_retry_sends_one_email(mail_server):
    company, admin = _company_with_admin()
    notification = _owed(company)
    mail_server.refuse = 1
    with pytest.raises(OSError, match="Try again later"):
        notification_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.state == "owed"  # released: the retry or the sweep will send it
    assert "451" in notification.last_error

    mail_server.refuse = 2  # refuses again once, then accepts: the task's own retry gets it through
    assert send_notification.apply(args=[notification.pk]).get() is True
    assert send_notification.apply(args=[notification.pk]).get() is False  # a duplicate message
    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == ("sent", 3)
    assert len(mail_server.accepted) == 1
    assert f"To: {admin.email}" in mail_server.accepted[0]
    assert f"Message-ID: <notification-{notification.pk}@" in mail_server.accepted[0]


def test_claimed_but_unmarked_email_is_not_sent_again_by_sweep_or_task(settings):
    """A worker killed after claiming (and perhaps sending) an e-mail, before marking it sent."""
    company, _ = _company_with_admin()
    notification = _owed(company)
    assert _claim(notification.pk) is not None  # ...and then the worker was killed
    Notification.objects.filter(pk=notification.pk).update(
        claimed_at=timezone.now() - timedelta(hours=1), leased_at=timezone.now() - timedelta(hours=1)
    )
    assert notifications_send_owed(lease_seconds=settings.NOTIFICATION_LEASE_SECONDS) == 0
    assert send_notification.apply(args=[notification.pk]).get() is False
    assert notification_send(notification_id=notification.pk) is False
    assert mail.outbox == []
    assert notifications_in_doubt() == 1


def test_operator_resends_an_in_doubt_email_only_once_its_sender_is_surely_gone(settings):
    company, admin = _company_with_admin()
    notification = _owed(company)
    _claim(notification.pk)  # a worker is sending it right now, as far as anyone can tell
    assert notifications_release(notification_ids=[notification.pk]) == 0
    assert Notification.objects.get(pk=notification.pk).claimed_at is not None
    # Longer ago than any task may run (CELERY_TASK_TIME_LIMIT): that worker is gone.
    Notification.objects.filter(pk=notification.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    )
    with broker_unreachable():  # only this test sends it, not a session worker an earlier test started
        assert notifications_release(notification_ids=[notification.pk]) == 1
    assert notification_send(notification_id=notification.pk) is True
    assert [m.to for m in mail.outbox] == [[admin.email]]


def test_duplicate_deliveries_owe_one_email(onboarded_company, stripe_emulator, celery_worker_process, settings):
    """Stripe delivering an event twice, and a second event reporting the same trial end, processed
    by two worker processes at once: one e-mail."""
    settings.STRIPE_TRIAL_DAYS = 2
    company, admin = onboarded_company()
    subscription = _ending_trial(stripe_emulator, company)
    event = stripe_event("customer.subscription.trial_will_end", subscription)
    again = stripe_event("customer.subscription.trial_will_end", subscription)
    for delivery in (event, event, again, again):
        assert post_event(platform_client(), delivery).status_code == 200
    wait_until(
        lambda: WebhookEvent.objects.filter(stripe_id__in=[event["id"], again["id"]], state="processed").count() == 2,
        timeout=30,
        message="both events to be processed",
    )
    assert Notification.objects.filter(company=company).count() == 1
    wait_until(
        lambda: Notification.objects.filter(company=company, sent_at__isnull=False).exists(),
        timeout=30,
        message="the e-mail to be sent",
    )
    assert len([m for m in worker_mail() if f"To: {admin.email}" in m]) == 1
