"""Operating the platform: health and readiness, protected metrics that count what goes wrong, the
admin's recovery actions, production settings that refuse unsafe configuration, and log lines that
carry their request and company and never a secret."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from saas_platform.log_context import ContextFilter, JsonFormatter
from saas_platform.processes import free_port, stop_process, wait_until

from companies.models import Company
from companies.services import ONBOARDING_STEPS
from tests.factories import CompanyFactory, UserFactory, WebhookEventFactory
from tests.helpers import company_client, platform_client, post_event, stripe_event
from webhooks.models import WebhookEvent

ROOT = Path(__file__).resolve().parents[2]


# --- /healthz and /readyz -----------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_on_the_platform_host():
    response = platform_client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ready_with_database_broker_and_migrations():
    response = platform_client().get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ready", "problems": []}


@pytest.fixture
def private_redis():
    """A Redis of this test's own (the shared one is never stopped): yields (url, stop)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        assert process.poll() is None, "private redis-server exited"
        try:
            return redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    try:
        wait_until(answers, 10, interval=0.05, message="the private redis-server")
        yield url, lambda: stop_process(process, 10)
    finally:
        stop_process(process, 0)


@pytest.mark.django_db
def test_readyz_reports_the_broker_when_redis_goes_down(settings, private_redis):
    url, stop = private_redis
    settings.CELERY_BROKER_URL = url
    client = platform_client()
    assert client.get("/readyz").status_code == 200  # the same broker, up

    stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert [p for p in body["problems"] if p.startswith("broker")], body
    assert not [p for p in body["problems"] if p.startswith("database")], body


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_broker_without_hanging(settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    response = platform_client().get("/readyz")
    assert response.status_code == 503
    assert any(p.startswith("broker") for p in response.json()["problems"])
    assert time.monotonic() - started < 5


# --- /metrics ------------------------------------------------------------------------------------

METRICS_TOKEN = "ops-metrics-token-0123456789"


@pytest.fixture
def metrics_token(settings, monkeypatch):
    # In-process counters: a multiprocess directory from the developer's shell would hide them.
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings.METRICS_TOKEN = METRICS_TOKEN
    return METRICS_TOKEN


def _scrape(token: str = METRICS_TOKEN) -> str:
    response = platform_client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    return response.content.decode()


def _sample(text: str, name: str, **labels) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


@pytest.mark.django_db
def test_metrics_refuse_requests_without_the_token(metrics_token):
    client = platform_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 403
    ok = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert ok.status_code == 200
    assert "webhooks_rejected_total" in ok.content.decode()


@pytest.mark.django_db
def test_metrics_are_off_without_a_configured_token_in_production_mode(settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert platform_client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_metrics_count_a_webhook_rejected_for_its_signature(metrics_token):
    before = _sample(_scrape(), "webhooks_rejected_total", reason="invalid_signature")
    event = stripe_event("customer.updated", {"id": "cus_ops_rejected", "object": "customer"})
    response = post_event(platform_client(), event, secret="whsec_not_the_configured_secret")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.filter(stripe_id=event["id"]).exists()
    after = _sample(_scrape(), "webhooks_rejected_total", reason="invalid_signature")
    assert after == before + 1


@pytest.mark.django_db
def test_metrics_count_a_duplicate_delivery(metrics_token):
    event = stripe_event("customer.updated", {"id": "cus_ops_duplicate", "object": "customer"})
    client = platform_client()
    first = post_event(client, event)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    before = _sample(_scrape(), "webhooks_duplicates_total")

    second = post_event(client, event)
    assert second.status_code == 200
    assert second.json() == {"received": True, "duplicate": True}
    assert _sample(_scrape(), "webhooks_duplicates_total") == before + 1
    assert WebhookEvent.objects.filter(stripe_id=event["id"]).count() == 1


# --- Admin actions --------------------------------------------------------------------------------


@pytest.fixture
def admin_client():
    user = UserFactory(operator=True, email=f"ops-admin-{time.time_ns()}@example.com")
    return platform_client(user)


def _event(state: str, **fields) -> WebhookEvent:
    payload = stripe_event("invoice.paid", {"id": f"in_ops_{time.time_ns()}", "object": "invoice"})
    return WebhookEventFactory(payload=payload, state=state, **fields)


@pytest.mark.django_db
def test_admin_replay_puts_a_failed_event_back_to_pending_and_enqueues_it_after_commit(
    admin_client, django_capture_on_commit_callbacks, published
):
    failed = _event(WebhookEvent.State.FAILED, attempts=6, last_error="StripeError: boom")
    processed = _event(WebhookEvent.State.PROCESSED, attempts=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            "/admin/webhooks/webhookevent/",
            {"action": "replay", "_selected_action": [failed.pk, processed.pk]},
        )
    assert response.status_code == 302, response.content[:500]
    failed.refresh_from_db()
    processed.refresh_from_db()
    assert failed.state == WebhookEvent.State.PENDING
    assert processed.state == WebhookEvent.State.PROCESSED, "a processed event is never replayed"
    assert len(callbacks) == 1
    assert published == [], "nothing reaches the broker before the commit"
    callbacks[0]()
    assert published == [("webhooks.process_event", (failed.pk,))]


@pytest.mark.django_db
def test_admin_retry_provisioning_restarts_a_failed_company(
    admin_client, django_capture_on_commit_callbacks, published
):
    failed = CompanyFactory(status=Company.Status.FAILED, failure_reason="x")
    active = CompanyFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            "/admin/companies/company/",
            {"action": "retry_provisioning", "_selected_action": [failed.pk, active.pk]},
        )
    assert response.status_code == 302, response.content[:500]
    failed.refresh_from_db()
    active.refresh_from_db()
    assert failed.status == Company.Status.PROVISIONING
    assert failed.failure_reason == ""
    assert active.status == Company.Status.ACTIVE, "an active company is left alone"
    assert len(callbacks) == 1
    assert published == [], "onboarding starts only after the commit"
    callbacks[0]()
    assert published == [(ONBOARDING_STEPS, (failed.pk,))]


@pytest.mark.django_db
def test_admin_is_closed_to_people_who_are_not_staff():
    user = UserFactory(email=f"ops-member-{time.time_ns()}@example.com")
    event = _event(WebhookEvent.State.FAILED)
    response = platform_client(user).post(
        "/admin/webhooks/webhookevent/", {"action": "replay", "_selected_action": [event.pk]}
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.FAILED


# --- Production settings ------------------------------------------------------------------------

GOOD_PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "saas_platform.settings.production",
    "DJANGO_SECRET_KEY": "ops-" + "Zq8#x!Lm2@Vr7$Kw9^" * 4,
    "STRIPE_SECRET_KEY": "sk_test_51OpsAbCdEfGhIjKlMnOpQrStUv",
    "STRIPE_WEBHOOK_SECRET": "whsec_ops_production_check",
    "PLATFORM_DOMAIN": "billing.example.com",
    "METRICS_TOKEN": "ops-metrics",
}


def _run_production(code_or_args, **overrides) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "STRIPE_", "SECURE_"))
        and k not in ("DEBUG", "PLATFORM_DOMAIN", "ALLOWED_HOSTS", "METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR")
    }
    env.update(GOOD_PRODUCTION_ENV)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    args = [sys.executable, "-c", code_or_args] if isinstance(code_or_args, str) else [sys.executable, *code_or_args]
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


