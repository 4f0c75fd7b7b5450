"""Debounced work (saas_platform/debounce.py): a burst of requests is one entry, due a window after
the first; deferring only ever moves it later; two sweeps never take one key; Redis being down never
fails the change that asked."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import pytest
from saas_platform.debounce import Debounce

from tests.plugins.services import wait_until

pytestmark = pytest.mark.django_db

WINDOW = 0.5


@pytest.fixture
def debounce(settings):
    settings.TEST_DEBOUNCE_SECONDS = WINDOW
    return Debounce(f"test-{uuid.uuid4().hex}", window_setting="TEST_DEBOUNCE_SECONDS")


def test_a_burst_of_requests_is_one_entry_due_a_window_after_the_first(debounce, django_capture_on_commit_callbacks):
    first = time.time()
    with django_capture_on_commit_callbacks(execute=True):
        debounce.request(7)
    due = debounce.due_at(7)
    assert first + WINDOW <= due <= time.time() + WINDOW
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(19):
            debounce.request(7)
    assert debounce.due_at(7) == due  # later requests do not push the work back
    assert debounce.take_due() == []  # not yet
    assert wait_until(debounce.take_due, timeout=5, interval=0.05) == [7]
    assert debounce.take_due() == [] and debounce.due_at(7) is None


def test_nothing_is_recorded_for_a_change_that_rolled_back(debounce, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                debounce.request(7)
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
    assert debounce.due_at(7) is None


def test_a_request_made_while_the_work_runs_is_served_by_the_next_run(debounce, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        debounce.request(7)
    assert wait_until(debounce.take_due, timeout=5, interval=0.05) == [7]  # the task runs...
    with django_capture_on_commit_callbacks(execute=True):
        debounce.request(7)  # ...and a member joins meanwhile
    assert debounce.due_at(7) is not None
    assert wait_until(debounce.take_due, timeout=5, interval=0.05) == [7]


def test_deferring_moves_the_work_later_never_earlier(debounce, django_capture_on_commit_callbacks):
    later = time.time() + 60
    with django_capture_on_commit_callbacks(execute=True):
        debounce.request(7)
        debounce.defer(7, until=later)
        debounce.defer(7, until=later - 30)  # an earlier deferral does not advance it
        debounce.request(7)  # nor does a new request
        debounce.defer(8, until=later)  # deferring adds work nobody asked for yet
    assert debounce.due_at(7) == pytest.approx(later) and debounce.due_at(8) == pytest.approx(later)


def test_two_sweeps_never_take_the_same_key(debounce, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for key in range(200):
            debounce.defer(key, until=time.time() - 1)  # all due
    taken: list[list[int]] = []
    sweeps = [threading.Thread(target=lambda: taken.append(debounce.take_due(limit=7))) for _ in range(40)]
    for sweep in sweeps:
        sweep.start()
    for sweep in sweeps:
        sweep.join()
    keys = [key for batch in taken for key in batch]
    assert len(keys) == len(set(keys)) == 200


def test_redis_being_down_is_logged_and_never_fails_the_change(
    debounce, settings, caplog, django_capture_on_commit_callbacks
):
    settings.REDIS_CACHE_URL = "redis://127.0.0.1:1/0"
    with caplog.at_level(logging.WARNING, logger="saas_platform.debounce"):
        with django_capture_on_commit_callbacks(execute=True):
            debounce.request(7)
    assert "could not record 7" in caplog.text
