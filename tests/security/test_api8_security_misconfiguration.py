"""OWASP API8:2023 Security Misconfiguration: headers that keep browsers and caches from
mishandling answers, API docs that need no CDN, no published demo secrets, a private database
file, and errors that tell no internals."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.demo.hub import seed
from orderhub.domain.access import Role
from orderhub.domain.channels import ChannelKind
from orderhub.web.session import SECURITY_HEADERS
from tests.conftest import native_order
from tests.integration.dashboard_support import signed_in

STATIC = Path(__file__).resolve().parents[2] / "src" / "orderhub" / "web" / "static"


def test_api_answers_are_not_sniffed_cached_or_framed(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post("/v1/orders", json=native_order(), headers=admin)
    for answer in (
        created,
        client.get(f"/v1/orders/{created.json()['id']}", headers=admin),  # personal data
        client.get("/v1/orders", headers=admin),
        client.get("/v1/orders/none", headers=admin),  # a problem document
        client.get("/v1/orders"),  # 401
        client.get("/v1/openapi.json"),
    ):
        assert answer.headers["x-content-type-options"] == "nosniff", answer.request.url
        assert answer.headers["cache-control"] == "no-store"
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp


def test_the_dashboard_keeps_its_own_headers_once(client: TestClient, seeded: Container) -> None:
    signed_in(client, seeded, Role.OPERATOR)
    page = client.get("/orders")
    assert page.status_code == 200
    for name, value in SECURITY_HEADERS:
        assert page.headers.get_list(name.decode()) == [value.decode()]
    assert client.get("/static/htmx.min.js").headers["x-content-type-options"] == "nosniff"


def test_api_docs_load_only_vendored_files_so_they_work_offline(client: TestClient) -> None:
    docs = client.get("/v1/docs")
    assert docs.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert sources, docs.text
    assert not [s for s in sources if not s.startswith("/")], sources  # no CDN, no other host
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100
    assert "SwaggerUIBundle" in client.get("/static/swagger-ui/swagger-ui-bundle.js").text
    assert "/v1/openapi.json" in client.get("/static/swagger-ui/init.js").text
    assert "<script>" not in docs.text  # no inline script: the CSP forbids them
    csp = docs.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-eval" not in csp
    assert "connect-src 'self'" in csp  # "Try it out" calls this hub only


def test_the_swagger_ui_licence_ships_with_it() -> None:
    assert "Apache License" in (STATIC / "swagger-ui" / "LICENSE").read_text()


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "orderhub.db"
    container = bootstrap(Settings(database_url=f"sqlite:///{path}"))
    try:
        with container.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
        for file in path.parent.glob("orderhub.db*"):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        container.close()


@pytest.mark.usefixtures("database_url")
def test_each_demo_database_gets_webhook_secrets_of_its_own(container: Container) -> None:
    seed(container, orders=0)
    with container.uow(read_only=True) as uow:
        secrets = {
            c.code: c.webhook_secret
            for c in uow.channels.list()
            if c.kind in (ChannelKind.SHOPIFY, ChannelKind.WOOCOMMERCE)
        }
    assert set(secrets) == {"shopify", "woo"}
    assert "demo-shopify-secret" not in secrets.values()
    assert "demo-woo-secret" not in secrets.values()
    assert len(set(secrets.values())) == 2
    assert all(len(s or "") >= 32 for s in secrets.values())


def test_errors_tell_no_internals(client: TestClient, admin: dict[str, str]) -> None:
    bad_json = client.post(
        "/v1/orders", content=b"{not json", headers=admin | {"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 422
    assert bad_json.headers["content-type"] == "application/problem+json"
    for word in ("Traceback", 'File "', "sqlalchemy", "/src/orderhub"):
        assert word not in bad_json.text


def test_no_cross_origin_reads_are_allowed(client: TestClient, admin: dict[str, str]) -> None:
    answer = client.get("/v1/orders", headers=admin | {"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in answer.headers
