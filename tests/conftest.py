"""Shared fixtures: the template schema, the Stripe emulator, a live server, a real Celery worker."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.plugins.services", "tests.plugins.browser"]


# Measured first: its CPU ratios are compared with the committed report, and later the suite keeps a
# Celery worker, the emulator, Chromium and private databases running beside whatever runs next.
FIRST = ("tests/bench/test_harness.py::",)


@pytest.hookimpl(trylast=True)  # after pytest-django has ordered the tests by their database use
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: not item.nodeid.startswith(FIRST))


@pytest.fixture(scope="session", autouse=True)
def _tasks_imported():
    """Every app's tasks imported once, as the web process does at start (saas_platform/wsgi.py).
    Otherwise the first dispatch in a test imports them, and Celery's Django fix-up re-runs
    django.setup() in the middle of that test, which reconfigures logging (a test listening to the
    root logger then hears nothing more: found when the log-leak test ran on its own)."""
    from saas_platform.celery import app

    app.loader.import_default_modules()


@pytest.fixture(autouse=True)
def _public_schema():
    """Each test starts (and ends) in the public schema, whatever the last request switched to."""
    from django.db import connection

    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture
def published(monkeypatch) -> list[tuple[str | tuple[str, ...], tuple]]:
    """What the platform publishes to the broker, as (task name, or the names of a chain, and the
    arguments), recorded instead of sent: no worker sees any of it."""
    sent: list[tuple[str | tuple[str, ...], tuple]] = []

    def record(signature, *, waits_for: str) -> bool:
        steps = getattr(signature, "tasks", None)
        if steps:
            sent.append((tuple(step.task for step in steps), tuple(steps[0].args)))
        else:
            sent.append((signature.task, tuple(signature.args)))
        return True

    monkeypatch.setattr("saas_platform.dispatch.publish", record)
    return sent


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached Stripe lookups from one test must not leak into the next
    (the cache is a real Redis database, separate from the broker's)."""
    from django.core.cache import cache

    cache.clear()
    yield
