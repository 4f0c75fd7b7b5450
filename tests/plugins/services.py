"""Real services for tests: the Stripe emulator (a subprocess), a Celery worker (a subprocess),
the template schema companies are cloned from, and companies with members."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from saas_platform.processes import ChildProcess
from saas_platform.processes import wait_until as wait_until  # the suite's tests import it from here

ROOT = Path(__file__).resolve().parents[2]
WORKER_MAIL_DIR = ROOT / "var" / "test-worker-mail"


def worker_mail() -> list[str]:
    """The e-mails the test worker has sent, as raw messages."""
    if not WORKER_MAIL_DIR.exists():
        return []
    return [path.read_text() for path in sorted(WORKER_MAIL_DIR.iterdir())]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, plus the migrated template schema new companies are cloned from."""
    from companies.provisioning import template_prepare

    with django_db_blocker.unblock():
        template_prepare()
    yield


@pytest.fixture(scope="session")
def emulator(live_server_url_for_webhooks):
    """One emulator per session, delivering signed webhooks to the live server."""
    from stripe_emulator.testing import EmulatorProcess

    process = EmulatorProcess(extra_args=["--retry-delays", "0.2,0.5,1,2"])
    process.start()
    process.webhook_url = f"{live_server_url_for_webhooks}/stripe/webhooks/"
    yield process
    process.stop()


@pytest.fixture(scope="session")
def live_server_url_for_webhooks(live_server):
    return live_server.url


@pytest.fixture
def stripe_emulator(emulator, settings):
    """The emulator, fresh for this test, and the platform pointed at it."""
    emulator.reset()
    settings.STRIPE_API_BASE = emulator.api_base
    from django.core.cache import cache

    cache.clear()
    yield emulator


@pytest.fixture
def webhook_delivery(stripe_emulator, settings):
    """The emulator delivers every event, signed, to the live server's /stripe/webhooks/."""
    stripe_emulator.register_webhook(stripe_emulator.webhook_url, settings.STRIPE_WEBHOOK_SECRETS[0])
    return stripe_emulator


@pytest.fixture
def catalog(stripe_emulator):
    """The plan catalog synced into the (fresh) emulator."""
    from subscriptions.catalog_sync import catalog_sync

    catalog_sync()
    return stripe_emulator


def _test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def celery_worker_command(node_name: str, concurrency: int = 2) -> list[str]:
    """A real worker on every queue, as docker/start/worker runs it, quiet about its peers."""
    from saas_platform.queues import ALL_QUEUES

    return [
        *(sys.executable, "-m", "celery", "-A", "saas_platform", "worker"),
        *("-Q", ",".join(ALL_QUEUES), "-c", str(concurrency), "-l", "info", "-n", node_name),
        *("--without-mingle", "--without-gossip"),
    ]


class WorkerProcess:
    """The suite's Celery worker, in its own session so its pool children stop with it."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.child: ChildProcess | None = None
        self.log_path = ROOT / "var" / "test-worker.log"

    def start(self) -> None:
        self.log_path.unlink(missing_ok=True)
        self.child = ChildProcess(
            celery_worker_command(f"test-{os.getpid()}@%h"), cwd=ROOT, env=self.env, log_path=self.log_path
        )
        self.child.wait_for_log(b"ready.", timeout=60)

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()


@pytest.fixture(scope="session")
def _celery_worker_session(django_db_setup, emulator, django_db_blocker):
    """A real Celery worker on the test database, the test Redis database and the emulator."""
    from saas_platform.celery import app

    app.control.purge()  # messages a crashed earlier session left behind
    with django_db_blocker.unblock():
        url = _test_database_url()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="saas_platform.settings.test",
        DATABASE_URL=url,
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        STRIPE_API_BASE=emulator.api_base,
        # The worker's e-mails land in files the tests can read.
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(WORKER_MAIL_DIR),
    )
    import shutil

    shutil.rmtree(WORKER_MAIL_DIR, ignore_errors=True)
    worker = WorkerProcess(env)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker_process(transactional_db, _celery_worker_session, emulator):
    """The session's worker for one test; afterwards, deliveries stop and the worker goes idle
    before the test's rows are flushed (a flush racing a busy worker can deadlock)."""
    yield _celery_worker_session
    from saas_platform.celery import app

    emulator.reset()
    inspector = app.control.inspect(timeout=1)

    def idle() -> bool:
        busy = [inspector.active() or {}, inspector.reserved() or {}]
        return all(not tasks for replies in busy for tasks in replies.values())

    wait_until(idle, timeout=30, interval=0.2, message="the worker to go idle")


