"""Sign-ups racing each other on a real server: eight requests at once for one slug, one e-mail or
one Idempotency-Key give one company and clear answers, never a 500."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from companies.models import Company, User
from companies.services import EMAIL_TAKEN, ONBOARDING_STEPS, SLUG_TAKEN

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 8


@pytest.fixture
def onboarding_started(published):
    """Which companies onboarding was published for (the live server runs in this process). No
    worker runs here, and queued onboarding messages would outlive the test's rows."""
    return lambda: [args[0] for task, args in published if task == ONBOARDING_STEPS]


def _sign_up_at_once(live_server, bodies: list[dict], headers: dict | None = None) -> list[httpx.Response]:
    """POST every body at the same moment, each from its own connection."""
    port = live_server.url.rsplit(":", 1)[1]
    barrier = threading.Barrier(len(bodies))

    def send(body: dict) -> httpx.Response:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Host": f"localhost:{port}", **(headers or {})}, timeout=30
        ) as client:
            barrier.wait(timeout=30)
            return client.post("/api/companies/", json=body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def _body(n: int, **fields) -> dict:
    return {
        "name": f"Racer {n}",
        "slug": f"racer-{n}",
        "admin_email": f"admin{n}@racer.example",
        "admin_password": "a-long-enough-secret",
    } | fields


def _statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(response.status_code for response in responses)


def test_eight_parallel_signups_for_one_slug_give_one_202(live_server, onboarding_started):
    responses = _sign_up_at_once(live_server, [_body(n, slug="one-slug") for n in range(PARALLEL)])

    assert _statuses(responses) == [202] + [400] * (PARALLEL - 1), [r.text for r in responses]
    for response in responses:
        if response.status_code == 400:
            assert response.json() == {
                "code": "invalid",
                "detail": "The request has invalid fields.",
                "errors": {"slug": [SLUG_TAKEN]},
                "error_codes": {"slug": ["slug_taken"]},
            }
    winner = next(r for r in responses if r.status_code == 202)
    company = Company.objects.get(slug="one-slug")
    assert company.pk == winner.json()["id"]
    assert company.memberships.get().user.email == json.loads(winner.request.content)["admin_email"]
    assert User.objects.count() == 1  # the losers' admins were rolled back with their companies
    assert onboarding_started() == [company.pk]


def test_eight_parallel_signups_for_one_admin_email_give_one_202(live_server, onboarding_started):
    responses = _sign_up_at_once(live_server, [_body(n, admin_email="Same@Racer.example") for n in range(PARALLEL)])

    assert _statuses(responses) == [202] + [400] * (PARALLEL - 1), [r.text for r in responses]
    for response in responses:
        if response.status_code == 400:
            assert response.json()["code"] == "invalid"
            assert response.json()["errors"] == {"admin_email": [EMAIL_TAKEN]}
            assert response.json()["error_codes"] == {"admin_email": ["email_taken"]}
    winner = next(r.json() for r in responses if r.status_code == 202)
    assert list(Company.objects.values_list("pk", flat=True)) == [winner["id"]]
    assert list(User.objects.values_list("email", flat=True)) == ["same@racer.example"]
    assert onboarding_started() == [winner["id"]]


def test_eight_parallel_retries_with_one_idempotency_key_return_the_one_company(live_server, onboarding_started):
    responses = _sign_up_at_once(
        live_server, [_body(0, slug="idempotent-racer")] * PARALLEL, headers={"Idempotency-Key": "race-key-1"}
    )

    assert _statuses(responses) == [202] * PARALLEL, [r.text for r in responses]
    company = Company.objects.get()
    assert {response.json()["id"] for response in responses} == {company.pk}
    assert onboarding_started() == [company.pk]