SETUP = "import django; django.setup()"


def test_production_settings_start_with_good_values():
    result = _run_production(SETUP + "; from django.conf import settings; assert not settings.DEBUG")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "overrides, complaint",
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"STRIPE_SECRET_KEY": "sk_test_emulator"}, "STRIPE_SECRET_KEY"),
        ({"STRIPE_SECRET_KEY": None}, "STRIPE_SECRET_KEY"),
        ({"STRIPE_SECRET_KEY": "pk_test_publishable"}, "STRIPE_SECRET_KEY"),
        ({"STRIPE_WEBHOOK_SECRET": None}, "STRIPE_WEBHOOK_SECRET"),
    ],
    ids=["no-secret-key", "debug-on", "emulator-key", "no-stripe-key", "publishable-key", "no-webhook-secret"],
)
def test_production_settings_refuse_unsafe_configuration(overrides, complaint):
    result = _run_production(SETUP, **overrides)
    assert result.returncode != 0, f"production settings started with {overrides}"
    assert "ImproperlyConfigured" in result.stderr and complaint in result.stderr, result.stderr[-2000:]


def test_production_passes_the_deploy_checklist():
    result = _run_production(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr


# --- Logs -----------------------------------------------------------------------------------------


def _json_handler() -> tuple[logging.Handler, io.StringIO]:
    """The production log format: JsonFormatter behind ContextFilter (LOG_FORMAT=json)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    return handler, stream


@pytest.fixture
def json_log():
    """JSON log lines from the platform's loggers and django.request, as dicts."""
    handler, stream = _json_handler()
    loggers = [logging.getLogger(name) for name in ("saas_platform", "django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@pytest.fixture
def logging_healthz(monkeypatch):
    """/healthz logs a line (with a secret in it) while it answers, inside the request."""
    from django.http import JsonResponse

    def respond(*args, **kwargs):
        logging.getLogger("saas_platform.health").warning("probe answered; key sk_test_abc123, secret whsec_abc")
        return JsonResponse(*args, **kwargs)

    monkeypatch.setattr("saas_platform.health.JsonResponse", respond)


@pytest.mark.django_db
def test_log_lines_during_a_company_request_carry_request_id_and_company(json_log, logging_healthz):
    company, other = CompanyFactory(), CompanyFactory()
    response = company_client(company).get("/healthz", HTTP_X_REQUEST_ID="ops-req-42")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "ops-req-42"
    lines = [entry for entry in json_log() if entry["logger"] == "saas_platform.health"]
    assert len(lines) == 1, json_log()
    assert lines[0]["request_id"] == "ops-req-42"
    assert lines[0]["company"] == company.slug
    assert lines[0]["message"] == "probe answered; key sk_***, secret whsec_***"
    # The company comes from each request's host, never from what an earlier request left behind.
    company_client(other).get("/healthz", HTTP_X_REQUEST_ID="ops-req-43")
    lines = [entry for entry in json_log() if entry["logger"] == "saas_platform.health"]
    assert [(line["request_id"], line["company"]) for line in lines] == [
        ("ops-req-42", company.slug),
        ("ops-req-43", other.slug),
    ]


@pytest.mark.django_db
def test_a_request_without_an_id_gets_a_fresh_one_and_a_forged_id_is_replaced(json_log, logging_healthz):
    company = CompanyFactory()
    client = company_client(company)
    first = client.get("/healthz")
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="bad id; Injected=yes")
    assert first["X-Request-ID"] != forged["X-Request-ID"]
    assert " " not in forged["X-Request-ID"] and "Injected" not in forged["X-Request-ID"]
    ids = [entry["request_id"] for entry in json_log() if entry["logger"] == "saas_platform.health"]
    assert ids == [first["X-Request-ID"], forged["X-Request-ID"]]


@pytest.mark.django_db
def test_djangos_own_not_found_lines_carry_the_request_id(json_log):
    company = CompanyFactory()
    response = company_client(company).get("/no-such-page-ops/", HTTP_X_REQUEST_ID="ops-req-404")
    assert response.status_code == 404
    lines = [entry for entry in json_log() if "/no-such-page-ops/" in entry["message"]]
    assert lines, json_log()
    assert lines[0]["company"] == company.slug
    assert lines[0]["request_id"] == "ops-req-404"


def test_secrets_never_reach_a_log_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("ops.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling Stripe with sk_test_abc123 and signing with whsec_abc")
        logger.warning("key %s, restricted %s", "sk_live_abc123XYZ", "rk_test_Q9")
        try:
            raise ValueError("bad key sk_test_abc123")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    output = stream.getvalue()
    entries = [json.loads(line) for line in output.splitlines()]
    assert len(entries) == 3
    for secret in ("sk_test_abc123", "whsec_abc", "sk_live_abc123XYZ", "rk_test_Q9"):
        assert secret not in output, secret
    assert entries[0]["message"] == "calling Stripe with sk_*** and signing with whsec_***"
    assert entries[1]["message"] == "key sk_***, restricted rk_***"
    assert "ValueError: bad key sk_***" in entries[2]["exception"]
