"""Flower, started by its real start script, sees a worker started by its real start script: basic auth
keeps strangers out, /healthcheck stays open for the container probe, the worker consumes the
onboarding and webhooks queues, and the compose worker health check (`inspect ping`) finds it."""

from __future__ import annotations

import base64
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from saas_platform.processes import free_port, stop_process
from saas_platform.queues import ONBOARDING_QUEUE, WEBHOOKS_QUEUE

from tests.plugins.services import _test_database_url

ROOT = Path(__file__).resolve().parents[2]
START = ROOT / "docker" / "start"
FLOWER_AUTH = "ops:flower-test-pass"


def _get(url: str, auth: str | None = None, timeout: float = 10):
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


@pytest.fixture
def process_env(settings, django_db_setup, django_db_blocker):
    """What compose gives a container, pointed at the test database and the test Redis database."""
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    return dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        DJANGO_SETTINGS_MODULE="saas_platform.settings.test",
        DATABASE_URL=database_url,
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_CONCURRENCY="1",
        LOG_LEVEL="INFO",
    )


@pytest.mark.django_db  # so the test database exists even when this file runs alone
def test_flower_sees_the_worker_and_its_queues_behind_basic_auth(process_env, tmp_path):
    flower_port = free_port()
    env = dict(process_env, FLOWER_BASIC_AUTH=FLOWER_AUTH, FLOWER_PORT=str(flower_port), FLOWER_ADDRESS="127.0.0.1")
    worker_log, flower_log = tmp_path / "worker.log", tmp_path / "flower.log"
    worker = flower = None
    try:
        with open(worker_log, "wb") as log:
            worker = subprocess.Popen([str(START / "worker")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        with open(flower_log, "wb") as log:
            flower = subprocess.Popen([str(START / "flower")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

        base = f"http://127.0.0.1:{flower_port}"
        deadline = time.monotonic() + 60
        worker_name = f"worker@{socket.gethostname()}"
        workers: dict = {}
        while time.monotonic() < deadline:
            assert worker.poll() is None, worker_log.read_text()[-3000:]
            assert flower.poll() is None, flower_log.read_text()[-3000:]
            try:
                status, body = _get(f"{base}/api/workers?refresh=1", FLOWER_AUTH)
                workers = json.loads(body)
                if worker_name in workers and workers[worker_name].get("active_queues"):
                    break
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail(
                f"Flower never listed {worker_name}: {sorted(workers)}\n"
                f"worker log:\n{worker_log.read_text()[-2000:]}\nflower log:\n{flower_log.read_text()[-2000:]}"
            )

        queues = {queue["name"] for queue in workers[worker_name]["active_queues"]}
        assert {ONBOARDING_QUEUE, WEBHOOKS_QUEUE} <= queues, queues

        for auth in (None, "ops:wrong-password"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                _get(f"{base}/api/workers", auth)
            assert refused.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(f"{base}/", None)
        assert refused.value.code == 401

        # The container probe needs no credentials.
        assert _get(f"{base}/healthcheck") == (200, b"OK")

        # The compose worker health check, as the container's shell runs it, finds this worker.
        probe = _compose_worker_probe()
        result = subprocess.run(
            ["sh", "-c", probe],
            cwd=ROOT,
            env=dict(env, HOSTNAME=socket.gethostname()),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        quick = probe.replace("--timeout 10", "--timeout 2")
        missing = subprocess.run(
            ["sh", "-c", quick],
            cwd=ROOT,
            env=dict(env, HOSTNAME="no-such-host-ops"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert missing.returncode != 0, "the probe must fail when its worker does not answer"
    finally:
        stop_process(flower)
        stop_process(worker)


def _compose_worker_probe() -> str:
    """The worker service's CMD-SHELL health check from docker/compose.yml, `$$` unescaped."""
    service = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())["services"]["worker"]
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    probe = test[1].replace("$$", "$")
    assert shlex.split(probe)[:5] == ["celery", "-A", "saas_platform", "inspect", "ping"]
    return probe
