"""The cross-cutting helpers each have one owner and hold for every user: every task follows the one
retry policy, publishing a task by a name nobody registered fails at once, settings take their
inputs in one order, and a service error raised by an HTML view gets its page."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from saas_platform.celery import app
from saas_platform.dispatch import dispatch_after_commit
from saas_platform.error_pages import ServiceErrorPageMiddleware
from saas_platform.retry import TRANSIENT_ERRORS, RetryingTask
from saas_platform.settings import inputs

from companies.access import feature_required
from tests.factories import CompanyFactory

APPS = ("companies", "subscriptions", "webhooks", "posts", "notifications", "onboarding", "dashboard")


def _platform_tasks() -> dict:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.split(".")[0] in APPS}


def test_every_task_retries_transient_errors_by_the_policy_before_its_lease_runs_out(settings):
    tasks = _platform_tasks()
    assert {"webhooks.process_event", "companies.start_trial", "notifications.send"} <= set(tasks)
    shortest_lease = min(
        settings.ONBOARDING_LEASE_SECONDS, settings.WEBHOOK_LEASE_SECONDS, settings.NOTIFICATION_LEASE_SECONDS
    )
    for name, task in tasks.items():
        assert isinstance(task, RetryingTask), f"{name} is not a RetryingTask"
        assert set(TRANSIENT_ERRORS) <= set(task.autoretry_for), name
        assert task.retry_jitter and task.retry_backoff_max < shortest_lease, name
        assert hasattr(task, "_orig_run"), f"Celery's autoretry does not wrap {name}"


def test_publishing_a_task_nobody_registered_fails_at_once():
    with pytest.raises(LookupError, match="webhooks.proces_event"):
        dispatch_after_commit("webhooks.proces_event", 1, waits_for="nothing")
    with pytest.raises(LookupError, match="companies.start_trail"):
        dispatch_after_commit(("companies.provision", "companies.start_trail"), 1, waits_for="nothing")


@pytest.fixture
def fresh_inputs(monkeypatch):
    for name, value in (("_defaults", {}), ("_fixed", {}), ("_required", set())):
        monkeypatch.setattr(inputs, name, value)
    return monkeypatch


def test_the_environment_wins_over_a_default_and_a_fixed_input_over_the_environment(fresh_inputs):
    inputs.defaults(PLATFORM_DOMAIN="test.example", LOG_FORMAT="json", TASK_MAX_RETRIES=3)
    inputs.defaults(LOG_FORMAT="text")  # a second choice of the same input loses to the first
    inputs.fixed(PLATFORM_SCHEME="https")
    fresh_inputs.setenv("PLATFORM_DOMAIN", "from-the-environment.example")
    fresh_inputs.setenv("PLATFORM_SCHEME", "http")
    fresh_inputs.delenv("LOG_FORMAT", raising=False)
    fresh_inputs.delenv("TASK_MAX_RETRIES", raising=False)

    assert inputs.env("PLATFORM_DOMAIN", default="localhost") == "from-the-environment.example"
    assert inputs.env("PLATFORM_SCHEME", default="http") == "https"
    assert inputs.env("LOG_FORMAT", default="text") == "json"
    assert inputs.env.int("TASK_MAX_RETRIES", default=8) == 3


def test_a_required_input_has_no_default(fresh_inputs):
    from django.core.exceptions import ImproperlyConfigured

    inputs.required("DJANGO_SECRET_KEY")
    fresh_inputs.delenv("DJANGO_SECRET_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured):
        inputs.env("DJANGO_SECRET_KEY", default="a-default-that-must-not-be-used")


@pytest.mark.django_db
def test_a_gated_html_view_answers_the_plans_refusal_with_its_page():
    company = CompanyFactory(features=[], paid_access=True, provisioned=False)

    @feature_required("exports")
    def export_page(request):
        return HttpResponse("exported")

    request = RequestFactory().get("/export/", HTTP_HOST=f"{company.slug}.localhost")
    request.tenant = company
    middleware = ServiceErrorPageMiddleware(lambda request: HttpResponse())
    try:
        export_page(request)
    except Exception as raised:  # what Django hands the middleware
        response = middleware.process_exception(request, raised)
    else:
        pytest.fail("a company without the feature reached the view")

    page = response.content.decode()
    assert response.status_code == 402
    assert 'data-code="feature_not_in_plan"' in page
    assert f'href="http://{company.slug}.localhost/billing/"' in page
