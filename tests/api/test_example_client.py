"""docs/example_client.py runs for real: live server, Celery worker, Stripe emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from companies.models import Company
from posts.models import Post

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "example_client.py"


def test_example_client_signs_up_posts_and_opens_the_portal(live_server, catalog, celery_worker_process):
    port = live_server.url.rsplit(":", 1)[1]
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--platform-url",
            f"http://localhost:{port}",
            "--connect",
            f"127.0.0.1:{port}",
            "--slug",
            "example-co",
        ],
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("signed up example-co") and lines[0].endswith("provisioning")
    assert "example-co.localhost is active; plan basic (trialing)" in result.stdout
    assert "3 posts in all" in result.stdout
    assert lines[-1].startswith("billing portal: http://127.0.0.1:") and "/p/session/" in lines[-1]

    company = Company.objects.get(slug="example-co")
    from django_tenants.utils import tenant_context

    with tenant_context(company):
        assert sorted(Post.objects.values_list("title", flat=True)) == ["Post 1", "Post 2", "Post 3"]
