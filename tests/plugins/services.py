"""Real services for tests: the Stripe emulator (a subprocess), a Celery worker (a subprocess),
the template schema companies are cloned from, and companies with members."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection


ROOT = Path(__file__).resolve().parents[2]


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

    process = EmulatorProcess(
        extra_args=[
            "--webhook-url", f"{live_server_url_for_webhooks}/stripe/webhooks/",
            "--webhook-secret", settings.STRIPE_WEBHOOK_SECRETS[0],
            "--retry-delays", "0.2,0.5,1,2",
        ]
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def live_server_url_for_webhooks(live_server):
    return live_server.url


@pytest.fixture
def stripe_emulator(emulator, settings):
    """The emulator, fresh for this test, and the platform pointed at it."""
    emulator.reset()
    emulator.register_webhook(f"{emulator.webhook_target}", settings.STRIPE_WEBHOOK_SECRETS[0])
    settings.STRIPE_API_BASE = emulator.api_base
    from django.core.cache import cache

    cache.clear()
    yield emulator


@pytest.fixture
def catalog(stripe_emulator):
    """The plan catalog synced into the (fresh) emulator."""
    from subscriptions.catalog_sync import catalog_sync

    catalog_sync()
    return stripe_emulator


def _test_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / "var" / "test-worker.log"

    def start(self) -> None:
        self.log_path.parent.mkdir(exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "saas_platform", "worker",
                "-Q", "onboarding,webhooks,default", "-c", "2", "-l", "info",
                "--without-mingle", "--without-gossip", "-n", f"test-{os.getpid()}@%h",
            ],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited; see {self.log_path}")
            if b"ready." in self.log_path.read_bytes()[-20000:]:
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, emulator, django_db_blocker):
    """A real Celery worker on the test database, the test Redis database and the emulator."""
    from saas_platform.celery import app

    app.control.purge()
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    with django_db_blocker.unblock():
        url = _test_database_url()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="saas_platform.settings.test",
        DATABASE_URL=url,
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        STRIPE_API_BASE=emulator.api_base,
    )
    worker = WorkerProcess(env)
    worker.start()
    yield worker
    worker.stop()


def wait_until(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@pytest.fixture
def onboarded_company(catalog):
    """An active company with a Stripe customer and a trialing subscription in the emulator, made
    by the onboarding services themselves, and its admin (password correct-horse-battery)."""
    from companies import services
    from tests.factories import CompanyFactory, MembershipFactory

    def make(**kwargs):
        company = CompanyFactory(**kwargs)
        admin = MembershipFactory(company=company, role="admin").user
        services.company_create_stripe_customer(company_id=company.pk)
        services.company_start_trial(company_id=company.pk)
        company.refresh_from_db()
        return company, admin

    return make
