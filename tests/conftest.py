"""Shared fixtures: the template schema, the Stripe emulator, a live server, a real Celery worker."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.plugins.services", "tests.plugins.browser"]


@pytest.fixture(autouse=True)
def _public_schema():
    """Each test starts (and ends) in the public schema, whatever the last request switched to."""
    from django.db import connection

    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached Stripe lookups from one test must not leak into the next
    (the cache is a real Redis database, separate from the broker's)."""
    from django.core.cache import cache

    cache.clear()
    yield