@pytest.fixture
def onboarded_company(catalog):
    """An active company with a Stripe customer and a trialing subscription in the emulator, made
    by the onboarding services themselves, and its admin (password correct-horse-battery)."""
    from onboarding import services
    from tests.factories import CompanyFactory, MembershipFactory

    def make(**kwargs):
        company = CompanyFactory(**kwargs)
        admin = MembershipFactory(company=company, role="admin").user
        services.company_create_stripe_customer(company_id=company.pk)
        services.company_start_trial(company_id=company.pk)
        company.refresh_from_db()
        return company, admin

    return make


DAY = 86400


def company_on_a_test_clock(emulator, *, card: str | None):
    """A company whose Stripe customer is attached to a test clock (starting now), with `card` as its
    default payment method and its trial started by the onboarding service: (company, admin, clock)."""
    from onboarding import services
    from tests.factories import CompanyFactory, MembershipFactory

    client = emulator.client()
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": int(time.time())})
    company = CompanyFactory()
    admin = MembershipFactory(company=company, role="admin").user
    customer = client.v1.customers.create(
        params={"email": admin.email, "test_clock": clock.id, "metadata": {"company_id": str(company.pk)}}
    )
    if card:
        client.v1.payment_methods.attach(card, params={"customer": customer.id})
        methods = client.v1.customers.payment_methods.list(customer.id).data
        client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": methods[0].id}})
    company.stripe_customer_id = customer.id
    company.save(update_fields=["stripe_customer_id"])
    services.company_start_trial(company_id=company.pk)
    company.refresh_from_db()
    assert company.subscription.status == "trialing"
    return company, admin, clock


def advance_clocks(emulator, clock, days: float) -> int:
    """Move Stripe's test clock `days` on, and the platform's clock (saas_platform/clock.py) to the same
    moment first, so every event of the advance is handled in the new present. Returns the new time."""
    from datetime import UTC, datetime

    from saas_platform import clock as platform_clock

    client = emulator.client()
    target = int(client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time + days * DAY)
    platform_clock.travel_to(datetime.fromtimestamp(target, tz=UTC))
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": target})
    return target


def wait_for_webhooks(emulator, timeout: float = 60) -> None:
    """Until the emulator has delivered everything and the worker has processed every stored event."""
    from webhooks.models import WebhookEvent

    assert emulator.wait_for_deliveries(timeout=timeout), "the emulator did not drain its deliveries"
    try:
        wait_until(
            lambda: not WebhookEvent.objects.filter(state="pending").exists(),
            timeout=timeout,
            message="every stored event to be processed",
        )
    except AssertionError:
        pending = list(
            WebhookEvent.objects.filter(state="pending").values_list("pk", "stripe_id", "type", "received_at")
        )
        raise AssertionError(f"events still pending: {pending[:10]} ({len(pending)} in all)") from None


def stripe_state_of(emulator, company) -> tuple[str, str]:
    """(status, price lookup key) of the company's current subscription as Stripe has it."""
    from subscriptions.services import current_subscription
    from subscriptions.stripe_objects import subscription_read

    listing = emulator.client().v1.subscriptions.list(
        params={"customer": company.stripe_customer_id, "status": "all", "limit": 20}
    )
    current = current_subscription([s.to_dict() for s in listing.data])
    if current is None:
        return ("", "")
    base = subscription_read(current).base_item
    return (current["status"], base.lookup_key if base else "")
