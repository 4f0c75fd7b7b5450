"""Schemathesis fuzzes every operation of both hosts against a live server: no 5xx, and every
status code, content type and body is the one docs/openapi.yaml promises.

The run is bounded and derandomized (fixed seed, few examples per operation) so CI is stable.
"""

from __future__ import annotations

import collections
import os
import socket
from pathlib import Path

import pytest
import yaml

from tests.factories import give_subscription

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
COMPANY_PREFIXES = ("/api/posts/", "/api/members/", "/api/invitations/", "/api/billing/")
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"]


@pytest.fixture
def localhost_subdomains(monkeypatch):
    """`<slug>.localhost` resolves to the loopback address, as browsers do (glibc alone does not)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _schema_for(port: str) -> dict:
    """The committed document, its servers pointed at the live server's port."""
    raw = yaml.safe_load(SCHEMA_FILE.read_text())
    servers = [raw["servers"], *(item["servers"] for item in raw["paths"].values())]
    for server in (server for group in servers for server in group):
        server["url"] = server["url"].replace(":8000", f":{port}")
    return raw


def _run(raw: dict, *, slug: str, token: str, path_regex: str) -> tuple[list[str], set[str]]:
    """Every phase but stateful on the operations matching `path_regex`: (failures, operations run)."""
    import schemathesis
    from schemathesis.engine import Status, events, from_schema

    generation = {"max-examples": 8, "deterministic": True, "database": "none", "mode": "all"}
    config = schemathesis.Config.from_dict(
        {
            "seed": 20261202,
            "headers": {"Authorization": f"Bearer {token}"},
            "servers": {"variables": {"company": slug}},
            "generation": generation,
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "phases": {"stateful": {"enabled": False}},
            "request-timeout": 20,
        }
    )
    schema = schemathesis.openapi.from_dict(raw, config=config).include(path_regex=path_regex)
    failures, operations = [], set()
    for event in from_schema(schema).execute():
        if isinstance(event, (events.NonFatalError, events.FatalError)):
            failures.append(f"{type(event).__name__}: {getattr(event, 'value', None) or event.exception!r}")
        elif isinstance(event, events.ScenarioFinished):
            operations.add(event.recorder.label)
            if os.environ.get("FUZZ_VERBOSE"):  # what each phase sent and got back
                interactions = event.recorder.interactions.values()
                codes = collections.Counter(i.response.status_code for i in interactions if i.response)
                print(event.phase, event.recorder.label, event.status, len(event.recorder.cases), dict(codes))
            if event.status == Status.FAILURE:
                for case_id, checks in event.recorder.checks.items():
                    for check in checks:
                        if check.status == Status.FAILURE and check.failure_info is not None:
                            case = event.recorder.cases[case_id].value
                            failures.append(
                                f"{event.recorder.label} [{check.name}] {check.failure_info.failure.title}: "
                                f"{check.failure_info.failure.message}\n    {case.method} {case.formatted_path} "
                                f"query={case.query} body={case.body!r}\n    {check.failure_info.code_sample}"
                            )
    return failures, operations


def test_both_servers_keep_the_contract(live_server, onboarded_company, localhost_subdomains):
    from companies.tokens import api_token_create

    company, admin = onboarded_company()  # a real Stripe customer, so portal sessions work
    give_subscription(company, status="active", lookup_key="pro_monthly")
    raw = _schema_for(live_server.url.rsplit(":", 1)[1])
    _, key = api_token_create(user=admin, name="contract")

    # Company host first: the platform run may revoke this very token (DELETE /api/auth/tokens/{id}/).
    company_paths = {path for path, item in raw["paths"].items() if "{company}" in item["servers"][0]["url"]}
    assert company_paths == {path for path in raw["paths"] if path.startswith(COMPANY_PREFIXES)}
    company_host = "|".join(COMPANY_PREFIXES)
    failures, company_ops = _run(raw, slug=company.slug, token=key, path_regex=f"^({company_host})")
    more_failures, platform_ops = _run(raw, slug=company.slug, token=key, path_regex=f"^(?!{company_host})")
    failures += more_failures

    expected = {f"{method.upper()} {path}" for path, item in raw["paths"].items() for method in item}
    expected -= {f"SERVERS {path}" for path in raw["paths"]}
    assert company_ops | platform_ops == expected, "some operations were not fuzzed"
    assert not failures, "\n\n".join(failures[:20])


@pytest.fixture(autouse=True)
def _no_leftover_tasks():
    """Sign-ups the fuzzer made enqueue onboarding; no worker runs here, so drop the messages."""
    yield
    from saas_platform.celery import app

    app.control.purge()
