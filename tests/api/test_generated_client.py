"""A client generated from docs/openapi.yaml by openapi-python-client runs the documented flow against
the running stack (live server, Celery worker, Stripe emulator delivering webhooks): what a customer
who generates a client gets must work, not only what our hand-written example client does."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.plugins.services import wait_for_webhooks, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
PACKAGE = "billing_api_client"
# No post-hooks: they would run ruff over the generated code, which only costs time here.
CONFIG = f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\npost_hooks: []\n"


@pytest.fixture
def generated_client(tmp_path):
    """The package openapi-python-client generates from the committed document, imported."""
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    started = time.monotonic()
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            *("generate", "--path", str(SCHEMA_FILE), "--config", str(config), "--meta", "none"),
            *("--output-path", str(tmp_path / PACKAGE), "--fail-on-warning"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"generated the client in {time.monotonic() - started:.2f}s")
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(package, name: str):
    return importlib.import_module(f"{package.__name__}.{name}")


def test_generated_client_runs_the_documented_flow(
    generated_client, live_server, catalog, webhook_delivery, celery_worker_process
):
    started = time.monotonic()
    client_module = _module(generated_client, "client")
    models = _module(generated_client, "models")
    api = {
        name: _module(generated_client, f"api.{name}")
        for name in (
            "companies.companies_create",
            "companies.companies_retrieve",
            "auth.auth_token_create",
            "posts.posts_create",
            "posts.posts_list",
            "billing.billing_subscription_retrieve",
            "billing.billing_portal_session_create",
        )
    }
    port = live_server.url.rsplit(":", 1)[1]
    base_url = f"http://127.0.0.1:{port}"  # every host is served here; the Host header picks one
    slug = f"generated-{uuid.uuid4().hex[:8]}"
    email, password = f"admin@{slug}.example", "a generated passphrase"

    def expect(response, status: int):
        assert response.status_code == status, (response.status_code, response.content[:500])
        return response.parsed

    # 1. Sign up, with an Idempotency-Key, on the platform host and without credentials.
    anonymous = client_module.Client(base_url=base_url, headers={"Host": f"localhost:{port}"}, timeout=30)
    signup = models.SignupRequest(name="Generated", slug=slug, admin_email=email, admin_password=password)
    company = expect(
        api["companies.companies_create"].sync_detailed(
            client=anonymous, body=signup, idempotency_key=str(uuid.uuid4())
        ),
        202,
    )
    assert isinstance(company, models.Company) and company.status == models.StatusEnum.PROVISIONING

    # 2. A token: the model's defaults (name "", expires_in_days 90) are what the client sends.
    token = expect(
        api["auth.auth_token_create"].sync_detailed(
            client=anonymous, body=models.TokenRequestRequest(email=email, password=password)
        ),
        201,
    )
    assert isinstance(token, models.NewApiToken) and token.key.startswith("sbp_")
    assert token.expires_at is not None

    # 3. Wait until onboarding (schema, Stripe customer, trial) made the company active.
    platform = client_module.AuthenticatedClient(
        base_url=base_url, token=token.key, headers={"Host": f"localhost:{port}"}, timeout=30
    )

    def active():
        current = expect(api["companies.companies_retrieve"].sync_detailed(company.id, client=platform), 200)
        assert current.status != models.StatusEnum.FAILED, current.failure_reason
        return current if current.status == models.StatusEnum.ACTIVE else None

    company = wait_until(active, timeout=90, interval=0.5, message="the company to become active")

    # 4. The company's own host, with the same token: create posts, then page through them.
    tenant = client_module.AuthenticatedClient(
        base_url=base_url, token=token.key, headers={"Host": f"{company.domain}:{port}"}, timeout=30
    )
    for number in range(1, 4):
        post = expect(
            api["posts.posts_create"].sync_detailed(
                client=tenant, body=models.PostRequest(title=f"Post {number}", body="From a generated client.")
            ),
            201,
        )
        assert post.title == f"Post {number}" and post.author_email == email
    titles, cursor = [], _module(generated_client, "types").UNSET
    while True:
        page = expect(api["posts.posts_list"].sync_detailed(client=tenant, page_size=2, cursor=cursor), 200)
        titles += [post.title for post in page.results]
        if not page.next_:
            break
        cursor = parse_qs(urlsplit(page.next_).query)["cursor"][0]
    assert titles == ["Post 3", "Post 2", "Post 1"]

    # 5. The subscription, and a billing portal session.
    subscription = expect(api["billing.billing_subscription_retrieve"].sync_detailed(client=tenant), 200)
    assert (subscription.plan, subscription.status) == ("basic", "trialing")
    portal = expect(api["billing.billing_portal_session_create"].sync_detailed(client=tenant), 201)
    assert portal.url.startswith(webhook_delivery.api_base) and "/p/session/" in portal.url

    wait_for_webhooks(webhook_delivery)  # every event the flow caused was applied
    print(f"ran the documented flow in {time.monotonic() - started:.2f}s")
