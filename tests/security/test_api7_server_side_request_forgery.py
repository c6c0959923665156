"""OWASP API7:2023 Server Side Request Forgery: every outbound call goes through the guard.

The guard (orderhub.http.ssrf) was sound but skipped: the API's channel sync and the BigCommerce
and TikTok webhook fetches built a plain client whenever no test transport was injected, and the
HTTP 3PL adapter always did. Each outbound path is tried here against a loopback trap server.
"""

from __future__ import annotations

import ast
import ipaddress
from dataclasses import asdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.channels import tiktok
from orderhub.channels.api_client import forget_shared_state
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.fulfilment.base import ProviderError
from orderhub.http.ssrf import is_public
from orderhub.services import fulfilment as service
from orderhub.services.fulfilment_wiring import default_dependencies
from orderhub.store.fulfilment import ProviderConfig
from tests.integration.fulfilment_support import allocate, place_order
from tests.marketplace_fixtures import add_channel, fixture_text
from tests.security.conftest import Trap
from tests.support.channels import sent_now

SRC = Path(__file__).resolve().parents[2] / "src" / "orderhub"
FACTORY = SRC / "http" / "outbound.py"
GUARD = SRC / "http" / "ssrf.py"
BUILDERS = {"Client", "AsyncClient", "HTTPTransport", "AsyncHTTPTransport"}


