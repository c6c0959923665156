"""OWASP API9:2023 Improper Inventory Management: the API served is the API documented — every
route is in the OpenAPI document and in docs/api.md's endpoint list, nothing else is, and no
unversioned or framework-default copy of the API or its docs is exposed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orderhub import __version__
from tests.security.route_table import api_routes

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
NOT_IN_SCHEMA = {("GET", "/v1/docs"), ("GET", "/v1/openapi.json"), ("GET", "/metrics")}


def documented_endpoints() -> set[tuple[str, str]]:
    section = API_MD.read_text().split("## Endpoints", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/v1/[^`]*)`", section)
    return {(method, path) for method, path in found}


def served(client: TestClient) -> set[tuple[str, str]]:
    return {(r.method, r.path) for r in api_routes(client.app)}  # type: ignore[arg-type]


def test_every_served_route_is_in_the_openapi_document_and_nothing_more(
    client: TestClient,
) -> None:
    schema = client.get("/v1/openapi.json").json()
    in_schema = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    assert in_schema == served(client) - NOT_IN_SCHEMA
    assert schema["info"]["version"] == __version__


def test_docs_api_md_lists_exactly_the_served_endpoints(client: TestClient) -> None:
    documented = documented_endpoints()
    live = served(client) - NOT_IN_SCHEMA
    assert not live - documented, f"served but not in docs/api.md: {sorted(live - documented)}"
    assert not documented - live, f"in docs/api.md but not served: {sorted(documented - live)}"


def test_every_operation_is_tagged_and_described(client: TestClient) -> None:
    schema = client.get("/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("tags"), f"{method.upper()} {path} has no tag"
            assert operation.get("summary") or operation.get("description"), path


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/v1/redoc", "/orders.json"])
def test_no_unversioned_or_default_copy_of_the_api_is_served(client: TestClient, path: str) -> None:
    assert client.get(path, follow_redirects=False).status_code in (303, 404)


def test_every_write_declares_the_busy_databases_503_with_retry_after(client: TestClient) -> None:
    """A write that met only contention is answered 503 (problems.py): a client generated from
    the document must know it may send the same request again, and when."""
    schema = client.get("/v1/openapi.json").json()
    writes = [
        (path, method, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in {"post", "put", "patch", "delete"} and path.startswith("/v1/")
    ]
    assert writes
    for path, method, operation in writes:
        busy = operation["responses"].get("503")
        assert busy is not None, f"{method.upper()} {path} declares no 503"
        assert "application/problem+json" in busy["content"], f"{method.upper()} {path}"
        if "database_busy" in busy["description"]:
            assert busy["headers"]["Retry-After"]["required"] is True
    ingest = schema["paths"]["/v1/orders"]["post"]["responses"]["503"]
    assert "database_busy" in ingest["description"]
