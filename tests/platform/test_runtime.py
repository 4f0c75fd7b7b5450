"""The process-level wiring: the stdlib `platform` module intact everywhere, and Celery's app
used by every thread of every process."""

import subprocess
import sys
import threading

import pytest


def test_stdlib_platform_module_works_in_pytest():
    import platform

    assert platform.python_version() == ".".join(map(str, sys.version_info[:3]))
    assert platform.__file__.endswith("platform.py")


def test_stdlib_platform_module_works_inside_django():
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "import platform, uuid, stripe; print(platform.python_version())"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == ".".join(map(str, sys.version_info[:3]))


@pytest.mark.django_db(transaction=True)
def test_stdlib_platform_module_works_inside_the_celery_worker(celery_worker_process):
    """The worker's own report is built with platform.python_version() in the worker process."""
    from saas_platform.celery import app

    replies = app.control.inspect(timeout=10).report()
    assert replies, "no worker answered"
    report = next(iter(replies.values()))["ok"]
    assert f"py:{'.'.join(map(str, sys.version_info[:3]))}" in report


def test_tasks_publish_through_the_platform_app_from_any_thread(settings):
    """shared_task resolves the app per thread; a web thread must never get Celery's fallback app."""
    from webhooks.tasks import process_event

    seen = []
    thread = threading.Thread(target=lambda: seen.append(process_event.app.connection_for_write().as_uri()))
    thread.start()
    thread.join()
    assert seen == [process_event.app.connection_for_write().as_uri()]
    assert seen[0].startswith("redis://") and seen[0].endswith(settings.CELERY_BROKER_URL.rsplit("/", 1)[1])


def test_django_startup_loads_the_celery_app():
    code = (
        "import django; django.setup(); import threading; from webhooks.tasks import process_event; "
        "out = []; t = threading.Thread(target=lambda: out.append(process_event.app.main)); t.start(); t.join(); "
        "print(out[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "saas_platform.settings.test"},
    )
    assert result.stdout.strip() == "saas_platform"


def test_clearing_the_cache_never_touches_the_broker(settings):
    assert settings.CACHES["default"]["LOCATION"] != settings.CELERY_BROKER_URL
