"""The platform's notion of now: the wall clock, which tests (and a developer) can move.

Deadlines the platform keeps itself - when a company's past-due grace started, when a dunning
reminder is due - read `clock.now()`, not `timezone.now()`, so a test can move the platform's present
together with Stripe's (a Stripe test clock) and see what happens days later.

Off (`PLATFORM_CLOCK_ADJUSTABLE`, production): `now()` is `timezone.now()`, nothing is read. On
(tests): the wall clock plus an offset kept in Redis (the cache's database, one plain key outside the
cache's per-schema key scheme), so the web process, every worker and beat share one present. Moving it
(`travel_to`, `advance`) moves it everywhere; `reset()` (and flushing the cache) returns to the wall
clock. Time keeps flowing after a move, so leases and timeouts still behave.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.utils import timezone

OFFSET_KEY = "saas_platform:clock:offset_seconds"


@functools.lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _store() -> redis.Redis:
    if not settings.PLATFORM_CLOCK_ADJUSTABLE:
        raise RuntimeError("the platform clock is not adjustable here (PLATFORM_CLOCK_ADJUSTABLE is off)")
    return _redis(settings.REDIS_CACHE_URL)


def offset() -> timedelta:
    """How far the platform's present is from the wall clock (zero when the clock is not adjustable)."""
    if not settings.PLATFORM_CLOCK_ADJUSTABLE:
        return timedelta(0)
    raw = _store().get(OFFSET_KEY)
    return timedelta(seconds=float(raw)) if raw else timedelta(0)


def now() -> datetime:
    """The platform's present (aware, UTC)."""
    return timezone.now() + offset()


def travel_to(moment: datetime) -> None:
    """From now on, everywhere, the platform's present is `moment` (and keeps flowing from there)."""
    _store().set(OFFSET_KEY, repr((moment - timezone.now()).total_seconds()))


def advance(delta: timedelta) -> None:
    """Move the platform's present by `delta` (forward or back)."""
    travel_to(now() + delta)


def reset() -> None:
    """Back to the wall clock."""
    _store().delete(OFFSET_KEY)
