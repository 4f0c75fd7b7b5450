"""What the production web process (gunicorn via docker/start/web, production settings) tells every
client about itself: a Server header without a version, and the Content-Security-Policy on its pages
and static files alike."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import gunicorn
import pytest
from saas_platform.processes import ChildProcess, free_port

from tests.operations.test_compose import ROOT, START, _production_env


@pytest.fixture(scope="module")
def gunicorn_url(tmp_path_factory):
    port = free_port()
    env = _production_env(WEB_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", WEB_THREADS="2")
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    process = ChildProcess([str(START / "web")], cwd=ROOT, env=env, log_path=log_path)
    try:
        process.wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def _get(url: str):
    # The platform host over "HTTPS" (the proxy's header), so production settings answer rather than redirect.
    request = urllib.request.Request(url, headers={"Host": "billing.localhost", "X-Forwarded-Proto": "https"})
    try:
        return urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        return error


@pytest.mark.parametrize(
    "path", ["/admin/login/", "/password-reset/", "/api/docs/", "/static/admin/css/base.css", "/nope/"]
)
def test_gunicorn_does_not_advertise_its_version(gunicorn_url, path):
    response = _get(gunicorn_url + path)
    assert response.status in (200, 404), (path, response.status)
    server = response.headers.get("Server", "")
    assert server == "gunicorn", server  # gunicorn cannot drop the header, but it names no version
    assert gunicorn.__version__ not in server and not re.search(r"\d", server)
    assert "X-Powered-By" not in response.headers


@pytest.mark.parametrize("path", ["/admin/login/", "/password-reset/", "/api/docs/", "/nope/"])
def test_production_pages_carry_the_content_security_policy(gunicorn_url, path):
    response = _get(gunicorn_url + path)
    policy = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, (path, policy)
