"""The process-level wiring: the stdlib `platform` module intact everywhere, and Celery's app
used by every thread of every process."""

import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB_PLATFORM = Path(sysconfig.get_paths()["stdlib"]) / "platform.py"


def test_stdlib_platform_module_works_in_pytest():
    import platform

    # The standard library's module, not the project's platform/ folder (whose name it shares).
    assert Path(platform.__file__) == STDLIB_PLATFORM
    assert platform.python_implementation() == "CPython"


def test_stdlib_platform_module_works_inside_django():
    code = "import platform, uuid, stripe; print(platform.__file__); print(platform.python_implementation())"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    module_file, implementation = result.stdout.strip().splitlines()[-2:]
    assert (Path(module_file), implementation) == (STDLIB_PLATFORM, "CPython")


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


@pytest.mark.parametrize(
    "redis_url, cache_url",
    [
        ("redis://127.0.0.1:6379/2", "redis://127.0.0.1:6379/3"),
        ("redis://:secret@cache.internal:6380/0", "redis://:secret@cache.internal:6380/1"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/1"),  # no database in the URL: database 0
        ("redis://127.0.0.1:6379/", "redis://127.0.0.1:6379/1"),
        (
            "rediss://cache.internal:6380/4?ssl_cert_reqs=required",
            "rediss://cache.internal:6380/5?ssl_cert_reqs=required",
        ),
    ],
)
def test_clearing_the_cache_never_touches_the_broker(redis_url, cache_url):
    """The cache's Redis database is the broker's plus one, derived in base.py from REDIS_URL alone."""
    from saas_platform.settings.base import _next_database

    assert _next_database(redis_url) == cache_url


def test_the_running_settings_keep_the_cache_off_the_brokers_database(settings):
    from saas_platform.settings.base import _next_database

    assert settings.CACHES["default"]["LOCATION"] == _next_database(settings.CELERY_BROKER_URL)
