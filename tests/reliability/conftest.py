"""The private stack (started once per session, only when a fault test asks for it) and the hook that
regenerates docs/reliability.md after the slow run."""

from __future__ import annotations

import pytest

from tests.reliability import report
from tests.reliability.stack import Stack, wait_until

_ran_slow = []


@pytest.fixture(scope="session")
def stack():
    private = Stack("stack")
    try:
        private.start()
        yield private
    finally:
        private.close()


@pytest.fixture(scope="session")
def base_companies(stack):
    """Companies onboarded through the sign-up API before any fault: ensure(n) returns n slugs."""
    made: list[str] = []

    def ensure(count: int) -> list[str]:
        with stack.client() as client:
            for index in range(len(made), count):
                slug = f"base{index}"
                assert stack.signup(client, slug) == 202
                made.append(slug)
        wait_until(
            lambda: all(stack.companies()[s]["status"] == "active" for s in made[:count]),
            120,
            message="the base companies to be onboarded",
        )
        stack.wait_for_inbox(120)
        return made[:count]

    return ensure


def pytest_runtest_setup(item):
    if item.get_closest_marker("slow") is not None:
        _ran_slow.append(item.nodeid)


def pytest_sessionfinish(session, exitstatus):
    # Only the slow run (make reliability) rewrites the document; CI runs keep their rows in var/.
    if _ran_slow:
        report.write_doc()
