"""API keys, roles and channel scoping."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from orderhub.api.deps import PrincipalCache
from orderhub.bootstrap import Container
from orderhub.domain.access import Role
from orderhub.store.tables import api_keys
from tests.conftest import bearer, make_key, native_order


def test_no_key_or_a_wrong_key_is_401(client: TestClient) -> None:
    assert client.get("/v1/orders").status_code == 401
    wrong = client.get("/v1/orders", headers=bearer("ohk_000000000000_nottherightsecret"))
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.headers["www-authenticate"] == "Bearer"


def test_a_key_with_a_valid_prefix_but_wrong_secret_is_401(
    client: TestClient, seeded: Container
) -> None:
    key = make_key(seeded, Role.ADMIN)
    tampered = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert client.get("/v1/orders", headers=bearer(tampered)).status_code == 401


def test_only_a_hash_of_the_key_is_stored(seeded: Container) -> None:
    key = make_key(seeded, Role.SUPPORT)
    with seeded.uow(read_only=True) as uow:
        stored = [tuple(row) for row in uow.conn.execute(select(api_keys))]
    assert stored
    assert all(key not in str(value) for row in stored for value in row)
    secret = key.split("_", 2)[2]  # whole: token_urlsafe may itself hold "_"
    assert all(secret not in str(value) for row in stored for value in row)


def test_a_role_without_the_permission_is_403(client: TestClient, seeded: Container) -> None:
    auditor = bearer(make_key(seeded, Role.AUDITOR))
    assert client.get("/v1/orders", headers=auditor).status_code == 200
    response = client.post("/v1/orders", json=native_order(), headers=auditor)
    assert response.status_code == 403
    assert "orders:write" in response.json()["title"]
    warehouse = bearer(make_key(seeded, Role.WAREHOUSE))
    assert client.post("/v1/channels", json={}, headers=warehouse).status_code == 403


def test_a_channel_key_sees_and_creates_only_its_own_channel(
    client: TestClient, seeded: Container, admin: dict[str, str]
) -> None:
    other = client.post("/v1/orders", json=native_order("APP-1", channel="app"), headers=admin)
    web_key = bearer(make_key(seeded, Role.CHANNEL, channel="web"))
    own = client.post("/v1/orders", json=native_order("WEB-1"), headers=web_key)
    assert own.status_code == 201
    forbidden = client.post("/v1/orders", json=native_order("X", channel="app"), headers=web_key)
    assert forbidden.status_code == 403
    assert client.get(f"/v1/orders/{other.json()['id']}", headers=web_key).status_code == 404
    events = client.get(f"/v1/orders/{other.json()['id']}/events", headers=web_key)
    assert events.status_code == 404
    listed = client.get("/v1/orders", headers=web_key).json()["items"]
    assert [o["external_id"] for o in listed] == ["WEB-1"]
    assert (
        client.get("/v1/orders", params={"channel": "app"}, headers=web_key).json()["items"] == []
    )
    assert [c["code"] for c in client.get("/v1/channels", headers=web_key).json()["items"]] == [
        "web"
    ]


def test_a_revoked_key_is_refused_once_the_process_cache_expires(
    client: TestClient, seeded: Container
) -> None:
    now = [0.0]
    client.app.state.principals = PrincipalCache(5.0, clock=lambda: now[0])  # type: ignore[attr-defined]
    key = make_key(seeded, Role.ADMIN)
    assert client.get("/v1/orders", headers=bearer(key)).status_code == 200
    with seeded.uow() as uow:
        principal = uow.api_keys.authenticate(key)
        assert principal is not None
        uow.api_keys.revoke(principal.id)
        uow.commit()
    now[0] = 4.9  # the process still trusts what it checked a moment ago
    assert client.get("/v1/orders", headers=bearer(key)).status_code == 200
    now[0] = 5.0
    assert client.get("/v1/orders", headers=bearer(key)).status_code == 401


def test_without_the_cache_a_revoked_key_is_refused_at_once(
    client: TestClient, seeded: Container
) -> None:
    client.app.state.principals = PrincipalCache(0)  # type: ignore[attr-defined]
    key = make_key(seeded, Role.ADMIN)
    assert client.get("/v1/orders", headers=bearer(key)).status_code == 200
    with seeded.uow() as uow:
        principal = uow.api_keys.authenticate(key)
        assert principal is not None
        uow.api_keys.revoke(principal.id)
        uow.commit()
    assert client.get("/v1/orders", headers=bearer(key)).status_code == 401


def test_channel_secrets_are_never_returned(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post(
        "/v1/channels",
        json={
            "code": "shop",
            "name": "Shop",
            "kind": "shopify",
            "webhook_secret": "s3cr3t-value",
            "credentials": {"access_token": "tok-123"},
            "api_base_url": "https://shop.example.com/admin/api/2024-10",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    for response in (created, client.get("/v1/channels/shop", headers=admin)):
        assert "s3cr3t-value" not in response.text
        assert "tok-123" not in response.text
        assert response.json()["webhook_secret_set"] is True
        assert response.json()["credential_keys"] == ["access_token"]


def test_metrics_need_a_key_and_health_does_not(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get("/metrics").status_code == 401
    metrics = client.get("/metrics", headers=admin)
    assert metrics.status_code == 200
    assert "orderhub_http_requests_total" in metrics.text
    health = client.get("/v1/health")
    assert health.status_code == 200
    assert health.json()["database"] == "ok"


def test_metrics_count_each_route_and_status_again_on_every_request(
    client: TestClient, admin: dict[str, str]
) -> None:
    """The middleware keeps the labelled series it looked up: they must keep counting."""

    def count(text: str, status: str) -> float:
        labels = f'method="GET",route="/v1/locations",status="{status}"'
        prefix = "orderhub_http_requests_total{" + labels + "} "
        found = [line for line in text.splitlines() if line.startswith(prefix)]
        return float(found[0].removeprefix(prefix)) if found else 0.0

    before = client.get("/metrics", headers=admin).text
    for _ in range(3):
        assert client.get("/v1/locations", headers=admin).status_code == 200
    assert client.get("/v1/locations").status_code == 401
    after = client.get("/metrics", headers=admin).text
    assert count(after, "200") - count(before, "200") == 3
    assert count(after, "401") - count(before, "401") == 1
