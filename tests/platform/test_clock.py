"""The platform clock (saas_platform/clock.py): one present for every process, movable where tests run,
the wall clock (and immovable) where it is not adjustable."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from saas_platform import clock

ROOT = Path(__file__).resolve().parents[2]


def _close(a: datetime, b: datetime, seconds: float = 5) -> bool:
    return abs((a - b).total_seconds()) < seconds


def _now_in_another_process(settings) -> datetime:
    """clock.now() as a separate Django process (a worker, beat, the web) reads it."""
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="saas_platform.settings.test", REDIS_CACHE_URL=settings.REDIS_CACHE_URL
    )
    code = "from saas_platform import clock; print(clock.now().isoformat())"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return datetime.fromisoformat(result.stdout.strip().splitlines()[-1])


def test_a_moved_clock_is_the_present_of_every_process(settings):
    target = timezone.now() + timedelta(days=10, hours=3)
    clock.travel_to(target)
    assert _close(clock.now(), target)
    assert _close(_now_in_another_process(settings), target, seconds=30)  # time keeps flowing meanwhile


def test_advance_moves_from_the_current_present_and_reset_returns_to_the_wall_clock():
    clock.advance(timedelta(days=3))
    clock.advance(timedelta(days=-1))
    assert _close(clock.now(), timezone.now() + timedelta(days=2))
    clock.reset()
    assert clock.offset() == timedelta(0)
    assert _close(clock.now(), timezone.now(), seconds=1)


def test_a_clock_that_is_not_adjustable_ignores_a_stored_offset_and_cannot_be_moved(settings):
    clock.travel_to(timezone.now() + timedelta(days=30))  # as a test process could leave it
    settings.PLATFORM_CLOCK_ADJUSTABLE = False  # production
    assert _close(clock.now(), timezone.now(), seconds=1)
    with pytest.raises(RuntimeError, match="not adjustable"):
        clock.travel_to(timezone.now() + timedelta(days=1))
