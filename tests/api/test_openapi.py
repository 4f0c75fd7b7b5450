"""The OpenAPI document: one for both hosts, valid, committed as docs/openapi.yaml, browsable offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from tests.helpers import platform_client

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture
def default_hosts(settings):
    """The document names its servers from these settings: pin them to the defaults it was made with."""
    settings.PLATFORM_DOMAIN, settings.PLATFORM_PORT, settings.PLATFORM_SCHEME = "localhost", "8000", "http"


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(SCHEMA_FILE.read_text())


def operations(document: dict):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_committed_document_matches_the_code(default_hosts, tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(generated))
    assert generated.read_text() == SCHEMA_FILE.read_text(), (
        "docs/openapi.yaml is out of date with the API code: run `make openapi` and commit the result."
    )


def test_openapi_document_passes_openapi_spec_validator(document):
    """A strict OpenAPI 3 validator (not only drf-spectacular's own check) accepts the document:
    e.g. no default that its own schema rejects (`TokenRequest.name` had `default: ''`, `minLength: 1`)."""
    from openapi_spec_validator import validate

    validate(document)


@pytest.mark.django_db
def test_served_document_passes_openapi_spec_validator(default_hosts):
    from openapi_spec_validator import validate

    response = platform_client().get("/api/schema/?format=json")
    assert response.status_code == 200
    validate(response.json())


@pytest.mark.django_db
def test_schema_endpoint_serves_the_committed_document(default_hosts, document):
    response = platform_client().get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json() == document


def test_paths_carry_their_host_as_servers(document):
    platform, company = document["servers"]
    assert platform["url"] == "http://localhost:8000"
    assert company["url"] == "http://{company}.localhost:8000"
    assert company["variables"]["company"]["default"]
    hosts = {path: item["servers"][0]["url"] for path, item in document["paths"].items()}
    assert hosts["/api/companies/"] == hosts["/api/auth/token/"] == hosts["/api/plans/"] == platform["url"]
    assert hosts["/api/posts/"] == hosts["/api/members/"] == hosts["/api/billing/subscription/"] == company["url"]
    assert hosts["/api/invitations/"] == company["url"]


def test_security_schemes_are_token_and_session(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["tokenAuth"]["description"],
    }
    assert schemes["cookieAuth"]["in"] == "cookie"
    assert document["paths"]["/api/posts/"]["get"]["security"] == [{"tokenAuth": []}, {"cookieAuth": []}]
    # Sign-up, tokens and plans read no credentials: no security requirement, so generated clients
    # call them without one.
    for path, method in (("/api/companies/", "post"), ("/api/auth/token/", "post"), ("/api/plans/", "get")):
        assert "security" not in document["paths"][path][method], path
    assert "security" not in document  # no global requirement either


def test_every_operation_documents_its_errors_with_the_uniform_bodies(document):
    schemas = document["components"]["schemas"]
    assert schemas["Error"]["required"] == ["code", "detail"]
    assert set(schemas["ValidationError"]["properties"]) == {"code", "detail", "errors", "error_codes"}
    assert schemas["PaymentRequired"]["required"] == ["code", "detail", "upgrade_url"]
    for path, method, operation in operations(document):
        responses = operation["responses"]
        for status, response in responses.items():
            if status >= "400":
                assert list(response["content"]) == ["application/json"], (method, path, status)
                assert response["content"]["application/json"]["examples"], (method, path, status)
        secured = any(operation.get("security", []))
        if secured:
            assert {"401", "404"} <= set(responses), (method, path)
        if "requestBody" in operation:
            assert responses["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValidationError")
        if path.startswith(("/api/posts", "/api/members", "/api/invitations", "/api/billing")):
            assert "503" in responses, (method, path)
    paths = document["paths"]
    assert "402" in paths["/api/posts/"]["post"]["responses"]
    assert "402" in paths["/api/posts/export/"]["get"]["responses"]
    assert "402" in paths["/api/invitations/"]["post"]["responses"]
    assert "402" in paths["/api/invitations/{invitation_id}/resend/"]["post"]["responses"]
    assert "409" in paths["/api/invitations/"]["post"]["responses"]
    assert "409" in paths["/api/members/{member_id}/"]["patch"]["responses"]
    assert "409" in paths["/api/companies/"]["post"]["responses"]
    assert "429" in paths["/api/auth/token/"]["post"]["responses"]


def test_adding_members_directly_is_deprecated_in_favour_of_invitations(document):
    members_create = document["paths"]["/api/members/"]["post"]
    assert members_create["deprecated"] is True
    assert "/api/invitations/" in members_create["description"]
    assert set(members_create["responses"]) >= {"410"}
    assert not {"200", "201"} & set(members_create["responses"])
    example = next(iter(members_create["responses"]["410"]["content"]["application/json"]["examples"].values()))
    assert example["value"]["code"] == "use_invitations"


def test_every_list_is_cursor_paginated(document):
    for path, method, operation in operations(document):
        one = ("/export/", "/subscription/", "/upcoming-invoice/", "/details/")  # a file, or one object
        if method != "get" or "{" in path or path.endswith(one):
            continue
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        body = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"next", "previous", "results"} <= set(body["properties"]), path
        if path != "/api/plans/":  # the whole catalog is one page
            assert {p["name"] for p in operation["parameters"]} >= {"cursor", "page_size"}, path


def test_creates_document_location_and_sign_up_its_idempotency_key(document):
    paths = document["paths"]
    assert "Location" in paths["/api/posts/"]["post"]["responses"]["201"]["headers"]
    assert "Location" in paths["/api/auth/token/"]["post"]["responses"]["201"]["headers"]
    signup = paths["/api/companies/"]["post"]
    assert "Location" in signup["responses"]["202"]["headers"]
    assert [p["name"] for p in signup["parameters"]] == ["Idempotency-Key"]
    assert signup["requestBody"]["content"]["application/json"]["examples"]
    assert signup["responses"]["202"]["content"]["application/json"]["examples"]


def test_times_are_iso_8601(document):
    schemas = document["components"]["schemas"]
    assert schemas["Company"]["properties"]["created_at"]["format"] == "date-time"
    assert schemas["Post"]["properties"]["updated_at"]["format"] == "date-time"


def _local_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_their_assets_locally(page):
    client = platform_client()
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.findall(r'(?:src|href)="https?://', html), "the docs must work without the internet"
    assets = _local_assets(html)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        asset_response = client.get(asset)
        assert asset_response.status_code == 200, asset
        assert b"".join(asset_response.streaming_content if asset_response.streaming else [asset_response.content])
    # Swagger UI's init script is a URL of its own (the split view: no inline script on the page).
    init_scripts = [client.get(url) for url in re.findall(r'<script src="(/api/docs/\?script=[^"]*)"', html)]
    assert all(script["Content-Type"].startswith("application/javascript") for script in init_scripts)
    assert "/api/schema/" in html + "".join(script.content.decode() for script in init_scripts)