def _httpx_constructions(path: Path) -> list[str]:
    """``httpx.Client(...)`` and friends, also when imported by name (``from httpx import``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "httpx"
        for alias in node.names
        if alias.name in BUILDERS
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in BUILDERS:
            if isinstance(func.value, ast.Name) and func.value.id == "httpx":
                found.append(f"{path.relative_to(SRC)}:{node.lineno} httpx.{func.attr}")
        elif isinstance(func, ast.Name) and func.id in imported:
            found.append(f"{path.relative_to(SRC)}:{node.lineno} {func.id}")
    return found


def test_no_http_client_is_built_outside_the_one_factory() -> None:
    """An unguarded client cannot be built by accident: only the factory and the guard
    construct httpx clients or transports."""
    found = [
        hit
        for path in sorted(SRC.rglob("*.py"))
        if path not in (FACTORY, GUARD)
        for hit in _httpx_constructions(path)
    ]
    assert found == [], "build outbound clients with orderhub.http.outbound.outbound_client"


def test_the_scan_finds_a_direct_construction(tmp_path: Path) -> None:
    sample = SRC / "_scan_sample.py"
    try:
        sample.write_text("import httpx\nfrom httpx import Client as C\nhttpx.Client()\nC()\n")
        assert len(_httpx_constructions(sample)) == 2
    finally:
        sample.unlink()


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::7f00:1",  # local-use NAT64
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:127.0.0.1",  # IPv4-mapped
    ],
)
def test_ipv6_forms_embedding_a_private_ipv4_address_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["2002:808:808::1", "64:ff9b::808:808", "::8.8.8.8"])
def test_ipv6_forms_embedding_a_public_ipv4_address_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def _point(container: Container, code: str, url: str) -> None:
    with container.uow(actor="test") as uow:
        channel = uow.channels.get(code)
        channel.api_base_url = url
        uow.channels.save(channel)
        uow.commit()


def _magento(container: Container, url: str) -> None:
    with container.uow(actor="test") as uow:
        uow.channels.add(
            Channel(
                "mage",
                "Adobe Commerce",
                ChannelKind.MAGENTO,
                api_base_url=url,
                credentials={"access_token": "mage-token-SECRET"},
            )
        )
        uow.commit()


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::ffff:127.0.0.1]",
        "localhost.",
        "2130706433",
        "[::127.0.0.1]",
        "169.254.169.254",  # cloud metadata: refused before connecting, like the others
    ],
)
def test_api_channel_sync_does_not_reach_a_loopback_target(
    client: TestClient, admin: dict[str, str], seeded: Container, trap: Trap, host: str
) -> None:
    _magento(seeded, f"http://{host}:{trap.port}/rest")
    response = client.post("/v1/channels/mage/sync", headers=admin)
    assert response.status_code == 502
    assert "not a public address" in response.json()["title"]
    assert trap.seen == []


def test_a_failed_channel_call_does_not_quote_the_reply(
    client: TestClient, admin: dict[str, str], seeded: Container, trap: Trap
) -> None:
    from tests.integration.test_marketplace_sync_others import TIKTOK

    seeded.settings = seeded.settings.model_copy(update={"outbound_allowed_hosts": ["127.0.0.1"]})
    trap.status = 400
    forget_shared_state()
    add_channel(seeded, TIKTOK, {"TT-CAP": "CAP"})
    _point(seeded, "tiktok", f"http://127.0.0.1:{trap.port}")
    response = client.post("/v1/channels/tiktok/sync", headers=admin)
    forget_shared_state()
    assert response.status_code == 502
    assert len(trap.seen) >= 1  # allowed: it was reached
    assert "TRAP-REPLY" not in response.text
    assert "400" in response.json()["title"]


def test_bigcommerce_webhook_fetch_does_not_reach_a_loopback_target(
    client: TestClient, seeded: Container, trap: Trap
) -> None:
    with seeded.uow(actor="test") as uow:
        uow.channels.add(
            Channel(
                "bc",
                "BigCommerce",
                ChannelKind.BIGCOMMERCE,
                webhook_secret="bc-secret",
                api_base_url=f"http://127.0.0.1:{trap.port}/stores/abc123",
                credentials={"access_token": "bc-token"},
            )
        )
        uow.commit()
    body = sent_now(fixture_text("bigcommerce", "webhook_store_order_created.json")).encode()
    response = client.post(
        "/v1/channels/bc/webhooks", content=body, headers={"X-OrderHub-Webhook-Secret": "bc-secret"}
    )
    assert response.status_code == 503
    assert trap.seen == []


def test_tiktok_webhook_fetch_does_not_reach_a_loopback_target(
    client: TestClient, seeded: Container, trap: Trap
) -> None:
    from tests.integration.test_marketplace_sync_others import TIKTOK

    forget_shared_state()
    add_channel(seeded, TIKTOK, {"TT-CAP": "CAP"})
    _point(seeded, "tiktok", f"http://127.0.0.1:{trap.port}")
    raw = sent_now(fixture_text("tiktok", "webhook_order_status_cancel.json")).encode()
    signature = tiktok.webhook_signature(app_key="123abc", secret="tiktok-app-secret", body=raw)
    response = client.post(
        "/v1/channels/tiktok/webhooks", content=raw, headers={"Authorization": signature}
    )
    forget_shared_state()
    assert response.status_code == 503
    assert trap.seen == []


@pytest.mark.parametrize(
    ("kind", "settings"),
    [
        ("http", {"url": "http://127.0.0.1:{port}/orders"}),
        ("shipstation", {"api_key": "k", "api_secret": "s", "base_url": "http://127.0.0.1:{port}"}),
    ],
)
def test_a_3pl_dispatch_does_not_reach_a_loopback_target(
    client: TestClient,
    admin: dict[str, str],
    seeded: Container,
    trap: Trap,
    kind: str,
    settings: dict[str, str],
) -> None:
    config = ProviderConfig(
        code="tpl",
        name="3PL",
        kind=kind,
        settings={k: v.format(port=trap.port) for k, v in settings.items()},
        secret="tpl-callback-secret-0001",
        locations=["east"],
    )
    refused = client.post("/v1/providers", headers=admin, json=asdict(config))
    assert refused.status_code == 422, refused.text  # refused when saved …
    assert refused.json()["errors"][0]["code"] == "url_not_public"
    with seeded.uow(actor="test") as uow:  # … and at the call, had it been stored (DNS changes)
        uow.fulfilment.add_provider(config)
        uow.commit()
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    with seeded.uow(actor="test") as uow, default_dependencies(uow) as deps:
        service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=deps)
        with pytest.raises(ProviderError, match="not a public address"):
            service.dispatch_pending(uow, order_id=order_id, deps=deps)
    assert trap.seen == []
